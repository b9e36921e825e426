"""The timeline's results files: `<dataset>-<tag>.json` (raw) and `.md` (tables), and its log line.

The markdown is rendered from the JSON's content alone, so it can be rebuilt from a
committed JSON file.
"""

from __future__ import annotations

import json
import os
from typing import Any

from newlevels.bench import cohorts
from newlevels.bench.markdown import exact, number, table
from newlevels.bench.timeline_done import done_lines
from newlevels.bench.timeline_report import aggregates, auc_of, difference, training_gap_of


def paths(results: dict[str, Any], out: str) -> tuple[str, str]:
    """(markdown path, JSON path) of a timeline's results under `out`."""
    stem = os.path.join(out, f"{results['dataset']}-{results['tag']}")
    return stem + ".md", stem + ".json"


def write_json(results: dict[str, Any], out: str) -> str:
    os.makedirs(out, exist_ok=True)
    path = paths(results, out)[1]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
    return path


def write(results: dict[str, Any], out: str) -> tuple[str, str]:
    """Adds the aggregates, writes both files; returns (markdown path, JSON path)."""
    results["aggregates"] = aggregates(results["spans"], results["columns"]["item"])
    json_path = write_json(results, out)
    md_path = paths(results, out)[0]
    with open(md_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(render(results)))
    return md_path, json_path


def rerender(dataset: str, tag: str, out: str) -> tuple[str, str]:
    """Rewrites a timeline's markdown (and `INDEX.md`) from its JSON; runs nothing.

    Returns:
        (markdown path, JSON path).

    Raises:
        ConfigError: if `<out>/<dataset>-<tag>.json` does not exist.
    """
    from newlevels.bench.timeline_index import write_index
    from newlevels.pipeline.errors import ConfigError

    path = paths({"dataset": dataset, "tag": tag}, out)[1]
    if not os.path.exists(path):
        raise ConfigError(f"--render: no timeline results {path}")
    with open(path, encoding="utf-8") as handle:
        written = write(json.load(handle), out)
    write_index(out)
    return written


def _pair(record: dict[str, Any], model: str, cohort: str, against: str = "full") -> str:
    """`model / against (rows)` AUC on one cohort; "-" when the cohort has no row."""
    scores = (record.get("scores") or {}).get(against) or (record.get("scores") or {}).get(model)
    rows = scores.get(cohort, {}).get("rows", 0) if scores else 0
    if not rows:
        return "-"
    first, second = auc_of(record, model, cohort), auc_of(record, against, cohort)
    return f"{number(first)} / {number(second)} ({rows})"


def served_name(record: dict[str, Any]) -> str:
    served = record["served"]
    return "-" if served is None else f"span {served['span']} {served['model']}"


def feature_cohorts(columns: dict[str, Any]) -> list[tuple[str, str]]:
    """(heading, cohort) of each feature's new-level cohort: the item, the user, the rest."""
    roles = {columns["item"]: "item", columns["user"]: "user"}
    order = sorted(columns["categorical"], key=lambda f: (f not in roles, roles.get(f, ""), f))
    return [
        (f"new {roles[f]} ({f})" if f in roles else f"new {f}", cohorts.new_cohort(f))
        for f in order
    ]


def served_table(results: dict[str, Any]) -> list[str]:
    features = feature_cohorts(results["columns"])
    header = (
        "span",
        "eval rows",
        "decision",
        "served",
        "all rows",
        "served - full",
        *(heading for heading, _ in features),
        "old levels only",
        "cold (1-3 training rows)",
        "warm",
        "staleness: parent / full, old levels only",
        "all-unseen p / base rate",
        "all-unseen p - training base rate",
        "s components / wall",
    )
    gaps = training_gap_of(results)["per_span"]
    rows = []
    for r in results["spans"]:
        unseen = (r["unseen_probability"] or {}).get("served")
        rows.append(
            (
                r["span"],
                r["eval_rows"],
                r["decision"],
                served_name(r),
                _pair(r, "served", cohorts.ALL),
                number(difference(r, "served", cohorts.ALL), signed=True),
                *(_pair(r, "served", cohort) for _, cohort in features),
                _pair(r, "served", cohorts.OLD_ONLY),
                _pair(r, "served", cohorts.COLD),
                _pair(r, "served", cohorts.WARM),
                _pair(r, "parent", cohorts.OLD_ONLY),
                f"{number(unseen)} / {number(r['base_rate'])}",
                number(gaps[str(r["span"])], signed=True),
                f"{r['seconds']['components']} / {r['seconds']['wall']}",
            )
        )
    return table(header, rows)


