"""The init sweep's results as markdown (`benchmarks/init_sweep_<model>.md`)."""

from __future__ import annotations

import statistics
from typing import Any

from newlevels.bench.init_cohorts import COHORTS
from newlevels.bench.markdown import table

#: the served model may trail the full retrain by this much overall (issue 13).
TOLERANCE = 0.01


def delta(cell: dict[str, float | None]) -> float | None:
    """extension - full retrain, or None if either AUC is missing."""
    if cell["extension"] is None or cell["full"] is None:
        return None
    return cell["extension"] - cell["full"]


def median_delta(per_span: dict[str, Any], cohort: str) -> str:
    values = [d for s in per_span.values() if (d := delta(s[cohort])) is not None]
    return f"{statistics.median(values):+.4f}" if values else "-"


def summary_rows(results: dict[str, Any], mode: str) -> list[list[Any]]:
    rows = []
    for name, config in results["configs"].items():
        per_span = config["modes"][mode]
        within = sum(
            (d := delta(s["overall"])) is not None and d >= -TOLERANCE for s in per_span.values()
        )
        epochs = statistics.mean(s["epochs"] for s in per_span.values())
        seconds = sum(s["seconds"] for s in per_span.values())
        rows.append(
            [
                name,
                f"{within} / {len(per_span)}",
                *(median_delta(per_span, c) for c in COHORTS),
                f"{epochs:.1f}",
                f"{seconds:.0f}",
            ]
        )
    return rows


def modes(results: dict[str, Any]) -> list[str]:
    """The modes the sweep ran (`rebase`, `chain`), in its order."""
    return list(next(iter(results["configs"].values()))["modes"])


def summary_table(results: dict[str, Any], mode: str) -> list[str]:
    """One mode's summary: a row per configuration (--init, early stopping, head)."""
    header = [
        "configuration",
        f"spans within {TOLERANCE} overall",
        *(f"median Δ {c}" for c in COHORTS),
        "mean epochs",
        "seconds",
    ]
    return table(header, summary_rows(results, mode))


def summary_lines(results: dict[str, Any]) -> list[str]:
    """The README's init sweep block: each mode's summary table under a line naming it."""
    lines = []
    for mode in modes(results):
        lines += [f"Mode `{mode}` (extension - full retrain, medians over spans 2-9):", ""]
        lines += summary_table(results, mode)
    return lines


def cell(pair: dict[str, float | None]) -> str:
    def text(value: float | None) -> str:
        return "-" if value is None else f"{value:.4f}"

    return f"{text(pair['extension'])} / {text(pair['full'])}"


def span_rows(results: dict[str, Any], per_span: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for number, scores in per_span.items():
        sizes = results["spans"][str(number)]["cohort_rows"]
        best = "" if scores["best_epoch"] is None else f" (best {scores['best_epoch']})"
        rows.append(
            [
                number,
                *(f"{cell(scores[c])} ({sizes[c]})" for c in COHORTS),
                f"{scores['epochs']}{best}",
            ]
        )
    return rows


def render(results: dict[str, Any]) -> str:
    """The whole results page."""
    machine = results["machine"]
    lines = [
        f"# Init sweep: `--model {results['model']}`, 9 yearly MovieLens spans",
        "",
        "Regenerate with `.venv/bin/python -m newlevels.bench.init_sweep "
        f"--model {results['model']}` (no TFX: the Trainer's own `fitting` functions on "
        "rows read from the CSV data).",
        f"Measured {machine['date']} on {machine['cores']} cores (TensorFlow "
        f"{machine['tensorflow']}); load average (1/5/15 min) before and after each "
        f"configuration: {results['load_average']}.",
        "",
        "Every cell compares the extension with a full retrain on every row up to the span, "
        "both scored on the span's 20 % evaluation rows. Cohorts: rows with a new item, with "
        "a new user, with only old levels; rows holding a cold new level (at most 3 training "
        "rows in the span) and the other rows with a new level (warm). Modes: `rebase` "
        "extends the previous span's full retrain; `chain` extends the previous extension.",
        "",
        "## Sizes",
        "",
        *table(
            ["span", "training rows", "base rate", *(f"{c} rows" for c in COHORTS)],
            [
                [n, s["train_rows"], s["base_rate"], *(s["cohort_rows"][c] for c in COHORTS)]
                for n, s in results["spans"].items()
            ],
        ),
    ]
    for mode in modes(results):
        lines += [f"## Summary, `{mode}`", "", *summary_table(results, mode)]
    for mode in modes(results):
        lines += [f"## Per span, `{mode}` (extension / full retrain AUC (rows))", ""]
        for name, config in results["configs"].items():
            lines += [
                f"### {name}",
                "",
                *table(["span", *COHORTS, "epochs"], span_rows(results, config["modes"][mode])),
            ]
    return "\n".join(lines)
