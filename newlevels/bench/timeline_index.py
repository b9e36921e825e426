"""`INDEX.md`: one line per timeline results file, to compare tags (before/after, each policy).

Rendered from the JSON files in the folder alone; every timeline rewrites it.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Any

from newlevels.bench.markdown import table
from newlevels.bench.timeline_files import number
from newlevels.bench.timeline_report import TOLERANCE

INDEX_FILE = "INDEX.md"


def _worst(figure: dict[str, Any]) -> str:
    return f"{number(figure['worst'], signed=True)} ({figure['worst_span']})"


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
        _worst(a["staleness"]),
        a["wall_s_total"],
        results.get("load_end"),
    )


def write_index(out: str) -> str:
    """Writes `<out>/INDEX.md` from every complete `*.json` timeline under `out`; its path."""
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "*.json"))):
        with open(path, encoding="utf-8") as handle:
            results = json.load(handle)
        if "aggregates" in results:
            rows.append(index_row(results))
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
        "worst staleness (span)",
        "wall s",
        "load at end",
    )
    lines = [
        "# Timelines",
        "",
        "One row per `<dataset>-<tag>.json` in this folder (its `.md` gives the command, the "
        "machine and a row per span). Counts and medians are over spans 2 onwards; AUC "
        "differences are on each span's evaluation rows, against that span's full retrain; "
        "staleness is the parent against the full retrain on rows with only old levels.",
        "",
        *table(header, rows),
    ]
    path = os.path.join(out, INDEX_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path
