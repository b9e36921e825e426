"""Three-run genealogy on the toy data, checked against MLMD itself."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from ml_metadata.proto import metadata_store_pb2

from newlevels import cli
from newlevels.components.evaluation.metrics import read_slice_metrics
from newlevels.components.trainer import artifacts
from newlevels.pipeline import metadata
from newlevels.pipeline.data.toy import write_toy
from newlevels.pipeline.pipeline import NodeIds
from tests import pipeline_checks as checks

COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
THREE_SPANS = (60, 80)  # levels 0-59, 60-79, 80-99

pytestmark = pytest.mark.e2e


def run(data: str, workdir: str, span: int, *extra: str) -> dict:
    return checks.run_spans(data, workdir, (span,), "split", [*COLUMNS, *extra])[0]


@pytest.fixture(scope="module")
def rejected_history(tmp_path_factory):
    """Span 1 pushed, span 2 rejected by a strict AUC floor, span 3 normal."""
    root = tmp_path_factory.mktemp("lineage-reject")
    data, workdir = str(root / "data"), str(root / "work")
    write_toy(data, boundaries=THREE_SPANS)
    # Fixed epoch counts (no early stopping), so that the counts below are exact.
    fixed = ("--early-stopping", "off")
    summaries = [
        run(data, workdir, 1, "--incremental-epochs", "3", *fixed),
        run(data, workdir, 2, "--min-auc", "0.999", *fixed),
        run(data, workdir, 3, "--incremental-epochs", "3", *fixed),
    ]
    return workdir, summaries


def lineage_json(capsys, workdir: str, *extra: str):
    assert cli.main(["lineage", "--workdir", workdir, *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_a_rejected_candidate_is_never_a_parent(rejected_history):
    _, (first, second, third) = rejected_history
    assert first["pushed"] and not second["blessed"] and not second["pushed"]
    assert third["parent_model_uri"] == first["model_uri"]
    # span 3 extends span 1's model, so span 2's levels are new again
    assert third["features"]["level"] == {"old_levels": 60, "new_levels": 40, "vocab_size": 100}


@pytest.mark.slow
def test_incremental_epochs_apply_only_to_a_run_that_extends_a_parent(rejected_history):
    _, (first, second, third) = rejected_history
    # span 1 has no parent: it trains as the full model does (--epochs, default 2).
    assert first["parent_model_uri"] is None and first["epochs"] == 2
    assert second["epochs"] == 2 and third["epochs"] == 3
    assert artifacts.read_embeddings(third["baseline_model_uri"]).manifest.epochs == 2


@pytest.mark.slow
def test_lineage_fields_match_mlmd(rejected_history, capsys):
    workdir, summaries = rejected_history
    rows = lineage_json(capsys, workdir, "--format", "json")
    store = metadata.open_store(f"{workdir}/metadata.sqlite")
    runs = metadata.all_runs(store, "newlevels")
    assert [r["span"] for r in rows] == [1, 2, 3] and len(runs) == 3
    for row, run, summary in zip(rows, runs, summaries, strict=True):
        trainer = run.nodes[NodeIds.INCREMENTAL_TRAINER]
        model = trainer.output("model")
        base = trainer.input("base_model")
        assert row["candidate"]["id"] == model.id and row["candidate"]["uri"] == model.uri
        assert row["candidate"]["parent_id"] == (base.id if base else None)
        assert (
            row["candidate"]["strategy"]
            == model.custom_properties["newlevels_strategy"].string_value
        )
        assert row["candidate"]["rows_trained"] == summary["rows_trained"]
        family = model.custom_properties["newlevels_model_family"].string_value
        assert row["candidate"]["model"] == {"name": family} == summary["model"]
        assert row["candidate"]["levels"] == summary["features"]
        assert row["baseline"]["id"] == run.nodes[NodeIds.FULL_TRAINER].output("model").id
        assert (
            row["span"]
            == run.nodes[NodeIds.EXAMPLE_GEN].output("examples").custom_properties["span"].int_value
        )
        blessing = run.nodes[NodeIds.DECISION].output("candidate_blessing")
        assert row["blessed"] == (blessing.custom_properties["blessed"].int_value == 1)
        assert row["decision"] == summary["decision"] == ("hold" if row["span"] == 2 else "extend")
        assert row["decision_reasons"] == summary["decision_reasons"]
        pushed = run.nodes[NodeIds.PUSHER].output("pushed_model")
        assert row["pushed"] == (pushed.custom_properties["pushed"].int_value == 1)
        assert row["pushed_path"] == summary["pushed_path"]
        evaluation = read_slice_metrics(run.nodes[NodeIds.EVALUATOR].output("evaluation").uri)
        for model_name in ("candidate", "baseline"):
            for slice_name, values in evaluation[model_name].items():
                assert row["auc"][model_name][slice_name] == values["auc"]


@pytest.mark.slow
def test_the_parent_is_the_base_model_input_event_of_the_trainer(rejected_history):
    workdir, (first, _, third) = rejected_history
    store = metadata.open_store(f"{workdir}/metadata.sqlite")
    last = metadata.all_runs(store, "newlevels")[-1]
    execution = last.nodes[NodeIds.INCREMENTAL_TRAINER].execution
    inputs = [
        e
        for e in store.get_events_by_execution_ids([execution.id])
        if e.type == metadata_store_pb2.Event.INPUT and e.path.steps[0].key == "base_model"
    ]
    (parent,) = store.get_artifacts_by_id([inputs[0].artifact_id])
    assert parent.uri == first["model_uri"] == third["parent_model_uri"]


@pytest.mark.slow
def test_model_ancestry_walks_back_to_the_first_full_model(rejected_history, capsys):
    workdir, (first, _, third) = rejected_history
    rows = lineage_json(capsys, workdir, "--format", "json")
    chain = lineage_json(
        capsys, workdir, "--model", str(rows[2]["candidate"]["id"]), "--format", "json"
    )
    assert [step["model"]["uri"] for step in chain] == [third["model_uri"], first["model_uri"]]
    assert chain[-1]["model"]["parent_id"] is None
    assert [step["examples"]["span"] for step in chain] == [3, 1]
    assert all(step["transform_graph"] and step["schema"] for step in chain)


@pytest.mark.slow
def test_graphs_draw_the_extends_edge(rejected_history, capsys):
    workdir, _ = rejected_history
    rows = lineage_json(capsys, workdir, "--format", "json")
    parent, child = rows[0]["candidate"]["id"], rows[2]["candidate"]["id"]
    assert cli.main(["lineage", "--workdir", workdir, "--format", "dot"]) == 0
    assert f"m{parent} -> m{child}" in capsys.readouterr().out
    assert cli.main(["lineage", "--workdir", workdir, "--format", "mermaid"]) == 0
    assert f"m{parent} -->|extends| m{child}" in capsys.readouterr().out
    assert cli.main(["lineage", "--workdir", workdir]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["span", "model", "parent"] and len(table) == 5
    # The model the next run extends: span 3's, pushed last.
    assert table[-1] == f"next run of newlevels extends model {child} (the last it pushed)"


@pytest.mark.slow
def test_the_table_shows_the_decision_and_each_cohorts_aucs_for_the_last_n_runs(
    rejected_history, capsys
):
    workdir, _ = rejected_history
    every = lineage_json(capsys, workdir, "--format", "json")
    assert lineage_json(capsys, workdir, "--format", "json", "--last", "2") == every[1:]
    assert cli.main(["lineage", "--workdir", workdir, "--last", "2"]) == 0
    header, *lines, next_parent = capsys.readouterr().out.splitlines()
    assert next_parent.startswith("next run of ")
    columns = re.split(r"\s{2,}", header)
    shown = [dict(zip(columns, re.split(r"\s{2,}", line), strict=True)) for line in lines]
    assert [row["span"] for row in shown] == ["2", "3"]
    for row, run in zip(shown, every[1:], strict=True):
        assert row["decision"] == run["decision"]
        for cohort, name in (("new", "new_level_rows"), ("unseen", "unseen_level_rows")):
            cand, base = run["auc"]["candidate"][name], run["auc"]["baseline"][name]
            expected = "-" if cand is None else f"{cand:.4f}/{base:.4f}"
            assert row[f"{cohort} cand/base"] == expected
        # The toy's spans 2 and 3 hold only levels their parent lacks: no old-level rows.
        assert row["old cand/base"] == "-" and run["auc"]["candidate"]["old_level_rows"] is None
    assert shown[0]["new cand/base"] != "-"
    with pytest.raises(SystemExit) as refused:
        cli.main(["lineage", "--workdir", workdir, "--last", "0"])
    assert refused.value.code == 2
    assert "--last: give a whole number of runs, at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_a_rebase_serves_the_full_retrain_records_how_far_old_rows_moved_and_is_the_next_parent(
    tmp_path, capsys
):
    data, workdir = str(tmp_path / "data"), str(tmp_path / "work")
    write_toy(data, boundaries=THREE_SPANS)
    first = run(data, workdir, 1)
    # A candidate can never beat the baseline by 0.5 AUC: rejected, the full retrain served
    # (--promote-baseline-on-reject: the old name of the default policy, extend-or-rebase).
    second = run(data, workdir, 2, "--max-auc-drop", "-0.5", "--promote-baseline-on-reject")
    assert not second["blessed"] and second["pushed"] and second["pushed_model"] == "baseline"
    assert second["decision"] == "rebase"
    assert second["decision_reasons"][-1].startswith("rebase: the candidate fails overall")
    parent = artifacts.read_embeddings(first["model_uri"]).features["level"]
    full = artifacts.read_embeddings(second["baseline_model_uri"]).features["level"]
    row_of = {token: i for i, token in enumerate(full.vocabulary)}
    deltas = np.abs(
        np.stack(
            [full.weights[row_of[t]] - parent.weights[i] for i, t in enumerate(parent.vocabulary)]
        )
    )
    moved = second["rebase_movement"]["level"]
    assert (moved["tokens"], moved["missing"]) == (len(parent.vocabulary), 0)
    assert moved["max_abs"] == float(deltas.max()) > 0.0
    assert moved["mean_abs"] == pytest.approx(float(deltas.mean()))
    assert cli.main(["lineage", "--workdir", workdir, "--format", "dot"]) == 0
    dot = capsys.readouterr().out
    parent_id = lineage_json(capsys, workdir, "--format", "json")[0]["candidate"]["id"]
    rows = lineage_json(capsys, workdir, "--format", "json")
    assert rows[1]["decision"] == "rebase" and rows[1]["rebased_from"] == parent_id
    assert f'm{parent_id} -> m{rows[1]["baseline"]["id"]} [label="rebase' in dot
    third = run(data, workdir, 3)
    assert third["parent_model_uri"] == second["baseline_model_uri"]
    assert third["features"]["level"] == {"old_levels": 80, "new_levels": 20, "vocab_size": 100}
    assert checks.max_change_by_token(second["baseline_model_uri"], third["model_uri"]) == {
        "level": 0.0
    }


def test_lineage_refuses_a_file_that_is_not_an_mlmd_store(tmp_path, capsys):
    bogus = tmp_path / "store.sqlite"
    bogus.write_text("not a database")
    assert cli.main(["lineage", "--store", str(bogus)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a readable MLMD store" in err
    assert cli.main(["lineage", "--store", str(tmp_path / "missing.sqlite")]) == 2
    assert "no MLMD store at" in capsys.readouterr().err


@pytest.mark.slow
def test_the_full_retrain_reads_spans_1_to_n_and_lineage_says_so(rejected_history, capsys):
    """Each run ingests one span; the full retrain adds every row of the earlier spans."""
    workdir, (_, _, third) = rejected_history
    data = third["data_root"]
    earlier = sum(len(checks.csv_rows(data, span)) for span in (1, 2))
    train = sum(1 for row in checks.csv_rows(data, 3) if checks.is_training_row(row["id"]))
    assert third["rows_total"] == train
    full = artifacts.read_embeddings(third["baseline_model_uri"]).manifest
    assert full.rows_total == earlier + train
    rows = lineage_json(capsys, workdir, "--format", "json")
    for model, spans in ((rows[2]["baseline"], [1, 2, 3]), (rows[2]["candidate"], [3])):
        chain = lineage_json(capsys, workdir, "--model", str(model["id"]), "--format", "json")
        assert chain[0]["spans"] == spans
