"""A model's SavedModel run on a span's evaluation rows, and the parent check on old rows.

Used by `newlevels report` (the probability figure) and by the run summary,
which states how far the candidate's predictions on rows with only old levels
are from its parent's (0.0: they are the parent's, bit for bit).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow as tf

from newlevels.components.ingest import csv_rows
from newlevels.components.ingest.component import is_eval_row
from newlevels.components.trainer import artifacts
from newlevels.contracts.signatures import (
    COHORT_KEY,
    NEW,
    NEW_LEVEL_KEY,
    OLD,
    PREDICTION_KEY,
    SLICE_SIGNATURE,
)
from newlevels.transforms.features import DataSpec


@dataclasses.dataclass(frozen=True)
class Predictions:
    """The model's probabilities on the span's evaluation rows, with labels and slice flags."""

    probability: np.ndarray
    label: np.ndarray
    new_level: np.ndarray  # bool: the row holds a level this model added
    cohort: np.ndarray  # str: the row's cohort (`contracts.signatures.COHORTS`)


def span_eval_rows(data_root: str, span: int, spec: DataSpec) -> list[csv_rows.Row]:
    """The rows of `span` that the pipeline holds out for the Evaluator."""
    rows = []
    for path in csv_rows.span_files(data_root, span):
        rows.extend(row for row in csv_rows.read_rows(path, spec) if is_eval_row(row.row_id))
    return rows


def serialized_examples(rows: list[csv_rows.Row]) -> tf.Tensor:
    """The rows' categorical tokens as serialized tf.Examples (what serving parses)."""
    serialized = []
    for row in rows:
        feature = {
            name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[token.encode("utf-8")]))
            for name, token in row.tokens.items()
        }
        serialized.append(
            tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
        )
    return tf.constant(serialized, dtype=tf.string)


def predict(model_uri: str, rows: list[csv_rows.Row]) -> Predictions:
    """Runs the model's SavedModel (`serving_default` and its slice signature) on `rows`."""
    loaded = tf.saved_model.load(os.path.join(model_uri, artifacts.SERVING_DIR))
    examples = serialized_examples(rows)
    probability = loaded.signatures["serving_default"](examples=examples)[PREDICTION_KEY]
    sliced = loaded.signatures[SLICE_SIGNATURE](examples=examples)
    new_level = np.reshape(sliced[NEW_LEVEL_KEY].numpy(), [-1]).astype(bool)
    if COHORT_KEY in sliced:
        cohort = np.array([c.decode() for c in np.reshape(sliced[COHORT_KEY].numpy(), [-1])])
    else:  # a model exported before cohorts: its non-new rows, unseen or not
        cohort = np.where(new_level, NEW, OLD)
    return Predictions(
        probability=np.reshape(probability.numpy(), [-1]),
        label=np.array([row.label for row in rows], np.int64),
        new_level=new_level,
        cohort=cohort,
    )


def old_level_prediction_change(
    model_uri: str, parent_uri: str, rows: list[csv_rows.Row]
) -> dict[str, float | int]:
    """How far the model's predictions are from its parent's on rows with only old levels.

    The rows are those the model's own slice signature puts in the old cohort:
    every level of the row is one its parent knew. A row holding a level the model
    added, or one neither model knows (served through the OOV row, which each
    model fits to its own training rows), is not an old row. Both SavedModels
    serve the same request (every row, in one batch): TensorFlow's CPU kernels
    may round differently for another batch size, so
    comparing a subset against the whole would measure the batching, not the model.

    Args:
        model_uri: the incremental model's Model artifact.
        parent_uri: its parent's Model artifact.
        rows: the span's evaluation rows.

    Returns:
        {"rows": how many rows are old-level rows, "max_abs": the largest
        |child - parent| probability over them (0.0 for no such row)}.
    """
    if not rows:
        return {"rows": 0, "max_abs": 0.0}
    child = predict(model_uri, rows)
    parent = predict(parent_uri, rows)
    old = child.cohort == OLD
    if not old.any():
        return {"rows": 0, "max_abs": 0.0}
    delta = np.abs(child.probability[old] - parent.probability[old])
    return {"rows": int(old.sum()), "max_abs": float(delta.max())}
