"""`constrained`: one trainable table whose old rows are restored after every update.

The post's third method. The post needed a dummy regularizer to dodge "Cannot
use a constraint function on a sparse variable"; that error came from the
legacy (v1/OptimizerV2) optimizers, which refused a constraint on a variable
updated with sparse `IndexedSlices` gradients (the regularizer dodged it by
making the gradient dense: its L2 term touches every row). The tf_keras 2.16
optimizers apply the update (sparse or dense) first and then assign
`constraint(variable)` to the whole variable, so a plain constraint works with
no regularizer. The price is that every step rewrites the whole table: O(rows).

The old rows are restored after weight decay too (decay runs before the
update, the constraint after it). Two consequences of the old rows being
trainable for a moment:
- with `global_clipnorm`, their (discarded) gradients count in the global norm,
  so the new rows are clipped harder than under `split`, `two_tables` or
  `masked` (tests/test_strategy_equivalence.py shows the difference);
- `use_ema` is refused: tf_keras updates the moving average right after the
  optimizer's update and before the constraint, so it averages the old rows'
  moved values, and at the end of `fit` it overwrites the variable with them.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from newlevels.components.trainer.levels import OOV_ROW
from newlevels.components.trainer.strategies.base import (
    EmbeddingStrategy,
    EmbeddingTable,
    constant_weight,
    refuse_whole_variable_options,
)


class RestoreRows(keras.constraints.Constraint):
    """Puts the first `frozen.shape[0]` rows back to their frozen values."""

    def __init__(self, frozen: tf.Variable) -> None:
        self.frozen = frozen

    def __call__(self, w: tf.Tensor) -> tf.Tensor:
        return tf.concat([tf.convert_to_tensor(self.frozen), w[self.frozen.shape[0] :]], axis=0)


class ConstrainedTable(EmbeddingTable):
    def __init__(self, frozen: np.ndarray, fresh: np.ndarray, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frozen = constant_weight(self, "frozen", frozen, trainable=False)
        table = np.concatenate([frozen, fresh])
        self.embeddings = constant_weight(
            self, "embeddings", table, trainable=True, constraint=RestoreRows(self.frozen)
        )

    def call(self, rows: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.embeddings, rows)

    def full_table(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.embeddings)

    def set_oov_row(self, values: np.ndarray) -> None:
        self.frozen[OOV_ROW].assign(values)
        self.embeddings[OOV_ROW].assign(values)

    def check_optimizer(self, optimizer: keras.optimizers.Optimizer) -> None:
        refuse_whole_variable_options(optimizer, "constrained", ("use_ema",))


class ConstrainedStrategy(EmbeddingStrategy):
    name = "constrained"

    def build(self, *, name: str, frozen: np.ndarray, fresh: np.ndarray) -> EmbeddingTable:
        return ConstrainedTable(frozen, fresh, name=name)
