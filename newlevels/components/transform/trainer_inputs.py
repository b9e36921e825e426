"""The full retrain's training files: span N's training rows and every row of spans 1..N-1.

Span N's rows come in TFX's way (the `examples` input and `train_args`); the
earlier spans' transformed examples come from the span history of the
`transform_graph` input, so the full retrain reads spans 1..N without an
earlier span being re-read from its raw files or transformed again.
"""

from __future__ import annotations

from typing import Any

from tfx import types
from tfx.components.trainer import fn_args_utils
from tfx.types import artifact_utils, standard_component_specs

from newlevels.components.trainer.executor import LineageTrainerExecutor
from newlevels.components.transform import history


class SpanHistoryTrainerExecutor(LineageTrainerExecutor):
    """LineageTrainerExecutor whose training files add the spans before the graph's own."""

    def _GetFnArgs(  # noqa: N802 (TFX API)
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> fn_args_utils.FnArgs:
        fn_args = super()._GetFnArgs(input_dict, output_dict, exec_properties)
        graph = artifact_utils.get_single_instance(
            input_dict[standard_component_specs.TRANSFORM_GRAPH_KEY]
        )
        fn_args.train_files = [*history.earlier_patterns(graph.uri), *fn_args.train_files]
        return fn_args
