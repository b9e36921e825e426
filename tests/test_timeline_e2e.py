"""`newlevels timeline` end to end: three small drift spans through the real pipeline (slow)."""

from __future__ import annotations

import json

import pytest

from newlevels import cli
from newlevels.bench import cohorts
from newlevels.pipeline.data.drift import DriftSettings, write_drift

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SMALL = DriftSettings(spans=3, rows=2000, users=60, items=300, new_users=5, new_items=20)


@pytest.fixture(scope="module")
def timeline(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("timeline")
    write_drift(str(root / "data"), SMALL)
    argv = ["timeline", "drift", "--data", str(root / "data"), "--tag", "e2e"]
    argv += ["--out", str(root / "out"), "--workdir", str(root / "work")]
    # A gate that passes every candidate: every later span is an extension.
    gate = ["--max-auc-drop", "1", "--staleness-budget", "1"]
    assert cli.main([*argv, "--run-options", *gate]) == 0
    with open(root / "out" / "drift-e2e.json", encoding="utf-8") as handle:
        results = json.load(handle)
    results["markdown"] = (root / "out" / "drift-e2e.md").read_text(encoding="utf-8")
    return results


def test_every_span_is_run_in_order_and_served_by_its_extension(timeline):
    spans = timeline["spans"]
    assert [r["span"] for r in spans] == [1, 2, 3]
    assert [r["decision"] for r in spans][1:] == ["extend", "extend"]
    assert [r["decision_source"] for r in spans] == ["summary"] * 3
    assert [r["served"]["span"] for r in spans] == [1, 2, 3]
    for record in spans[1:]:
        assert record["scores"]["served"] == record["scores"]["candidate"]
        assert record["scores"]["parent"] is not None and record["scores"]["full"] is not None


def test_extensions_serve_old_level_rows_as_their_parent_and_a_full_retrain_does_not(timeline):
    for record in timeline["spans"][1:]:
        moved = record["old_level_predictions"]
        assert moved["candidate"]["rows"] > 100, "rows mixing old and new levels are scored"
        assert moved["candidate"]["max_abs"] == 0.0
        assert moved["full"]["max_abs"] > 0.0, "the check sees a model that moves old rows"
        assert record["summary_checks"]["old_level_rows_prediction_change"]["max_abs"] == 0.0


def test_cohorts_cover_the_evaluation_rows_for_every_model(timeline):
    for record in timeline["spans"][1:]:
        for model in ("served", "candidate", "full", "parent"):
            scores = record["scores"][model]
            assert scores[cohorts.ALL]["rows"] == record["eval_rows"]
            parts = sum(scores[c]["rows"] for c in (cohorts.EVAL_ONLY, cohorts.COLD, cohorts.WARM))
            assert parts == scores[cohorts.NEW_LEVEL]["rows"] > 0
            assert scores[cohorts.OLD_ONLY]["rows"] > 0
        assert 0.0 < record["unseen_probability"]["served"] < 1.0


def test_the_markdown_has_a_row_per_span_and_the_done_means_lines(timeline):
    text = timeline["markdown"]
    assert "| 3 | " in text and "Spans served by an extension: **2 of 2**" in text
    assert "--run-options --max-auc-drop 1 --staleness-budget 1" in text
