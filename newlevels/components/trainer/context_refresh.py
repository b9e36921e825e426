"""An extension's context, around its Keras model: built from the parent's, then fitted.

`context.py` holds the corrections and their numerics; this module ties them to a
model: `extended` gives an extension its parent's context plus a vintage of its
own, `refresh` fits that vintage after training (`--context refresh`), and
`context_of` reads a model's context back for `embeddings/`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from newlevels.components.trainer import context, init, levels, model

#: rows per call when computing the offsets of the context's fit.
OFFSET_BATCH = 65_536


def context_of(keras_model: model.EmbeddingModel) -> context.Context | None:
    """A model's context (None for a chain's first model)."""
    return None if keras_model.context is None else keras_model.context.values()


def extended(
    diffs: Mapping[str, levels.LevelDiff], parent_context: context.Context | None
) -> context.Context:
    """An extension's context: its parent's, frozen, and one vintage of its own (zeros)."""
    parent_rows = {f: d.frozen_rows for f, d in diffs.items()}
    start = parent_context or context.Context.empty(parent_rows)
    return start.extended(parent_rows, {f: d.table_rows for f, d in diffs.items()})


def refresh(keras_model: model.EmbeddingModel, rows: init.LabelledRows, newest_only: bool) -> None:
    """Fits an extension's own corrections of its old levels (`context.fit_latest`).

    Args:
        keras_model: the trained extension (its OOV rows already set).
        rows: the rows to fit on (`ModelFamily.context_rows`).
        newest_only: fit on those holding a new (or an unseen) level only.
    """
    index = {f: np.asarray(r, np.int64) for f, r in rows.index.items()}
    offset = np.concatenate(
        [
            keras_model.logit({f: tf.constant(r[i : i + OFFSET_BATCH]) for f, r in index.items()})
            .numpy()
            .astype(np.float64)
            for i in range(0, len(rows.labels), OFFSET_BATCH)
        ]
    )
    table_rows = {
        f: int(keras_model.context.corrections[f].shape[0]) for f in keras_model.feature_names
    }
    latest = context.fit_latest(offset, index, rows.labels, keras_model.first_new_rows, table_rows)
    keras_model.context.set_latest(latest)
