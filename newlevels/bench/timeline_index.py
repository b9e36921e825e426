"""`INDEX.md`: one line per timeline results file, to compare tags (before/after, each policy).

Rendered from the JSON files in the folder alone; every timeline rewrites it. The README's
timeline blocks (`bench/readme.py`) render the same index and a short table per timeline.
"""

from __future__ import annotations

import os
from typing import Any

from newlevels.bench import cohorts
from newlevels.bench.markdown import read_json_folder, table
from newlevels.bench.timeline_files import exact, number, served_name
from newlevels.bench.timeline_report import TOLERANCE, UNSEEN_BAR, difference, training_gap_of

INDEX_FILE = "INDEX.md"


def _worst(figure: dict[str, Any]) -> str:
    return f"{number(figure['worst'], signed=True)} ({figure['worst_span']})"


def _trained(figure: dict[str, Any]) -> str:
    return f"{figure['within_bar']} of {figure['spans_scored']}, {_worst(figure)}"


def index_row(results: dict[str, Any]) -> tuple:
    """The index line of one timeline's results."""
    a = results["aggregates"]
    decisions = a["decisions"]
    new_item = a["new_item"] or {}
    options = " ".join(results["run_options"]) or "-"
    return (
        results["dataset"],
        results["tag"],
        f"`{options}`",
        results["machine"]["date"][:10],
        *(len(decisions.get(name, [])) for name in ("extend", "rebase", "hold")),
        f"{a['served_minus_full']['within_tolerance']} of {a['later_spans']}",
        _worst(a["served_minus_full"]),
        number(new_item.get("candidate_minus_full_median"), signed=True),
        number(a["cold"]["candidate_minus_full_median"], signed=True),
        _worst(a["unseen_minus_base_rate"]),
        _trained(training_gap_of(results)),
        _worst(a["staleness"]),
        a["wall_s_total"],
        results.get("load_end"),
    )


def index_lines(timelines: dict[str, dict[str, Any]]) -> list[str]:
    """The index table: one row per complete timeline (one with aggregates), by file name.

    Args:
        timelines: {file name: a timeline's results}, as `read_json_folder` gives them;
            other results files (no `aggregates`) are skipped.

    Returns:
        The table's lines.
    """
    rows = [index_row(r) for _, r in sorted(timelines.items()) if "aggregates" in r]
    header = (
        "data set",
        "tag",
        "run options",
        "date",
        "extend",
        "rebase",
        "hold",
        f"served >= full - {TOLERANCE}",
        "worst served - full (span)",
        "new item: median candidate - full",
        "cold: median candidate - full",
        "worst all-unseen p - base rate (span)",
        f"all-unseen p within {UNSEEN_BAR} of training base rate: spans, worst (span)",
        "worst staleness (span)",
        "wall s",
        "load at end",
    )
    return table(header, rows)


def span_lines(results: dict[str, Any]) -> list[str]:
    """The README's table of one timeline: a row per span, the "Done means" figures.

    Differences are against the span's full retrain on the span's evaluation rows.
    """
    item = results["columns"]["item"]
    header = (
        "span",
        "decision",
        "served",
        "served - full, all rows",
        f"candidate - full, new {item}" if item else "candidate - full, new-level rows",
        "candidate - full, cold",
        "staleness: parent - full, old levels only",
        "all-unseen p (served) - span base rate / - base rate so far",
        "candidate vs parent on rows it knew: max abs",
    )
    so_far = results["aggregates"]["unseen_minus_base_rate_so_far"]["per_span"]
    rows = []
    for r in results["spans"]:
        new = cohorts.new_cohort(item) if item else cohorts.NEW_LEVEL
        unseen = (r["unseen_probability"] or {}).get("served")
        check = (r["old_level_predictions"] or {}).get("candidate")
        rows.append(
            (
                r["span"],
                r["decision"],
                served_name(r),
                number(difference(r, "served", cohorts.ALL), signed=True),
                number(difference(r, "candidate", new), signed=True),
                number(difference(r, "candidate", cohorts.COLD), signed=True),
                number(difference(r, "parent", cohorts.OLD_ONLY), signed=True),
                "-"
                if unseen is None
                else f"{number(unseen - r['base_rate'], signed=True)} / "
                f"{number(so_far[str(r['span'])], signed=True)}",
                "-" if check is None else exact(check["max_abs"]),
            )
        )
    return table(header, rows)


def write_index(out: str) -> str:
    """Writes `<out>/INDEX.md` from every complete `*.json` timeline under `out`; its path."""
    lines = [
        "# Timelines",
        "",
        "One row per `<dataset>-<tag>.json` in this folder (its `.md` gives the command, the "
        "machine and a row per span). Counts and medians are over spans 2 onwards; AUC "
        "differences are on each span's evaluation rows, against that span's full retrain; "
        "staleness is the parent against the full retrain on rows with only old levels.",
        "",
        *index_lines(read_json_folder(out)),
    ]
    path = os.path.join(out, INDEX_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path
