"""The timeline's records, the aggregate lines of the issue's "Done means", and the files.

Pure Python: the records are plain dicts (the JSON), built from a run's summary and
the cohort scores; the markdown is rendered from the JSON alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from newlevels.bench import cohorts

#: the served model may trail the span's full retrain by at most this much overall AUC.
TOLERANCE = 0.01
#: today's keys: which model was pushed -> the decision it amounts to.
PUSHED_DECISIONS = {"candidate": "extend", "baseline": "rebase"}
#: the issue's bar: the all-unseen probability within this of the training base rate.
UNSEEN_BAR = 0.05
#: which rows a served model trained on (`served["trained_on"]`): its span's training
#: rows (an extension) or every training row so far (a first model, a full retrain).
SPAN_ROWS, ROWS_SO_FAR = "span", "so_far"
#: the aggregate: the served model's all-unseen probability - its training base rate.
TRAINING_GAP = "unseen_minus_training_base_rate"


def decision_of(summary: dict[str, Any]) -> tuple[str, str]:
    """The span's decision and where it comes from ("summary" or "derived").

    The summary's own `decision` when it has one; otherwise derived from what was
    pushed: the candidate -> extend, the full retrain -> rebase, nothing -> hold. A
    run with no parent that pushes its model is the timeline's `first` model.
    """
    if summary.get("decision"):
        return summary["decision"], "summary"
    if summary.get("parent_model_uri") is None and summary.get("pushed"):
        return "first", "derived"
    return PUSHED_DECISIONS.get(summary.get("pushed_model") or "", "hold"), "derived"


def trained_on(summary: dict[str, Any]) -> str:
    """Which rows the model a run pushed trained on: an extension its span's, else all so far."""
    extends = summary.get("pushed_model") == "candidate" and summary.get("parent_model_uri")
    return SPAN_ROWS if extends else ROWS_SO_FAR


def span_record(
    summary: dict[str, Any],
    rows: cohorts.SpanCohorts,
    served: dict[str, Any] | None,
    process: dict[str, Any],
) -> dict[str, Any]:
    """One span's row of the JSON, before the models' scores are added."""
    decision, source = decision_of(summary)
    seconds = summary.get("seconds") or {}
    return {
        "span": summary["span"],
        "training_rows": rows.training_rows,
        "eval_rows": len(rows.labels),
        "base_rate": rows.base_rate,
        "new_levels": summary.get("new_levels"),
        "rows_trained": summary.get("rows_trained"),
        "decision": decision,
        "decision_source": source,
        "decision_reasons": summary.get("decision_reasons"),
        "blessed": summary.get("blessed"),
        "pushed_model": summary.get("pushed_model"),
        "served": None if served is None else dict(served),
        # What the run itself reported, for cross-checks (the Evaluator's own slices).
        "summary_checks": {
            key: summary.get(key)
            for key in (
                "old_rows_max_abs_change",
                "old_level_rows_prediction_change",
                "rebase_movement",
                "gate",
                "metrics",
                "metrics_by_feature",
            )
        },
        "seconds": {
            "components": round(sum(seconds.values()), 1),
            "wall": process["wall_s"],
            "by_component": seconds,
        },
        "peak_rss_mib": process["peak_rss_mib"],
        "load": process["load"],
    }


def auc_of(record: dict[str, Any], model: str, cohort: str) -> float | None:
    scores = (record.get("scores") or {}).get(model)
    return None if scores is None or cohort not in scores else scores[cohort]["auc"]


def difference(record: dict[str, Any], model: str, cohort: str, against: str = "full"):
    first, second = auc_of(record, model, cohort), auc_of(record, against, cohort)
    return None if first is None or second is None else first - second


