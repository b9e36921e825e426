"""`SpanTransform`: TFX's Transform on span N, extending the previous span's transform graph.

The stock Transform's inputs, outputs and executor, plus one optional input,
`base_transform_graph` (the previous run's graph, from `resolution.py`), and the
pipeline's name (the graph's span history is refused by another pipeline).
TFDV statistics and the analyzer cache stay off: nothing reads the statistics,
and with span-native ingestion each run analyses only its own span, so there is
no earlier analysis to cache (B3 measured both as fixed cost).
"""

from __future__ import annotations

import json
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.proto import transform_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from newlevels.components.transform import executor


class SpanTransformSpec(standard_component_specs.TransformSpec):
    INPUTS = {
        **standard_component_specs.TransformSpec.INPUTS,
        executor.BASE_GRAPH_KEY: ChannelParameter(
            type=standard_artifacts.TransformGraph, optional=True
        ),
    }
    PARAMETERS = {
        **standard_component_specs.TransformSpec.PARAMETERS,
        executor.PIPELINE_NAME_KEY: ExecutionParameter(type=str),
    }


class SpanTransform(base_beam_component.BaseBeamComponent):
    """Analyses and transforms span N; its vocabularies extend the base graph's."""

    SPEC_CLASS = SpanTransformSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        examples: types.BaseChannel,
        schema: types.BaseChannel,
        preprocessing_fn: str,
        splits_config: transform_pb2.SplitsConfig,
        custom_config: dict[str, Any],
        pipeline_name: str,
        base_transform_graph: types.BaseChannel | None = None,
    ) -> None:
        """Args:
        examples: span N's Examples.
        schema: the raw data schema.
        preprocessing_fn: the dotted path of the preprocessing function.
        splits_config: the splits to analyse and to transform.
        custom_config: passed to `preprocessing_fn` (the executor adds the base graph).
        pipeline_name: the pipeline whose span history the graph continues.
        base_transform_graph: the previous run's TransformGraph (none on a first run).
        """
        transformed = types.Channel(type=standard_artifacts.Examples)
        transformed.matching_channel_name = standard_component_specs.EXAMPLES_KEY
        spec = SpanTransformSpec(
            examples=examples,
            schema=schema,
            preprocessing_fn=preprocessing_fn,
            splits_config=splits_config,
            custom_config=json.dumps(custom_config, sort_keys=True),
            force_tf_compat_v1=0,
            disable_statistics=1,
            pipeline_name=pipeline_name,
            base_transform_graph=base_transform_graph,
            transform_graph=types.Channel(type=standard_artifacts.TransformGraph),
            transformed_examples=transformed,
        )
        super().__init__(spec=spec)
