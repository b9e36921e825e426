"""The baseline schedule (`--baseline every|every:K|off`): when the full retrain runs, and the
gate's decision on a span that skipped it (extend or hold, never rebase)."""

from __future__ import annotations

import pytest

from newlevels import cli
from newlevels.components.evaluation.eval_config import eval_config
from newlevels.components.evaluation.metrics import CANDIDATE
from newlevels.contracts import baseline as baselines
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.pipeline.baseline_plan import last_reference
from newlevels.pipeline.lineage.records import ModelRecord, RunRecord
from tests.test_gate_decision import OK, aucs

#: the full retrain of span 1, as its Decision recorded it.
SPAN_1 = baselines.Reference(
    span=1,
    model_id=8,
    model_uri="/w/tfx/full_retrain_trainer/model/8",
    run_id="run-1",
    auc={"overall": 0.80, "new_level_rows": 0.78, "unseen_level_rows": 0.6, "old_level_rows": None},
)
EVERY_3 = baselines.Schedule.parse("every:3")


def skipped(reference: baselines.Reference | None = SPAN_1, schedule: str = "every:3"):
    return baselines.plan(baselines.Schedule.parse(schedule), 2, reference, False)


@pytest.mark.parametrize(
    ("text", "interval", "written"),
    [
        ("every", 1, "every"),
        ("every:1", 1, "every"),
        ("EVERY:5", 5, "every:5"),
        ("off", None, "off"),
    ],
)
def test_schedule_parses_and_writes_back(text, interval, written):
    schedule = baselines.Schedule.parse(text)
    assert schedule.interval == interval and str(schedule) == written


@pytest.mark.parametrize("text", ["every:0", "every:-1", "every:x", "weekly", "every:"])
def test_a_bad_schedule_is_refused_naming_the_flag(text):
    with pytest.raises(baselines.BaselineScheduleError, match="--baseline"):
        baselines.Schedule.parse(text)


