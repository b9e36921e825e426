"""A generated user x item timeline whose levels, popularity and base rate drift.

Every span mixes old and new levels: new users and new items arrive in each span
after the first, and each span's rows pair users and items at random, so rows hold
an old user with a new item, a new user with an old item, both new or both old.
A new item arrives with 1 to 50 rows (log-uniform: many cold items, a few warm
ones), a new user with 1 to `MAX_NEW_USER_ROWS`. After its first span a level's
share of the rows follows its popularity, which takes a random walk each span
so the popular items of span 2 are not those of span 9.
The label's base rate moves linearly from `base_rate_start` to `base_rate_end`,
and the items' own effects take a random walk, so a model that keeps old rows
frozen grows stale while a full retrain follows.

The label is a logistic model: intercept(span) + user bias + item bias(span) +
<user vector, item vector>. The intercept of each span is solved on the span's
rows so that their expected label mean is that span's base rate.

Generation is vectorised NumPy, seeded by one `numpy.random.Generator`: the same
settings give the same bytes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

ID, USER, ITEM, LABEL = "id", "userId", "itemId", "label"
COLUMNS = (ID, USER, ITEM, LABEL)
FILE_NAME = "rows.csv"
#: the `newlevels run` flags that read these columns (`--item-col` for `--model mf`).
RUN_FLAGS = ("--categorical", f"{USER},{ITEM}", "--label", LABEL, "--item-col", ITEM)
MAX_NEW_ITEM_ROWS = 50
MAX_NEW_USER_ROWS = 100
#: width of the latent user and item vectors.
LATENT_DIM = 4
#: how much of a level's log popularity (a user's activity) and of an item's effect
#: carries over to the next span: both follow a stationary AR(1) walk, so a long
#: timeline (20 spans) keeps the spread of span 1 while the ranking keeps moving.
POPULARITY_CARRY, ITEM_EFFECT_CARRY = 0.9, 0.95
USER_EFFECT_SD, ITEM_EFFECT_SD, POPULARITY_SD = 0.6, 0.8, 1.0


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclasses.dataclass(frozen=True)
class DriftSettings:
    """What `newlevels data drift` generates; each field is the flag of the same name.

    The defaults give a timeline the size of the 9 yearly MovieLens spans (99k rows).
    """

    seed: int = dataclasses.field(default=0, metadata=_help("random seed"))
    spans: int = dataclasses.field(default=9, metadata=_help("number of spans"))
    rows: int = dataclasses.field(default=11_000, metadata=_help("rows per span"))
    users: int = dataclasses.field(default=500, metadata=_help("users in span 1"))
    items: int = dataclasses.field(default=3_000, metadata=_help("items in span 1"))
    new_users: int = dataclasses.field(
        default=40, metadata=_help(f"new users per later span (1-{MAX_NEW_USER_ROWS} rows each)")
    )
    new_items: int = dataclasses.field(
        default=150, metadata=_help(f"new items per later span (1-{MAX_NEW_ITEM_ROWS} rows each)")
    )
    base_rate_start: float = dataclasses.field(
        default=0.35, metadata=_help("label base rate of span 1")
    )
    base_rate_end: float = dataclasses.field(
        default=0.6, metadata=_help("label base rate of the last span")
    )

    def __post_init__(self) -> None:
        from newlevels.pipeline.errors import ConfigError

        if min(self.spans, self.rows, self.users, self.items) < 1:
            raise ConfigError("--spans, --rows, --users and --items must be 1 or more")
        if min(self.new_users, self.new_items) < 0:
            raise ConfigError("--new-users and --new-items must be 0 or more")
        if max(self.users, self.items) > self.rows:
            raise ConfigError(
                f"--rows {self.rows} cannot hold one row of each of the --users {self.users} "
                f"and --items {self.items} of span 1"
            )
        most = max(self.new_users * MAX_NEW_USER_ROWS, self.new_items * MAX_NEW_ITEM_ROWS)
        if most > self.rows:
            raise ConfigError(
                f"--rows {self.rows} may not hold the new levels' rows: --new-users "
                f"{self.new_users} x up to {MAX_NEW_USER_ROWS} rows, --new-items "
                f"{self.new_items} x up to {MAX_NEW_ITEM_ROWS} rows"
            )
        if not (0 < self.base_rate_start < 1 and 0 < self.base_rate_end < 1):
            raise ConfigError("--base-rate-start and --base-rate-end must lie strictly in (0, 1)")


class _Levels:
    """One feature's levels: popularity (log weight), effect on the label, latent vector."""

    def __init__(
        self, rng: np.random.Generator, count: int, effect_sd: float, effect_carry: float
    ) -> None:
        self.rng, self.effect_sd, self.effect_carry = rng, effect_sd, effect_carry
        self.log_weight = rng.normal(0.0, POPULARITY_SD, count)
        self.effect = rng.normal(0.0, effect_sd, count)
        self.vector = rng.normal(0.0, 0.5, (count, LATENT_DIM))

    def __len__(self) -> int:
        return len(self.log_weight)

    def drift(self) -> None:
        """One span passes: popularity and effects take a step of their AR(1) walks."""
        self.log_weight = _ar1(self.rng, self.log_weight, POPULARITY_CARRY, POPULARITY_SD)
        self.effect = _ar1(self.rng, self.effect, self.effect_carry, self.effect_sd)

    def sample(self, size: int) -> np.ndarray:
        """`size` draws of existing levels, in proportion to their popularity."""
        weight = np.exp(self.log_weight - self.log_weight.max())
        return self.rng.choice(len(self), size=size, p=weight / weight.sum())

    def add(self, counts: np.ndarray, rows_of_old: int) -> np.ndarray:
        """Appends `len(counts)` levels; returns the new level of each of their rows.

        A new level's weight is set so that, among `rows_of_old` popularity draws, it
        would expect as many rows as it came with.
        """
        first = len(self)
        weight_sum = np.exp(self.log_weight - self.log_weight.max()).sum()
        log_weight = np.log(counts / max(rows_of_old, 1) * weight_sum) + self.log_weight.max()
        self.log_weight = np.concatenate([self.log_weight, log_weight])
        self.effect = np.concatenate(
            [self.effect, self.rng.normal(0.0, self.effect_sd, len(counts))]
        )
        self.vector = np.concatenate(
            [self.vector, self.rng.normal(0.0, 0.5, (len(counts), LATENT_DIM))]
        )
        return np.repeat(np.arange(first, first + len(counts)), counts)


