"""The real two-run pipeline on the seed's toy data (span 1: levels 0-79, span 2: 80-99)."""

from __future__ import annotations

import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf

from newlevels import cli
from newlevels.components import certificate
from newlevels.components.evaluation import decision as deciding
from newlevels.components.trainer import artifacts
from newlevels.components.trainer.strategies import INCREMENTAL
from newlevels.components.trainer.strategies.base import fresh_rows
from newlevels.contracts import blessing as blessing_properties
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.pipeline import metadata
from newlevels.pipeline.config import PIPELINE_NAME
from newlevels.pipeline.data.toy import write_toy
from newlevels.pipeline.local_runner import LOG_FILE
from newlevels.pipeline.pipeline import NodeIds
from newlevels.pipeline.report import write_report
from newlevels.pipeline.summary import format_summary
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
    summaries = checks.run_spans(data, workdir, (1,), request.param, COLUMNS)
    # The workdir as span 1 left it, for a second span 2 under another gate.
    shutil.copytree(workdir, str(root / "after-span-1"))
    summaries += checks.run_spans(data, workdir, (2,), request.param, COLUMNS)
    return {
        "data": data,
        "workdir": workdir,
        "summaries": summaries,
        "strategy": request.param,
        "after_span_1": str(root / "after-span-1"),
    }


@pytest.fixture(scope="module")
def held_run(toy_runs):
    """Span 2 again, from span 1's workdir, under a value floor no model reaches."""
    if toy_runs["strategy"] != "split":
        pytest.skip("the gate's outcome does not depend on the strategy: run once, for split")
    workdir = toy_runs["after_span_1"]
    options = [*COLUMNS, "--min-auc", "0.99"]
    (summary,) = checks.run_spans(toy_runs["data"], workdir, (2,), "split", options)
    return {"workdir": workdir, "summary": summary}


def node_artifacts(workdir: str, node_id: str, key: str, inputs: bool = False):
    """TFX artifacts (with their MLMD properties) of a node of the workdir's last run."""
    from tfx.types import standard_artifacts

    store = metadata.open_store(f"{workdir}/metadata.sqlite")
    node = metadata.latest_run(store, PIPELINE_NAME).nodes[node_id]
    found = (node.inputs if inputs else node.outputs).get(key) or []
    types = {"model": standard_artifacts.Model, "base_model": standard_artifacts.Model}
    result = []
    for mlmd_artifact in found:
        artifact = types.get(key, standard_artifacts.ModelBlessing)()
        artifact.set_mlmd_artifact(mlmd_artifact)
        result.append(artifact)
    return result


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


def test_new_rows_moved_away_from_their_initialisation(toy_runs):
    second = toy_runs["summaries"][1]
    rows = artifacts.read_embeddings(second["model_uri"]).features["level"]
    initial = fresh_rows(20, 2, seed=0)
    trained = rows.weights[80:]
    assert trained.shape == initial.shape
    assert np.all(np.any(trained != initial, axis=1)), "every new row should have been trained"


def test_rows_trained_counts_span2_training_rows_holding_a_new_level(toy_runs):
    first, second = toy_runs["summaries"]
    old = set(artifacts.read_embeddings(first["model_uri"]).features["level"].vocabulary)
    expected = sum(
        1
        for row in checks.csv_rows(toy_runs["data"], 2)
        if checks.is_training_row(row["id"]) and row["level"] not in old
    )
    assert second["rows_trained"] == expected > 0


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


