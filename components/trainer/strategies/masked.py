"""`masked`: one trainable table; the gradient of every old row is masked to exactly zero.

Each looked-up vector of an old row passes through `stop_gradient`, so the
sparse gradient of the table carries 0.0 for every old row (and nothing for
the rows the batch did not touch). Unlike `constrained`, nothing rewrites the
table: lookups and gradients cost O(batch). The optimizer still keeps slots
for every row of the variable, and tf_keras 2.16's RMSprop, Adam and SGD
momentum decay those slot tensors densely each step (O(rows) elementwise).

Why optimizer state cannot move an old row: each slot of an old row starts at
0 and is only ever fed 0.0 gradients, so it stays 0 (RMSprop: velocity
rho * 0 + (1 - rho) * 0^2, increment lr * 0 / sqrt(eps); Adam: m = v = 0,
update 0 / (0 + eps); SGD momentum: m = 0.9 * 0 - lr * 0), and adding 0.0 to a
float leaves it bit-identical. Two optimizer options act on the whole variable
regardless of the gradient, and are refused:
- `weight_decay` (AdamW, or any optimizer's `weight_decay=`) shrinks every row
  by lr * wd * row before the update;
- `use_ema` overwrites the variable with its moving average at the end of
  `fit`, and a moving average of a constant is not always bit-identical to it.
Use `split` or `two_tables` (old rows are not a trainable variable there) with
those options.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tf_keras as keras

from components.trainer.strategies.base import (
    EmbeddingStrategy,
    EmbeddingTable,
    constant_weight,
    refuse_whole_variable_options,
)


class MaskedTable(EmbeddingTable):
    def __init__(self, frozen: np.ndarray, fresh: np.ndarray, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_frozen = int(frozen.shape[0])
        table = np.concatenate([frozen, fresh])
        self.embeddings = constant_weight(self, "embeddings", table, trainable=True)

    def call(self, rows: tf.Tensor) -> tf.Tensor:
        vectors = tf.gather(self.embeddings, rows)
        is_old = (rows < self.n_frozen)[..., tf.newaxis]
        return tf.where(is_old, tf.stop_gradient(vectors), vectors)

    def full_table(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.embeddings)

    def check_optimizer(self, optimizer: keras.optimizers.Optimizer) -> None:
        refuse_whole_variable_options(optimizer, "masked", ("weight_decay", "use_ema"))


class MaskedStrategy(EmbeddingStrategy):
    name = "masked"

    def build(self, *, name: str, frozen: np.ndarray, fresh: np.ndarray) -> EmbeddingTable:
        return MaskedTable(frozen, fresh, name=name)
