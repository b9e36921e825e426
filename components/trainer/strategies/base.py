"""The interface every embedding strategy implements.

A strategy turns (rows frozen from the parent, number of fresh rows) into a
Keras layer mapping row indices to vectors. Whatever it does inside, the layer
exposes the full table it serves from, so export and tests never care which
strategy built it.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np
import tensorflow as tf
import tf_keras as keras

INIT_STDDEV = 0.05


def fresh_rows(rows: int, dim: int, seed: int) -> np.ndarray:
    """Deterministic random-normal initial values for rows that are being learnt."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, INIT_STDDEV, size=(rows, dim)).astype(np.float32)


class EmbeddingTable(keras.layers.Layer):
    """A layer mapping int64 row indices to embedding vectors."""

    @abc.abstractmethod
    def full_table(self) -> tf.Tensor:
        """The complete [rows, dim] table the layer looks rows up in."""


class EmbeddingStrategy(abc.ABC):
    """Builds the embedding table of one feature."""

    name: ClassVar[str]
    #: whether the layer keeps parent rows fixed (False only for a full retrain).
    freezes_parent: ClassVar[bool] = True

    @abc.abstractmethod
    def build(self, *, name: str, frozen: np.ndarray, fresh: np.ndarray) -> EmbeddingTable:
        """Builds the layer.

        Args:
            name: the layer name.
            frozen: [n_old, dim] rows that must come out of training bit-identical.
            fresh: [n_new, dim] initial values of the rows that are trained.

        Returns:
            A layer whose `full_table()` is `frozen` stacked on top of the trained rows.
        """
