"""`create_pipeline`: the one pipeline definition, used locally and on Kubeflow.

span N files -> SpanExampleGen -> Transform -+-> incremental Trainer -+-> Evaluator -+
FeatureSchemaGen -----------------^ ^        |   ^ base_model         |              v
MLMD -> latest transform graph -----+        |   |                    |              |
MLMD -> latest blessed model Resolver -------+---+--(parent)----------+------> Decision
                                             +-> full-retrain Trainer-+       |      |
                                                     Pusher (candidate) <-----+      |
                                                     baseline Pusher (full) <--------+

Each run ingests and transforms span N only. The Transform extends the latest
transform graph of this pipeline (append-only vocabularies) and records spans
1..N in its own graph; the full retrain reads the earlier spans' transformed
examples from that record (`components/transform/`).

The full retrain follows the baseline schedule (`contracts/baseline.py`): on a
span that skips it, the pipeline has no full retrain and no baseline Pusher,
the Evaluator evaluates the candidate alone against the AUCs the last full
retrain recorded, and the Decision can only extend or hold.

The parent is the latest *blessed* Model of this pipeline. The Decision blesses
exactly the model it serves (the candidate on `extend`, the full retrain on
`rebase`, neither on `hold`), and the Pushers push on its blessings. So "latest
blessed by this pipeline's Decision" is "last pushed": the resolver
(`components/resolver`) counts only the pipeline's own artifacts and, among its
ModelBlessings, only those naming the pipeline in `newlevels_pipeline` (the
Evaluator's own blessing never does; other pipelines sharing the MLMD store name
theirs). On Kubeflow the resolver is TFX's LatestBlessedModelStrategy (the only
one the v2 compiler takes), its compiled query scoped by `kubeflow/compile.py`.
"""

from __future__ import annotations

import json

from tfx import v1 as tfx
from tfx.proto import transform_pb2

from newlevels.components.evaluation.decision import Decision
from newlevels.components.ingest import executor as ingest
from newlevels.components.ingest.component import SpanExampleGen
from newlevels.components.push.component import Pusher
from newlevels.components.resolver.strategy import parent_resolver
from newlevels.components.schema.component import FeatureSchemaGen
from newlevels.components.trainer.component import (
    FullRetrainTrainer,
    IncrementalTrainer,
    dotted_name,
)
from newlevels.components.trainer.executor import Properties
from newlevels.components.trainer.settings import Role
from newlevels.components.transform.component import SpanTransform
from newlevels.components.transform.resolution import GRAPH_KEY, base_graph_resolver
from newlevels.components.transform.trainer_inputs import SpanHistoryTrainerExecutor
from newlevels.contracts.baseline import ALWAYS, Plan
from newlevels.pipeline import parameters
from newlevels.pipeline.config import RunConfig
from newlevels.transforms.preprocessing import preprocessing_fn


class NodeIds:
    """Component ids: what the summary and the lineage look up in MLMD."""

    EXAMPLE_GEN = "SpanExampleGen"
    SCHEMA_GEN = "FeatureSchemaGen"
    BASE_GRAPH_RESOLVER = "latest_transform_graph_resolver"
    TRANSFORM = "Transform"
    PARENT_RESOLVER = "latest_blessed_model_resolver"
    INCREMENTAL_TRAINER = "incremental_trainer"
    FULL_TRAINER = "full_retrain_trainer"
    EVALUATOR = "Evaluator"
    PUSHER = "Pusher"
    DECISION = "Decision"
    #: the node that preceded the Decision (stores written before it: lineage reads both).
    PROMOTION = "BaselinePromotion"
    BASELINE_PUSHER = "baseline_pusher"


