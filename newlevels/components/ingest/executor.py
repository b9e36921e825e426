"""ExampleGen executor: span N plus the spans before it, split for both Trainers.

Output splits:
    earlier     every row of spans 1..N-1 (the full-retrain baseline trains on it)
    span_train  span N's training rows (both Trainers)
    span_eval   span N's evaluation rows (the Evaluator), picked by a hash of the id
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import apache_beam as beam
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils

from newlevels.components.ingest import csv_rows
from newlevels.transforms.features import DataSpec

DATA_SPEC_KEY = "data_spec"
SPLIT_EARLIER = "earlier"
SPLIT_TRAIN = "span_train"
SPLIT_EVAL = "span_eval"
SPLITS = (SPLIT_EARLIER, SPLIT_TRAIN, SPLIT_EVAL)


def to_example(row: csv_rows.Row, spec: DataSpec) -> tf.train.Example:
    def text(value: str) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))

    features = {spec.id_column: text(row.row_id)}
    features.update({name: text(token) for name, token in row.tokens.items()})
    features[spec.label] = tf.train.Feature(int64_list=tf.train.Int64List(value=[row.label]))
    return tf.train.Example(features=tf.train.Features(feature=features))


def eval_bucket(row_id: str, buckets: int) -> int:
    """A stable bucket in [0, buckets) from the row id (not from the whole row)."""
    return int(hashlib.sha256(row_id.encode("utf-8")).hexdigest()[:12], 16) % buckets


def _read_span(path_and_span: tuple[str, int], spec: DataSpec):
    path, span = path_and_span
    for row in csv_rows.read_rows(path, spec):
        yield span, row


class Executor(BaseExampleGenExecutor):
    """Reads spans 1..N with `csv_rows` and partitions them into `SPLITS`."""

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802 (TFX API)
        raise NotImplementedError("this executor overrides GenerateExamplesByBeam")

    def GenerateExamplesByBeam(  # noqa: N802 (TFX API)
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.pvalue.PCollection]:
        spec = DataSpec.from_dict(json.loads(exec_properties[DATA_SPEC_KEY]))
        span = int(exec_properties["span"])
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties["output_config"], output_config)
        buckets = {s.name: s.hash_buckets for s in output_config.split_config.splits}
        train_buckets, eval_buckets = buckets[SPLIT_TRAIN], buckets[SPLIT_EVAL]
        root = exec_properties["input_base"]
        inputs = [(path, k) for k in range(1, span + 1) for path in csv_rows.span_files(root, k)]

        def partition(item: tuple[int, csv_rows.Row], _: int) -> int:
            row_span, row = item
            if row_span < span:
                return 0
            bucket = eval_bucket(row.row_id, train_buckets + eval_buckets)
            return 1 if bucket < train_buckets else 2

        parts = (
            pipeline
            | "SpanFiles" >> beam.Create(inputs)
            | "ReadRows" >> beam.FlatMap(_read_span, spec)
            | "Partition" >> beam.Partition(partition, len(SPLITS))
        )
        return {
            name: part | f"ToExample[{name}]" >> beam.Map(lambda item: to_example(item[1], spec))
            for name, part in zip(SPLITS, parts, strict=True)
        }
