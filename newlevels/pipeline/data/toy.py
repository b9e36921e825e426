"""The seed post's toy data: one categorical feature with 100 levels, 80 old and 20 new.

Each level has its own positive rate; span 1 holds the rows of levels 0-79,
span 2 the rows of levels 80-99, as in the post's X_init / X_new.
"""

from __future__ import annotations

import bisect
import csv
import os

import numpy as np

from newlevels.components.ingest.csv_rows import span_dir

LEVELS = 100
INITIAL_LEVELS = 80
COLUMNS = ("id", "level", "label")


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
    for span, span_rows in spans.items():
        folder = span_dir(out, span)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "toy.csv"), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows(span_rows)
    return {span: len(span_rows) for span, span_rows in spans.items()}
