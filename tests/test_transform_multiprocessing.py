"""Transform on the DirectRunner with 2 worker processes writes what the in-memory run writes.

Our Transform executor (TFX's, with the base graph and span history around it)
runs our `preprocessing_fn` (by dotted path, as in the pipeline) on span 1, then
twice on span 2 extending span 1's graph, once per Beam mode.
"""

from __future__ import annotations

import glob
import json
import os
import random

import pytest
import tensorflow as tf
import tensorflow_transform as tft
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.proto import transform_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.types import standard_component_specs as keys
from tfx.utils import io_utils, proto_utils

from newlevels.components.ingest import executor as ingest
from newlevels.components.ingest.rows import Row
from newlevels.components.transform import executor as span_transform
from newlevels.components.transform.history import SpanHistoryError, read_history
from newlevels.pipeline.config import DEFAULT_BEAM_ARGS, PIPELINE_NAME, merge_beam_args
from newlevels.pipeline.pipeline import dotted_name
from newlevels.transforms.features import DataSpec
from newlevels.transforms.preprocessing import preprocessing_fn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPEC = DataSpec.build(["item", "user"], "label", "id")
MULTI_PROCESSING = ("--direct_running_mode=multi_processing", "--direct_num_workers=2")


def write_examples(root: str, span: int) -> standard_artifacts.Examples:
    """Span `span`'s two splits: levels with distinct frequencies (and some ties); span 2
    brings new items and users, and its evaluation split users of its own."""
    rng = random.Random(span)
    examples = standard_artifacts.Examples()
    examples.uri = root
    examples.split_names = artifact_utils.encode_split_names(list(ingest.SPLITS))
    examples.set_int_custom_property(span_transform.SPAN_PROPERTY, span)
    for index, split in enumerate(ingest.SPLITS, start=span):
        folder = os.path.join(root, f"Split-{split}")
        os.makedirs(folder)
        with tf.io.TFRecordWriter(os.path.join(folder, "data.gz"), options="GZIP") as writer:
            for row in range(300):
                tokens = {
                    "item": f"i{min(rng.randrange(20 * span), rng.randrange(20 * span))}",
                    "user": f"u{rng.randrange(12 + 4 * index)}",
                }
                example = ingest.to_example(Row(f"{split}-{row}", tokens, rng.randrange(2)), SPEC)
                writer.write(example.SerializeToString())
    return examples


def run_transform(
    examples, schema, out: str, beam_args: tuple[str, ...], base: str | None = None
) -> str:
    graph = standard_artifacts.TransformGraph()
    graph.uri = os.path.join(out, "transform_graph")
    transformed = standard_artifacts.Examples()
    transformed.uri = os.path.join(out, "transformed_examples")
    splits = transform_pb2.SplitsConfig(analyze=[ingest.SPLIT_TRAIN], transform=list(ingest.SPLITS))
    context = BaseBeamExecutor.Context(
        beam_pipeline_args=list(beam_args), tmp_dir=os.path.join(out, "tmp"), unique_id="1"
    )
    inputs = {keys.EXAMPLES_KEY: [examples], keys.SCHEMA_KEY: [schema]}
    if base is not None:
        base_graph = standard_artifacts.TransformGraph()
        base_graph.uri = os.path.join(base, "transform_graph")
        inputs[span_transform.BASE_GRAPH_KEY] = [base_graph]
    span_transform.Executor(context).Do(
        inputs,
        {keys.TRANSFORM_GRAPH_KEY: [graph], keys.TRANSFORMED_EXAMPLES_KEY: [transformed]},
        {
            keys.PREPROCESSING_FN_KEY: dotted_name(preprocessing_fn),
            keys.CUSTOM_CONFIG_KEY: json.dumps({"data_spec": SPEC.to_dict()}),
            keys.SPLITS_CONFIG_KEY: proto_utils.proto_to_json(splits),
            keys.DISABLE_STATISTICS_KEY: 1,
            span_transform.PIPELINE_NAME_KEY: PIPELINE_NAME,
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


def split_tokens(examples, split: str, name: str) -> set[bytes]:
    files = glob.glob(os.path.join(examples.uri, f"Split-{split}", "*"))
    return {
        tf.train.Example.FromString(record.numpy()).features.feature[name].bytes_list.value[0]
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Span 1 in memory; span 2 on span 1's graph, in memory and on 2 worker processes."""
    root = tmp_path_factory.mktemp("transform")
    schema = standard_artifacts.Schema()
    schema.uri = str(root / "schema")
    io_utils.write_pbtxt_file(os.path.join(schema.uri, "schema.pbtxt"), SPEC.raw_schema())
    first = write_examples(str(root / "span-1"), 1)
    second = write_examples(str(root / "span-2"), 2)
    multi_args = merge_beam_args(DEFAULT_BEAM_ARGS, MULTI_PROCESSING)
    assert multi_args == ("--runner=FnApiRunner", *MULTI_PROCESSING)
    base = run_transform(first, schema, str(root / "base"), DEFAULT_BEAM_ARGS)
    return {
        "root": root,
        "schema": schema,
        "examples": (first, second),
        "base": base,
        "in_memory": run_transform(second, schema, str(root / "in"), DEFAULT_BEAM_ARGS, base),
        "multi": run_transform(second, schema, str(root / "multi"), multi_args, base),
    }


def test_transform_with_two_worker_processes_equals_the_in_memory_run(runs):
    expected_vocabularies = vocabularies(runs["in_memory"])
    assert sorted(expected_vocabularies) == ["item", "user"]
    assert vocabularies(runs["multi"]) == expected_vocabularies
    expected_rows = transformed_rows(runs["in_memory"])
    assert all(len(rows) == 300 for rows in expected_rows.values())
    assert transformed_rows(runs["multi"]) == expected_rows
    history = read_history(os.path.join(runs["multi"], "transform_graph"))
    assert [entry.span for entry in history.entries] == [1, 2]
    assert history.entries[0].transform_graph == os.path.join(runs["base"], "transform_graph")


def test_vocabularies_append_span_n_training_tokens_to_the_base(runs):
    """Span 2's vocabulary is span 1's, index for index, then the new training tokens."""
    first, second = runs["examples"]
    for name in SPEC.feature_names:
        before, after = vocabularies(runs["base"])[name], vocabularies(runs["in_memory"])[name]
        assert set(before) == split_tokens(first, ingest.SPLIT_TRAIN, name)
        assert after[: len(before)] == before
        appended = split_tokens(second, ingest.SPLIT_TRAIN, name) - set(before)
        assert appended and set(after[len(before) :]) == appended
    # a level seen only in span 2's evaluation rows (users u20-u23) is no level of this run
    eval_only = split_tokens(second, ingest.SPLIT_EVAL, "user") - set(after)
    assert eval_only and not eval_only & set(vocabularies(runs["in_memory"])["user"])


def test_a_span_whose_predecessor_was_never_transformed_is_refused(runs):
    root = runs["root"]
    third = write_examples(str(root / "span-3"), 3)
    with pytest.raises(SpanHistoryError, match=r"has not ingested span\(s\) \[2\]"):
        run_transform(third, runs["schema"], str(root / "gap"), DEFAULT_BEAM_ARGS, runs["base"])
    assert not os.path.exists(root / "gap" / "transform_graph")
