"""The timeline's table logic: cohorts from the CSVs, decisions, aggregates and the files."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from newlevels import cli
from newlevels.bench import cohorts, timeline_files, timeline_index, timeline_report
from newlevels.cli.commands import timeline
from newlevels.components.ingest.component import is_eval_row
from newlevels.pipeline.data.drift import RUN_FLAGS, DriftSettings, write_drift
from newlevels.transforms.features import DataSpec

SPEC = DataSpec.build(["userId", "movieId"], "liked", "id")


def ids(evaluation: bool, count: int) -> list[str]:
    """`count` row ids that the pipeline puts in (or out of) the evaluation split."""
    found = (f"r{i}" for i in itertools.count() if is_eval_row(f"r{i}") == evaluation)
    return list(itertools.islice(found, count))


def span_frame(train: list[tuple[str, str, int]], held_out: list[tuple[str, str, int]]):
    row_ids = ids(False, len(train)) + ids(True, len(held_out))
    rows = [(row_id, *row) for row_id, row in zip(row_ids, train + held_out, strict=True)]
    return pd.DataFrame(rows, columns=["id", "userId", "movieId", "liked"])


@pytest.fixture
def span():
    """Old levels u1, u2, m1, m2. New: m3 (1 training row), m4 (4), m5 (none), u3 (2)."""
    train = [("u1", "m1", 1), ("u2", "m3", 0), ("u1", "m4", 1), ("u2", "m4", 1)]
    train += [("u1", "m4", 0), ("u3", "m4", 1), ("u3", "m2", 0)]
    held_out = [
        ("u1", "m1", 1),  # old only
        ("u2", "m2", 0),  # old only
        ("u1", "m3", 1),  # new movie, 1 training row: cold
        ("u1", "m4", 0),  # new movie, 4 training rows: warm
        ("u2", "m5", 1),  # new movie with no training row: eval-only
        ("u3", "m4", 1),  # new user (2 rows) and new movie (4): cold by its coldest level
    ]
    history = {"userId": {"u1", "u2"}, "movieId": {"m1", "m2"}}
    return cohorts.span_cohorts(span_frame(train, held_out), history, SPEC)


def test_cohorts_come_from_earlier_spans_and_the_span_training_rows(span):
    masks = {name: mask.tolist() for name, mask in span.masks.items()}
    assert masks["all"] == [True] * 6
    assert masks["new_movieId"] == [False, False, True, True, True, True]
    assert masks["new_userId"] == [False, False, False, False, False, True]
    assert masks["new_level"] == [False, False, True, True, True, True]
    assert masks["old_only"] == [True, True, False, False, False, False]
    assert masks["cold"] == [False, False, True, False, False, True]
    assert masks["warm"] == [False, False, False, True, False, False]
    assert masks["eval_only"] == [False, False, False, False, True, False]
    assert span.training_rows == 7 and span.labels.tolist() == [1, 0, 1, 0, 1, 1]
    assert span.base_rate == pytest.approx(4 / 7)


def test_the_coldness_cohorts_split_the_new_level_rows(span):
    parts = [span.masks[name].astype(int) for name in ("eval_only", "cold", "warm")]
    assert np.array_equal(sum(parts), span.masks["new_level"].astype(int))


def test_cohort_scores_and_rows_a_model_already_knew(span):
    probability = np.array([0.9, 0.1, 0.2, 0.5, 0.7, 0.6])
    scores = cohorts.cohort_scores(span.labels, probability, span.masks)
    assert scores["old_only"] == {"auc": 1.0, "rows": 2}
    assert scores["cold"] == {"auc": None, "rows": 2}  # one class: no AUC
    assert scores["new_level"]["auc"] == pytest.approx(2 / 3)
    known = cohorts.rows_within_vocabulary(
        span.eval_rows, {"userId": ("u1", "u2"), "movieId": ("m1", "m2", "m3")}
    )
    assert known.tolist() == [True, True, True, False, False, False]


@pytest.mark.parametrize(
    ("parent", "pushed_model", "decision"),
    [
        ("p", "candidate", "extend"),
        ("p", "baseline", "rebase"),
        ("p", None, "hold"),
        (None, "candidate", "first"),
    ],
)
def test_without_a_decision_key_it_follows_what_was_pushed(parent, pushed_model, decision):
    summary = {"parent_model_uri": parent, "pushed": bool(pushed_model)}
    summary["pushed_model"] = pushed_model
    assert timeline_report.decision_of(summary) == (decision, "derived")


def test_the_summary_s_own_decision_comes_first():
    summary = {"decision": "rebase", "parent_model_uri": "p", "pushed_model": "candidate"}
    assert timeline_report.decision_of(summary) == ("rebase", "summary")


def scored(span: int, decision: str, aucs: dict[str, dict[str, float]], **extra) -> dict:
    """A span record whose models score `aucs` ({model: {cohort: auc}})."""
    scores = {
        model: {cohort: {"auc": value, "rows": 10} for cohort, value in by_cohort.items()}
        for model, by_cohort in aucs.items()
    }
    record = {
        "span": span,
        "decision": decision,
        "scores": scores,
        "base_rate": 0.4,
        "training_rows": 10,
        "unseen_probability": {"served": 0.5},
        "old_level_predictions": {
            "candidate": {"rows": 10, "max_abs": 0.0},
            "full": {"rows": 10, "max_abs": 0.125},
        },
        "seconds": {"components": 20.0, "wall": 30.0},
        "served": {"span": span, "model": "candidate"},
        "eval_rows": 10,
        "new_levels": 3,
        "rows_trained": 40,
    }
    record.update(extra)
    return record


def timeline_records() -> list[dict]:
    both = {"all": 0.7, "new_movieId": 0.7, "cold": 0.6, "old_only": 0.7}
    return [
        scored(1, "first", {"served": both, "candidate": both, "full": both}),
        scored(
            2,
            "extend",
            {
                "served": {"all": 0.795, "new_movieId": 0.70, "cold": 0.62, "old_only": 0.8},
                "candidate": {"all": 0.795, "new_movieId": 0.70, "cold": 0.62, "old_only": 0.8},
                "full": {"all": 0.80, "new_movieId": 0.71, "cold": 0.60, "old_only": 0.82},
                "parent": {"old_only": 0.8},
            },
        ),
        scored(
            3,
            "hold",
            {
                "served": {"all": 0.75, "new_movieId": 0.60, "cold": 0.5, "old_only": 0.8},
                "candidate": {"all": 0.77, "new_movieId": 0.73, "cold": 0.55, "old_only": 0.8},
                "full": {"all": 0.80, "new_movieId": 0.72, "cold": 0.58, "old_only": 0.85},
                "parent": {"old_only": 0.8},
            },
            unseen_probability={"served": 0.5},
            base_rate=0.25,
            training_rows=20,
            old_level_predictions={"candidate": {"rows": 10, "max_abs": 0.25}},
        ),
    ]


def test_aggregates_give_the_done_means_figures():
    found = timeline_report.aggregates(timeline_records(), "movieId")
    assert found["later_spans"] == 2
    assert found["decisions"] == {"extend": [2], "hold": [3]}
    assert found["extend_old_level_predictions_max_abs"] == 0.0  # span 3 is no extension
    overall = found["served_minus_full"]
    assert overall["worst"] == pytest.approx(-0.05) and overall["worst_span"] == "3"
    assert overall["within_tolerance"] == 1
    assert found["new_item"]["candidate_minus_full_median"] == pytest.approx(0.0)
    assert found["new_item"]["served_minus_full_median"] == pytest.approx(-0.065)
    assert found["cold"]["candidate_minus_full_median"] == pytest.approx(-0.005)
    assert (found["cold"]["candidate_at_least_full"], found["cold"]["spans_scored"]) == (1, 2)
    assert found["staleness"]["worst"] == pytest.approx(-0.05)
    assert found["staleness"]["worst_span"] == "3"
    assert found["unseen_minus_base_rate"]["worst"] == pytest.approx(0.25)
    # Against every training row so far (what a full retrain's OOV row is fitted to):
    # spans 1-2 hold 10 rows at 0.4 each, span 3 20 rows at 0.25: 13 of 40 by span 3.
    so_far = found["unseen_minus_base_rate_so_far"]
    assert so_far["per_span"] == pytest.approx({"1": 0.1, "2": 0.1, "3": 0.5 - 13 / 40})
    assert so_far["worst"] == pytest.approx(0.175) and so_far["worst_span"] == "3"
    assert found["wall_s_total"] == 90.0


def served_by(span: int, model: str, trained_on: str | None) -> dict:
    served = {"span": span, "model": model}
    return served if trained_on is None else {**served, "trained_on": trained_on}


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "derived (older JSON)"])
def test_the_all_unseen_request_is_measured_against_the_served_model_s_training_rows(recorded):
    def served(span, model, trained_on):
        return served_by(span, model, trained_on if recorded else None)

    both = {"all": 0.7}
    records = [
        scored(1, "extend", {"served": both}, served=served(1, "candidate", "so_far")),
        scored(2, "extend", {"served": both}, served=served(2, "candidate", "span"), base_rate=0.7),
        # a hold serves span 2's extension: its training rows are span 2's
        scored(3, "hold", {"served": both}, served=served(2, "candidate", "span"), base_rate=0.1),
        scored(4, "rebase", {"served": both}, served=served(4, "baseline", "so_far")),
    ]
    for record, p in zip(records, (0.42, 0.68, 0.74, 0.3), strict=True):
        record["unseen_probability"] = {"served": p}
    rates = timeline_report.training_base_rates(records)
    # spans 1-4: 10 rows each at 0.4, 0.7, 0.1, 0.4: so far 1.6 of 4 by span 4
    assert rates == pytest.approx({"1": 0.4, "2": 0.7, "3": 0.7, "4": 0.4})
    gap = timeline_report.aggregates(records, None)[timeline_report.TRAINING_GAP]
    assert gap["per_span"] == pytest.approx({"1": 0.02, "2": -0.02, "3": 0.04, "4": -0.1})
    assert (gap["within_bar"], gap["spans_scored"], gap["worst_span"]) == (3, 4, "4")


@pytest.mark.parametrize(
    ("pushed_model", "parent", "rows"),
    [("candidate", "/m/1", "span"), ("candidate", None, "so_far"), ("baseline", "/m/1", "so_far")],
)
def test_a_pushed_model_s_training_rows_follow_what_it_extends(pushed_model, parent, rows):
    summary = {"pushed_model": pushed_model, "parent_model_uri": parent}
    assert timeline_report.trained_on(summary) == rows


def test_the_files_hold_the_command_the_machine_and_a_row_per_span(tmp_path):
    results = {
        "dataset": "movielens",
        "tag": "before",
        "command": "newlevels timeline movielens --tag before",
        "run_options": [],
        "columns": {"categorical": ["userId", "movieId"], "item": "movieId", "user": "userId"},
        "machine": {
            "date": "2026-11-30T00:00:00+00:00",
            "cores": 2,
            "ram_gib": 24.0,
            "python": "3.10.13",
            "tensorflow": "2.16.2",
            "tfx": "1.16.0",
            "platform": "Linux",
        },
        "load_start": [1.0, 1.0, 1.0],
        "load_end": [2.0, 2.0, 2.0],
        "spans": timeline_records(),
    }
    markdown, raw = timeline_files.write(results, str(tmp_path))
    assert raw.endswith("movielens-before.json") and markdown.endswith("movielens-before.md")
    with open(markdown, encoding="utf-8") as handle:
        text = handle.read()
    assert "`newlevels timeline movielens --tag before`" in text and "2 cores, 24.0 GiB" in text
    assert "| 3 | 10 | hold | span 3 candidate | 0.7500 / 0.8000 (10) | -0.0500 |" in text
    assert "| 0.0 / 0.125 (10) |" in text  # the candidate froze, the full retrain moved
    assert "Spans served by an extension: **1 of 2**" in text
    assert "worst served - full **-0.0500** (span 3)" in text
    with open(raw, encoding="utf-8") as handle:
        assert json.load(handle)["aggregates"]["later_spans"] == 2
    (tmp_path / "drift-cut-short.json").write_text(json.dumps({"spans": []}))
    with open(timeline_index.write_index(str(tmp_path)), encoding="utf-8") as handle:
        index = handle.read().splitlines()
    assert [line for line in index if line.startswith("| movielens")] == [
        "| movielens | before | `-` | 2026-11-30 | 1 | 0 | 1 | 1 of 2 | -0.0500 (3) | +0.0000 "
        "| -0.0050 | +0.2500 (3) | 0 of 3, +0.2500 (3) | -0.0500 (3) | 90.0 | [2.0, 2.0, 2.0] |"
    ]
    assert not [line for line in index if "drift" in line], "a timeline cut short is left out"


def test_render_rewrites_the_markdown_from_the_json_alone(tmp_path, capsys):
    argv = ["timeline", "movielens", "--tag", "before", "--out", str(tmp_path), "--render"]
    assert cli.main(argv) == 2
    assert "no timeline results" in capsys.readouterr().err
    results = {"dataset": "movielens", "tag": "before", "spans": timeline_records()}
    results["columns"] = {"categorical": ["movieId"], "item": "movieId", "user": None}
    results["machine"] = {k: "-" for k in ("date", "cores", "ram_gib", "python")}
    results["machine"].update({k: "-" for k in ("tensorflow", "tfx", "platform")})
    results.update(command="c", run_options=[], load_start=[0, 0, 0])
    timeline_files.write_json(results, str(tmp_path))
    assert cli.main(argv) == 0
    text = (tmp_path / "movielens-before.md").read_text(encoding="utf-8")
    assert "| 2 | 10 | extend | span 2 candidate |" in text and "**1 of 2**" in text
    assert (tmp_path / "INDEX.md").exists()


@pytest.mark.reliability("`newlevels data` / `newlevels timeline` options")
@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["nosuch", "--tag", "x"], "no data set named 'nosuch'"),
        (["drift", "--tag", "a b"], "--tag 'a b'"),
        (["drift", "--tag", "x", "--run-options", "--span", "3"], "--run-options --span"),
        (
            ["drift", "--tag", "x", "--run-options", "--workdir=elsewhere"],
            "--run-options --workdir",
        ),
    ],
)
def test_the_timeline_refuses_bad_options_in_one_line(tmp_path, capsys, argv, named):
    out = tmp_path / "out"
    assert cli.main(["timeline", argv[0], "--out", str(out), *argv[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("newlevels: error: ") and named in err[0]
    assert not out.exists()


def test_run_options_pass_through_after_the_data_set_s_columns(tmp_path):
    data = tmp_path / "data"
    small = DriftSettings(spans=3, rows=2000, users=50, items=200, new_users=5, new_items=10)
    write_drift(str(data), small)
    argv = ["timeline", "drift", "--tag", "t", "--data", str(data), "--last-span", "2"]
    args = cli.build_parser(only="timeline").parse_args(
        [*argv, "--run-options", "--epochs", "3", "--model", "mf"]
    )
    plan = timeline.plan(args, str(tmp_path / "work"))
    assert plan.run_args == (*RUN_FLAGS, "--epochs", "3", "--model", "mf")
    assert plan.spans == (1, 2) and plan.data_root == str(data)
    assert (plan.spec.feature_names, plan.spec.label) == (("userId", "itemId"), "label")
    assert (plan.item_column, plan.user_column) == ("itemId", "userId")
    assert plan.command == " ".join(
        [*argv[1:], "--run-options", "--epochs", "3", "--model", "mf"]
    ).join(("newlevels timeline ", ""))


@pytest.mark.reliability("`newlevels data` / `newlevels timeline` options")
def test_an_unknown_run_option_stops_the_timeline_before_anything_is_written(tmp_path, capsys):
    work, out = tmp_path / "work", tmp_path / "out"
    argv = ["timeline", "drift", "--tag", "t", "--workdir", str(work), "--out", str(out)]
    with pytest.raises(SystemExit) as stopped:
        cli.main([*argv, "--run-options", "--no-such-flag"])
    assert stopped.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
    assert not out.exists() and list(work.iterdir()) == []


@pytest.mark.reliability("`newlevels data` / `newlevels timeline` options")
def test_the_timeline_refuses_a_workdir_in_use(tmp_path, capsys):
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "metadata.sqlite").write_text("")
    argv = ["timeline", "drift", "--tag", "t", "--workdir", str(tmp_path / "work")]
    assert cli.main(argv) == 2
    assert "--workdir" in capsys.readouterr().err
