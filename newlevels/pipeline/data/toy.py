"""The seed post's toy data, and a two-feature variant whose new span mixes old and new levels.

`write_toy`: one categorical feature with 100 levels, each with its own positive
rate; span 1 holds the rows of levels 0-79, span 2 the rows of levels 80-99, as in
the post's X_init / X_new. No span-2 row holds an old level, so old rows never
receive a gradient there: a model that froze nothing would keep them too.

`write_mixed_toy`: features `level` (80 old levels, 20 new) and `group` (8 old, 2
new). Span 2 pairs new levels with old groups and old levels with new groups, so
the rows the incremental Trainer trains on (those holding a new level) do reach
old rows: only a strategy that freezes them keeps them bit-identical. Span 2 also
holds rows of old levels only (the Trainer must skip them), and levels 0-19 vanish
from it.
"""

from __future__ import annotations

import bisect
import csv
import os
from collections.abc import Sequence

import numpy as np

from newlevels.components.ingest.csv_rows import span_dir

LEVELS = 100
INITIAL_LEVELS = 80
COLUMNS = ("id", "level", "label")

GROUPS = 10
INITIAL_GROUPS = 8
#: levels below this one appear in span 1 only (they vanish from span 2).
VANISHING_LEVELS = 20
#: `note` is a column the pipeline is not told about: it must be ignored.
MIXED_COLUMNS = ("id", "level", "group", "label", "note")
#: the kinds of span-2 rows, drawn in equal shares.
SPAN2_KINDS = ("new level", "new group", "old only")


def toy_rows(rows: int = 5000, seed: int = 0) -> list[tuple[str, str, int]]:
    """Deterministic (id, level, label) rows: a uniform positive rate per level."""
    rng = np.random.default_rng(seed)
    positive_rate = rng.uniform(0.0, 1.0, size=LEVELS)
    levels = rng.integers(0, LEVELS, size=rows)
    labels = (rng.uniform(size=rows) < positive_rate[levels]).astype(int)
    return [
        (f"r{i}", f"L{level}", int(label))
        for i, (level, label) in enumerate(zip(levels, labels, strict=True))
    ]


def _write_spans(out: str, spans: dict[int, list], columns: Sequence[str]) -> dict[int, int]:
    for span, span_rows in spans.items():
        folder = span_dir(out, span)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "toy.csv"), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(span_rows)
    return {span: len(span_rows) for span, span_rows in spans.items()}


def write_toy(
    out: str, rows: int = 5000, seed: int = 0, boundaries: tuple[int, ...] = (INITIAL_LEVELS,)
) -> dict[int, int]:
    """Writes one `<out>/span-k/toy.csv` per level range.

    By default span 1 holds levels 0-79 and span 2 levels 80-99; `boundaries`
    (60, 80) makes three spans: 0-59, 60-79, 80-99.

    Returns:
        rows written per span.
    """
    spans: dict[int, list] = {k: [] for k in range(1, len(boundaries) + 2)}
    for row in toy_rows(rows, seed):
        spans[1 + bisect.bisect_right(boundaries, int(row[1][1:]))].append(row)
    return _write_spans(out, spans, COLUMNS)


def mixed_toy_rows(
    span1_rows: int = 4000, span2_rows: int = 1500, seed: int = 0
) -> dict[int, list[tuple[str, str, str, int, str]]]:
    """Deterministic (id, level, group, label, note) rows of both spans of the mixed toy.

    A row's positive rate is sigmoid(level effect + group effect). Span 1 draws old
    levels and old groups; span 2 draws a third of its rows from each of
    `SPAN2_KINDS`: a new level with any group, an old level (from 20 on) with a new
    group, an old level (from 20 on) with an old group.

    Returns:
        {span: rows}.
    """
    rng = np.random.default_rng(seed)
    level_effect = rng.normal(0.0, 1.5, size=LEVELS)
    group_effect = rng.normal(0.0, 1.0, size=GROUPS)
    kind = rng.integers(0, len(SPAN2_KINDS), size=span2_rows)
    old_level = rng.integers(VANISHING_LEVELS, INITIAL_LEVELS, size=span2_rows)
    draws = {
        1: (
            rng.integers(0, INITIAL_LEVELS, size=span1_rows),
            rng.integers(0, INITIAL_GROUPS, size=span1_rows),
        ),
        2: (
            np.where(kind == 0, rng.integers(INITIAL_LEVELS, LEVELS, size=span2_rows), old_level),
            np.where(
                kind == 0,
                rng.integers(0, GROUPS, size=span2_rows),
                np.where(
                    kind == 1,
                    rng.integers(INITIAL_GROUPS, GROUPS, size=span2_rows),
                    rng.integers(0, INITIAL_GROUPS, size=span2_rows),
                ),
            ),
        ),
    }
    spans, first_id = {}, 0
    for span, (levels, groups) in draws.items():
        rate = 1.0 / (1.0 + np.exp(-(level_effect[levels] + group_effect[groups])))
        labels = (rng.uniform(size=len(levels)) < rate).astype(int)
        spans[span] = [
            (f"m{first_id + i}", f"L{level}", f"G{group}", int(label), f"span {span}")
            for i, (level, group, label) in enumerate(zip(levels, groups, labels, strict=True))
        ]
        first_id += len(levels)
    return spans


def write_mixed_toy(
    out: str, span1_rows: int = 4000, span2_rows: int = 1500, seed: int = 0
) -> dict[int, int]:
    """Writes the mixed toy (see `mixed_toy_rows`) as `<out>/span-{1,2}/toy.csv`.

    Returns:
        rows written per span.
    """
    return _write_spans(out, mixed_toy_rows(span1_rows, span2_rows, seed), MIXED_COLUMNS)
