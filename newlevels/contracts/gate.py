"""The gate: one decision per span (extend, rebase or hold), its policy, budgets and reasons.

The Evaluator compares the candidate (the extension) with the span's full
retrain on cohort slices (`signatures.COHORTS`). Four thresholds, each a TFMA
per-slice threshold (`thresholds`), say whether the candidate may be served:

- value floor: the candidate's overall AUC is at least `min_auc`;
- overall: it is at most `tolerance` below the full retrain's;
- new-level rows: the same tolerance on rows holding a level it added;
- staleness: on rows with only old levels, at most `staleness_budget` below the
  full retrain. The candidate serves those rows with its parent's rows, bit for
  bit, so this is the parent's staleness.

A threshold on a slice with no rows does not apply (a first model has no old
rows). `contracts.decision.decide` adds the freeze certificate (an extension
whose old rows are not its parent's is never served) and the policy:

- `extend-or-rebase` (default): extend if the candidate passes; else rebase
  (serve the full retrain) if it reaches the value floor; else hold. The served
  model is then never more than `tolerance` AUC behind the span's full retrain.
- `extend-only`: extend if the candidate passes, else hold (serve nothing new).

No TensorFlow, TFX or TFMA here: the EvalConfig builder, the decision
component, the CLI and the summary all read this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

EXTEND, REBASE, HOLD = "extend", "rebase", "hold"
DECISIONS = (EXTEND, REBASE, HOLD)
EXTEND_OR_REBASE, EXTEND_ONLY = "extend-or-rebase", "extend-only"
POLICIES = (EXTEND_OR_REBASE, EXTEND_ONLY)

CANDIDATE, BASELINE = "candidate", "baseline"
MODELS = (CANDIDATE, BASELINE)
#: the summary's slice names: the overall slice and the three cohorts.
OVERALL = "overall"
NEW_ROWS, UNSEEN_ROWS, OLD_ROWS = "new_level_rows", "unseen_level_rows", "old_level_rows"
SLICE_NAMES = (OVERALL, NEW_ROWS, UNSEEN_ROWS, OLD_ROWS)

#: {model: {slice name: AUC, or None for a slice with no rows}}
Aucs = Mapping[str, Mapping[str, float | None]]


class GateError(ValueError):
    """A gate setting out of range, naming its flag."""


@dataclasses.dataclass(frozen=True)
class Gate:
    """The gate's policy and budgets (one source of truth for their defaults).

    Attributes:
        min_auc: the value floor: a served model's overall AUC reaches this.
        tolerance: how far the candidate's AUC may be below the full retrain's,
            overall and on new-level rows.
        staleness_budget: how far the candidate's (its parent's) AUC on old-level
            rows may be below the full retrain's. The overall check already
            bounds what the served model costs on every row; this is the
            backstop for the cohort the overall AUC can hide (old-level rows
            are a small share of a MovieLens span's evaluation rows). The
            staleness of frozen MovieLens models runs from a few hundredths of
            AUC to over a tenth (README): the default, 0.10, rebases the worst
            and lets the moderate staleness that freezing always costs extend,
            and stays well above the sampling noise of an AUC difference on a
            few hundred rows.
        policy: one of POLICIES.

    A negative tolerance or budget asks the extension to beat the full retrain
    by that much.
    """

    min_auc: float = 0.55
    tolerance: float = 0.01
    staleness_budget: float = 0.10
    policy: str = EXTEND_OR_REBASE

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise GateError(f"--policy {self.policy!r}: choose one of {', '.join(POLICIES)}")
        if not 0.0 <= self.min_auc <= 1.0:
            raise GateError(f"--min-auc must be within [0, 1], got {self.min_auc}")
        for flag, value in (
            ("--tolerance", self.tolerance),
            ("--staleness-budget", self.staleness_budget),
        ):
            if not -1.0 <= value <= 1.0:
                raise GateError(f"{flag} must be within [-1, 1], got {value}")

    @property
    def max_auc_drop(self) -> float:
        """The tolerance's former name (`--max-auc-drop`, the summary's `gate.max_auc_drop`)."""
        return self.tolerance

    def to_dict(self) -> dict[str, float | str]:
        return {
            "min_auc": self.min_auc,
            "tolerance": self.tolerance,
            "max_auc_drop": self.tolerance,
            "staleness_budget": self.staleness_budget,
            "policy": self.policy,
        }


@dataclasses.dataclass(frozen=True)
class Threshold:
    """One TFMA threshold on one slice.

    Attributes:
        name: what the threshold guards (it names the reason).
        slice: the slice it applies to (one of SLICE_NAMES).
        kind: `value` (candidate AUC >= bound) or `change` (candidate AUC -
            full retrain's AUC >= -bound).
        bound: the floor or the budget.
    """

    name: str
    slice: str
    kind: str
    bound: float


#: `recorded`: candidate AUC >= the last full retrain's recorded AUC - bound, on a span
#: whose baseline was skipped (`contracts.baseline`); TFMA states it as a value threshold.
VALUE, CHANGE, RECORDED = "value", "change", "recorded"


def thresholds(gate: Gate, fresh: bool = True) -> tuple[Threshold, ...]:
    """The gate's TFMA thresholds, in the order reasons list them.

    Args:
        gate: the budgets.
        fresh: the span trained its full retrain. Without one, the tolerance
            applies against the last recorded full retrain, and staleness has
            no threshold (it needs a fresh full retrain to be measured).
    """
    if not fresh:
        return (
            Threshold("value floor", OVERALL, VALUE, gate.min_auc),
            Threshold("overall", OVERALL, RECORDED, gate.tolerance),
            Threshold("new-level rows", NEW_ROWS, RECORDED, gate.tolerance),
        )
    return (
        Threshold("value floor", OVERALL, VALUE, gate.min_auc),
        Threshold("overall", OVERALL, CHANGE, gate.tolerance),
        Threshold("new-level rows", NEW_ROWS, CHANGE, gate.tolerance),
        Threshold("staleness", OLD_ROWS, CHANGE, gate.staleness_budget),
    )


def gate_from_thresholds(found: Mapping[tuple[str, str], float], policy: str) -> Gate:
    """The Gate whose `thresholds` are `found` ({(slice, kind): bound}), under `policy`.

    Raises:
        GateError: if a threshold of the gate is missing or two disagree.
    """
    expected = thresholds(Gate())
    missing = [
        f"{t.kind} threshold on {t.slice}" for t in expected if (t.slice, t.kind) not in found
    ]
    if missing:
        raise GateError(f"the eval_config lacks the gate's {', '.join(missing)}")
    gate = Gate(
        min_auc=found[(OVERALL, VALUE)],
        tolerance=found[(OVERALL, CHANGE)],
        staleness_budget=found[(OLD_ROWS, CHANGE)],
        policy=policy,
    )
    if found[(NEW_ROWS, CHANGE)] != gate.tolerance:
        raise GateError(
            "the eval_config's tolerance differs between the overall and the new-level slice"
        )
    return gate