def test_the_gate_extends_a_candidate_within_every_budget_as_tfmas_validation_says(toy_runs):
    second = toy_runs["summaries"][1]
    assert second["decision"] == gates.EXTEND and second["pushed_model"] == "candidate"
    assert second["decision_reasons"][-1] == "extend: the candidate passes every check"
    assert "staleness: n/a (no rows)" in second["decision_reasons"]
    assert any(
        r.startswith("freeze certificate: the old rows of level")
        for r in second["decision_reasons"]
    )
    metrics = second["metrics"]
    for model in ("candidate", "baseline"):
        # Span 2 of the toy holds only new levels: no old and no unseen cohort.
        assert metrics[model]["new_level_rows"] == metrics[model]["overall"]
        assert metrics[model]["old_level_rows"]["examples"] is None
        assert metrics[model]["unseen_level_rows"]["examples"] is None
        by_feature = second["metrics_by_feature"][model]["level"]
        assert by_feature == {k: metrics[model][k] for k in by_feature}
    # TFMA checked the same thresholds: none failed, and the old cohort is missing.
    evaluation = node_artifacts(toy_runs["workdir"], NodeIds.EVALUATOR, "evaluation")[0]
    failed, missing, ok = deciding.tfma_failures(evaluation.uri)
    assert (failed, missing, ok) == (set(), {gates.OLD_ROWS}, False)
    blessing = node_artifacts(toy_runs["workdir"], NodeIds.DECISION, "candidate_blessing")[0]
    assert blessing.get_string_custom_property(blessing_properties.PIPELINE) == PIPELINE_NAME
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_string_custom_property(blessing_properties.DECISION) == gates.EXTEND


def test_a_first_model_has_no_old_cohort_and_shows_its_unseen_levels(toy_runs):
    first = toy_runs["summaries"][0]
    assert first["decision"] == gates.EXTEND and verdicts.FIRST_MODEL in first["decision_reasons"]
    assert first["metrics"]["candidate"]["old_level_rows"]["examples"] is None
    table = format_summary(first)
    assert "unseen_level_rows" in table and "unseen level" in table
    assert "old_level_rows" not in table and "old level" not in table


def test_the_decision_refuses_an_extension_whose_old_row_was_tampered_with(toy_runs, tmp_path):
    workdir = toy_runs["workdir"]
    (candidate,) = node_artifacts(workdir, NodeIds.DECISION, "candidate", inputs=True)
    (baseline,) = node_artifacts(workdir, NodeIds.DECISION, "baseline", inputs=True)
    (parent,) = node_artifacts(workdir, NodeIds.DECISION, "parent", inputs=True)
    (evaluation,) = node_artifacts(workdir, NodeIds.EVALUATOR, "evaluation")
    untouched = deciding.decide_span(evaluation.uri, candidate, baseline, parent, gates.Gate())
    assert untouched.decision.decision == gates.EXTEND

    copy = str(tmp_path / "candidate")
    shutil.copytree(candidate.uri, copy)
    weights = pathlib.Path(copy, artifacts.EMBEDDINGS_DIR, "level", "weights.npy")
    rows = np.load(weights)
    rows[5, 1] += np.float32(1e-3)  # token 5 is one of the parent's
    np.save(weights, rows)
    candidate.uri = copy
    tampered = deciding.decide_span(evaluation.uri, candidate, baseline, parent, gates.Gate())
    assert tampered.decision.decision == gates.REBASE
    assert any(
        "old rows of 'level' in the candidate's files" in r for r in tampered.decision.reasons
    )
    extend_only = gates.Gate(policy=gates.EXTEND_ONLY)
    assert (
        deciding.decide_span(
            evaluation.uri, candidate, baseline, parent, extend_only
        ).decision.decision
        == gates.HOLD
    )
    assert untouched.parent_rows_digest == parent.get_json_value_custom_property(
        certificate.ROWS_DIGEST
    )


def test_a_candidate_below_the_value_floor_is_held_and_nothing_is_pushed(held_run, toy_runs):
    summary = held_run["summary"]
    assert summary["decision"] == gates.HOLD and not summary["pushed"]
    assert summary["decision_reasons"][-1].startswith("hold: the candidate fails value floor")
    serving = pathlib.Path(held_run["workdir"], "serving")
    assert [p.name for p in serving.iterdir()] == [
        pathlib.Path(toy_runs["summaries"][0]["pushed_path"]).name
    ]
    for key in ("candidate_blessing", "baseline_blessing"):
        (blessing,) = node_artifacts(held_run["workdir"], NodeIds.DECISION, key)
        assert blessing.get_int_custom_property("blessed") == 0
    (evaluation,) = node_artifacts(held_run["workdir"], NodeIds.EVALUATOR, "evaluation")
    failed, _, _ = deciding.tfma_failures(evaluation.uri)
    assert (gates.OVERALL, gates.VALUE) in failed
    assert cli.main(["lineage", "--workdir", held_run["workdir"]]) == 0


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
