"""`SpanExampleGen`: a FileBasedExampleGen over `<data>/span-{SPAN}/*`, one span per artifact.

It keeps FileBasedExampleGen's driver, which resolves the span of the
RangeConfig against the `{SPAN}` pattern and records `span` and `version` on
the Examples artifact (TFX's own terms, read by TFX's span resolvers), and its
Kubeflow handling; the executor checks the columns of span N's CSV, Parquet or
TFRecord files and splits span N's rows (see `executor.py`).
"""

from __future__ import annotations

import json

from tfx import types
from tfx.components.example_gen.component import FileBasedExampleGen
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.orchestration.data_types import RuntimeParameter
from tfx.proto import example_gen_pb2, range_config_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter

from newlevels.components.ingest import executor
from newlevels.components.ingest.csv_rows import SPAN_PATTERN
from newlevels.transforms.features import DataSpec

TRAIN_BUCKETS = 4
EVAL_BUCKETS = 1


def is_eval_row(row_id: str) -> bool:
    """Whether a row of the latest span lands in `span_eval`, as the executor splits it."""
    return executor.split_index(row_id, TRAIN_BUCKETS, EVAL_BUCKETS) == 1


def span_range(span: int) -> range_config_pb2.RangeConfig:
    """The RangeConfig that ingests span `span` (and only it)."""
    return range_config_pb2.RangeConfig(
        static_range=range_config_pb2.StaticRange(start_span_number=span, end_span_number=span)
    )


class SpanExampleGenSpec(standard_component_specs.FileBasedExampleGenSpec):
    PARAMETERS = {
        **standard_component_specs.FileBasedExampleGenSpec.PARAMETERS,
        executor.DATA_SPEC_KEY: ExecutionParameter(type=str),
    }


class SpanExampleGen(FileBasedExampleGen):
    """Ingests span N of a span-folder data set (CSV, Parquet or TFRecord files)."""

    SPEC_CLASS = SpanExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        input_base: str | RuntimeParameter,
        data_spec: DataSpec,
        range_config: range_config_pb2.RangeConfig | RuntimeParameter | None = None,
    ) -> None:
        """Args:
        input_base: the data root holding `span-<N>/` folders.
        data_spec: the columns to read and check.
        range_config: the span to ingest (see `span_range`); None ingests the latest
            span found. Either may be a RuntimeParameter (a str; the range as JSON).
        """
        split_config = example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(
                    name=executor.SPLIT_TRAIN, hash_buckets=TRAIN_BUCKETS
                ),
                example_gen_pb2.SplitConfig.Split(
                    name=executor.SPLIT_EVAL, hash_buckets=EVAL_BUCKETS
                ),
            ]
        )
        spec = SpanExampleGenSpec(
            input_base=input_base,
            input_config=example_gen_pb2.Input(
                splits=[example_gen_pb2.Input.Split(name="span", pattern=SPAN_PATTERN)]
            ),
            output_config=example_gen_pb2.Output(split_config=split_config),
            custom_config=None,
            range_config=range_config,
            output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
            output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
            data_spec=json.dumps(data_spec.to_dict(), sort_keys=True),
            examples=types.Channel(type=standard_artifacts.Examples),
        )
        base_beam_component.BaseBeamComponent.__init__(self, spec=spec)
