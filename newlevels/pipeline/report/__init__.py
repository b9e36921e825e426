"""`newlevels report`: figures of one finished run, and an HTML page holding them.

Written to `<workdir>/runs/span-N/report/`, or to the folder `--out` names:
    embeddings-<feature>.png  every level's row, coloured by its observed positive rate
    movement-<feature>.png    parent -> this model and parent -> full retrain, per token
    probabilities.png         predicted-probability histogram per slice
    report.html               the gate table and the figures, self-contained
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import numpy as np

from newlevels.components.evaluation.metrics import SLICES
from newlevels.pipeline import predictions as serving
from newlevels.pipeline.errors import ReportInputError
from newlevels.pipeline.report import figures, inputs, page
from newlevels.pipeline.report.projection import fit_projection

REPORT_DIR = "report"
PAGE = "report.html"


@dataclasses.dataclass(frozen=True)
class Report:
    """The files written and what each figure drew (file name -> coordinates)."""

    folder: str
    page: str
    images: tuple[str, ...]
    drawn: dict[str, figures.Drawn]


def write_report(
    workdir: str, span: int, out: str | None = None, summary: Mapping | None = None
) -> Report:
    """Draws the figures of span `span`'s run under `workdir` and writes the page.

    Args:
        workdir: the workdir the run wrote to.
        span: the run's span.
        out: the folder to write to (created if missing); None: the run's
            `runs/span-N/report/`.
        summary: the run's summary (None: `runs/span-N/summary.json` of the workdir).

    Returns:
        The files written.

    Raises:
        ReportInputError: if the run's summary or data root is missing, or `out`
            is a file.
    """
    folder = out or os.path.join(inputs.run_dir(workdir, span), REPORT_DIR)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ReportInputError(f"--out {folder} is a file, not a folder")
    run = inputs.load_run(workdir, span, summary)
    os.makedirs(folder, exist_ok=True)
    drawn: dict[str, figures.Drawn] = {}
    notes = []
    for name, rows in run.model.items():
        # One projection per feature, fitted once, shared by every model drawn.
        projection = fit_projection(rows.weights)
        file = f"embeddings-{name}.png"
        old_levels = run.summary["features"][name]["old_levels"]
        rates = run.positive_rates[name]
        drawn[file] = figures.plot_embeddings(
            os.path.join(folder, file), name, rows, old_levels, rates, projection
        )
        if run.parent is None:
            notes.append(f"{name}: no parent model (first run), so no movement figure.")
            continue
        models = [("this model", rows)]
        if run.baseline is not None:
            models.append(("full retrain", run.baseline[name]))
        file = f"movement-{name}.png"
        drawn[file] = figures.plot_movement(
            os.path.join(folder, file), name, run.parent[name], models, projection
        )
    rows = inputs.eval_rows(run.summary, run.spec)
    predictions = serving.predict(run.summary["model_uri"], rows)
    file = "probabilities.png"
    drawn[file] = figures.plot_probabilities(os.path.join(folder, file), predictions, list(SLICES))
    notes.append(
        f"Probabilities: this model's SavedModel on the {len(rows)} evaluation rows of span "
        f"{span}; mean {np.mean(predictions.probability):.3f}."
    )
    images = tuple(os.path.join(folder, file) for file in drawn)
    page_path = os.path.join(folder, PAGE)
    page.write_page(page_path, run.summary, images, notes)
    return Report(folder=folder, page=page_path, images=images, drawn=drawn)