def candidate_table(results: dict[str, Any]) -> list[str]:
    features = feature_cohorts(results["columns"])
    header = (
        "span",
        "new levels",
        "rows trained",
        "all rows",
        "new-level rows",
        *(heading for heading, _ in features),
        "old levels only",
        "cold",
        "warm",
        "eval-only levels",
        "rows the parent knew: max abs diff from the parent, candidate / full (rows)",
        "all-unseen p",
    )
    rows = []
    for r in results["spans"]:
        check = r["old_level_predictions"]
        moved = "-"
        if check:
            full = check.get("full")
            moved = (
                f"{exact(check['candidate']['max_abs'])} / "
                f"{'-' if full is None else exact(full['max_abs'])} ({check['candidate']['rows']})"
            )
        rows.append(
            (
                r["span"],
                r["new_levels"],
                r["rows_trained"],
                _pair(r, "candidate", cohorts.ALL),
                _pair(r, "candidate", cohorts.NEW_LEVEL),
                *(_pair(r, "candidate", cohort) for _, cohort in features),
                _pair(r, "candidate", cohorts.OLD_ONLY),
                _pair(r, "candidate", cohorts.COLD),
                _pair(r, "candidate", cohorts.WARM),
                _pair(r, "candidate", cohorts.EVAL_ONLY),
                moved,
                number((r["unseen_probability"] or {}).get("candidate")),
            )
        )
    return table(header, rows)


def render(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    options = " ".join(results["run_options"]) or "none (the defaults)"
    stem = f"{results['dataset']}-{results['tag']}"
    lines = [
        f"# Timeline: {results['dataset']}, {results['tag']}",
        "",
        f"Command: `{results['command']}`; run options: `{options}`; code: "
        f"{results.get('code') or 'not recorded'}.",
        f"{m['date']}; {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, TFX {m['tfx']}; {m['platform']}. Load average "
        f"(1, 5, 15 min) at start {results['load_start']}, at end {results.get('load_end')}.",
        f"Generated by `newlevels timeline`; raw figures in `{stem}.json`.",
        "",
        "AUC on each span's evaluation rows, `model / full retrain (rows)`. A level is new when "
        "no row of an earlier span holds it; cold rows hold a new level with 1-"
        f"{cohorts.COLD_MAX_ROWS} training rows in the span, warm rows only new levels with "
        "more, eval-only rows a new level with none. Served: in serving after the span's run "
        "(after a hold, an older model); parent: in serving before it.",
        "",
        "## The served model against the span's full retrain",
        "",
        *served_table(results),
        "## The candidate (the span's extension) against the full retrain",
        "",
        *candidate_table(results),
    ]
    if "aggregates" in results:
        lines += done_lines(results)
    return lines


def progress_line(record: dict[str, Any]) -> str:
    """One line per finished span, for the console."""
    gap = difference(record, "served", cohorts.ALL)
    return (
        f"span {record['span']}: {record['decision']}, serving {served_name(record)}; overall AUC "
        f"served {number(auc_of(record, 'served', cohorts.ALL))} vs full "
        f"{number(auc_of(record, 'full', cohorts.ALL))} ({number(gap, signed=True)}); "
        f"{record['seconds']['wall']} s wall"
    )
