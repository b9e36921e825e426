"""The baseline schedule through the real pipeline, on the mixed toy (old and new levels mixed).

Span 1 trains its full retrain (none is recorded yet); span 2, under `--baseline
every:2`, skips it: no full retrain runs, the Evaluator evaluates the candidate
alone against span 1's recorded AUCs, and a tolerance no candidate meets
(-0.5: it must beat the recorded AUC by half) makes the gate fail. Where a fresh
baseline would rebase, a skipped one holds, pushes nothing and asks the next
run for a fresh baseline; the summary, MLMD and the lineage say so.
"""

from __future__ import annotations

import contextlib
import io
import os

import pytest

from newlevels import cli
from newlevels.contracts import blessing as gate_record
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates
from newlevels.contracts.baseline import Plan
from newlevels.pipeline import metadata
from newlevels.pipeline.baseline_plan import read_plan
from newlevels.pipeline.config import PIPELINE_NAME
from newlevels.pipeline.data.toy import write_mixed_toy
from newlevels.pipeline.pipeline import NodeIds
from tests import pipeline_checks as checks

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
COLUMNS = ["--categorical", "level,group", "--label", "label", "--id", "id", "--quiet"]
STRICT = ["--baseline", "every:2", "--tolerance", "-0.5"]


@pytest.fixture(scope="module")
def schedule_runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("schedule")
    data, workdir = str(root / "data"), str(root / "work")
    write_mixed_toy(data)
    summaries = checks.run_spans(data, workdir, (1, 2), "split", [*COLUMNS, *STRICT], [])
    return {"data": data, "workdir": workdir, "summaries": summaries}


def test_a_skipped_span_runs_no_full_retrain_and_records_the_one_it_used(schedule_runs):
    first, second = schedule_runs["summaries"]
    assert first["baseline"]["trained"] and NodeIds.FULL_TRAINER in first["seconds"]
    plan = second["baseline"]
    assert plan["trained"] is False and plan["schedule"] == "every:2"
    assert NodeIds.FULL_TRAINER not in second["seconds"]
    assert NodeIds.BASELINE_PUSHER not in second["seconds"]
    assert second["baseline_model_uri"] is None
    reference = plan["reference"]
    assert reference["span"] == 1 and reference["model_uri"] == first["baseline_model_uri"]
    assert reference["auc"] == {
        n: first["metrics"]["baseline"][n]["auc"] for n in gates.SLICE_NAMES
    }
    assert f"model {reference['model_id']}" in plan["reason"]
    assert second["metrics"]["baseline"]["overall"]["auc"] is None


def test_the_gate_on_a_skipped_span_holds_instead_of_rebasing_and_asks_for_a_baseline(
    schedule_runs,
):
    first, second = schedule_runs["summaries"]
    reference = second["baseline"]["reference"]["auc"]
    candidate = {n: second["metrics"]["candidate"][n]["auc"] for n in gates.SLICE_NAMES}
    found = {"candidate": candidate, "baseline": reference}
    gate = gates.Gate(tolerance=-0.5)
    # The same AUCs with a fresh full retrain would rebase.
    assert verdicts.decide(gate, found, verdicts.Certificate(True, "ok")).decision == gates.REBASE
    assert second["decision"] == gates.HOLD and not second["pushed"]
    assert second["baseline"]["requested"] is True
    assert verdicts.STALENESS_NOT_MEASURED in second["decision_reasons"]
    assert "a rebase needs a fresh full retrain" in second["decision_reasons"][-1]
    serving = os.listdir(os.path.join(schedule_runs["workdir"], "serving"))
    assert serving == [os.path.basename(first["pushed_path"])]


def test_mlmd_and_lineage_record_the_skip_and_the_next_run_trains_a_baseline(schedule_runs):
    workdir = schedule_runs["workdir"]
    store = metadata.open_store(os.path.join(workdir, "metadata.sqlite"))
    decision = metadata.latest_run(store, PIPELINE_NAME).nodes[NodeIds.DECISION]
    for key in ("candidate_blessing", "baseline_blessing"):
        recorded = metadata.custom_value(decision.output(key), gate_record.BASELINE_PLAN)
        plan = _plain(recorded)
        assert plan["trained"] is False and plan["requested"] is True
        assert plan["reference"]["span"] == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["lineage", "--workdir", workdir]) == 0
    assert "skipped: span 1 (model" in out.getvalue() and "asked for one" in out.getvalue()
    from newlevels.cli.commands import options

    parser = _run_parser()
    args = parser.parse_args(
        [
            "--data",
            schedule_runs["data"],
            "--span",
            "3",
            "--workdir",
            workdir,
            *COLUMNS[:-1],
            *STRICT,
        ]
    )
    config = options.run_config(args, args.data, 3, workdir)
    plan = read_plan(config)
    assert isinstance(plan, Plan) and plan.trained and "asked for a fresh one" in plan.reason


def _plain(value):
    from newlevels.pipeline.lineage.records import _plain as plain

    return plain(value)


def _run_parser():
    import argparse

    from newlevels.cli.commands import options

    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    parser.add_argument("--span", type=int)
    parser.add_argument("--workdir")
    options.add_run_options(parser)
    return parser
