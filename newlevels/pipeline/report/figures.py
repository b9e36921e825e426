"""The report's figures, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Each function saves one PNG and returns what it drew, read back from the
matplotlib artists, so tests compare the plotted coordinates with the
exported rows themselves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from newlevels.components.evaluation.metrics import COHORT_SLICES
from newlevels.components.trainer.artifacts import FeatureRows
from newlevels.pipeline.predictions import Predictions
from newlevels.pipeline.report.projection import Projection

#: blue at a 0 % positive rate, grey at 50 %, red at 100 % (as in the seed post).
RATE_COLOURS = LinearSegmentedColormap.from_list("positive_rate", ["#1f4fa8", "#9e9e9e", "#c62828"])
#: what a level never seen in the data is coloured as.
UNKNOWN_RATE = 0.5
PARENT_COLOUR, CHILD_COLOUR = "#2e8b57", "#ff8c00"
DPI = 110


@dataclasses.dataclass(frozen=True)
class Drawn:
    """What a figure drew, read back from its artists.

    Attributes:
        points: series name -> [n, 2] scatter offsets.
        segments: series name -> [n, 2, 2] line segments (start, end).
        counts: series name -> rows counted (histograms).
    """

    points: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    segments: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    counts: dict[str, int] = dataclasses.field(default_factory=dict)


def _save(figure: Figure, path: str) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")


def _offsets(collection) -> np.ndarray:
    return np.asarray(collection.get_offsets(), np.float64).reshape(-1, 2)


def plot_embeddings(
    path: str,
    feature: str,
    rows: FeatureRows,
    old_levels: int,
    rates: Mapping[str, float],
    projection: Projection,
) -> Drawn:
    """Every level's row, coloured by its observed positive rate; old dots, new triangles.

    Args:
        path: the PNG to write.
        feature: the feature's name, for the title.
        rows: the model's exported rows (row i is token i; the OOV row is not a level).
        old_levels: how many leading tokens the parent model had.
        rates: token -> observed positive rate (tokens missing are drawn grey).
        projection: maps rows to the plane.
    """
    points = projection(rows.weights)
    colour = np.array([rates.get(token, UNKNOWN_RATE) for token in rows.vocabulary])
    figure = Figure(figsize=(7.5, 6))
    axes = figure.add_subplot()
    axes.axhline(0, color="#dddddd", lw=0.8, zorder=0)
    axes.axvline(0, color="#dddddd", lw=0.8, zorder=0)
    drawn = Drawn()
    for name, part, marker in (
        ("old", slice(0, old_levels), "o"),
        ("new", slice(old_levels, None), "^"),
    ):
        artist = axes.scatter(
            points[part, 0],
            points[part, 1],
            c=colour[part],
            cmap=RATE_COLOURS,
            vmin=0.0,
            vmax=1.0,
            marker=marker,
            s=48 if marker == "o" else 70,
            edgecolors="black" if marker == "^" else "none",
            linewidths=0.8,
            label=f"{name} levels ({len(points[part])})",
        )
        drawn.points[name] = _offsets(artist)
    figure.colorbar(artist, ax=axes, label="observed positive rate")
    axes.set_xlabel(projection.axis_names[0])
    axes.set_ylabel(projection.axis_names[1])
    axes.set_title(f"{feature}: every level's embedding\n{projection.statement}", fontsize=10)
    axes.legend(loc="best", fontsize=8)
    _save(figure, path)
    return drawn


def plot_movement(
    path: str,
    feature: str,
    parent: FeatureRows,
    models: Sequence[tuple[str, FeatureRows]],
    projection: Projection,
) -> Drawn:
    """One panel per model: each parent token's point joined to the same token's new point.

    Args:
        path: the PNG to write.
        feature: the feature's name, for the title.
        parent: the parent model's exported rows.
        models: (panel title, exported rows) per model compared with the parent.
        projection: the one projection used for every model.
    """
    figure = Figure(figsize=(6.5 * len(models), 6))
    drawn = Drawn()
    parent_points = projection(parent.weights)
    known = set(parent.vocabulary)
    for index, (title, rows) in enumerate(models):
        axes = figure.add_subplot(1, len(models), index + 1)
        row_of = {token: i for i, token in enumerate(rows.vocabulary)}
        kept = [i for i, token in enumerate(parent.vocabulary) if token in row_of]
        child_points = projection(rows.weights)
        moved = child_points[[row_of[parent.vocabulary[i]] for i in kept]]
        lines = LineCollection(
            np.stack([parent_points[kept], moved], axis=1), colors="#555555", lw=0.8
        )
        axes.add_collection(lines)
        before = axes.scatter(*parent_points.T, s=30, c=PARENT_COLOUR, label="parent model")
        after = axes.scatter(*child_points.T, s=18, c=CHILD_COLOUR, label=title)
        added = [i for i, token in enumerate(rows.vocabulary) if token not in known]
        axes.scatter(
            *child_points[added].T,
            s=40,
            marker="^",
            facecolors="none",
            edgecolors="black",
            linewidths=0.7,
            label=f"levels new to the parent ({len(added)})",
        )
        length = np.linalg.norm(moved - parent_points[kept], axis=1)
        axes.set_title(
            f"{feature}: parent -> {title}\nlargest move of a parent level: "
            f"{length.max(initial=0.0):.3g}",
            fontsize=10,
        )
        axes.set_xlabel(projection.axis_names[0])
        axes.set_ylabel(projection.axis_names[1])
        axes.legend(loc="best", fontsize=8)
        drawn.points[f"{title}/parent"] = _offsets(before)
        drawn.points[f"{title}/model"] = _offsets(after)
        drawn.segments[title] = np.asarray(lines.get_segments(), np.float64).reshape(-1, 2, 2)
    _save(figure, path)
    return drawn


def plot_probabilities(path: str, predictions: Predictions, slices: Sequence[str]) -> Drawn:
    """The predicted-probability histogram per slice, split by the true label.

    Args:
        path: the PNG to write.
        predictions: the model's outputs on the span's evaluation rows.
        slices: slice names, from `overall` and the cohorts' (`metrics.COHORT_SLICES`).
    """
    masks = {
        "overall": np.ones_like(predictions.new_level),
        **{name: predictions.cohort == c for name, c in COHORT_SLICES.items()},
    }
    figure = Figure(figsize=(5 * len(slices), 4))
    drawn = Drawn()
    bins = np.linspace(0.0, 1.0, 21)
    for index, name in enumerate(slices):
        axes = figure.add_subplot(1, len(slices), index + 1)
        mask = masks[name]
        by_label = [predictions.probability[mask & (predictions.label == k)] for k in (0, 1)]
        axes.hist(by_label, bins=bins, stacked=True, color=["#1f4fa8", "#c62828"], label=["0", "1"])
        drawn.counts[name] = int(mask.sum())
        if not drawn.counts[name]:
            axes.text(0.5, 0.5, "no rows in this slice", ha="center", transform=axes.transAxes)
            axes.set_yticks([])
        axes.set_title(f"{name} ({drawn.counts[name]} rows)", fontsize=10)
        axes.set_xlabel("predicted probability")
        axes.set_xlim(0.0, 1.0)
        axes.legend(title="label", fontsize=8)
    figure.suptitle("Predicted probability on the span's evaluation rows", fontsize=11)
    _save(figure, path)
    return drawn
