"""The decision at the gate (extend, rebase, hold) on real-looking sliced AUCs, and its one home."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from newlevels import cli
from newlevels.contracts import decision as verdicts
from newlevels.contracts import gate as gates

OK = verdicts.Certificate(True, "the old rows of movieId, userId are the parent's")
TAMPERED = verdicts.Certificate(False, "the old rows of 'movieId' are not its parent's")


def aucs(candidate: dict, baseline: dict) -> dict:
    """{candidate|baseline: {slice: AUC}}, slices left out having no rows."""
    return {
        "candidate": {name: candidate.get(name) for name in gates.SLICE_NAMES},
        "baseline": {name: baseline.get(name) for name in gates.SLICE_NAMES},
    }


#: MovieLens span 2 of the demo (README): the extension within 0.01 of the full
#: retrain overall and on new-level rows; its old-level rows (its parent's) 0.065 behind.
DEMO_SPAN_2 = aucs(
    {
        "overall": 0.8148,
        "new_level_rows": 0.8205,
        "unseen_level_rows": 0.62,
        "old_level_rows": 0.7640,
    },
    {
        "overall": 0.8213,
        "new_level_rows": 0.8211,
        "unseen_level_rows": 0.60,
        "old_level_rows": 0.8294,
    },
)
#: Issue 13's span 6: the extension about 0.03 behind the full retrain overall and
#: behind it on new-user rows.
STALE_SPAN_6 = aucs(
    {"overall": 0.7121, "new_level_rows": 0.7171, "old_level_rows": 0.7010},
    {"overall": 0.7440, "new_level_rows": 0.7538, "old_level_rows": 0.7390},
)
#: Issue 13's span 9: the extension's old-level rows (its parent's) far behind.
STALE_SPAN_9 = aucs(
    {"overall": 0.8301, "new_level_rows": 0.8390, "old_level_rows": 0.7173},
    {"overall": 0.8376, "new_level_rows": 0.8385, "old_level_rows": 0.8349},
)
#: An extension as good as the full retrain everywhere, its parent barely stale.
CLOSE = aucs(
    {"overall": 0.8342, "new_level_rows": 0.8368, "old_level_rows": 0.8212},
    {"overall": 0.8401, "new_level_rows": 0.8396, "old_level_rows": 0.8371},
)


def failed(decision: verdicts.Decision) -> list[str]:
    return [c.threshold.name for c in decision.checks if c.passed is False]


def test_an_extension_within_every_budget_extends():
    decision = verdicts.decide(gates.Gate(), CLOSE, OK)
    assert decision.decision == gates.EXTEND and decision.serves_candidate
    assert failed(decision) == []
    assert decision.reasons[-1] == "extend: the candidate passes every check"
    assert any(
        r.startswith("staleness: candidate 0.8212 vs full retrain 0.8371") for r in decision.reasons
    )


def test_a_genuinely_worse_candidate_is_rejected_under_the_default_gate_and_rebased():
    decision = verdicts.decide(gates.Gate(), STALE_SPAN_6, OK)
    assert failed(decision) == ["overall", "new-level rows"]
    assert decision.decision == gates.REBASE and decision.serves_baseline
    assert decision.reasons[-1].startswith("rebase: the candidate fails overall, new-level rows")


def test_extend_only_holds_on_the_auc_drop_without_promoting_the_baseline():
    decision = verdicts.decide(gates.Gate(policy=gates.EXTEND_ONLY), STALE_SPAN_6, OK)
    assert decision.decision == gates.HOLD
    assert not decision.serves_candidate and not decision.serves_baseline
    assert "policy extend-only never rebases" in decision.reasons[-1]


def test_a_parent_staler_than_the_budget_rebases_although_the_new_rows_pass():
    decision = verdicts.decide(gates.Gate(), STALE_SPAN_9, OK)
    assert failed(decision) == ["staleness"]
    assert decision.decision == gates.REBASE
    assert "staleness: candidate 0.7173 vs full retrain 0.8349 (-0.1176, budget 0.1): FAIL" in (
        decision.reasons
    )
    # Moderate staleness (the demo's span 2: 0.065) extends, unless the budget is tighter.
    assert verdicts.decide(gates.Gate(), DEMO_SPAN_2, OK).decision == gates.EXTEND
    tight = verdicts.decide(gates.Gate(staleness_budget=0.05), DEMO_SPAN_2, OK)
    assert tight.decision == gates.REBASE and failed(tight) == ["staleness"]


def test_hold_when_neither_model_reaches_the_value_floor():
    weak = aucs(
        {"overall": 0.52, "new_level_rows": 0.51}, {"overall": 0.54, "new_level_rows": 0.55}
    )
    decision = verdicts.decide(gates.Gate(), weak, None)
    assert failed(decision) == ["value floor", "overall", "new-level rows"]
    assert decision.decision == gates.HOLD
    assert "below the floor too" in decision.reasons[-1]


def test_an_extension_whose_old_rows_are_not_its_parents_is_never_served():
    for gate, expected in (
        (gates.Gate(), gates.REBASE),
        (gates.Gate(policy=gates.EXTEND_ONLY), gates.HOLD),
    ):
        decision = verdicts.decide(gate, CLOSE, TAMPERED)
        assert decision.decision == expected
        assert f"freeze certificate: {TAMPERED.detail}" in decision.reasons
        assert "fails freeze certificate" in decision.reasons[-1]


def test_a_first_model_has_no_old_rows_and_no_staleness_reason():
    first = aucs(
        {"overall": 0.7564, "new_level_rows": 0.7570, "unseen_level_rows": 0.70},
        {"overall": 0.7606, "new_level_rows": 0.7611, "unseen_level_rows": 0.71},
    )
    decision = verdicts.decide(gates.Gate(), first, None)
    staleness = next(c for c in decision.checks if c.threshold.name == "staleness")
    assert staleness.passed is None and "staleness: n/a (no rows)" in decision.reasons
    assert verdicts.FIRST_MODEL in decision.reasons
    assert decision.decision == gates.EXTEND


def test_under_the_default_policy_the_served_model_is_never_more_than_the_tolerance_behind():
    generator = random.Random(0)
    seen = set()
    for _ in range(2000):
        base = {name: generator.uniform(0.5, 0.9) for name in gates.SLICE_NAMES}
        cand = {name: value + generator.uniform(-0.06, 0.03) for name, value in base.items()}
        gate = gates.Gate(tolerance=generator.choice([0.005, 0.01, 0.02]))
        decision = verdicts.decide(gate, aucs(cand, base), generator.choice([OK, TAMPERED, None]))
        seen.add(decision.decision)
        served = {gates.EXTEND: cand, gates.REBASE: base}.get(decision.decision)
        if served is None:
            assert base["overall"] < gate.min_auc
        else:
            assert served["overall"] >= base["overall"] - gate.tolerance
            assert served["overall"] >= gate.min_auc
    assert seen == set(gates.DECISIONS)


def test_the_tolerance_keeps_its_old_name_and_the_budgets_are_checked():
    gate = gates.Gate(tolerance=0.03)
    assert gate.max_auc_drop == 0.03
    assert gate.to_dict()["max_auc_drop"] == gate.to_dict()["tolerance"] == 0.03
    with pytest.raises(gates.GateError, match="--policy 'sometimes'"):
        gates.Gate(policy="sometimes")
    with pytest.raises(gates.GateError, match="--staleness-budget"):
        gates.Gate(staleness_budget=-1.1)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--policy", "sometimes"], "--policy: invalid choice"),
        (["--tolerance", "2"], "--tolerance must be within [-1, 1], got 2.0"),
        (["--max-auc-drop", "-1.5"], "--tolerance must be within [-1, 1], got -1.5"),
        (["--min-auc", "1.5"], "--min-auc must be within [0, 1], got 1.5"),
    ],
)
def test_the_cli_refuses_a_gate_out_of_range_in_one_line(tmp_path, capsys, flags, message):
    args = ["run", "--data", str(tmp_path), "--span", "1", "--workdir", str(tmp_path / "w")]
    if flags[0] == "--policy":
        with pytest.raises(SystemExit) as exit_info:
            cli.main([*args, *flags])
        assert exit_info.value.code == 2
    else:
        assert cli.main([*args, *flags]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert message in error[-1]
    assert not (tmp_path / "w").exists()


def test_the_cli_flags_and_their_aliases_set_one_gate():
    from newlevels.cli.commands import options

    parser = cli.build_parser()
    common = ["run", "--data", "d", "--span", "2", "--workdir", "w"]
    config = options.run_config(parser.parse_args(common), "d", 2, "w")
    assert config.gate == gates.Gate()
    aliases = [*common, "--max-auc-drop", "0.03", "--promote-baseline-on-reject"]
    aliased = options.run_config(parser.parse_args(aliases), "d", 2, "w")
    assert aliased.gate == gates.Gate(tolerance=0.03, policy=gates.EXTEND_OR_REBASE)
    flags = [*common, "--tolerance", "0.02", "--staleness-budget", "0.1", "--policy", "extend-only"]
    assert options.run_config(parser.parse_args(flags), "d", 2, "w").gate == gates.Gate(
        tolerance=0.02, staleness_budget=0.1, policy=gates.EXTEND_ONLY
    )


def test_the_contracts_import_no_tensorflow_tfx_or_tfma():
    code = (
        "import sys\n"
        "import newlevels.contracts.gate, newlevels.contracts.signatures\n"
        "import newlevels.contracts.decision, newlevels.contracts.digest\n"
        "import newlevels.contracts.blessing\n"
        "print(sorted(m for m in ('tensorflow', 'tfx', 'tensorflow_model_analysis') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
