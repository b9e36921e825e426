"""The timeline page's "Done means" lines: the issue's bars, over every span after the first."""

from __future__ import annotations

from typing import Any

from newlevels.bench import cohorts
from newlevels.bench.markdown import exact, number
from newlevels.bench.timeline_report import TOLERANCE, training_gap_of


def done_lines(results: dict[str, Any]) -> list[str]:
    """The aggregate lines of the issue's "Done means", over every span after the first."""
    a = results["aggregates"]
    n = a["later_spans"]
    decided = "; ".join(f"{name} {len(spans)} {spans}" for name, spans in a["decisions"].items())
    frozen = a["extend_old_level_predictions_max_abs"]
    overall, cold = a["served_minus_full"], a["cold"]
    unseen, stale = a["unseen_minus_base_rate"], a["staleness"]
    so_far = a["unseen_minus_base_rate_so_far"]
    trained = training_gap_of(results)
    lines = [
        '## The issue\'s "Done means" figures (spans 2 onwards; the all-unseen request on all)',
        "",
        f"- Spans served by an extension: **{len(a['decisions'].get('extend', []))} of {n}** "
        f"(decisions: {decided}); "
        + (
            "no extension to check against its parent."
            if frozen is None
            else f"on those spans the candidate's predictions on rows its parent knew all "
            f"levels of vs the parent's: max abs difference {exact(frozen)}."
        ),
        f"- Served model's overall AUC at least the full retrain's - {TOLERANCE}: "
        f"**{overall['within_tolerance']} of {n}** spans; worst served - full "
        f"**{number(overall['worst'], signed=True)}** (span {overall['worst_span']}).",
    ]
    if a["new_item"] is not None:
        item = a["new_item"]
        lines.append(
            f"- New-item rows ({results['columns']['item']}), median AUC difference from the "
            f"full retrain: candidate **{number(item['candidate_minus_full_median'], True)}**, "
            f"served {number(item['served_minus_full_median'], True)}."
        )
    lines += [
        f"- Cold cohort (rows with a new level of 1-{cohorts.COLD_MAX_ROWS} training rows): "
        f"candidate - full median **{number(cold['candidate_minus_full_median'], True)}**; "
        "candidate at "
        f"least as good on {cold['candidate_at_least_full']} of {cold['spans_scored']} spans.",
        f"- All-unseen request: served probability - span base rate, worst "
        f"**{number(unseen['worst'], True)}** (span {unseen['worst_span']}); - the base rate "
        "of every training row up to the span (a full retrain's OOV row is fitted to it), "
        f"worst {number(so_far['worst'], True)} (span {so_far['worst_span']}).",
        f"- All-unseen request against the served model's training base rate (an "
        f"extension's span, a first model's or a full retrain's every row so far): "
        f"within {trained['bar']} on **{trained['within_bar']} of {trained['spans_scored']}** "
        f"spans; worst **{number(trained['worst'], True)}** (span {trained['worst_span']}).",
        f"- Staleness (parent - full retrain on old-level rows): worst "
        f"{number(stale['worst'], True)} (span {stale['worst_span']}).",
        f"- Wall time of the whole timeline: {a['wall_s_total']} s.",
        "",
    ]
    return lines
