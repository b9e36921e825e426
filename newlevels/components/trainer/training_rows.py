"""Which rows a Trainer trains on: the filter, replay and hold-out draws, and their counts.

`data.py` reads transformed examples in batches; `select_rows` filters them
(only rows holding a new level, for an extension), mixes a replayed share of
the others back in, sets a held-out share aside for early stopping, and caches
the result, counting every kind of row in the same pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import tensorflow as tf

from newlevels.components.trainer import head
from newlevels.components.trainer.levels import LevelDiff
from newlevels.components.trainer.tables import new_level_filter
from newlevels.transforms.vocabularies import ROW_ID_KEY

if TYPE_CHECKING:
    from newlevels.components.trainer.settings import TrainerSettings

Features = dict[str, tf.Tensor]
#: Maps a batch of features to a bool vector: keep the row or not.
RowFilter = Callable[[Mapping[str, tf.Tensor]], tf.Tensor]
#: replay sampling resolution: a row is replayed if its id's bucket is below fraction * this.
REPLAY_BUCKETS = 1_000_000

#: marks a tf.data function to be traced as written, without AutoGraph.
plain = tf.autograph.experimental.do_not_convert
#: the held-out draw hashes the id with this key (SipHash): independent of the
#: replay draw (FarmHash of the same id) and of the evaluation split (SHA-256).
HOLDOUT_KEY = (0x6E65776C, 0x6576656C)


def replayed(row_ids: tf.Tensor, fraction: float) -> tf.Tensor:
    """Marks a deterministic `fraction` of rows, by a hash of their id (same rows every run)."""
    threshold = int(round(fraction * REPLAY_BUCKETS))
    return tf.strings.to_hash_bucket_fast(row_ids, REPLAY_BUCKETS) < threshold


def held_out(row_ids: tf.Tensor, fraction: float) -> tf.Tensor:
    """Marks the deterministic `fraction` of rows that early stopping holds out (by id)."""
    threshold = int(round(fraction * REPLAY_BUCKETS))
    buckets = tf.strings.to_hash_bucket_strong(row_ids, REPLAY_BUCKETS, key=HOLDOUT_KEY)
    return buckets < threshold


@dataclasses.dataclass(frozen=True)
class Rows:
    """Training rows, read, filtered, split and cached in one pass over the files.

    Attributes:
        dataset: the cached ({feature: string token}, int64 label) rows to train
            on, unbatched (held-out rows left out).
        kept: rows of `dataset` that passed the filter (every row without one):
            the rows the new levels are trained on.
        read: how many rows the files held, before any filter.
        replayed: rows of `dataset` mixed in by replay (they failed the filter).
        holdout: the held-out rows (kept or replayed ones), in the same form.
        held_out: how many rows `holdout` holds.
        span_rows: rows read that `held_out` does not mark, filtered or not: the
            span's training rows (every row read when nothing is held out).
        span_positives: how many of `span_rows` are labelled 1.
    """

    dataset: tf.data.Dataset
    kept: int
    read: int
    replayed: int = 0
    holdout: tf.data.Dataset | None = None
    held_out: int = 0
    span_rows: int = 0
    span_positives: int = 0

    @property
    def base_rate(self) -> float:
        """The share of positive labels in the span's training rows (0.5 without rows).

        An extension trains on the rows holding a new level, but serves the whole
        span: its OOV rows are fitted to this rate, as a parentless model's are.
        """
        return self.span_positives / self.span_rows if self.span_rows else 0.5


def select_rows(
    batches: tf.data.Dataset,
    keep: RowFilter | None = None,
    replay_fraction: float = 0.0,
    holdout_fraction: float = 0.0,
) -> Rows:
    """Filters, replays, holds out and caches batches of `parsed_batches`' form.

    The counts come from the same pass that fills the cache (a reduce over
    batches of `READ_BATCH` rows), so the files are read once: a second pass
    just to count the rows read cost the incremental Trainer about 0.4 s.

    Args:
        batches: ({feature: tokens, and `_row_id` if replay or holdout asks for
            it}, label, rows in the batch) batches.
        keep: optional filter; only rows it marks True are trained on.
        replay_fraction: with `keep`, also train on this fraction of the rows it
            drops, picked by `replayed` on the row id.
        holdout_fraction: set this fraction of the selected rows aside by
            `held_out` on the row id.

    Returns:
        The cached rows and their counts.
    """
    replay = keep is not None and replay_fraction > 0

    @plain
    def select(features: Features, label: tf.Tensor, count: tf.Tensor):
        features = dict(features)
        row_ids = features.pop(ROW_ID_KEY, None)
        kept = tf.ones_like(label, tf.bool) if keep is None else keep(features)
        replays = replayed(row_ids, replay_fraction) & ~kept if replay else tf.zeros_like(kept)
        holds = held_out(row_ids, holdout_fraction) if holdout_fraction > 0 else tf.zeros_like(kept)
        selected = kept | replays
        # The span's training rows, before the filter: the base rate OOV rows serve.
        span = ~holds
        positives = tf.reduce_sum(tf.cast(span & (label > 0), tf.int64))
        features, label = mask_rows(features, label, selected)
        return (
            features,
            label,
            tf.boolean_mask(kept, selected),
            tf.boolean_mask(holds, selected),
            tf.stack([count, tf.reduce_sum(tf.cast(span, tf.int64)), positives]),
        )

    cached = batches.map(select, num_parallel_calls=tf.data.AUTOTUNE).cache()
    zero = tf.constant(0, tf.int64)

    @plain
    def add(counts, batch):
        _, _, kept, holds, totals = batch  # totals: [rows, span rows, span positives]
        training = ~holds

        def total(flags: tf.Tensor) -> tf.Tensor:
            return tf.reduce_sum(tf.cast(flags, tf.int64))

        return (
            counts[0] + total(kept & training),
            counts[1] + total(~kept & training),
            counts[2] + total(holds),
            counts[3] + totals[0],
            counts[4] + totals[1],
            counts[5] + totals[2],
        )

    totals = (int(n) for n in cached.reduce((zero,) * 6, add))
    kept, replays, holds, read, span_rows, span_positives = totals

    def part(held: bool) -> tf.data.Dataset:
        return cached.map(
            plain(lambda f, y, _, h, __: mask_rows(f, y, h if held else ~h))
        ).unbatch()

    return Rows(
        part(False),
        kept,
        read,
        replays,
        part(True) if holdout_fraction > 0 else None,
        holds,
        span_rows,
        span_positives,
    )


def mask_rows(features: Features, label: tf.Tensor, keep: tf.Tensor) -> tuple[Features, tf.Tensor]:
    """The rows of a batch that `keep` marks."""
    return (
        {name: tf.boolean_mask(values, keep) for name, values in features.items()},
        tf.boolean_mask(label, keep),
    )


@dataclasses.dataclass(frozen=True)
class RowSelection:
    """Which rows a Trainer reads: `select_rows`' keyword arguments."""

    keep: RowFilter | None
    replay_fraction: float
    holdout_fraction: float


def row_selection(
    settings: TrainerSettings, diffs: Mapping[str, LevelDiff], extends_parent: bool
) -> RowSelection:
    """The rows a Trainer trains on (and holds out) for these settings.

    A model without a parent trains on every row. An extension trains on the
    rows holding a new level, plus the old-level rows replayed for shared
    weights (`--replay-fraction`) or, under `--adapt head`, every old-level row
    (the head follows the whole span); with early stopping a fraction of them
    is held out.
    """
    options = settings.options
    if not extends_parent:
        return RowSelection(None, 0.0, 0.0)
    replay = options.replay_fraction if options.unfreeze_shared else 0.0
    if options.adapt == head.HEAD:
        replay = 1.0
    holdout = options.holdout_fraction if options.stops_early(settings.role, True) else 0.0
    return RowSelection(new_level_filter(diffs), replay, holdout)
