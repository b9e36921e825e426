"""Transform on the DirectRunner with 2 worker processes writes what the in-memory run writes.

The real TFX Transform executor runs our `preprocessing_fn` (by dotted path, as
in the pipeline) twice on the same generated splits, once per Beam mode.
"""

from __future__ import annotations

import glob
import json
import os
import random

import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.transform.executor import Executor as TransformExecutor
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.proto import transform_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types import standard_component_specs as keys
from tfx.utils import io_utils, proto_utils

from newlevels.components.ingest import csv_rows
from newlevels.components.ingest import executor as ingest
from newlevels.pipeline.config import DEFAULT_BEAM_ARGS, merge_beam_args
from newlevels.pipeline.pipeline import dotted_name
from newlevels.transforms.features import DataSpec
from newlevels.transforms.preprocessing import preprocessing_fn

pytestmark = pytest.mark.e2e

SPEC = DataSpec.build(["item", "user"], "label", "id")
MULTI_PROCESSING = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")


def write_examples(root: str) -> standard_artifacts.Examples:
    """Three splits of rows whose levels have distinct frequencies (and some ties)."""
    rng = random.Random(0)
    examples = standard_artifacts.Examples()
    examples.uri = root
    examples.split_names = artifact_utils.encode_split_names(list(ingest.SPLITS))
    for index, split in enumerate(ingest.SPLITS):
        folder = os.path.join(root, f"Split-{split}")
        os.makedirs(folder)
        with tf.io.TFRecordWriter(os.path.join(folder, "data.gz"), options="GZIP") as writer:
            for row in range(300):
                tokens = {
                    "item": f"i{min(rng.randrange(40), rng.randrange(40))}",
                    "user": f"u{rng.randrange(12 + 4 * index)}",
                }
                example = ingest.to_example(
                    csv_rows.Row(f"{split}-{row}", tokens, rng.randrange(2)), SPEC
                )
                writer.write(example.SerializeToString())
    return examples


def run_transform(examples, schema, out: str, beam_args: tuple[str, ...]) -> str:
    graph = standard_artifacts.TransformGraph()
    graph.uri = os.path.join(out, "transform_graph")
    transformed = standard_artifacts.Examples()
    transformed.uri = os.path.join(out, "transformed_examples")
    analyzed = [ingest.SPLIT_EARLIER, ingest.SPLIT_TRAIN]
    splits = transform_pb2.SplitsConfig(analyze=analyzed, transform=list(ingest.SPLITS))
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=list(beam_args), tmp_dir=os.path.join(out, "tmp"), unique_id="1"
    )
    TransformExecutor(context).Do(
        {keys.EXAMPLES_KEY: [examples], keys.SCHEMA_KEY: [schema]},
        {keys.TRANSFORM_GRAPH_KEY: [graph], keys.TRANSFORMED_EXAMPLES_KEY: [transformed]},
        {
            keys.PREPROCESSING_FN_KEY: dotted_name(preprocessing_fn),
            keys.CUSTOM_CONFIG_KEY: json.dumps({"data_spec": SPEC.to_dict()}),
            keys.SPLITS_CONFIG_KEY: proto_utils.proto_to_json(splits),
            keys.DISABLE_STATISTICS_KEY: 1,
        },
    )
    return out


def vocabularies(out: str) -> dict[str, list[bytes]]:
    """Each feature's vocabulary, decoded (gzip headers differ between runs)."""
    output = tft.TFTransformOutput(os.path.join(out, "transform_graph"))
    return {name: output.vocabulary_by_name(name) for name in SPEC.feature_names}


def feature_values(record: bytes) -> tuple:
    """An example's features, canonical: proto map order differs between processes."""
    features = tf.train.Example.FromString(record).features.feature
    return tuple(
        (name, tuple(getattr(features[name], features[name].WhichOneof("kind")).value))
        for name in sorted(features)
    )


def transformed_rows(out: str) -> dict[str, list[tuple]]:
    rows = {}
    for split in ingest.SPLITS:
        files = glob.glob(os.path.join(out, "transformed_examples", f"Split-{split}", "*"))
        dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
        rows[split] = sorted(feature_values(record.numpy()) for record in dataset)
    return rows


def test_transform_with_two_worker_processes_equals_the_in_memory_run(tmp_path):
    examples = write_examples(str(tmp_path / "examples"))
    schema = standard_artifacts.Schema()
    schema.uri = str(tmp_path / "schema")
    io_utils.write_pbtxt_file(os.path.join(schema.uri, "schema.pbtxt"), SPEC.raw_schema())
    multi_args = merge_beam_args(DEFAULT_BEAM_ARGS, MULTI_PROCESSING)
    assert multi_args == ("--runner=FnApiRunner", *MULTI_PROCESSING)

    in_memory = run_transform(examples, schema, str(tmp_path / "in_memory"), DEFAULT_BEAM_ARGS)
    multi = run_transform(examples, schema, str(tmp_path / "multi"), multi_args)

    expected_vocabularies = vocabularies(in_memory)
    assert sorted(expected_vocabularies) == ["item", "user"]
    assert all(expected_vocabularies.values())
    assert vocabularies(multi) == expected_vocabularies
    expected_rows = transformed_rows(in_memory)
    assert all(len(rows) == 300 for rows in expected_rows.values())
    assert transformed_rows(multi) == expected_rows
