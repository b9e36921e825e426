"""Training input: transformed examples, optionally only the rows holding a new level."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from newlevels.transforms.preprocessing import transformed_label_key
from newlevels.transforms.vocabularies import ROW_ID_KEY, check_transformed_features

Features = dict[str, tf.Tensor]
#: Maps a batch of features to a bool vector: keep the row or not.
RowFilter = Callable[[Mapping[str, tf.Tensor]], tf.Tensor]
#: replay sampling resolution: a row is replayed if its id's bucket is below fraction * this.
REPLAY_BUCKETS = 1_000_000
#: rows parsed, filtered and cached per element (the training batches are cut from them).
READ_BATCH = 4096


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


def list_files(patterns: Sequence[str]) -> list[str]:
    """Expands TFX file patterns (one per split) into a sorted file list."""
    files = sorted({path for pattern in patterns for path in tf.io.gfile.glob(pattern)})
    if not files:
        raise FileNotFoundError(f"no example files match {list(patterns)}")
    return files


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


def parsed_batches(
    patterns: Sequence[str],
    feature_spec: Mapping[str, tf.io.FixedLenFeature],
    feature_names: Sequence[str],
    with_ids: bool,
) -> tf.data.Dataset:
    """Transformed examples as batches of ({feature: tokens[, row id]}, label, row count).

    With `with_ids`, a Transform output without the row id (a user's
    preprocessing_fn need not pass it through) identifies each row by its
    serialized example instead: the same rows are picked on every run.
    """
    label_key = transformed_label_key()
    ids_from_bytes = with_ids and ROW_ID_KEY not in feature_spec
    read_ids = with_ids and not ids_from_bytes
    names = (*feature_names, *((ROW_ID_KEY,) if read_ids else ()))
    spec = {name: feature_spec[name] for name in (*names, label_key)}

    # AutoGraph off (`plain`): these functions hold no Python control flow on
    # tensors, and converting the row filter (Keras layers) cost the first
    # Trainer in a process seconds of fixed overhead (B3).
    @plain
    def parse(serialized: tf.Tensor) -> tuple[Features, tf.Tensor, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, spec)
        label = tf.reshape(parsed[label_key], [-1])
        features = {name: tf.reshape(parsed[name], [-1]) for name in names}
        if ids_from_bytes:
            features[ROW_ID_KEY] = serialized
        return features, label, tf.size(label, out_type=tf.int64)

    return (
        tf.data.TFRecordDataset(list_files(patterns), compression_type="GZIP")
        .batch(READ_BATCH)
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    )


def batches_from_arrays(
    tokens: Mapping[str, np.ndarray], labels: np.ndarray, row_ids: np.ndarray
) -> tf.data.Dataset:
    """In-memory rows in `parsed_batches`' form (the benchmarks read CSV rows this way)."""
    features = {**tokens, ROW_ID_KEY: row_ids}
    return (
        tf.data.Dataset.from_tensor_slices((features, np.asarray(labels, np.int64)))
        .batch(READ_BATCH)
        .map(plain(lambda f, y: (f, y, tf.size(y, out_type=tf.int64))))
    )


def load_rows(
    patterns: Sequence[str],
    feature_spec: Mapping[str, tf.io.FixedLenFeature],
    feature_names: Sequence[str],
    keep: RowFilter | None = None,
    replay_fraction: float = 0.0,
    holdout_fraction: float = 0.0,
) -> Rows:
    """Reads transformed examples as unbatched (features, label) rows, and counts them.

    Args:
        patterns: file patterns of the transformed example splits to read.
        feature_spec: the transformed feature spec (from TFTransformOutput).
        feature_names: categorical features to keep.
        keep: optional filter; only rows it marks True are returned.
        replay_fraction: with `keep`, also return this fraction of the rows it
            drops, picked by `replayed` on the row id.
        holdout_fraction: set this fraction of the returned rows aside (by
            `held_out` on the row id) as `Rows.holdout`.

    Returns:
        The cached rows and their counts.

    Raises:
        TransformOutputError: if the examples lack the tokens or the label.
    """
    # Extra transformed features (a user's Transform may output more) are not read.
    check_transformed_features(feature_spec, feature_names)
    with_ids = (keep is not None and replay_fraction > 0) or holdout_fraction > 0
    batches = parsed_batches(patterns, feature_spec, feature_names, with_ids)
    return select_rows(batches, keep, replay_fraction, holdout_fraction)


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
        features, label = _mask(features, label, selected)
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
        return cached.map(plain(lambda f, y, _, h, __: _mask(f, y, h if held else ~h))).unbatch()

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


def as_arrays(
    dataset: tf.data.Dataset, feature_names: Sequence[str]
) -> tuple[dict[str, list[str]], np.ndarray]:
    """Unbatched (features, label) rows as Python tokens per feature and a label array."""
    tokens: dict[str, list[str]] = {name: [] for name in feature_names}
    labels = []
    for features, label in dataset.batch(READ_BATCH).as_numpy_iterator():
        for name in feature_names:
            tokens[name].extend(token.decode("utf-8") for token in features[name])
        labels.append(label)
    return tokens, np.concatenate(labels).astype(np.float64) if labels else np.zeros(0)


def _mask(features: Features, label: tf.Tensor, keep: tf.Tensor) -> tuple[Features, tf.Tensor]:
    return (
        {name: tf.boolean_mask(values, keep) for name, values in features.items()},
        tf.boolean_mask(label, keep),
    )


def count_tokens(
    patterns: Sequence[str],
    feature_spec: Mapping[str, tf.io.FixedLenFeature],
    feature_names: Sequence[str],
) -> dict[str, Counter]:
    """How often each token of each feature appears in the examples (for level admission)."""
    tokens, _ = as_arrays(load_rows(patterns, feature_spec, feature_names).dataset, feature_names)
    return {name: Counter(tokens[name]) for name in feature_names}


def training_batches(dataset: tf.data.Dataset, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffles (reproducibly) and batches cached rows for `fit`."""
    return (
        dataset.shuffle(100_000, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(plain(lambda features, label: (features, tf.cast(label, tf.float32))))
        .prefetch(tf.data.AUTOTUNE)
    )
