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
import shutil
from collections.abc import Callable

import numpy as np
import pytest
import tensorflow as tf

from newlevels import cli
from newlevels.components import certificate
from newlevels.components.evaluation import decision as deciding
from newlevels.components.trainer import artifacts, context, init
from newlevels.components.trainer.strategies import INCREMENTAL
from newlevels.contracts import blessing as blessing_properties
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.pipeline import metadata
from newlevels.pipeline.config import PIPELINE_NAME
from newlevels.pipeline.data.toy import MIXED_COLUMNS, VANISHING_LEVELS, write_mixed_toy
from newlevels.pipeline.local_runner import LOG_FILE
from newlevels.pipeline.pipeline import NodeIds
from newlevels.pipeline.report import write_report
from newlevels.pipeline.summary import format_summary
from newlevels.transforms.features import DataSpec
from tests import pipeline_checks as checks
from tests.test_report import assert_png

FEATURES = ("level", "group")
SPEC = DataSpec.build(list(FEATURES), "label", "id")
COLUMNS = ["--categorical", ",".join(FEATURES), "--label", "label", "--id", "id"]
#: These runs test the pipeline's mechanics (freezing, counts, serving), so their
#: gate lets any extension with intact old rows through; the gate's own outcomes
#: are tested below (`held_run`, the tampered candidate) and in test_gate_decision.py.
LENIENT = gates.Gate(tolerance=0.5, staleness_budget=0.5)
GATE = ["--tolerance", str(LENIENT.tolerance), "--staleness-budget", str(LENIENT.staleness_budget)]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory) -> Callable[[str], dict]:
    """`newlevels run` on spans 1 and 2 of one mixed toy, once per strategy asked for."""
    data = str(tmp_path_factory.mktemp("mixed") / "data")
    write_mixed_toy(data)
    done: dict[str, dict] = {}

    def runs(strategy: str) -> dict:
        if strategy not in done:
            root = tmp_path_factory.mktemp(f"work-{strategy}")
            workdir, after_span_1 = str(root / "work"), str(root / "after-span-1")
            outputs: list[str] = []
            summaries = checks.run_spans(data, workdir, (1,), strategy, COLUMNS + GATE, outputs)
            # The workdir as span 1 left it, for span 2 again under another gate.
            shutil.copytree(workdir, after_span_1)
            summaries += checks.run_spans(data, workdir, (2,), strategy, COLUMNS + GATE, outputs)
            done[strategy] = {
                "data": data,
                "workdir": workdir,
                "summaries": summaries,
                "outputs": outputs,
                "strategy": strategy,
                "after_span_1": after_span_1,
            }
        return done[strategy]

    return runs


#: strategies whose two-run pipeline runs only with `-m slow` (default-run budget); their
#: freezing on mixed rows is also tested without TFX (test_strategies, test_init) and their
#: export through the real export path (test_export_shapes).
SLOW_STRATEGIES = ("constrained", "two_tables", "masked")


@pytest.fixture(
    params=[
        pytest.param(s, marks=pytest.mark.slow) if s in SLOW_STRATEGIES else s for s in INCREMENTAL
    ]
)
def toy_runs(request, mixed_runs) -> dict:
    """Both runs of one strategy."""
    return mixed_runs(request.param)


@pytest.fixture
def split_runs(mixed_runs) -> dict:
    """Both runs of the default strategy, for checks that do not depend on the strategy."""
    return mixed_runs("split")


@pytest.fixture(scope="module")
def held_run(mixed_runs) -> dict:
    """Span 2 again, from span 1's workdir (split), under a value floor no model reaches."""
    runs = mixed_runs("split")
    workdir = runs["after_span_1"]
    options = [*COLUMNS, "--min-auc", "0.99", "--quiet"]
    outputs: list[str] = []
    (summary,) = checks.run_spans(runs["data"], workdir, (2,), "split", options, outputs)
    return {
        "workdir": workdir,
        "summary": summary,
        "first": runs["summaries"][0],
        "output": outputs[0],
    }


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


def cohort(row: dict[str, str], parent: dict[str, set[str]], child: dict[str, set[str]]) -> str:
    """A row's level cohort as the Evaluator slices it: new, else unseen, else old."""
    if any(row[n] in child[n] and row[n] not in parent[n] for n in FEATURES):
        return "new"
    return "unseen" if any(row[n] not in child[n] for n in FEATURES) else "old"


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


def test_new_rows_are_learnt_from_where_the_trainer_recorded_their_start(toy_runs):
    first, second = toy_runs["summaries"]
    parent = artifacts.read_embeddings(first["model_uri"]).features
    exported = artifacts.read_embeddings(second["model_uri"])
    assert exported.manifest.init == init.FIT
    expected = checks.fit_start(toy_runs["data"], 2, first["model_uri"], second["model_uri"], SPEC)
    trained_epochs = exported.manifest.early_stopping["best_epoch"] > 0
    for name in FEATURES:
        old = len(parent[name].vocabulary)
        initial = exported.initial[name]  # recorded by the Trainer where the rows started
        trained = exported.features[name].weights[old:]
        assert trained.shape == initial.shape
        assert len(trained) == second["features"][name]["new_levels"] > 0
        np.testing.assert_allclose(initial, expected[name], rtol=0, atol=1e-5)
        # a level-blind start puts every new row at the mean of the parent's old rows
        blind = init.mean_row(parent[name].table).astype(np.float32)
        assert np.all(np.any(initial != blind, axis=1)), f"the fit starts each {name} from its rows"
        moved = np.any(trained != initial, axis=1)
        if trained_epochs:
            assert moved.all(), f"every new {name} row should have trained"
        else:
            assert not moved.any(), "early stopping kept the start"