def test_the_cli_refuses_a_bad_schedule_with_one_line(tmp_path, capsys):
    argv = ["run", "--data", str(tmp_path / "d"), "--span", "1", "--workdir", str(tmp_path / "w")]
    assert cli.main([*argv, "--baseline", "every:0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "newlevels: error: --baseline 'every:0': choose every, every:K (K a whole "
        "number >= 1) or off"
    ]


def test_a_compiled_pipeline_refuses_a_schedule_it_cannot_read(tmp_path, capsys):
    argv = ["kfp", "values", "--pipeline-root", "gs://b/p", "--baseline", "every:5"]
    assert cli.main(argv) == 2
    assert "--baseline every:5" in capsys.readouterr().err


def test_every_k_trains_when_none_is_recorded_when_k_spans_passed_and_when_asked():
    assert baselines.plan(EVERY_3, 1, None, False).trained
    assert not baselines.plan(EVERY_3, 2, SPAN_1, False).trained
    assert not baselines.plan(EVERY_3, 3, SPAN_1, False).trained
    assert baselines.plan(EVERY_3, 4, SPAN_1, False).trained
    asked = baselines.plan(EVERY_3, 2, SPAN_1, True)
    assert asked.trained and "asked for a fresh one" in asked.reason
    assert baselines.plan(baselines.Schedule(), 2, SPAN_1, False).trained
    off = baselines.plan(baselines.Schedule(None), 9, SPAN_1, True)
    assert not off.trained and off.reference == SPAN_1


def test_a_skipped_plan_names_the_full_retrain_used_instead_and_round_trips():
    plan = skipped()
    assert plan.reference == SPAN_1 and "span 1's full retrain (model 8)" in plan.reason
    assert baselines.Plan.from_dict(plan.to_dict()) == plan


def test_a_skipped_span_extends_when_the_candidate_holds_up_against_the_recorded_auc():
    found = aucs({"overall": 0.795, "new_level_rows": 0.779, "old_level_rows": 0.70}, SPAN_1.auc)
    decision = verdicts.decide(gates.Gate(), found, OK, skipped())
    assert decision.decision == gates.EXTEND and not decision.baseline_requested
    assert verdicts.STALENESS_NOT_MEASURED in decision.reasons
    assert any("recorded full retrain 0.7800" in reason for reason in decision.reasons)


def test_a_skipped_span_holds_where_a_fresh_one_would_rebase_and_asks_for_a_baseline():
    found = aucs({"overall": 0.70, "new_level_rows": 0.70, "old_level_rows": 0.70}, SPAN_1.auc)
    fresh = verdicts.decide(gates.Gate(), found, OK)
    assert fresh.decision == gates.REBASE
    decision = verdicts.decide(gates.Gate(), found, OK, skipped())
    assert decision.decision == gates.HOLD and decision.baseline_requested
    assert "a rebase needs a fresh full retrain" in decision.reasons[-1]
    assert "span 1's recorded full retrain" in decision.reasons[-1]


def test_staleness_is_not_checked_without_a_fresh_full_retrain():
    # The parent is far behind on old-level rows: a fresh gate rebases on staleness alone.
    stale = aucs(
        {"overall": 0.80, "new_level_rows": 0.78, "old_level_rows": 0.50},
        {"overall": 0.80, "new_level_rows": 0.78, "old_level_rows": 0.80},
    )
    assert verdicts.decide(gates.Gate(), stale, OK).decision == gates.REBASE
    decision = verdicts.decide(gates.Gate(), stale, OK, skipped())
    assert decision.decision == gates.EXTEND
    assert not any(c.threshold.name == "staleness" for c in decision.checks)


def test_off_without_a_recorded_baseline_gates_on_the_floor_and_never_asks():
    found = aucs({"overall": 0.50, "new_level_rows": 0.50}, {})
    decision = verdicts.decide(gates.Gate(), found, OK, skipped(None, "off"))
    assert decision.decision == gates.HOLD and not decision.baseline_requested
    assert "--baseline off never trains one" in decision.reasons[-1]
    assert "overall: n/a (no recorded baseline AUC)" in decision.reasons


def test_a_skipped_evaluation_runs_the_candidate_alone_against_floors_at_the_recorded_aucs():
    config = eval_config("label", gates.Gate(tolerance=0.02), ["a"], SPAN_1.auc)
    assert [spec.name for spec in config.model_specs] == [CANDIDATE]
    floors = sorted(
        (
            tuple(sliced.slicing_specs[0].feature_values.items()),
            round(sliced.threshold.value_threshold.lower_bound.value, 6),
        )
        for metric in config.metrics_specs[0].metrics
        for sliced in metric.per_slice_thresholds
    )
    # The floor, then the recorded AUCs minus the tolerance; no change threshold, no
    # staleness (old-level rows), and none where nothing was recorded.
    assert floors == [((), 0.55), ((), 0.78), ((("level_cohort", "new"),), 0.76)]


def record(span: int, run: str, baseline: bool, requested: bool = False) -> RunRecord:
    model = ModelRecord(10 * span, f"/m/{run}", "full", "full", 2, {}, 0, None, "")
    plan = {"schedule": "every:3", "trained": baseline, "requested": requested}
    base = {"overall": 0.7 + span / 100} if baseline else {}
    return RunRecord(
        run_id=run,
        span=span,
        candidate=None,
        baseline=model if baseline else None,
        auc={"candidate": {}, "baseline": {n: base.get(n) for n in gates.SLICE_NAMES}},
        blessed=False,
        pushed=False,
        pushed_model=None,
        pushed_path=None,
        time="",
        baseline_plan=plan,
    )


def test_the_reference_is_the_last_full_retrain_of_an_earlier_span_and_a_request_since():
    records = [record(1, "a", True), record(2, "b", False), record(3, "c", True)]
    reference, requested = last_reference(records, 4)
    assert (reference.span, reference.run_id, requested) == (3, "c", False)
    reference, requested = last_reference([*records, record(4, "d", False, True)], 5)
    assert (reference.span, requested) == (3, True)
    # Span 3 run again without a full retrain replaces the run that had one.
    reference, _ = last_reference([*records, record(3, "e", False)], 4)
    assert reference.span == 1
    # Spans at or after the one about to run do not count.
    assert last_reference(records, 3)[0].span == 1
    assert last_reference(records, 1) == (None, False)
