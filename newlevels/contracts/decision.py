"""The decision at the gate: the gate's checks on the sliced AUCs, the certificate, the policy.

`decide` turns the Evaluator's sliced AUCs (candidate and full retrain) and
the freeze certificate's verdict into one `Decision` (extend, rebase or hold)
with one reason per check. No TensorFlow, TFX or TFMA here.
"""

from __future__ import annotations

import dataclasses

from newlevels.contracts.baseline import ALWAYS, OFF, Plan
from newlevels.contracts.gate import (
    BASELINE,
    CANDIDATE,
    EXTEND,
    EXTEND_ONLY,
    HOLD,
    OVERALL,
    REBASE,
    RECORDED,
    VALUE,
    Aucs,
    Gate,
    Threshold,
    thresholds,
)


@dataclasses.dataclass(frozen=True)
class Check:
    """One threshold against the measured AUCs.

    `passed` is None when the threshold's slice has no rows, or a `recorded`
    threshold has no recorded AUC to compare with (it does not apply).
    """

    threshold: Threshold
    candidate: float | None
    baseline: float | None
    passed: bool | None

    @property
    def tfma_checked(self) -> bool:
        """TFMA holds a threshold for it (a `recorded` one needs a recorded AUC)."""
        return self.threshold.kind != RECORDED or self.baseline is not None

    def describe(self) -> str:
        t = self.threshold
        outcome = {True: "ok", False: "FAIL", None: "n/a (no rows)"}[self.passed]
        if self.passed is None:
            why = "n/a (no recorded baseline AUC)" if not self.tfma_checked else outcome
            return f"{t.name}: {why}"
        if t.kind == VALUE:
            return f"{t.name}: candidate {_auc(self.candidate)} >= {t.bound}: {outcome}"
        change = _difference(self.candidate, self.baseline)
        label = "budget" if t.name == "staleness" else "tolerance"
        against = "recorded full retrain" if t.kind == RECORDED else "full retrain"
        return (
            f"{t.name}: candidate {_auc(self.candidate)} vs {against} {_auc(self.baseline)} "
            f"({change}, {label} {t.bound}): {outcome}"
        )


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _difference(candidate: float | None, baseline: float | None) -> str:
    if candidate is None or baseline is None:
        return "-"
    return f"{candidate - baseline:+.4f}"


def check(threshold: Threshold, aucs: Aucs) -> Check:
    """Compares as TFMA does: `value >= bound`, `candidate - baseline >= -bound`, or
    (recorded) `value >= recorded - bound`, the value threshold TFMA was given.

    A NaN AUC (a slice holding one label only) fails, as it does in TFMA.
    """
    candidate = aucs[CANDIDATE].get(threshold.slice)
    baseline = aucs[BASELINE].get(threshold.slice)
    if candidate is None or (threshold.kind != VALUE and baseline is None):
        return Check(threshold, candidate, baseline, None)
    if threshold.kind == VALUE:
        passed = candidate >= threshold.bound
    elif threshold.kind == RECORDED:
        passed = candidate >= baseline - threshold.bound
    else:
        passed = candidate - baseline >= -threshold.bound
    return Check(threshold, candidate, baseline, bool(passed))


@dataclasses.dataclass(frozen=True)
class Certificate:
    """The freeze certificate's verdict on the candidate.

    Attributes:
        ok: every old row of every table is its parent's, by digest.
        detail: what was compared, or which table differs.
    """

    ok: bool
    detail: str


@dataclasses.dataclass(frozen=True)
class Decision:
    """What the gate decided for one span, and why (one line per reason)."""

    decision: str
    reasons: tuple[str, ...]
    checks: tuple[Check, ...] = ()
    #: a hold against a recorded (skipped) baseline asks the next run for a fresh one.
    baseline_requested: bool = False

    @property
    def serves_candidate(self) -> bool:
        return self.decision == EXTEND

    @property
    def serves_baseline(self) -> bool:
        return self.decision == REBASE


FIRST_MODEL = "first model: no parent, the candidate trained every level"


STALENESS_NOT_MEASURED = (
    "staleness: not measured (it compares the parent with a fresh full retrain on "
    "old-level rows, and this span skipped its full retrain)"
)


def decide(
    gate: Gate, aucs: Aucs, certificate: Certificate | None, baseline: Plan = ALWAYS
) -> Decision:
    """The span's decision from the sliced AUCs and the freeze certificate.

    Args:
        gate: the policy and budgets.
        aucs: {candidate|baseline: {slice name: AUC or None}}; when the baseline
            was skipped, `baseline` holds the recorded full retrain's AUCs.
        certificate: the verdict on the candidate's old rows; None for a first
            model (no parent: nothing was frozen). A first model is decided like
            an extension of an empty model, without the staleness reason (it has
            no old rows).
        baseline: the run's baseline plan. A skipped baseline allows `extend`
            or `hold` only (a rebase serves a fresh full retrain), and a hold
            asks the next run for a fresh baseline (`contracts.baseline`).

    Returns:
        The decision, with every check and the certificate as reasons, then the
        outcome.
    """
    checks = tuple(check(t, aucs) for t in thresholds(gate, fresh=baseline.trained))
    failed = [c.threshold.name for c in checks if c.passed is False]
    reasons = [c.describe() for c in checks]
    if not baseline.trained:
        reasons += [STALENESS_NOT_MEASURED, f"baseline: {baseline.reason}"]
    if certificate is None:
        reasons.append(FIRST_MODEL)
    else:
        reasons.append(f"freeze certificate: {certificate.detail}")
        if not certificate.ok:
            failed.append("freeze certificate")
    if not failed:
        return Decision(EXTEND, (*reasons, "extend: the candidate passes every check"), checks)
    why = f"the candidate fails {', '.join(failed)}"
    if not baseline.trained:
        return _hold_without_baseline(baseline, why, reasons, checks)
    if gate.policy == EXTEND_ONLY:
        outcome = f"hold: {why}; policy {EXTEND_ONLY} never rebases"
        return Decision(HOLD, (*reasons, outcome), checks)
    baseline = aucs[BASELINE].get(OVERALL)
    if baseline is not None and baseline >= gate.min_auc:
        outcome = f"rebase: {why}; the full retrain reaches {_auc(baseline)} >= {gate.min_auc}"
        return Decision(REBASE, (*reasons, outcome), checks)
    return Decision(
        HOLD,
        (*reasons, f"hold: {why}; the full retrain is below the floor too ({_auc(baseline)})"),
        checks,
    )


def _hold_without_baseline(
    baseline: Plan, why: str, reasons: list[str], checks: tuple[Check, ...]
) -> Decision:
    """Hold on a span that skipped its full retrain: there is nothing fresh to rebase to."""
    against = (
        f"span {baseline.reference.span}'s recorded full retrain"
        if baseline.reference
        else "no recorded full retrain"
    )
    requested = baseline.schedule != OFF
    then = (
        "the next run trains a fresh full retrain and decides again"
        if requested
        else f"--baseline {OFF} never trains one"
    )
    outcome = f"hold: {why} against {against}; a rebase needs a fresh full retrain: {then}"
    return Decision(HOLD, (*reasons, outcome), checks, baseline_requested=requested)
