"""The parent resolver node: the latest model this pipeline pushed (see `scope`)."""

from __future__ import annotations

from typing import Any

import ml_metadata as mlmd
from tfx import types
from tfx import v1 as tfx
from tfx.dsl.components.common import resolver

from newlevels.components.resolver import scope

MODEL = "model"
MODEL_BLESSING = "model_blessing"


class PipelineBlessedModelStrategy(resolver.ResolverStrategy):
    """TFX's latest-blessed-model strategy, counting only this pipeline's blessings.

    Args:
        pipeline_name: the pipeline resolving its parent (`scope.parent_blessings`).
    """

    def __init__(self, pipeline_name: str) -> None:
        self._pipeline_name = scope.check_pipeline_name(pipeline_name)

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        """The latest allowed Model and its ModelBlessing, or empty lists before any.

        Args:
            store: the MLMD store (unused: the channels hold the candidates).
            input_dict: {MODEL: Models, MODEL_BLESSING: ModelBlessings}, as TFX
                resolved the node's channels within the pipeline's context.
        """
        models = {a.id: a for a in input_dict[MODEL]}
        blessings = {a.id: a for a in input_dict[MODEL_BLESSING]}
        found = scope.latest_blessed_model(
            [a.mlmd_artifact for a in models.values()],
            [a.mlmd_artifact for a in blessings.values()],
            self._pipeline_name,
        )
        if found is None:
            return {MODEL: [], MODEL_BLESSING: []}
        model, blessing = found
        return {MODEL: [models[model.id]], MODEL_BLESSING: [blessings[blessing.id]]}


def parent_resolver(pipeline_name: str, kubeflow: bool = False) -> tfx.dsl.Resolver:
    """The resolver node whose `model` output is the run's parent (public: `ParentResolver`).

    The parent is the latest Model this pipeline's `Decision` blessed, which is
    the last one its Pushers pushed; blessings of other pipelines sharing the
    store, and the stock Evaluator's own, never count (`scope`). Before any
    push its `model` output is empty, and the incremental Trainer trains a
    first model.

    Args:
        pipeline_name: the pipeline resolving its parent (the `pipeline_name`
            of its `tfx.dsl.Pipeline` and of its `Decision`).
        kubeflow: build it for the Kubeflow v2 compiler, which compiles only
            TFX's own LatestBlessedModelStrategy; `kubeflow/queries.py` then adds
            `scope.pipeline_filter` to the compiled ModelBlessing query.

    Returns:
        The Resolver (give it an id).
    """
    channels: dict[str, Any] = {
        MODEL: tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        MODEL_BLESSING: tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    }
    if kubeflow:
        return tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy, **channels
        )
    return tfx.dsl.Resolver(
        strategy_class=PipelineBlessedModelStrategy,
        config={"pipeline_name": pipeline_name},
        **channels,
    )
