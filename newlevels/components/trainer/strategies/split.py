"""`split`: a frozen table of old rows beside a trainable table of new rows.

The post's second method, without its concatenation of both tables on every
lookup: each index is gathered from the table that owns it, so a step costs
O(batch) whatever the number of old rows, and only the new table is a
trainable variable (no optimizer slot ever exists for an old row). The new
table is looked up at new indices only, so its sparse gradient holds exactly
the new rows the batch used (a lazy optimizer then touches nothing else).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from newlevels.components.trainer.levels import OOV_ROW
from newlevels.components.trainer.strategies.base import (
    EmbeddingStrategy,
    EmbeddingTable,
    constant_weight,
    lookup_by_owner,
)


class SplitTable(EmbeddingTable):
    def __init__(self, frozen: np.ndarray, fresh: np.ndarray, **kwargs) -> None:
        super().__init__(**kwargs)
        self.n_frozen = int(frozen.shape[0])
        self.n_fresh = int(fresh.shape[0])
        self.frozen = constant_weight(self, "frozen", frozen, trainable=False)
        # No new rows: nothing to train (and no "gradients do not exist" warning per step).
        self.fresh = constant_weight(self, "fresh", fresh, trainable=self.n_fresh > 0)

    def call(self, rows: tf.Tensor) -> tf.Tensor:
        if self.n_fresh == 0:
            return tf.gather(self.frozen, rows)
        return lookup_by_owner(
            rows,
            self.n_frozen,
            self.frozen.shape[1],
            lambda old: tf.gather(self.frozen, old),
            lambda new: tf.gather(self.fresh, new - self.n_frozen),
        )

    def full_table(self) -> tf.Tensor:
        return tf.concat([self.frozen, self.fresh], axis=0)

    def set_oov_row(self, values: np.ndarray) -> None:
        self.frozen[OOV_ROW].assign(values)


class SplitStrategy(EmbeddingStrategy):
    name = "split"

    def build(self, *, name: str, frozen: np.ndarray, fresh: np.ndarray) -> EmbeddingTable:
        return SplitTable(frozen, fresh, name=name)
