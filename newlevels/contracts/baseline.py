"""The baseline schedule: on which spans the full retrain runs (`--baseline every|every:K|off`).

The full retrain is the gate's yardstick, and on a long timeline it is most of
a run's cost: it trains on every span so far, the extension on span N alone. A
schedule trains it only every K spans. On a span that skips it, the gate
compares the candidate with the cohort AUCs the last full retrain recorded (its
span's evaluation rows, read from MLMD), and:

- it can only `extend` or `hold`: a `rebase` serves a fresh full retrain, and
  there is none;
- staleness (parent against the full retrain on old-level rows) cannot be
  measured, so that check does not apply and the reasons say so;
- a candidate that fails against the recorded baseline is held (the model in
  serving, which the last fresh comparison approved, stays) and the decision
  asks for a baseline: the next run trains one whatever K says, so the next
  decision is fresh and may rebase. Holding rather than training the baseline
  within the same run keeps every run's cost bounded by the schedule.

No TensorFlow, TFX or TFMA here: the CLI, the pipeline builder, the Decision,
the summary and the lineage all read this module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

EVERY, OFF = "every", "off"
#: the default `--baseline`: a full retrain on every span (the gate is always fresh).
DEFAULT = EVERY


class BaselineScheduleError(ValueError):
    """A `--baseline` value that is not every, every:K (K >= 1) or off."""


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How often the full retrain runs.

    Attributes:
        interval: a full retrain once this many spans have passed since the
            last one (1: every span); None: never (`off`).
    """

    interval: int | None = 1

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Parses `every`, `every:K` or `off`.

        Raises:
            BaselineScheduleError: naming the flag and the accepted forms.
        """
        value = text.strip().lower()
        if value == OFF:
            return cls(None)
        if value == EVERY:
            return cls(1)
        head, _, count = value.partition(":")
        if head == EVERY and count.isdigit() and int(count) >= 1:
            return cls(int(count))
        raise BaselineScheduleError(
            f"--baseline {text!r}: choose every, every:K (K a whole number >= 1) or off"
        )

    def __str__(self) -> str:
        if self.interval is None:
            return OFF
        return EVERY if self.interval == 1 else f"{EVERY}:{self.interval}"

    @property
    def always(self) -> bool:
        """Every span trains the full retrain (no store needs reading to know it)."""
        return self.interval == 1


@dataclasses.dataclass(frozen=True)
class Reference:
    """The last full retrain recorded, whose cohort AUCs a skipped span is gated against.

    Attributes:
        span: the span it was trained and evaluated on.
        model_id: its Model artifact's MLMD id.
        model_uri: its Model artifact's URI.
        run_id: the pipeline run that trained it.
        auc: {slice name: its AUC on that span's evaluation rows, or None}.
    """

    span: int
    model_id: int
    model_uri: str
    run_id: str
    auc: Mapping[str, float | None]

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "auc": dict(self.auc)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reference:
        """The inverse of `to_dict`, ids whole again (MLMD structs store numbers as floats)."""
        return cls(
            span=int(data["span"]),
            model_id=int(data["model_id"]),
            model_uri=data["model_uri"],
            run_id=data["run_id"],
            auc=dict(data["auc"]),
        )


@dataclasses.dataclass(frozen=True)
class Plan:
    """One run's baseline: trained or skipped, why, and the reference used when skipped.

    Attributes:
        schedule: the `--baseline` value, as written back (`every`, `every:K`, `off`).
        trained: the run trains the full retrain.
        reason: why it is trained or skipped.
        reference: when skipped, the last recorded full retrain (None: none recorded).
    """

    schedule: str
    trained: bool
    reason: str
    reference: Reference | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "trained": self.trained,
            "reason": self.reason,
            "reference": self.reference.to_dict() if self.reference else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        reference = data.get("reference")
        return cls(
            schedule=data["schedule"],
            trained=bool(data["trained"]),
            reason=data["reason"],
            reference=Reference.from_dict(reference) if reference else None,
        )


#: the plan of a run whose schedule is `every` (and of a compiled Kubeflow pipeline).
ALWAYS = Plan(EVERY, True, f"--baseline {EVERY}: a full retrain on every span")


def plan(schedule: Schedule, span: int, reference: Reference | None, requested: bool) -> Plan:
    """Whether span `span` trains the full retrain.

    Args:
        schedule: the `--baseline` schedule.
        span: the span this run ingests.
        reference: the last full retrain recorded on an earlier span, or None.
        requested: a decision since `reference` held against it and asked for a
            fresh baseline.

    Returns:
        The plan, with its reason (and, when skipped, the reference).
    """
    name = str(schedule)
    if schedule.always:
        return dataclasses.replace(ALWAYS, schedule=name)
    if schedule.interval is None:
        used = f"span {reference.span}'s recorded AUCs" if reference else "no recorded baseline"
        return Plan(name, False, f"--baseline {OFF}: skipped, gated against {used}", reference)
    if reference is None:
        return Plan(name, True, "no full retrain recorded yet: trained")
    if requested:
        return Plan(
            name,
            True,
            f"the last decision held against span {reference.span}'s full retrain and "
            "asked for a fresh one: trained",
        )
    age = span - reference.span
    if age >= schedule.interval:
        return Plan(
            name, True, f"span {reference.span}'s full retrain is {age} span(s) old: trained"
        )
    return Plan(
        name,
        False,
        f"skipped: span {reference.span}'s full retrain (model {reference.model_id}) is {age} "
        f"span(s) old, under --baseline {name}",
        reference,
    )
