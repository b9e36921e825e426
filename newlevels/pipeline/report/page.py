"""A self-contained HTML page: the run's gate table and the figures, embedded as base64."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping, Sequence

from newlevels.components.evaluation.metrics import BASELINE, CANDIDATE, SLICES


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def gate_table(summary: Mapping) -> str:
    """Candidate vs baseline AUC and accuracy per slice, with the verdict, as HTML."""
    metrics = summary["metrics"]
    rows = []
    # A summary written before the unseen cohort existed lacks its slice.
    for name in (n for n in SLICES if n in metrics[CANDIDATE]):
        cand, base = metrics[CANDIDATE][name], metrics[BASELINE][name]
        cells = [
            name,
            _number(cand["auc"]),
            _number(base["auc"]),
            _number(cand["accuracy"]),
            _number(base["accuracy"]),
            "-" if cand["examples"] is None else str(cand["examples"]),
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    gate = summary.get("gate") or {}
    header = "".join(
        f"<th>{h}</th>"
        for h in ("slice", "candidate AUC", "baseline AUC", "candidate acc", "baseline acc", "rows")
    )
    verdict = (
        f"gate: AUC &ge; {gate.get('min_auc', '?')} and at most "
        f"{gate.get('max_auc_drop', '?')} below the full retrain &rarr; candidate "
        f"<b>{'BLESSED' if summary['blessed'] else 'REJECTED'}</b>; decision: "
        f"<b>{html.escape(str(summary.get('decision', '-')))}</b>; pushed: "
        f"{html.escape(str(summary['pushed_path'])) if summary['pushed'] else 'no'}"
    )
    return f"<table><tr>{header}</tr>{''.join(rows)}</table><p>{verdict}</p>"


def _image(path: str) -> str:
    with open(path, "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    name = html.escape(os.path.basename(path))
    image = f'<img alt="{name}" src="data:image/png;base64,{encoded}">'
    return f"<figure>{image}<figcaption>{name}</figcaption></figure>"


def write_page(path: str, summary: Mapping, images: Sequence[str], notes: Sequence[str]) -> None:
    """Writes the page.

    Args:
        path: the HTML file to write.
        summary: the run's summary.json contents.
        images: PNG files to embed, in order.
        notes: one-line remarks shown above the figures (e.g. a figure left out).
    """
    title = f"newlevels report: span {summary['span']} ({summary['strategy']})"
    features = ", ".join(
        f"{html.escape(name)}: {c['old_levels']} old + {c['new_levels']} new levels"
        for name, c in summary["features"].items()
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{features}. Rows trained: {summary['rows_trained']} of {summary['rows_total']}.</p>",
        "<h2>Gate: candidate (incremental) vs baseline (full retrain)</h2>",
        gate_table(summary),
        "<h2>Figures</h2>",
        *(f"<p>{html.escape(note)}</p>" for note in notes),
        *(_image(image) for image in images),
    ]
    style = (
        "body{font-family:sans-serif;max-width:1400px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;"
        "text-align:right}img{max-width:100%}"
    )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n"
        )
