"""The tf.Transform step: one named vocabulary per categorical feature.

The model maps tokens to rows itself (with its own append-only vocabulary), so
the transformed features are the raw tokens; the vocabularies are what the
incremental Trainer diffs, by token, against the previous model's.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from newlevels.transforms.features import DataSpec
from newlevels.transforms.vocabularies import LABEL_KEY, ROW_ID_KEY, categorical_vocabularies


def transformed_label_key() -> str:
    """Key of the label in the transformed features."""
    return LABEL_KEY


def preprocessing_fn(inputs: dict[str, tf.Tensor], custom_config: dict[str, Any]) -> dict:
    """Computes each categorical feature's vocabulary and passes tokens and label on.

    Args:
        inputs: raw features parsed with the spec's raw schema.
        custom_config: `{"data_spec": DataSpec.to_dict()}` from the pipeline.

    Returns:
        The categorical tokens under their own names (shape [batch]), the label
        as int64 under `label` and the row id under `_row_id`.
    """
    spec = DataSpec.from_dict(custom_config["data_spec"])
    outputs = categorical_vocabularies(inputs, spec.categorical)
    outputs[LABEL_KEY] = tf.reshape(tf.cast(inputs[spec.label], tf.int64), [-1])
    outputs[ROW_ID_KEY] = tf.reshape(inputs[spec.id_column], [-1])
    return outputs
