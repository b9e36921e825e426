"""Lazy sparse updates: a sparse gradient updates only the rows it holds, and their slots.

tf_keras 2.16's RMSprop, Adam and SGD apply a sparse (`IndexedSlices`)
gradient with dense slot arithmetic: each step rewrites every row of every
slot (and, under Adam and SGD, of the variable itself), so a step costs
O(rows) however few rows the batch looked up. `masked` spent 94 ms/step at
10^6 rows that way (benchmarks/RESULTS.md, B2).

The lazy variants update as TF1's `ResourceSparseApply*` kernels and
TF-Addons' `LazyAdam` do: gather the touched rows of each slot, apply the
stock dense formula to those rows (the same operations in the same order),
and scatter the results back into the slots and the variable. A step costs
O(batch). `apply_gradients` has already summed duplicate indices
(`_deduplicate_sparse_grad`) when `update_step` runs, so each row is updated
once.

What changes: a row the gradient does not hold keeps its value and its slots.
The stock update would decay its slots and, under Adam or SGD momentum, keep
moving the row by its momentum. On rows touched every step both agree. Dense
gradients take the stock path.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras as keras

LAZY = "lazy"
DENSE = "dense"
SPARSE_UPDATES = (LAZY, DENSE)
DEFAULT = LAZY


class UnknownSparseUpdatesError(ValueError):
    """Raised for a `sparse_updates` value that is neither `lazy` nor `dense`."""


class LazyUpdatesUnsupportedError(ValueError):
    """Raised when lazy updates are asked of an optimizer with no lazy variant."""


def check_sparse_updates(mode: str) -> None:
    """Raises UnknownSparseUpdatesError, naming the choices, if `mode` is not one."""
    if mode not in SPARSE_UPDATES:
        raise UnknownSparseUpdatesError(
            f"unknown sparse_updates {mode!r}: choose one of {', '.join(SPARSE_UPDATES)}"
        )


def _scatter(slot: tf.Variable, rows: tf.Tensor, values: tf.Tensor) -> None:
    slot.scatter_update(tf.IndexedSlices(values, rows))


class LazySparseUpdates:
    """Mixin before a stock optimizer: sparse gradients go to `sparse_update`, dense ones
    to the stock `update_step`."""

    def update_step(self, gradient, variable):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable)
        index = self._index_dict[self._var_key(variable)]
        self.sparse_update(gradient.indices, gradient.values, variable, index)

    def sparse_update(
        self, rows: tf.Tensor, grad: tf.Tensor, variable: tf.Variable, index: int
    ) -> None:
        """Updates `rows` of `variable` and of its slots (number `index`) with `grad`.

        Args:
            rows: the unique row indices the gradient holds.
            grad: their gradient, one row each.
            variable: the trained variable.
            index: the variable's position in the optimizer's slot lists.
        """
        raise NotImplementedError


@keras.saving.register_keras_serializable(package="newlevels")
class LazyRMSprop(LazySparseUpdates, keras.optimizers.RMSprop):
    """RMSprop whose sparse updates touch only the gradient's rows (see the module doc)."""

    def sparse_update(self, rows, grad, variable, index):
        lr = tf.cast(self.learning_rate, variable.dtype)
        rho = self.rho
        velocity = rho * tf.gather(self._velocities[index], rows) + (1 - rho) * tf.square(grad)
        _scatter(self._velocities[index], rows, velocity)
        if self.centered:
            average = self._average_gradients[index]
            average_rows = rho * tf.gather(average, rows) + (1 - rho) * grad
            _scatter(average, rows, average_rows)
            denominator = velocity - tf.square(average_rows) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = lr * grad * tf.math.rsqrt(denominator)
        if self.momentum > 0:
            momentum = self._momentums[index]
            increment = self.momentum * tf.gather(momentum, rows) + increment
            _scatter(momentum, rows, increment)
        variable.scatter_add(tf.IndexedSlices(-increment, rows))


@keras.saving.register_keras_serializable(package="newlevels")
class LazyAdam(LazySparseUpdates, keras.optimizers.Adam):
    """Adam whose sparse updates touch only the gradient's rows (see the module doc)."""

    def sparse_update(self, rows, grad, variable, index):
        lr = tf.cast(self.learning_rate, variable.dtype)
        local_step = tf.cast(self.iterations + 1, variable.dtype)
        beta_1_power = tf.pow(tf.cast(self.beta_1, variable.dtype), local_step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, variable.dtype), local_step)
        alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        epsilon_hat = self.epsilon
        if self.adaptive_epsilon:
            epsilon_hat = self.epsilon * tf.sqrt(1 - beta_2_power)
        m = tf.gather(self._momentums[index], rows)
        m = m + (grad - m) * (1 - self.beta_1)
        v = tf.gather(self._velocities[index], rows)
        v = v + (tf.square(grad) - v) * (1 - self.beta_2)
        _scatter(self._momentums[index], rows, m)
        _scatter(self._velocities[index], rows, v)
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v = tf.maximum(tf.gather(v_hat, rows), v)
            _scatter(v_hat, rows, v)
        variable.scatter_sub(tf.IndexedSlices((m * alpha) / (tf.sqrt(v) + epsilon_hat), rows))


@keras.saving.register_keras_serializable(package="newlevels")
class LazySGD(LazySparseUpdates, keras.optimizers.SGD):
    """SGD (with or without momentum) whose sparse updates touch only the gradient's rows."""

    def sparse_update(self, rows, grad, variable, index):
        lr = tf.cast(self.learning_rate, variable.dtype)
        momentum = tf.cast(self.momentum, variable.dtype)
        slot = self.momentums[index]
        m = -grad * lr + tf.gather(slot, rows) * momentum
        _scatter(slot, rows, m)
        step = -grad * lr + m * momentum if self.nesterov else m
        variable.scatter_add(tf.IndexedSlices(step, rows))


#: the stock optimizer each lazy variant replaces (exact types: AdamW is not Adam here).
LAZY_VARIANTS: dict[type, type] = {
    keras.optimizers.RMSprop: LazyRMSprop,
    keras.optimizers.Adam: LazyAdam,
    keras.optimizers.SGD: LazySGD,
}


def with_sparse_updates(
    optimizer: keras.optimizers.Optimizer, mode: str
) -> keras.optimizers.Optimizer:
    """`optimizer` itself for `dense`; for `lazy`, its lazy variant with the same config.

    Args:
        optimizer: a stock tf_keras optimizer, not yet used.
        mode: `lazy` or `dense`.

    Returns:
        The optimizer to compile with.

    Raises:
        UnknownSparseUpdatesError: if `mode` is neither.
        LazyUpdatesUnsupportedError: if `optimizer` has no lazy variant.
    """
    check_sparse_updates(mode)
    if mode == DENSE or type(optimizer) in LAZY_VARIANTS.values():
        return optimizer
    variant = LAZY_VARIANTS.get(type(optimizer))
    if variant is None:
        supported = ", ".join(cls.__name__ for cls in LAZY_VARIANTS)
        raise LazyUpdatesUnsupportedError(
            f"{type(optimizer).__name__} has no lazy sparse updates: use one of "
            f"{supported}, or sparse_updates='dense'"
        )
    return variant.from_config(optimizer.get_config())
