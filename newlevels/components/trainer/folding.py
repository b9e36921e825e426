"""Folding: the serving copy of a trained model, each table one plain variable.

A strategy shapes a table for training only: `split` and `two_tables` keep the
old rows and the new rows in two variables and look each row up in both,
`masked` wraps every lookup in a `where`, `constrained` keeps a second copy of
the old rows for its constraint. Serving needs none of it, and paid for it: the
pushed `split` model served at 0.84-0.88x the predictions/s of the full
retrain. The folded copy holds each table's `full_table()` in one
non-trainable variable looked up by one gather, as the full retrain's table is,
so every strategy exports the same serving graph. The values are copied, not
recomputed: old rows stay bit-identical to the parent's.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from newlevels.components.trainer.context import ContextLayer
from newlevels.components.trainer.families import AdaptationHead, ModelFamily
from newlevels.components.trainer.head import Head
from newlevels.components.trainer.levels import OOV_ROW
from newlevels.components.trainer.model import EmbeddingModel
from newlevels.components.trainer.strategies.base import EmbeddingTable, constant_weight
from newlevels.components.trainer.tables import FeatureTables


class FoldedTable(EmbeddingTable):
    """A [rows, dim] table in one non-trainable variable, looked up by one gather."""

    def __init__(self, table: np.ndarray, **kwargs) -> None:
        super().__init__(trainable=False, **kwargs)
        self.embeddings = constant_weight(self, "embeddings", table, trainable=False)

    def call(self, rows: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.embeddings, rows)

    def full_table(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.embeddings)

    def set_oov_row(self, values: np.ndarray) -> None:
        self.embeddings[OOV_ROW].assign(values)


def fold(model: EmbeddingModel, family: ModelFamily) -> EmbeddingModel:
    """Rebuilds `model` for serving with every table folded into one variable.

    The copy shares the model's token lookups and keeps each feature's first new
    row, so `has_new_level` (the `slice_features` signature) still flags the
    levels this model added. Shared weights (the `mf` global bias, the head)
    and the context (`context.py`) are copied and frozen.

    Args:
        model: the trained model, of `family`.
        family: the family that built `model` (it builds the copy).

    Returns:
        An uncompiled model computing what `model` computes.
    """
    tables = {}
    for name, table in model.embeddings.items():
        feature = model.table_features[name]
        tables[name] = FeatureTables(
            lookup=model.lookups[feature],
            embedding=FoldedTable(table.full_table().numpy(), name=f"{name}_embedding"),
            first_new_row=model.first_new_rows[feature],
            feature=feature,
        )
    shared = model.shared_weights()
    # The head (if any) is copied and frozen like the other shared weights: the
    # serving graph computes exactly what the trained model computes.
    start = Head.from_shared(shared, model.feature_names)
    adaptation = None if start is None else AdaptationHead(start, trainable=False)
    folded = family.build(tables, shared, train_shared=False, adaptation=adaptation)
    if model.context is not None:
        folded.context = ContextLayer(model.context.values(), name="context")
    return folded
