"""The real two-run pipeline, for every strategy, on the mixed toy.

Span 2 of the mixed toy (`write_mixed_toy`) pairs new levels with old groups and old
levels with new groups, so the rows the candidate trains on reach old rows: a model
that froze nothing moves them (`tests/test_schema_and_data.py` checks that on the same
rows). Span 2 also holds rows of old levels only, which the candidate must skip, and
levels 0-19 vanish from it.
"""

from __future__ import annotations

import glob
import os
import pathlib
from collections.abc import Callable

import numpy as np
import pytest
import tensorflow as tf

from newlevels import cli
from newlevels.components.trainer import artifacts
from newlevels.components.trainer.strategies import INCREMENTAL
from newlevels.components.trainer.strategies.base import fresh_rows
from newlevels.pipeline import metadata
from newlevels.pipeline.config import PIPELINE_NAME
from newlevels.pipeline.data.toy import MIXED_COLUMNS, VANISHING_LEVELS, write_mixed_toy
from newlevels.pipeline.local_runner import LOG_FILE
from newlevels.pipeline.pipeline import NodeIds
from newlevels.pipeline.report import write_report
from newlevels.transforms.features import DataSpec
from tests import pipeline_checks as checks
from tests.test_report import assert_png

FEATURES = ("level", "group")
SPEC = DataSpec.build(list(FEATURES), "label", "id")
COLUMNS = ["--categorical", ",".join(FEATURES), "--label", "label", "--id", "id"]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory) -> Callable[[str], dict]:
    """`newlevels run` on spans 1 and 2 of one mixed toy, once per strategy asked for."""
    data = str(tmp_path_factory.mktemp("mixed") / "data")
    write_mixed_toy(data)
    done: dict[str, dict] = {}

    def runs(strategy: str) -> dict:
        if strategy not in done:
            workdir = str(tmp_path_factory.mktemp(f"work-{strategy}"))
            summaries = checks.run_spans(data, workdir, (1, 2), strategy, COLUMNS)
            done[strategy] = {
                "data": data,
                "workdir": workdir,
                "summaries": summaries,
                "strategy": strategy,
            }
        return done[strategy]

    return runs


@pytest.fixture(params=INCREMENTAL)
def toy_runs(request, mixed_runs) -> dict:
    """Both runs of one strategy."""
    return mixed_runs(request.param)


@pytest.fixture
def split_runs(mixed_runs) -> dict:
    """Both runs of the default strategy, for checks that do not depend on the strategy."""
    return mixed_runs("split")


def old_tokens(model_uri: str) -> dict[str, set[str]]:
    """Each feature's tokens in a model's vocabulary."""
    features = artifacts.read_embeddings(model_uri).features
    return {name: set(rows.vocabulary) for name, rows in features.items()}


def holds_new_level(row: dict[str, str], old: dict[str, set[str]]) -> bool:
    return any(row[name] not in tokens for name, tokens in old.items())


def test_summaries_carry_the_contract_keys_and_chain_the_models(toy_runs):
    first, second = toy_runs["summaries"]
    for summary, span in ((first, 1), (second, 2)):
        assert set(summary) >= checks.CONTRACT_KEYS
        assert summary["span"] == span and summary["strategy"] == toy_runs["strategy"]
        assert summary["blessed"] and summary["pushed"] and summary["pushed_path"]
    assert first["parent_model_uri"] is None
    assert second["parent_model_uri"] == first["model_uri"]
    assert first["features"] == {
        "level": {"old_levels": 0, "new_levels": 80, "vocab_size": 80},
        "group": {"old_levels": 0, "new_levels": 8, "vocab_size": 8},
    }
    assert second["features"] == {
        "level": {"old_levels": 80, "new_levels": 20, "vocab_size": 100},
        "group": {"old_levels": 8, "new_levels": 2, "vocab_size": 10},
    }
    assert {NodeIds.INCREMENTAL_TRAINER, NodeIds.FULL_TRAINER, NodeIds.EVALUATOR} <= set(
        second["seconds"]
    )


