"""The interface every embedding strategy implements.

A strategy turns (rows frozen from the parent, number of fresh rows) into a
Keras layer mapping row indices to vectors. Whatever it does inside, the layer
exposes the full table it serves from, so export and tests never care which
strategy built it.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import tensorflow as tf
import tf_keras as keras


def constant_weight(
    layer: keras.layers.Layer, name: str, values: np.ndarray, trainable: bool, **kwargs
) -> tf.Variable:
    """Adds a weight to `layer` holding `values` (extra kwargs go to `add_weight`)."""
    return layer.add_weight(
        name=name,
        shape=values.shape,
        initializer=keras.initializers.Constant(values),
        trainable=trainable,
        **kwargs,
    )


def lookup_by_owner(
    rows: tf.Tensor,
    first_new_row: int,
    dim: int,
    old: Callable[[tf.Tensor], tf.Tensor],
    new: Callable[[tf.Tensor], tf.Tensor],
) -> tf.Tensor:
    """Looks each old row up with `old` and each new row with `new`, then restores the order.

    Each lookup sees only its own rows (`tf.dynamic_partition`, then
    `tf.dynamic_stitch`). Looking every index up in a trainable table and then
    picking one vector per index (`tf.where`) would give that table a gradient
    entry of 0.0 for every index it does not train; a lazy optimizer counts an
    entry as a touch and updates that row's slots, so strategies would disagree.

    Args:
        rows: int64 row indices, any shape.
        first_new_row: rows below it are old.
        dim: the width of the vectors both lookups return.
        old: maps a 1-D tensor of old row indices to their [n, dim] vectors.
        new: the same for new row indices (the table's own index, not shifted).

    Returns:
        The [*rows.shape, dim] vectors.
    """
    flat = tf.reshape(rows, [-1])
    owner = tf.cast(flat >= first_new_row, tf.int32)
    old_rows, new_rows = tf.dynamic_partition(flat, owner, 2)
    old_at, new_at = tf.dynamic_partition(tf.range(tf.size(flat)), owner, 2)
    vectors = tf.dynamic_stitch([old_at, new_at], [old(old_rows), new(new_rows)])
    return tf.reshape(vectors, tf.concat([tf.shape(rows), [dim]], axis=0))


class FrozenRowsError(ValueError):
    """An optimizer option would move rows that a strategy must keep bit-identical."""


#: optimizer options that act on a whole variable whatever its gradient, and how.
WHOLE_VARIABLE_OPTIONS = {
    "weight_decay": "decay shrinks every row of the variable before the update",
    "use_ema": "the moving average overwrites the variable at the end of fit, after any "
    "mask or constraint",
}


def refuse_whole_variable_options(
    optimizer: keras.optimizers.Optimizer, strategy: str, options: tuple[str, ...]
) -> None:
    """Refuses `optimizer` if it sets one of `options` (keys of WHOLE_VARIABLE_OPTIONS).

    Raises:
        FrozenRowsError: naming the strategy, the option and the strategies that allow it.
    """
    for option in options:
        value = getattr(optimizer, option, None)
        if value:
            raise FrozenRowsError(
                f"strategy {strategy!r} cannot use {option}={value}: "
                f"{WHOLE_VARIABLE_OPTIONS[option]}, old rows included; use 'split' or "
                "'two_tables', whose old rows are not a trainable variable"
            )


class EmbeddingTable(keras.layers.Layer):
    """A layer mapping int64 row indices to embedding vectors."""

    @abc.abstractmethod
    def full_table(self) -> tf.Tensor:
        """The complete [rows, dim] table the layer looks rows up in."""

    @abc.abstractmethod
    def set_oov_row(self, values: np.ndarray) -> None:
        """Writes the OOV row (row 0) of every variable that holds it.

        Only after training, when every model's OOV row is fitted to serve an
        average level (`fitting.set_average_oov_rows`), a child's too: no old
        level looks it up, and the old tokens' rows are never written.
        """

    def check_optimizer(self, optimizer: keras.optimizers.Optimizer) -> None:
        """Refuses an optimizer that could move the frozen rows despite the strategy.

        The default accepts any optimizer: it suits tables whose frozen rows are
        not a trainable variable (or that freeze nothing).

        Raises:
            FrozenRowsError: naming the optimizer option at fault.
        """


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
