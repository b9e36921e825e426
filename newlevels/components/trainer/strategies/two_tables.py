"""`two_tables`: the post's first method, an old table and a new table behind an "is new" switch.

Every index is looked up in both tables and an "is new" switch (1 for a row
added by this model, 0 for a parent row) keeps one of the two vectors:
`(1 - is_new) * old[i] + is_new * new[i]`. As in the post, an index at or past
the old table's end is remapped to `index - n_old`, so new level k lands in row
k - n_old of the new table.

Unlike the post, the new table holds the new levels only (n_new rows, not
max(n_old, n_new)). The post over-allocated so that the remapped index of an
old level stays in range of the new table; here the new table is looked up at
new indices only, and an old index gets a zero vector from it (switched off
anyway). Looking it up at a clamped index instead would give that row an
exactly-zero gradient entry, which a lazy optimizer counts as a touch (it
would decay the row's slots). The old table, not trainable, is still looked
up at every index, clamped into range.

The post subtracted max(n_old, n_new), which equals n_old whenever
n_new <= n_old (its toy: 80 old, 20 new) and sent indices negative otherwise;
subtracting n_old keeps its mapping where it worked and fixes it where it did not.

Only the new table is a trainable variable, so no optimizer slot or weight
decay ever touches an old row. A step costs two O(batch) gathers.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from newlevels.components.trainer.strategies.base import (
    EmbeddingStrategy,
    EmbeddingTable,
    lookup_by_owner,
)
from newlevels.components.trainer.strategies.split import SplitTable


class TwoTables(SplitTable):
    """The same two variables as `split` (`frozen`, `fresh`), looked up the post's way."""

    def call(self, rows: tf.Tensor) -> tf.Tensor:
        if self.n_fresh == 0:
            return tf.gather(self.frozen, rows)
        is_new = rows >= self.n_frozen
        remapped = tf.where(is_new, rows - self.n_frozen, rows)
        old = tf.gather(self.frozen, tf.minimum(remapped, self.n_frozen - 1))
        dim = self.fresh.shape[1]
        new = lookup_by_owner(
            rows,
            self.n_frozen,
            dim,
            lambda old_rows: tf.zeros([tf.size(old_rows), dim], self.fresh.dtype),
            lambda new_rows: tf.gather(self.fresh, new_rows - self.n_frozen),
        )
        switch = tf.cast(is_new, old.dtype)[..., tf.newaxis]
        return (1.0 - switch) * old + switch * new


class TwoTablesStrategy(EmbeddingStrategy):
    name = "two_tables"

    def build(self, *, name: str, frozen: np.ndarray, fresh: np.ndarray) -> EmbeddingTable:
        return TwoTables(frozen, fresh, name=name)