def test_mlmd_lineage_shows_the_parent_as_the_trainers_base_model(split_runs):
    store = metadata.open_store(f"{split_runs['workdir']}/metadata.sqlite")
    run = metadata.latest_run(store, PIPELINE_NAME)
    base = run.nodes[NodeIds.INCREMENTAL_TRAINER].input("base_model")
    assert base is not None and base.uri == split_runs["summaries"][0]["model_uri"]


def test_every_span1_token_keeps_a_bit_identical_row(toy_runs):
    first, second = toy_runs["summaries"]
    changes = checks.max_change_by_token(first["model_uri"], second["model_uri"])
    assert changes == {"level": 0.0, "group": 0.0}
    assert second["old_rows_max_abs_change"] == {"level": 0.0, "group": 0.0}


def test_new_rows_moved_away_from_their_initialisation(toy_runs):
    first, second = toy_runs["summaries"]
    parent = artifacts.read_embeddings(first["model_uri"]).features
    child = artifacts.read_embeddings(second["model_uri"]).features
    for index, name in enumerate(FEATURES):
        old = len(parent[name].vocabulary)
        trained = child[name].weights[old:]
        initial = fresh_rows(len(trained), 2, seed=index)
        assert len(trained) == second["features"][name]["new_levels"] > 0
        assert np.all(np.any(trained != initial, axis=1)), f"every new {name} row should move"


def test_rows_trained_counts_span2_training_rows_holding_a_new_level(toy_runs):
    first, second = toy_runs["summaries"]
    old = old_tokens(first["model_uri"])
    training = [r for r in checks.csv_rows(toy_runs["data"], 2) if checks.is_training_row(r["id"])]
    expected = sum(1 for row in training if holds_new_level(row, old))
    # Span 2 also holds training rows of old levels only: a filter keeping every row fails.
    assert 0 < expected < len(training)
    assert second["rows_trained"] == expected
    assert second["rows_total"] == len(training)


@pytest.mark.reliability("a level that vanished from the new span")
def test_pushed_models_predict_bit_identically_on_old_level_rows(toy_runs):
    first, second = toy_runs["summaries"]
    old = old_tokens(first["model_uri"])
    span2_old_only = [
        r for r in checks.csv_rows(toy_runs["data"], 2) if not holds_new_level(r, old)
    ]
    rows = checks.csv_rows(toy_runs["data"], 1) + span2_old_only
    vanished = {f"L{k}" for k in range(VANISHING_LEVELS)}
    assert span2_old_only and vanished <= {row["level"] for row in rows}
    examples = checks.to_examples(rows, SPEC)
    before = checks.predict(first["pushed_path"], examples)
    after = checks.predict(second["pushed_path"], examples)
    assert np.max(np.abs(after - before)) == 0.0
    change = second["old_level_rows_prediction_change"]
    assert change["max_abs"] == 0.0 and change["rows"] > 0


def test_exported_rows_are_the_rows_the_savedmodel_serves_and_unseen_levels_use_oov(toy_runs):
    second = toy_runs["summaries"][1]
    exported = artifacts.read_embeddings(second["model_uri"]).features
    unseen = "a level never seen"
    tokens = {name: [*exported[name].vocabulary, unseen] for name in FEATURES}
    requests = [
        {"level": level, "group": tokens["group"][i % len(tokens["group"])]}
        for i, level in enumerate(tokens["level"])
    ]
    served = checks.predict(second["pushed_path"], checks.to_examples(requests, SPEC))

    def row_sum(name: str, token: str) -> float:
        rows = exported[name]
        vector = rows.oov if token == unseen else rows.weights[rows.vocabulary.index(token)]
        return float(np.sum(vector, dtype=np.float64))

    logits = [sum(row_sum(name, request[name]) for name in FEATURES) for request in requests]
    expected = tf.sigmoid(tf.constant(logits, tf.float32)).numpy()
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)