def test_rows_trained_counts_span2_training_rows_holding_a_new_level(toy_runs):
    first, second = toy_runs["summaries"]
    old = old_tokens(first["model_uri"])
    training = [r for r in checks.csv_rows(toy_runs["data"], 2) if checks.is_training_row(r["id"])]
    new = [row["id"] for row in training if holds_new_level(row, old)]
    # Span 2 also holds training rows of old levels only: a filter keeping every row fails.
    assert 0 < len(new) < len(training)
    held_out = checks.held_out_ids(new)
    assert 0 < len(held_out) < len(new)
    assert second["rows_trained"] == len(new) - len(held_out)
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
    embeddings = artifacts.read_embeddings(second["model_uri"])
    exported = embeddings.features
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

    logits = np.array(
        [sum(row_sum(name, request[name]) for name in FEATURES) for request in requests]
    )
    # The extension's context (`--context refresh`): rows holding a level it added (or an
    # unseen one) add their old levels' corrections, those of the row's vintage.
    corrections = embeddings.context
    assert corrections is not None and corrections.depth == 1
    index = {
        name: np.array(
            [
                0 if r[name] == unseen else 1 + exported[name].vocabulary.index(r[name])
                for r in requests
            ]
        )
        for name in FEATURES
    }
    vintage = context.row_vintages(index, corrections.starts)
    logits += sum(corrections.corrections[name][index[name], vintage] for name in FEATURES)
    assert (vintage == 0).any() and (vintage == 1).any()
    expected = tf.sigmoid(tf.constant(logits, tf.float32)).numpy()
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-6)


def test_the_evaluator_slices_every_cohort_by_the_candidates_own_levels(toy_runs):
    first, second = toy_runs["summaries"]
    parent, child = old_tokens(first["model_uri"]), old_tokens(second["model_uri"])
    evaluation = [
        r for r in checks.csv_rows(toy_runs["data"], 2) if not checks.is_training_row(r["id"])
    ]
    cohorts = [cohort(row, parent, child) for row in evaluation]
    for model in ("candidate", "baseline"):
        slices = second["metrics"][model]
        assert 0.5 < slices["overall"]["auc"] <= 1.0
        assert slices["overall"]["examples"] == len(evaluation)
        assert slices["new_level_rows"]["examples"] == cohorts.count("new") > 0
        assert slices["old_level_rows"]["examples"] == cohorts.count("old") > 0
        assert (slices["unseen_level_rows"]["examples"] or 0) == cohorts.count("unseen")
        by_feature = second["metrics_by_feature"][model]
        for name in FEATURES:
            new_of_feature = sum(1 for row in evaluation if row[name] in child[name] - parent[name])
            assert by_feature[name]["new_level_rows"]["examples"] == new_of_feature > 0


def test_the_gate_extends_a_candidate_within_every_budget_as_tfmas_validation_says(split_runs):
    second = split_runs["summaries"][1]
    assert second["decision"] == gates.EXTEND and second["pushed_model"] == "candidate"
    assert second["decision_reasons"][-1] == "extend: the candidate passes every check"
    assert any(r.startswith("staleness:") for r in second["decision_reasons"])
    assert any(
        r.startswith("freeze certificate: the old rows of ") for r in second["decision_reasons"]
    )
    # TFMA checked the same thresholds on every cohort: none failed, none missing.
    evaluation = node_artifacts(split_runs["workdir"], NodeIds.EVALUATOR, "evaluation")[0]
    assert deciding.tfma_failures(evaluation.uri) == (set(), set(), True)
    blessing = node_artifacts(split_runs["workdir"], NodeIds.DECISION, "candidate_blessing")[0]
    assert blessing.get_string_custom_property(blessing_properties.PIPELINE) == PIPELINE_NAME
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_string_custom_property(blessing_properties.DECISION) == gates.EXTEND


def test_a_first_model_has_no_old_cohort_and_shows_its_unseen_levels(split_runs):
    first = split_runs["summaries"][0]
    assert first["decision"] == gates.EXTEND and verdicts.FIRST_MODEL in first["decision_reasons"]
    assert first["metrics"]["candidate"]["old_level_rows"]["examples"] is None
    table = format_summary(first)
    assert "unseen_level_rows" in table and "unseen level" in table
    assert "old_level_rows" not in table and "old level" not in table


