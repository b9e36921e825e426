"""A `preprocessing_fn` written as a newlevels user would write one.

It calls the newlevels helper for the categorical features, computes its own
label, adds a numeric feature the embedding model ignores, and passes no row id.
`movieId` is an integer column, as a stock ExampleGen infers it from a CSV.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

import newlevels.transforms

CATEGORICAL = ("movieId", "userId")


def preprocessing_fn(inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    outputs = newlevels.transforms.categorical_vocabularies(inputs, CATEGORICAL)
    liked = tf.reshape(inputs["rating"], [-1]) >= 4.0
    outputs[newlevels.transforms.LABEL_KEY] = tf.cast(liked, tf.int64)
    outputs["age_z"] = tft.scale_to_z_score(tf.reshape(inputs["age"], [-1]))
    return outputs