def _ar1(rng: np.random.Generator, values: np.ndarray, carry: float, sd: float) -> np.ndarray:
    """One step of an AR(1) walk whose stationary spread is N(0, sd^2)."""
    return carry * values + rng.normal(0.0, sd * np.sqrt(1.0 - carry**2), len(values))


def _log_uniform_counts(rng: np.random.Generator, size: int, most: int) -> np.ndarray:
    """Integers in 1..most, log-uniform: as many levels with 1-3 rows as with 4-15."""
    return np.minimum(np.floor(np.exp(rng.uniform(0.0, np.log(most + 1), size))), most).astype(
        np.int64
    )


def _span_levels(levels: _Levels, rows: int, new: int, most: int, first_span: bool) -> np.ndarray:
    """The level of each of a span's rows, in a random order.

    In span 1 every level gets one row first (so that every later span's new levels
    are new to the data); in later spans `new` levels arrive with 1..most rows each.
    """
    if first_span:
        drawn = np.concatenate([np.arange(len(levels)), levels.sample(rows - len(levels))])
    else:
        counts = _log_uniform_counts(levels.rng, new, most)
        rows_of_old = rows - int(counts.sum())
        old = levels.sample(rows_of_old)
        drawn = np.concatenate([old, levels.add(counts, rows_of_old)])
    return levels.rng.permutation(drawn)


def _intercept(rest: np.ndarray, base_rate: float) -> float:
    """The intercept that makes mean(sigmoid(intercept + rest)) equal `base_rate`."""
    low, high = -20.0, 20.0
    for _ in range(40):
        middle = (low + high) / 2
        if np.mean(1.0 / (1.0 + np.exp(-(middle + rest)))) < base_rate:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def generate(settings: DriftSettings | None = None) -> Iterator[pd.DataFrame]:
    """Yields each span's rows (`COLUMNS`), span 1 first.

    Args:
        settings: sizes, seed and base rates (None: the defaults).

    Yields:
        one DataFrame per span, with integer ids unique over the whole timeline.
    """
    import pandas as pd

    settings = settings or DriftSettings()
    rng = np.random.default_rng(settings.seed)
    # Users' effects stay put (carry 1.0): the drift of the label is the items'.
    users = _Levels(rng, settings.users, USER_EFFECT_SD, effect_carry=1.0)
    items = _Levels(rng, settings.items, ITEM_EFFECT_SD, ITEM_EFFECT_CARRY)
    base_rates = np.linspace(settings.base_rate_start, settings.base_rate_end, settings.spans)
    for span in range(settings.spans):
        if span:
            users.drift()
            items.drift()
        user = _span_levels(users, settings.rows, settings.new_users, MAX_NEW_USER_ROWS, not span)
        item = _span_levels(items, settings.rows, settings.new_items, MAX_NEW_ITEM_ROWS, not span)
        rest = (
            users.effect[user]
            + items.effect[item]
            + np.einsum("ij,ij->i", users.vector[user], items.vector[item])
        )
        logit = _intercept(rest, base_rates[span]) + rest
        label = (rng.uniform(size=settings.rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
        first_id = span * settings.rows + 1
        yield pd.DataFrame(
            {
                ID: np.arange(first_id, first_id + settings.rows),
                USER: user + 1,
                ITEM: item + 1,
                LABEL: label,
            }
        )


def write_drift(out: str, settings: DriftSettings | None = None) -> dict[int, int]:
    """Writes `<out>/span-k/rows.csv` for every span of `generate(settings)`.

    Args:
        out: the data root to write the span folders under.
        settings: as for `generate`.

    Returns:
        rows written per span.
    """
    # Imported here: `newlevels --help` reads DriftSettings, and csv_rows imports TensorFlow.
    from newlevels.components.ingest.csv_rows import span_dir

    written = {}
    for span, frame in enumerate(generate(settings), start=1):
        folder = span_dir(out, span)
        os.makedirs(folder, exist_ok=True)
        frame.to_csv(os.path.join(folder, FILE_NAME), index=False)
        written[span] = len(frame)
    return written