def test_the_decision_refuses_an_extension_whose_old_row_was_tampered_with(split_runs, tmp_path):
    workdir = split_runs["workdir"]
    # By their producers: an input the Cond's predicate also reads may be recorded
    # under the predicate's key (`_incremental_trainer.model`) instead of `candidate`.
    (candidate,) = node_artifacts(workdir, NodeIds.INCREMENTAL_TRAINER, "model")
    (baseline,) = node_artifacts(workdir, NodeIds.FULL_TRAINER, "model")
    (parent,) = node_artifacts(workdir, NodeIds.INCREMENTAL_TRAINER, "base_model", inputs=True)
    (evaluation,) = node_artifacts(workdir, NodeIds.EVALUATOR, "evaluation")
    untouched = deciding.decide_span(evaluation.uri, candidate, baseline, parent, LENIENT)
    assert untouched.decision.decision == gates.EXTEND

    copy = str(tmp_path / "candidate")
    shutil.copytree(candidate.uri, copy)
    weights = pathlib.Path(copy, artifacts.EMBEDDINGS_DIR, "level", "weights.npy")
    rows = np.load(weights)
    rows[5, 1] += np.float32(1e-3)  # token 5 is one of the parent's
    np.save(weights, rows)
    candidate.uri = copy
    tampered = deciding.decide_span(evaluation.uri, candidate, baseline, parent, LENIENT)
    assert tampered.decision.decision == gates.REBASE
    assert any(
        "old rows of 'level' in the candidate's files" in r for r in tampered.decision.reasons
    )
    extend_only = gates.Gate(
        tolerance=LENIENT.tolerance,
        staleness_budget=LENIENT.staleness_budget,
        policy=gates.EXTEND_ONLY,
    )
    held = deciding.decide_span(evaluation.uri, candidate, baseline, parent, extend_only)
    assert held.decision.decision == gates.HOLD
    assert untouched.parent_rows_digest == parent.get_json_value_custom_property(
        certificate.ROWS_DIGEST
    )


@pytest.mark.slow
def test_a_candidate_below_the_value_floor_is_held_and_nothing_is_pushed(held_run):
    summary = held_run["summary"]
    assert summary["decision"] == gates.HOLD and not summary["pushed"]
    assert summary["decision_reasons"][-1].startswith("hold: the candidate fails value floor")
    serving = pathlib.Path(held_run["workdir"], "serving")
    assert [p.name for p in serving.iterdir()] == [
        pathlib.Path(held_run["first"]["pushed_path"]).name
    ]
    for key in ("candidate_blessing", "baseline_blessing"):
        (blessing,) = node_artifacts(held_run["workdir"], NodeIds.DECISION, key)
        assert blessing.get_int_custom_property("blessed") == 0
    (evaluation,) = node_artifacts(held_run["workdir"], NodeIds.EVALUATOR, "evaluation")
    failed, _, _ = deciding.tfma_failures(evaluation.uri)
    assert (gates.OVERALL, gates.VALUE) in failed
    assert cli.main(["lineage", "--workdir", held_run["workdir"]]) == 0


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


def test_progress_is_plain_lines_when_stdout_is_not_a_terminal(split_runs):
    second = split_runs["summaries"][1]
    lines = split_runs["outputs"][1].splitlines()
    table = lines.index(next(line for line in lines if line.startswith("span 2  strategy")))
    started = {line.split()[1]: n for n, line in enumerate(lines) if line.startswith("started ")}
    done = {line.split()[1]: n for n, line in enumerate(lines) if line.startswith("done ")}
    # One start and one finish line per component the run executed, before the table.
    assert sorted(started) == sorted(done) == sorted(second["seconds"])
    assert all(started[node] < done[node] < table for node in done)
    for node, n in done.items():
        # The hook times the whole launch; MLMD times the execution inside it.
        assert float(lines[n].split()[2]) + 0.06 >= second["seconds"][node]
    assert "\x1b[" not in split_runs["outputs"][1], "no terminal control codes in plain output"


@pytest.mark.slow
def test_quiet_shows_no_progress_but_still_the_summary(held_run):
    lines = held_run["output"].splitlines()
    assert not [line for line in lines if line.split()[:1] in (["started"], ["done"])]
    assert "decision: HOLD" in lines and lines[0].startswith("== span 2: running the pipeline")


def test_report_draws_the_exported_rows_and_the_movement_from_the_parent(split_runs):
    first, second = split_runs["summaries"]
    workdir = split_runs["workdir"]
    assert cli.main(["report", "--workdir", workdir, "--span", "1"]) == 0
    # Without --out the report stays in the run's folder.
    assert (pathlib.Path(workdir) / "runs" / "span-1" / "report" / "report.html").is_file()
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


def test_the_summary_states_the_extensions_context(toy_runs):
    first, second = toy_runs["summaries"]
    assert first["context"] is None, "a first model has no parent, so no corrections"
    context = second["context"]
    assert context["vintages"] == 1 and set(context["corrected_levels"]) == set(FEATURES)
    assert sum(context["corrected_levels"].values()) > 0
    assert max(context["max_abs_correction"].values()) > 0.0
    assert "context: rows holding a new level read corrections of" in format_summary(second)
