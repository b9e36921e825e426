"""The example's `preprocessing_fn`: what a user writes to feed the newlevels Trainers.

The newlevels helper computes the vocabularies of the categorical features (`user`
is a string column, `item` an integer one) under the names the Trainers read, and
returns their tokens; the label goes under `newlevels.LABEL_KEY` and the row id
under `newlevels.ROW_ID_KEY`. `hour_z` is a
feature of the user's own that the embedding model ignores (another model of the
pipeline could read it).
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

import newlevels

CATEGORICAL = ("user", "item")
LABEL = "clicked"


def preprocessing_fn(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Tokens and vocabularies of the categorical features, the label and a scaled hour.

    Args:
        inputs: the raw columns as the stock Transform parses them with SchemaGen's
            schema (each of shape [batch, 1]).

    Returns:
        The transformed features.
    """
    outputs = newlevels.categorical_vocabularies(inputs, CATEGORICAL)
    outputs[newlevels.LABEL_KEY] = tf.reshape(inputs[LABEL], [-1])
    # The row id lets the incremental Trainer hold rows out for early stopping.
    outputs[newlevels.ROW_ID_KEY] = tf.reshape(inputs["id"], [-1])
    outputs["hour_z"] = tft.scale_to_z_score(tf.reshape(inputs["hour"], [-1]))
    return outputs
