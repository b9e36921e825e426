"""Training input: transformed examples read in batches, then selected (`training_rows.py`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

from newlevels.components.trainer.training_rows import (
    Features,
    RowFilter,
    Rows,
    plain,
    select_rows,
)
from newlevels.transforms.preprocessing import transformed_label_key
from newlevels.transforms.vocabularies import ROW_ID_KEY, check_transformed_features

#: rows parsed, filtered and cached per element (the training batches are cut from them).
READ_BATCH = 4096


def list_files(patterns: Sequence[str]) -> list[str]:
    """Expands TFX file patterns (one per split) into a sorted file list."""
    files = sorted({path for pattern in patterns for path in tf.io.gfile.glob(pattern)})
    if not files:
        raise FileNotFoundError(f"no example files match {list(patterns)}")
    return files


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
