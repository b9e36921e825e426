"""`masked`: one trainable table; old rows are looked up outside the gradient.

Old and new indices are looked up separately (`lookup_by_owner`), and the old
rows' vectors pass through `stop_gradient`, so no gradient reaches the gather
of an old row: the table's sparse gradient holds the batch's new rows only.
Unlike `constrained`, nothing rewrites the table, so lookups and gradients cost
O(batch). The optimizer keeps slots for every row of the variable: with the
stock tf_keras 2.16 RMSprop, Adam and SGD those slots are decayed densely
every step (O(rows)); with lazy sparse updates (`optimizers.py`) only the
rows the gradient holds are touched, so a step is O(batch).

Why optimizer state cannot move an old row: no old row is ever in the
gradient. Lazy updates never touch it. The stock update treats it as a row
with gradient 0.0: each slot of an old row starts at 0 and stays 0 (RMSprop:
velocity rho * 0 + (1 - rho) * 0^2, increment lr * 0 / sqrt(eps); Adam:
m = v = 0, update 0 / (0 + eps); SGD momentum: m = 0.9 * 0 - lr * 0), and
adding 0.0 to a float leaves it bit-identical. Two optimizer options act on
the whole variable regardless of the gradient, and are refused:
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

from newlevels.components.trainer.levels import OOV_ROW
from newlevels.components.trainer.strategies.base import (
    EmbeddingStrategy,
    EmbeddingTable,
    constant_weight,
    lookup_by_owner,
    refuse_whole_variable_options,
)


class MaskedTable(EmbeddingTable):
    def __init__(self, frozen: np.ndarray, fresh: np.ndarray, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_frozen = int(frozen.shape[0])
        table = np.concatenate([frozen, fresh])
        # No new rows: every lookup stops the gradient, so nothing is trainable.
        self.embeddings = constant_weight(self, "embeddings", table, trainable=len(fresh) > 0)

    def call(self, rows: tf.Tensor) -> tf.Tensor:
        return lookup_by_owner(
            rows,
            self.n_frozen,
            self.embeddings.shape[1],
            lambda old: tf.stop_gradient(tf.gather(self.embeddings, old)),
            lambda new: tf.gather(self.embeddings, new),
        )

    def full_table(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.embeddings)

    def set_oov_row(self, values: np.ndarray) -> None:
        self.embeddings[OOV_ROW].assign(values)

    def check_optimizer(self, optimizer: keras.optimizers.Optimizer) -> None:
        refuse_whole_variable_options(optimizer, "masked", ("weight_decay", "use_ema"))


class MaskedStrategy(EmbeddingStrategy):
    name = "masked"

    def build(self, *, name: str, frozen: np.ndarray, fresh: np.ndarray) -> EmbeddingTable:
        return MaskedTable(frozen, fresh, name=name)
