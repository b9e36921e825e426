"""The example's data: clicks of users on items, one `span-N/clicks.csv` per span.

Generated deterministically (no download). A click's rate is the sigmoid of an
item effect plus a user effect. Span 1 holds items 0-39 and users u0-u19, the
popular items first. Span 2's rows mix old and new levels: a third pair a new
item (40-59) with an old user, a third an old item with a new user (u20-u29)
and a third two old levels; its old items are drawn with the popularity turned
around, so a vocabulary recomputed over both spans (most frequent first) puts
old tokens at other indices than span 1's did. Columns: `id`, `user`, `item`
(an integer), `hour` (a number the embedding model ignores) and `clicked` (0/1).
"""

from __future__ import annotations

import csv
import os

import numpy as np

OLD_ITEMS, ITEMS = 40, 60
OLD_USERS, USERS = 20, 30
COLUMNS = ("id", "user", "item", "hour", "clicked")
#: rows of each span.
ROWS = {1: 3000, 2: 1200}


def _popular_first(count: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, count + 1)
    return weights / weights.sum()


def span_rows(span: int, seed: int = 0) -> list[tuple[str, str, int, float, int]]:
    """The rows of span 1 or 2 (see the module docstring).

    Raises:
        ValueError: for another span.
    """
    if span not in ROWS:
        raise ValueError(f"the example has spans {sorted(ROWS)}, not {span}")
    effects = np.random.default_rng(seed)
    item_effect = effects.normal(0.0, 1.5, size=ITEMS)
    user_effect = effects.normal(0.0, 1.5, size=USERS)
    rng = np.random.default_rng(seed + span)
    rows = ROWS[span]
    if span == 1:
        items = rng.choice(OLD_ITEMS, size=rows, p=_popular_first(OLD_ITEMS))
        users = rng.integers(0, OLD_USERS, size=rows)
    else:
        kind = rng.integers(0, 3, size=rows)
        old_items = rng.choice(OLD_ITEMS, size=rows, p=_popular_first(OLD_ITEMS)[::-1])
        items = np.where(kind == 0, rng.integers(OLD_ITEMS, ITEMS, size=rows), old_items)
        users = np.where(
            kind == 1,
            rng.integers(OLD_USERS, USERS, size=rows),
            rng.integers(0, OLD_USERS, size=rows),
        )
    rate = 1.0 / (1.0 + np.exp(-(item_effect[items] + user_effect[users])))
    clicked = (rng.uniform(size=rows) < rate).astype(int)
    hours = rng.uniform(0.0, 24.0, size=rows).round(2)
    return [
        (f"s{span}-{i}", f"u{user}", int(item), float(hour), int(click))
        for i, (user, item, hour, click) in enumerate(
            zip(users, items, hours, clicked, strict=True)
        )
    ]


def write_span(data_root: str, span: int, seed: int = 0) -> str:
    """Writes `<data_root>/span-<span>/clicks.csv`; returns its path."""
    folder = os.path.join(data_root, f"span-{span}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "clicks.csv")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(span_rows(span, seed))
    return path