def create_pipeline(
    config: RunConfig,
    metadata_connection_config=None,
    runtime_parameters: bool = False,
    baseline: Plan = ALWAYS,
) -> tfx.dsl.Pipeline:
    """Builds the pipeline for one span.

    Args:
        config: the run's configuration.
        metadata_connection_config: MLMD connection (None lets the runner decide,
            as Kubeflow does).
        runtime_parameters: expose the per-run values (data root, span, incremental
            Trainer settings, gate) as RuntimeParameters defaulting to `config`'s,
            for a Kubeflow compile (see `pipeline/parameters.py`).
        baseline: this run's baseline plan (`pipeline/baseline_plan.py` reads it
            from the store); the default trains the full retrain.

    Returns:
        The TFX pipeline.
    """
    values = parameters.run_values(config, runtime_parameters, baseline)
    spec_json = json.dumps(config.data_spec.to_dict(), sort_keys=True)
    example_gen = SpanExampleGen(values.data_root, config.data_spec, values.range_config)
    schema_gen = FeatureSchemaGen(data_spec=spec_json).with_id(NodeIds.SCHEMA_GEN)
    base_graph = base_graph_resolver(
        NodeIds.TRANSFORM, NodeIds.BASE_GRAPH_RESOLVER, kubeflow=runtime_parameters
    )
    transform = SpanTransform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        preprocessing_fn=dotted_name(preprocessing_fn),
        # The vocabularies hold the tokens of training rows only: a level seen only
        # in span N's evaluation rows is not a new level of this run.
        splits_config=transform_pb2.SplitsConfig(
            analyze=[ingest.SPLIT_TRAIN], transform=list(ingest.SPLITS)
        ),
        custom_config={"data_spec": config.data_spec.to_dict()},
        pipeline_name=config.pipeline_name,
        base_transform_graph=base_graph.outputs[GRAPH_KEY],
    ).with_id(NodeIds.TRANSFORM)
    parent = parent_resolver(config.pipeline_name, kubeflow=runtime_parameters).with_id(
        NodeIds.PARENT_RESOLVER
    )

    # Both train on span N's training rows; the full retrain's executor adds
    # every row of spans 1..N-1 from the transform graph's span history.
    transformed = {
        "examples": transform.outputs["transformed_examples"],
        "transform_graph": transform.outputs["transform_graph"],
        "train_splits": [ingest.SPLIT_TRAIN],
        "eval_splits": [ingest.SPLIT_EVAL],
    }
    incremental = IncrementalTrainer(
        base_model=parent.outputs["model"],
        settings=values.incremental_trainer_config,
        **transformed,
    ).with_id(NodeIds.INCREMENTAL_TRAINER)
    has_new_levels = incremental.outputs["model"].future()[0].custom_property(Properties.NEW_LEVELS)
    # A span with no new level is a no-op: the candidate equals its parent, so
    # nothing is retrained, evaluated or pushed (and a re-run span pushes once).
    with tfx.dsl.Cond(has_new_levels > 0):
        full = (
            FullRetrainTrainer(
                settings=config.trainer_settings(Role.INCREMENTAL),
                executor=SpanHistoryTrainerExecutor,
                **transformed,
            ).with_id(NodeIds.FULL_TRAINER)
            if baseline.trained
            else None
        )
        evaluator = tfx.components.Evaluator(
            examples=example_gen.outputs["examples"],
            model=incremental.outputs["model"],
            baseline_model=full.outputs["model"] if full else None,
            schema=schema_gen.outputs["schema"],
            eval_config=values.evaluator_eval_config,
            example_splits=[ingest.SPLIT_EVAL],
        )
        decision = Decision(
            evaluation=evaluator.outputs["evaluation"],
            candidate=incremental.outputs["model"],
            baseline=full.outputs["model"] if full else None,
            parent=parent.outputs["model"],
            eval_config=values.decision_eval_config,
            policy=values.decision_policy,
            pipeline_name=config.pipeline_name,
            baseline_plan=values.baseline_plan,
        ).with_id(NodeIds.DECISION)
        pusher = Pusher(
            incremental.outputs["model"], decision.outputs["candidate_blessing"], config.serving_dir
        ).with_id(NodeIds.PUSHER)
        baseline_pusher = (
            Pusher(
                full.outputs["model"], decision.outputs["baseline_blessing"], config.serving_dir
            ).with_id(NodeIds.BASELINE_PUSHER)
            if full
            else None
        )
    components = [
        example_gen,
        schema_gen,
        base_graph,
        transform,
        parent,
        incremental,
        full,
        evaluator,
        decision,
        pusher,
        baseline_pusher,
    ]
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=[component for component in components if component is not None],
        enable_cache=False,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(config.beam_args),
    )
