"""ExampleGen executor: span N's files only, split by a hash of the row id.

Output splits (both of span N; earlier spans live in their own Examples
artifacts, resolved through MLMD, never read again):
    span_train  the training rows (both Trainers)
    span_eval   the evaluation rows (the Evaluator), picked by a hash of the id
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from newlevels.components.ingest import csv_rows
from newlevels.components.ingest.rows import Row
from newlevels.transforms.features import DataSpec

DATA_SPEC_KEY = "data_spec"
SPLIT_TRAIN = "span_train"
SPLIT_EVAL = "span_eval"
SPLITS = (SPLIT_TRAIN, SPLIT_EVAL)


def to_example(row: Row, spec: DataSpec) -> tf.train.Example:
    """The canonical example of a row, whatever file format it came from."""

    def text(value: str) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))

    features = {spec.id_column: text(row.row_id)}
    features.update({name: text(token) for name, token in row.tokens.items()})
    features[spec.label] = tf.train.Feature(int64_list=tf.train.Int64List(value=[row.label]))
    return tf.train.Example(features=tf.train.Features(feature=features))


def eval_bucket(row_id: str, buckets: int) -> int:
    """A stable bucket in [0, buckets) from the row id (not from the whole row)."""
    return int(hashlib.sha256(row_id.encode("utf-8")).hexdigest()[:12], 16) % buckets


def resolved_files(exec_properties: dict[str, Any]) -> list[str]:
    """The data files of the span the driver resolved (its `{SPAN}` filled in).

    Raises:
        DataError: if the span folder holds no data file.
    """
    input_config = example_gen_pb2.Input()
    proto_utils.json_to_proto(exec_properties["input_config"], input_config)
    (split,) = input_config.splits
    pattern = os.path.join(exec_properties["input_base"], split.pattern)
    return csv_rows.data_files(os.path.dirname(pattern), tf.io.gfile.glob(pattern))


class Executor(BaseExampleGenExecutor):
    """Reads the resolved span's files with `csv_rows` and splits them into `SPLITS`."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802 (TFX API)
        raise NotImplementedError("this executor overrides GenerateExamplesByBeam")

    def GenerateExamplesByBeam(  # noqa: N802 (TFX API)
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.pvalue.PCollection]:
        spec = DataSpec.from_dict(json.loads(exec_properties[DATA_SPEC_KEY]))
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties["output_config"], output_config)
        buckets = {s.name: s.hash_buckets for s in output_config.split_config.splits}
        train_buckets, eval_buckets = buckets[SPLIT_TRAIN], buckets[SPLIT_EVAL]

        def partition(row: Row, _: int) -> int:
            return int(eval_bucket(row.row_id, train_buckets + eval_buckets) >= train_buckets)

        parts = (
            pipeline
            | "SpanFiles" >> beam.Create(resolved_files(exec_properties))
            | "ReadRows" >> beam.FlatMap(csv_rows.read_rows, spec)
            | "Partition" >> beam.Partition(partition, len(SPLITS))
        )
        return {
            name: part | f"ToExample[{name}]" >> beam.Map(to_example, spec)
            for name, part in zip(SPLITS, parts, strict=True)
        }
