"""`full`: one trainable table, nothing frozen (the full-retrain baseline)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from newlevels.components.trainer.levels import OOV_ROW
from newlevels.components.trainer.strategies.base import (
    EmbeddingStrategy,
    EmbeddingTable,
    constant_weight,
)


class TrainableTable(EmbeddingTable):
    def __init__(self, initial: np.ndarray, **kwargs) -> None:
        super().__init__(**kwargs)
        self.embeddings = constant_weight(self, "embeddings", initial, trainable=True)

    def call(self, rows: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.embeddings, rows)

    def full_table(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.embeddings)

    def set_oov_row(self, values: np.ndarray) -> None:
        self.embeddings[OOV_ROW].assign(values)


class FullStrategy(EmbeddingStrategy):
    name = "full"
    freezes_parent = False

    def build(self, *, name: str, frozen: np.ndarray, fresh: np.ndarray) -> EmbeddingTable:
        return TrainableTable(np.concatenate([frozen, fresh]), name=name)
