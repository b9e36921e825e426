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
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import tensorflow as tf
from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
from tfx.proto import example_gen_pb2
from tfx.utils import proto_utils
from tfx_bsl.coders import example_coder

from newlevels.components.ingest import csv_rows
from newlevels.components.ingest.rows import Row
from newlevels.transforms.features import DataSpec

DATA_SPEC_KEY = "data_spec"
SPLIT_TRAIN = "span_train"
SPLIT_EVAL = "span_eval"
SPLITS = (SPLIT_TRAIN, SPLIT_EVAL)
#: rows encoded per batch (tfx_bsl's C++ encoder; a file is never held whole).
ENCODE_BATCH = 10_000


def to_example(row: Row, spec: DataSpec) -> tf.train.Example:
    """The canonical example of a row, whatever file format it came from."""

    def text(value: str) -> tf.train.Feature:
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))

    features = {spec.id_column: text(row.row_id)}
    features.update({name: text(token) for name, token in row.tokens.items()})
    features[spec.label] = tf.train.Feature(int64_list=tf.train.Int64List(value=[row.label]))
    return tf.train.Example(features=tf.train.Features(feature=features))


def encode_rows(rows: list[Row], spec: DataSpec) -> list[bytes]:
    """`to_example(row).SerializeToString()` for each row, parsed alike, in one C++ call.

    The features are written in the order id, categorical columns, label; a
    tf.Example's map has no order, so `tf.train.Example.FromString` of both is equal.
    """
    offsets = pa.array(np.arange(len(rows) + 1, dtype=np.int32))

    def column(values: list, kind: pa.DataType) -> pa.ListArray:
        return pa.ListArray.from_arrays(offsets, pa.array(values, type=kind))

    columns = {spec.id_column: column([row.row_id.encode("utf-8") for row in rows], pa.binary())}
    for name in spec.feature_names:
        columns[name] = column([row.tokens[name].encode("utf-8") for row in rows], pa.binary())
    columns[spec.label] = column([row.label for row in rows], pa.int64())
    return example_coder.RecordBatchToExamples(pa.RecordBatch.from_pydict(columns))


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


def split_index(row_id: str, train_buckets: int, eval_buckets: int) -> int:
    """The row's index in `SPLITS`: 1 (`span_eval`) for `eval_buckets` of every
    `train_buckets + eval_buckets` hash buckets of its id, else 0."""
    return int(eval_bucket(row_id, train_buckets + eval_buckets) >= train_buckets)


def encoded_file(
    path: str, spec: DataSpec, train_buckets: int, eval_buckets: int
) -> Iterator[beam.pvalue.TaggedOutput]:
    """A file's rows as serialized examples, each tagged with its split's name.

    Raises:
        DataError: from the reader, naming the file, line and column.
    """
    pending: dict[str, list[Row]] = {name: [] for name in SPLITS}

    def flush(name: str) -> Iterator[beam.pvalue.TaggedOutput]:
        for record in encode_rows(pending[name], spec):
            yield beam.pvalue.TaggedOutput(name, record)
        pending[name] = []

    for row in csv_rows.read_rows(path, spec):
        name = SPLITS[split_index(row.row_id, train_buckets, eval_buckets)]
        pending[name].append(row)
        if len(pending[name]) >= ENCODE_BATCH:
            yield from flush(name)
    for name in SPLITS:
        if pending[name]:
            yield from flush(name)


class Executor(BaseExampleGenExecutor):
    """Reads the resolved span's files with `csv_rows` and splits them into `SPLITS`.

    Each file is read, split and encoded in one step (`encoded_file`): serialized
    examples go to TFX's writer, with no Beam step per row in between.
    """

    def GetInputSourceToExamplePTransform(self) -> beam.PTransform:  # noqa: N802 (TFX API)
        raise NotImplementedError("this executor overrides GenerateExamplesByBeam")

    def GenerateExamplesByBeam(  # noqa: N802 (TFX API)
        self, pipeline: beam.Pipeline, exec_properties: dict[str, Any]
    ) -> dict[str, beam.pvalue.PCollection]:
        spec = DataSpec.from_dict(json.loads(exec_properties[DATA_SPEC_KEY]))
        output_config = example_gen_pb2.Output()
        proto_utils.json_to_proto(exec_properties["output_config"], output_config)
        buckets = {s.name: s.hash_buckets for s in output_config.split_config.splits}
        parts = (
            pipeline
            | "SpanFiles" >> beam.Create(resolved_files(exec_properties))
            | "ReadSplitEncode"
            >> beam.FlatMap(
                encoded_file, spec, buckets[SPLIT_TRAIN], buckets[SPLIT_EVAL]
            ).with_outputs(*SPLITS)
        )
        return {name: parts[name] for name in SPLITS}