def test_the_gate_compares_sliced_candidate_and_baseline_auc(toy_runs):
    first, second = toy_runs["summaries"]
    old = old_tokens(first["model_uri"])
    evaluation = [
        r for r in checks.csv_rows(toy_runs["data"], 2) if not checks.is_training_row(r["id"])
    ]
    new_rows = sum(1 for row in evaluation if holds_new_level(row, old))
    for model in ("candidate", "baseline"):
        slices = second["metrics"][model]
        assert 0.5 < slices["overall"]["auc"] <= 1.0
        assert slices["overall"]["examples"] == len(evaluation)
        assert slices["new_level_rows"]["examples"] == new_rows
        assert slices["old_level_rows"]["examples"] == len(evaluation) - new_rows > 0
        by_feature = second["metrics_by_feature"][model]
        for name in FEATURES:
            new_of_feature = sum(1 for row in evaluation if row[name] not in old[name])
            assert by_feature[name]["new_level_rows"]["examples"] == new_of_feature > 0


@pytest.mark.reliability("extra columns")
def test_extra_columns_are_ignored(split_runs):
    header = checks.csv_header(split_runs["data"], 2)
    assert header == list(MIXED_COLUMNS) and "note" not in SPEC.required_columns
    store = metadata.open_store(f"{split_runs['workdir']}/metadata.sqlite")
    examples = metadata.latest_run(store, PIPELINE_NAME).nodes[NodeIds.EXAMPLE_GEN]
    files = glob.glob(os.path.join(examples.output("examples").uri, "Split-*", "*"))
    record = next(iter(tf.data.TFRecordDataset(files[:1], compression_type="GZIP")))
    ingested = tf.train.Example.FromString(record.numpy()).features.feature
    assert set(ingested) == set(SPEC.required_columns)


def test_report_draws_the_exported_rows_and_the_movement_from_the_parent(split_runs):
    first, second = split_runs["summaries"]
    workdir = split_runs["workdir"]
    assert cli.main(["report", "--workdir", workdir, "--span", "1"]) == 0
    report = write_report(workdir, 2)
    names = {f"{kind}-{name}.png" for kind in ("embeddings", "movement") for name in FEATURES}
    assert set(report.drawn) == names | {"probabilities.png"}
    for path in report.images:
        assert_png(path)
    assert "BLESSED" in pathlib.Path(report.page).read_text(encoding="utf-8")

    model = artifacts.read_embeddings(second["model_uri"]).features["level"].weights
    parent = artifacts.read_embeddings(first["model_uri"]).features["level"].weights
    drawn = report.drawn["embeddings-level.png"].points
    assert np.array_equal(drawn["old"], model[:80]) and np.array_equal(drawn["new"], model[80:])
    moves = report.drawn["movement-level.png"].segments
    assert np.array_equal(moves["this model"][:, 0], parent)
    assert np.array_equal(moves["this model"][:, 1], parent), "frozen rows draw flat lines"
    full_moves = np.linalg.norm(moves["full retrain"][:, 1] - moves["full retrain"][:, 0], axis=1)
    assert full_moves.max() > 0.0
    counts = report.drawn["probabilities.png"].counts
    metrics = second["metrics"]["candidate"]
    assert counts["overall"] == metrics["overall"]["examples"]
    assert counts["old_level_rows"] == metrics["old_level_rows"]["examples"] > 0


def test_runs_make_no_download_attempt_for_beams_prism_runner(split_runs):
    # Beam 2.74's DirectRunner downloads the Prism runner from GitHub when a
    # pipeline names no runner, as BeamDagRunner's orchestration pipeline does.
    for span in (1, 2):
        log = pathlib.Path(split_runs["workdir"], "runs", f"span-{span}", LOG_FILE)
        text = log.read_text(encoding="utf-8")
        assert "Running pipeline with PrismRunner" not in text
        assert "Downloading prism" not in text
        assert "incremental_trainer" in text  # the log is the run's, not an empty file
