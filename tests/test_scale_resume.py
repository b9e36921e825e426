"""The scale bench goes on from an interrupted run's recorded spans (`--resume`)."""

from __future__ import annotations

import json

import pytest

from newlevels.bench import common, scale
from newlevels.pipeline.data import drift


def write_results(path, spans=4, rows=10, baseline="every:5", done=(1, 2)):
    timeline = {"rows_per_span": {"1": rows}, "runs": [{"span": s} for s in done]}
    payload = {"spans": spans, "rows": rows, "baseline": baseline, "timeline": timeline}
    path.write_text(json.dumps(payload))
    return str(path)


def test_a_resumed_run_goes_on_after_the_recorded_spans_without_new_data(tmp_path, monkeypatch):
    calls = []

    def run_span(root, data, workdir, span, baseline, tag):
        calls.append((span, baseline, tag))
        return {"span": span}

    def write_drift(*args, **kwargs):
        raise AssertionError("a resumed run writes no data")

    monkeypatch.setattr(scale, "run_span", run_span)
    monkeypatch.setattr(drift, "write_drift", write_drift)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "metadata.sqlite").write_text("store")
    # spans 1 and 2 finished; span 3 was running when the earlier run stopped
    done = scale.resumed(write_results(tmp_path / "scale.json"), 4, 10, "every:5")
    timeline = scale.run_timeline(str(tmp_path), 4, 10, "every:5", lambda _: None, done)
    assert calls == [(3, "every:5", ""), (4, "every:5", ""), (4, "every", "-trained")]
    assert [run["span"] for run in timeline["runs"]] == [1, 2, 3, 4]
    assert (tmp_path / "work-trained" / "metadata.sqlite").read_text() == "store"


def test_resume_refuses_a_results_file_of_other_settings(tmp_path):
    path = write_results(tmp_path / "scale.json", rows=100_000)
    with pytest.raises(common.BenchError, match="scale.json ran .*'rows': 100000"):
        scale.resumed(path, 4, 10, "every:5")
    with pytest.raises(common.BenchError, match="no results file"):
        scale.resumed(str(tmp_path / "missing.json"), 4, 10, "every:5")


def test_a_run_stopped_in_the_last_spans_trained_rerun_only_reruns_that(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(scale, "run_span", lambda *args: calls.append(args[3:]) or {})
    path = write_results(tmp_path / "scale.json", done=(1, 2, 3, 4))
    done = scale.resumed(path, 4, 10, "every:5")
    scale.run_timeline(str(tmp_path), 4, 10, "every:5", print, done)
    assert calls == [(4, "every", "-trained")]
