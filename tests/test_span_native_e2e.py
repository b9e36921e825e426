"""Span-native ingestion through the real pipeline: one Examples artifact per span, earlier
spans resolved from MLMD (their raw files gone), append-only vocabularies, and the full
retrain on spans 1..N. Span 1 arrives as Parquet, span 2 as TFRecord; span 2 mixes
old and new levels."""

from __future__ import annotations

import glob
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
import tensorflow_transform as tft

from newlevels import cli
from newlevels.components.ingest import executor as ingest
from newlevels.components.ingest.component import is_eval_row
from newlevels.components.ingest.rows import Row
from newlevels.components.trainer import artifacts
from newlevels.components.transform.history import read_history
from newlevels.pipeline import metadata
from newlevels.pipeline.config import PIPELINE_NAME
from newlevels.pipeline.data.toy import toy_rows
from newlevels.pipeline.pipeline import NodeIds
from newlevels.transforms.features import DataSpec
from tests import pipeline_checks as checks

#: two toy pipeline runs (about 2 minutes): the default run covers the same code with
#: CSV (tests/test_lineage_e2e.py) and the formats at the ExampleGen (tests/test_formats.py).
pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SPEC = DataSpec.build(["level"], "label", "id")
COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
#: span 1: the first 3,000 rows of levels 0-79; span 2: every other row (old and new levels).
SPAN_1_ROWS = 3000


def write_spans(data: str) -> dict[int, list[tuple[str, str, int]]]:
    rows = toy_rows()
    first = [r for r in rows[:SPAN_1_ROWS] if int(r[1][1:]) < 80]
    second = [r for r in rows if r not in set(first)]
    os.makedirs(os.path.join(data, "span-1"))
    ids, levels, labels = (list(column) for column in zip(*first, strict=True))
    pq.write_table(
        pa.table({"id": ids, "level": levels, "label": labels}),
        os.path.join(data, "span-1", "part-0.parquet"),
    )
    os.makedirs(os.path.join(data, "span-2"))
    with tf.io.TFRecordWriter(
        os.path.join(data, "span-2", "data_tfrecord-00000-of-00001.gz"), "GZIP"
    ) as writer:
        for row in second:
            example = ingest.to_example(Row(row[0], {"level": row[1]}, row[2]), SPEC)
            writer.write(example.SerializeToString())
    return {1: first, 2: second}


def run(data: str, workdir: str, span: int) -> int:
    return cli.main(["run", "--data", data, "--span", str(span), "--workdir", workdir, *COLUMNS])


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = tmp_path_factory.mktemp("span-native")
    data, workdir = str(root / "data"), str(root / "work")
    rows = write_spans(data)
    assert run(data, workdir, 1) == 0
    # span 1's raw files are gone: span 2 must resolve span 1 from MLMD
    os.rename(os.path.join(data, "span-1"), os.path.join(data, "gone-span-1"))
    assert run(data, workdir, 2) == 0
    store = metadata.open_store(f"{workdir}/metadata.sqlite")
    return {
        "rows": rows,
        "data": data,
        "workdir": workdir,
        "runs": metadata.all_runs(store, PIPELINE_NAME),
        "summaries": [
            checks.load_json(os.path.join(workdir, "runs", f"span-{k}", "summary.json"))
            for k in (1, 2)
        ],
    }


def ids_in(examples_uri: str, key: str) -> dict[str, set[str]]:
    found = {}
    for split in ingest.SPLITS:
        files = glob.glob(os.path.join(examples_uri, f"Split-{split}", "*"))
        records = tf.data.TFRecordDataset(files, compression_type="GZIP")
        found[split] = {
            tf.train.Example.FromString(r.numpy())
            .features.feature[key]
            .bytes_list.value[0]
            .decode()
            for r in records
        }
    return found


@pytest.mark.reliability("a span whose earlier spans")
def test_a_span_out_of_order_is_refused_before_anything_runs(history, capsys):
    data, workdir = history["data"], history["workdir"]
    os.makedirs(os.path.join(data, "span-4"))
    with open(os.path.join(data, "span-4", "rows.csv"), "w", encoding="utf-8") as handle:
        handle.write("id,level,label\nz1,L1,1\n")
    capsys.readouterr()
    assert run(data, workdir, 4) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "--span 4: pipeline 'newlevels' has not ingested span(s) [3]" in error
    store = metadata.open_store(f"{workdir}/metadata.sqlite")
    assert len(metadata.all_runs(store, PIPELINE_NAME)) == 2
    assert not os.path.exists(os.path.join(workdir, "runs", "span-4", "summary.json"))


def test_each_examples_artifact_holds_its_span_only_split_by_id(history):
    for run, span in zip(history["runs"], (1, 2), strict=True):
        examples = run.nodes[NodeIds.EXAMPLE_GEN].output("examples")
        assert examples.custom_properties["span"].int_value == span
        ids = {row[0] for row in history["rows"][span]}
        found = ids_in(examples.uri, "id")
        assert found[ingest.SPLIT_EVAL] == {i for i in ids if is_eval_row(i)}
        assert found[ingest.SPLIT_TRAIN] == {i for i in ids if not is_eval_row(i)}
        transformed = run.nodes[NodeIds.TRANSFORM].output("transformed_examples")
        assert transformed.custom_properties["span"].int_value == span
        assert ids_in(transformed.uri, "_row_id") == found


def test_vocabularies_only_grow_and_the_graph_records_spans_1_to_n(history):
    first, second = (
        run.nodes[NodeIds.TRANSFORM].output("transform_graph") for run in history["runs"]
    )
    before = tft.TFTransformOutput(first.uri).vocabulary_by_name("level")
    after = tft.TFTransformOutput(second.uri).vocabulary_by_name("level")
    assert after[: len(before)] == before and len(after) == 100
    second_history = read_history(second.uri)
    assert [e.span for e in second_history.entries] == [1, 2]
    assert second_history.entries[0].transform_graph == first.uri
    base = history["runs"][1].nodes[NodeIds.BASE_GRAPH_RESOLVER].output("transform_graph")
    assert base.id == first.id


def test_the_full_retrain_trains_spans_1_to_n_and_the_candidate_span_n(history):
    _, second = history["summaries"]
    span_1, span_2 = (history["rows"][k] for k in (1, 2))
    span_2_train = sum(1 for row in span_2 if not is_eval_row(row[0]))
    assert second["rows_total"] == span_2_train
    full = artifacts.read_embeddings(second["baseline_model_uri"]).manifest
    assert full.rows_total == full.rows_trained == len(span_1) + span_2_train
    assert 0 < second["rows_trained"] < span_2_train  # span 2 mixes old and new levels
    assert second["features"]["level"] == {"old_levels": 80, "new_levels": 20, "vocab_size": 100}


def test_lineage_shows_which_spans_each_model_trained_on(history, capsys):
    _, second = history["summaries"]
    workdir = history["workdir"]
    baseline = history["runs"][1].nodes[NodeIds.FULL_TRAINER].output("model")
    candidate = history["runs"][1].nodes[NodeIds.INCREMENTAL_TRAINER].output("model")
    for model, spans in ((candidate, [2]), (baseline, [1, 2])):
        capsys.readouterr()
        assert (
            cli.main(
                ["lineage", "--workdir", workdir, "--model", str(model.id), "--format", "json"]
            )
            == 0
        )
        chain = json.loads(capsys.readouterr().out)
        assert chain[0]["spans"] == spans