def _median(values: Sequence[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def _worst(per_span: dict[str, float | None], key=lambda value: value) -> tuple[Any, Any]:
    """(the smallest value by `key`, its span), skipping None; (None, None) if none."""
    found = {span: v for span, v in per_span.items() if v is not None}
    if not found:
        return None, None
    span = min(found, key=lambda s: key(found[s]))
    return found[span], span


def _per_span(records, model: str, cohort: str) -> dict[str, float | None]:
    """{span: model's AUC - the full retrain's} on one cohort."""
    return {str(r["span"]): difference(r, model, cohort) for r in records}


def _at_least(per_span: dict[str, float | None], bound: float) -> int:
    return sum(1 for value in per_span.values() if value is not None and value >= bound)


def base_rates_so_far(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """{span: the base rate of every training row of spans 1 to it} (a full retrain's rows).

    A parentless model (the first, a full retrain) fits its OOV row to the base rate of
    its own training rows: every row so far.
    """
    rates, rows, positives = {}, 0, 0.0
    for r in records:
        if r["base_rate"] is not None:
            rows += r["training_rows"]
            positives += r["training_rows"] * r["base_rate"]
        rates[str(r["span"])] = positives / rows if rows else None
    return rates


def _unseen_gaps(
    records: Sequence[dict[str, Any]], rates: dict[str, float | None]
) -> dict[str, float | None]:
    """{span: the served model's all-unseen probability - that span's rate in `rates`}."""
    gaps = {}
    for r in records:
        served = (r["unseen_probability"] or {}).get("served")
        rate = rates[str(r["span"])]
        gaps[str(r["span"])] = None if served is None or rate is None else served - rate
    return gaps


def _worst_gap(gaps: dict[str, float | None]) -> dict[str, Any]:
    worst, span = _worst(gaps, key=lambda value: -abs(value))
    return {"per_span": gaps, "worst": worst, "worst_span": span}


def training_base_rates(records: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """{span: the base rate of the rows the served model trained on (its OOV rows' target)}.

    An extension trained on its span's rows; a first model or a full retrain on every row
    so far; after a hold, the model in serving is an earlier span's. A record without
    `served["trained_on"]` (written before it was recorded) is read by what was pushed:
    the full retrain, or the first span's model, trained on every row so far.
    """
    so_far = base_rates_so_far(records)
    by_span = {str(r["span"]): r for r in records}
    first = str(records[0]["span"]) if records else None
    rates: dict[str, float | None] = {}
    for r in records:
        served = r.get("served")
        if not served:
            rates[str(r["span"])] = None
            continue
        span = str(served["span"])
        rows = served.get("trained_on") or (
            ROWS_SO_FAR
            if served["model"] == "baseline"
            or span == first
            or by_span[span]["decision"] == "first"
            else SPAN_ROWS
        )
        rates[str(r["span"])] = so_far[span] if rows == ROWS_SO_FAR else by_span[span]["base_rate"]
    return rates


def training_gap(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The served model's all-unseen probability - its training base rate, on every span."""
    figure = _worst_gap(_unseen_gaps(records, training_base_rates(records)))
    gaps = [gap for gap in figure["per_span"].values() if gap is not None]
    within = sum(1 for gap in gaps if abs(gap) <= UNSEEN_BAR)
    return {**figure, "bar": UNSEEN_BAR, "within_bar": within, "spans_scored": len(gaps)}


def training_gap_of(results: dict[str, Any]) -> dict[str, Any]:
    """`TRAINING_GAP` of a timeline's results, computed for a file written before the key."""
    return results["aggregates"].get(TRAINING_GAP) or training_gap(results["spans"])


def aggregates(records: Sequence[dict[str, Any]], item_column: str | None) -> dict[str, Any]:
    """The figures the issue's "Done means" asks for, over every span after the first."""
    later = list(records[1:])
    decisions: dict[str, list[int]] = {}
    for record in later:
        decisions.setdefault(record["decision"], []).append(record["span"])
    checks = [
        (r["old_level_predictions"] or {}).get("candidate")
        for r in later
        if r["decision"] == "extend"
    ]
    overall = _per_span(later, "served", cohorts.ALL)
    staleness = _per_span(later, "parent", cohorts.OLD_ONLY)
    cold = _per_span(later, "candidate", cohorts.COLD)
    span_rates = {str(r["span"]): r["base_rate"] for r in records}
    item = cohorts.new_cohort(item_column) if item_column else None
    return {
        "later_spans": len(later),
        "decisions": decisions,
        "extend_old_level_predictions_max_abs": max(
            (check["max_abs"] for check in checks if check), default=None
        ),
        "served_minus_full": {
            "per_span": overall,
            "worst": _worst(overall)[0],
            "worst_span": _worst(overall)[1],
            "within_tolerance": _at_least(overall, -TOLERANCE),
            "tolerance": TOLERANCE,
        },
        "new_item": None
        if item is None
        else {
            f"{model}_minus_full_median": _median(list(_per_span(later, model, item).values()))
            for model in ("candidate", "served")
        },
        "cold": {
            "per_span": cold,
            "candidate_minus_full_median": _median(list(cold.values())),
            "candidate_at_least_full": _at_least(cold, 0.0),
            "spans_scored": sum(1 for value in cold.values() if value is not None),
        },
        "staleness": {
            "per_span": staleness,
            "worst": _worst(staleness)[0],
            "worst_span": _worst(staleness)[1],
        },
        "unseen_minus_base_rate": _worst_gap(_unseen_gaps(records, span_rates)),
        "unseen_minus_base_rate_so_far": _worst_gap(
            _unseen_gaps(records, base_rates_so_far(records))
        ),
        TRAINING_GAP: training_gap(records),
        "wall_s_total": round(sum(r["seconds"]["wall"] for r in records), 1),
    }
