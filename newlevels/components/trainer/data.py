"""Training input: transformed examples, optionally only the rows holding a new level."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

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


def replayed(row_ids: tf.Tensor, fraction: float) -> tf.Tensor:
    """Marks a deterministic `fraction` of rows, by a hash of their id (same rows every run)."""
    threshold = int(round(fraction * REPLAY_BUCKETS))
    return tf.strings.to_hash_bucket_fast(row_ids, REPLAY_BUCKETS) < threshold


def list_files(patterns: Sequence[str]) -> list[str]:
    """Expands TFX file patterns (one per split) into a sorted file list."""
    files = sorted({path for pattern in patterns for path in tf.io.gfile.glob(pattern)})
    if not files:
        raise FileNotFoundError(f"no example files match {list(patterns)}")
    return files


@dataclasses.dataclass(frozen=True)
class Rows:
    """Training rows, read, filtered and cached in one pass over the files.

    Attributes:
        dataset: the cached ({feature: string token}, int64 label) rows, unbatched.
        kept: how many rows `dataset` holds.
        read: how many rows the files held, before any filter.
    """

    dataset: tf.data.Dataset
    kept: int
    read: int


def load_rows(
    patterns: Sequence[str],
    feature_spec: Mapping[str, tf.io.FixedLenFeature],
    feature_names: Sequence[str],
    keep: RowFilter | None = None,
    replay_fraction: float = 0.0,
) -> Rows:
    """Reads transformed examples as unbatched (features, label) rows, and counts them.

    The counts come from the same pass that fills the cache (a reduce over
    batches of `READ_BATCH` rows), so the files are read once: a second pass
    just to count the rows read cost the incremental Trainer about 0.4 s.

    Args:
        patterns: file patterns of the transformed example splits to read.
        feature_spec: the transformed feature spec (from TFTransformOutput).
        feature_names: categorical features to keep.
        keep: optional filter; only rows it marks True are returned.
        replay_fraction: with `keep`, also return this fraction of the rows it
            drops, picked by `replayed` on the row id.

    Returns:
        The cached rows and how many were kept and read.

    Raises:
        TransformOutputError: if the examples lack the tokens, the label or (for a
            replay fraction, even on a run that replays nothing yet) the row id.
    """
    # Extra transformed features (a user's Transform may output more) are not read.
    replay_flag = ("--replay-fraction",) if replay_fraction > 0 else ()
    check_transformed_features(feature_spec, feature_names, row_id_for=replay_flag)
    label_key = transformed_label_key()
    replay = keep is not None and replay_fraction > 0
    read = (*feature_names, label_key, *((ROW_ID_KEY,) if replay else ()))
    spec = {name: feature_spec[name] for name in read}

    # AutoGraph off (`plain`): these functions hold no Python control flow on
    # tensors, and converting the row filter (Keras layers) cost the first
    # Trainer in a process seconds of fixed overhead (B3).
    @plain
    def parse(serialized: tf.Tensor) -> tuple[Features, tf.Tensor, tf.Tensor]:
        parsed = tf.io.parse_example(serialized, spec)
        label = tf.reshape(parsed.pop(label_key), [-1])
        names = (*feature_names, *((ROW_ID_KEY,) if replay else ()))
        features = {name: tf.reshape(parsed[name], [-1]) for name in names}
        return features, label, tf.size(label, out_type=tf.int64)

    @plain
    def filter_rows(
        features: Features, label: tf.Tensor, count: tf.Tensor
    ) -> tuple[Features, tf.Tensor, tf.Tensor]:
        features = dict(features)
        row_ids = features.pop(ROW_ID_KEY, None)
        flags = keep(features)
        if row_ids is not None:
            flags = flags | replayed(row_ids, replay_fraction)
        return (*_mask(features, label, flags), count)

    batches = (
        tf.data.TFRecordDataset(list_files(patterns), compression_type="GZIP")
        .batch(READ_BATCH)
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    )
    if keep is not None:
        batches = batches.map(filter_rows, num_parallel_calls=tf.data.AUTOTUNE)
    batches = batches.cache()
    zero = tf.constant(0, tf.int64)
    kept, total = batches.reduce(
        (zero, zero),
        plain(lambda counts, b: (counts[0] + tf.size(b[1], tf.int64), counts[1] + b[2])),
    )
    rows = batches.map(plain(lambda features, label, _: (features, label))).unbatch()
    return Rows(rows, int(kept), int(total))


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
    counts = {name: Counter() for name in feature_names}
    rows = load_rows(patterns, feature_spec, feature_names).dataset.batch(READ_BATCH)
    for features, _ in rows.as_numpy_iterator():
        for name in feature_names:
            counts[name].update(token.decode("utf-8") for token in features[name])
    return counts


def training_batches(dataset: tf.data.Dataset, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffles (reproducibly) and batches cached rows for `fit`."""
    return (
        dataset.shuffle(100_000, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(plain(lambda features, label: (features, tf.cast(label, tf.float32))))
        .prefetch(tf.data.AUTOTUNE)
    )
