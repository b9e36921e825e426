"""The real two-run pipeline on the seed's toy data (span 1: levels 0-79, span 2: 80-99)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import tensorflow as tf

from newlevels import cli
from newlevels.components.trainer import artifacts, init
from newlevels.components.trainer.strategies import INCREMENTAL
from newlevels.pipeline import metadata
from newlevels.pipeline.config import PIPELINE_NAME
from newlevels.pipeline.data.toy import write_toy
from newlevels.pipeline.local_runner import LOG_FILE
from newlevels.pipeline.pipeline import NodeIds
from newlevels.pipeline.report import write_report
from newlevels.transforms.features import DataSpec
from tests import pipeline_checks as checks
from tests.test_report import assert_png

SPEC = DataSpec.build(["level"], "label", "id")
COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]

pytestmark = pytest.mark.e2e
#: strategies whose two-run toy pipeline (~2 min each) only runs with `-m slow`; the
#: cheaper tests/test_export_shapes.py exports them through the real export path.
SLOW_STRATEGIES = ("two_tables", "masked")


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(s, marks=pytest.mark.slow) if s in SLOW_STRATEGIES else s for s in INCREMENTAL
    ],
)
def toy_runs(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"toy-{request.param}")
    data, workdir = str(root / "data"), str(root / "work")
    write_toy(data)
    summaries = checks.run_spans(data, workdir, (1, 2), request.param, COLUMNS)
    return {"data": data, "workdir": workdir, "summaries": summaries, "strategy": request.param}


def test_summaries_carry_the_contract_keys_and_chain_the_models(toy_runs):
    first, second = toy_runs["summaries"]
    for summary, span in ((first, 1), (second, 2)):
        assert set(summary) >= checks.CONTRACT_KEYS
        assert summary["span"] == span and summary["strategy"] == toy_runs["strategy"]
        assert summary["blessed"] and summary["pushed"] and summary["pushed_path"]
    assert first["parent_model_uri"] is None
    assert second["parent_model_uri"] == first["model_uri"]
    assert first["features"]["level"] == {"old_levels": 0, "new_levels": 80, "vocab_size": 80}
    assert second["features"]["level"] == {"old_levels": 80, "new_levels": 20, "vocab_size": 100}
    assert {NodeIds.INCREMENTAL_TRAINER, NodeIds.FULL_TRAINER, NodeIds.EVALUATOR} <= set(
        second["seconds"]
    )


def test_mlmd_lineage_shows_the_parent_as_the_trainers_base_model(toy_runs):
    store = metadata.open_store(f"{toy_runs['workdir']}/metadata.sqlite")
    run = metadata.latest_run(store, PIPELINE_NAME)
    base = run.nodes[NodeIds.INCREMENTAL_TRAINER].input("base_model")
    assert base is not None and base.uri == toy_runs["summaries"][0]["model_uri"]


def test_every_span1_token_keeps_a_bit_identical_row(toy_runs):
    first, second = toy_runs["summaries"]
    changes = checks.max_change_by_token(first["model_uri"], second["model_uri"])
    assert changes == {"level": 0.0}
    assert second["old_rows_max_abs_change"] == {"level": 0.0}


def test_new_rows_are_learnt_from_where_the_trainer_recorded_their_start(toy_runs):
    first, second = toy_runs["summaries"]
    parent = artifacts.read_embeddings(first["model_uri"]).features["level"]
    exported = artifacts.read_embeddings(second["model_uri"])
    initial = exported.initial["level"]  # recorded by the Trainer where the rows started
    trained = exported.features["level"].weights[80:]
    assert trained.shape == initial.shape == (20, 2)
    assert exported.manifest["init"] == init.FIT
    expected = checks.fit_start(toy_runs["data"], 2, first["model_uri"], second["model_uri"], SPEC)
    np.testing.assert_allclose(initial, expected["level"], rtol=0, atol=1e-5)
    # a level-blind start puts every new row at the mean of the parent's old rows
    blind = init.mean_row(parent.table).astype(np.float32)
    assert np.all(np.any(initial != blind, axis=1)), "the fit starts each level from its rows"
    moved = np.any(trained != initial, axis=1)
    if exported.manifest["early_stopping"]["best_epoch"] > 0:
        assert moved.all(), "every new row should have trained"
    else:
        assert not moved.any(), "early stopping kept the start"


def test_rows_trained_counts_span2_training_rows_holding_a_new_level(toy_runs):
    first, second = toy_runs["summaries"]
    old = set(artifacts.read_embeddings(first["model_uri"]).features["level"].vocabulary)
    new = [
        row["id"]
        for row in checks.csv_rows(toy_runs["data"], 2)
        if checks.is_training_row(row["id"]) and row["level"] not in old
    ]
    held_out = checks.held_out_ids(new)
    assert 0 < len(held_out) < len(new)
    assert second["rows_trained"] == len(new) - len(held_out)


def test_pushed_models_predict_bit_identically_on_old_level_rows(toy_runs):
    first, second = toy_runs["summaries"]
    examples = checks.to_examples(checks.csv_rows(toy_runs["data"], 1)[:500], SPEC)
    before = checks.predict(first["pushed_path"], examples)
    after = checks.predict(second["pushed_path"], examples)
    assert np.array_equal(before, after)


def test_exported_rows_are_the_rows_the_savedmodel_serves_and_unseen_levels_use_oov(toy_runs):
    second = toy_runs["summaries"][1]
    rows = artifacts.read_embeddings(second["model_uri"]).features["level"]
    tokens = [*rows.vocabulary, "a level never seen"]
    served = checks.predict(
        second["pushed_path"], checks.to_examples([{"level": t} for t in tokens], SPEC)
    )
    table = np.concatenate([rows.weights, rows.oov[np.newaxis, :]])
    expected = tf.sigmoid(tf.reduce_sum(tf.constant(table), axis=-1)).numpy()
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-7)


def test_the_gate_compares_sliced_candidate_and_baseline_auc(toy_runs):
    metrics = toy_runs["summaries"][1]["metrics"]
    for model in ("candidate", "baseline"):
        assert 0.5 < metrics[model]["overall"]["auc"] <= 1.0
        # span 2 of the toy holds only new levels
        assert metrics[model]["new_level_rows"]["examples"] == metrics[model]["overall"]["examples"]
        assert metrics[model]["old_level_rows"]["examples"] is None
        # one feature: its own slices are the any-feature slices
        by_feature = toy_runs["summaries"][1]["metrics_by_feature"][model]["level"]
        assert by_feature == {k: metrics[model][k] for k in ("new_level_rows", "old_level_rows")}


def test_report_draws_the_exported_rows_and_the_movement_from_the_parent(toy_runs):
    first, second = toy_runs["summaries"]
    workdir = toy_runs["workdir"]
    assert cli.main(["report", "--workdir", workdir, "--span", "1"]) == 0
    report = write_report(workdir, 2)
    names = {"embeddings-level.png", "movement-level.png", "probabilities.png"}
    assert set(report.drawn) == names
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
    assert counts["overall"] == second["metrics"]["candidate"]["overall"]["examples"]
    assert counts["old_level_rows"] == 0


def test_runs_make_no_download_attempt_for_beams_prism_runner(toy_runs):
    # Beam 2.74's DirectRunner downloads the Prism runner from GitHub when a
    # pipeline names no runner, as BeamDagRunner's orchestration pipeline does.
    for span in (1, 2):
        log = pathlib.Path(toy_runs["workdir"], "runs", f"span-{span}", LOG_FILE)
        text = log.read_text(encoding="utf-8")
        assert "Running pipeline with PrismRunner" not in text
        assert "Downloading prism" not in text
        assert "incremental_trainer" in text  # the log is the run's, not an empty file
