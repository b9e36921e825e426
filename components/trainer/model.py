"""The models: embedding tables looked up by token, combined into one logit.

Each categorical feature's token is mapped to a row by the model's own
append-only vocabulary (unseen tokens go to the OOV row). A model holds one or
more tables per feature, each built by the run's strategy, so every table's
old rows freeze the same way. `AdditiveEmbeddingModel` sums every row's vector
into the logit, as in the seed post; `MatrixFactorizationModel` takes the dot
product of a user and an item vector plus per-level biases and a global bias.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras
from tf_keras.src.engine.training import reduce_per_replica

from components.trainer import optimizers
from components.trainer.levels import FIRST_TOKEN_ROW, OOV_ROW, LevelDiff
from components.trainer.strategies import EmbeddingStrategy, EmbeddingTable
from components.trainer.strategies.base import fresh_rows
from transforms.features import DataSpec


class TokenToRow(keras.layers.Layer):
    """Looks a token up in a fixed vocabulary: token i -> row i + 1, anything else -> OOV."""

    def __init__(self, vocabulary: Sequence[str], **kwargs) -> None:
        super().__init__(trainable=False, **kwargs)
        keys = tf.constant(list(vocabulary), dtype=tf.string)
        values = tf.range(FIRST_TOKEN_ROW, FIRST_TOKEN_ROW + len(vocabulary), dtype=tf.int64)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, values), default_value=OOV_ROW
        )

    def call(self, tokens: tf.Tensor) -> tf.Tensor:
        return self.table.lookup(tokens)


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One embedding table: its name, the feature whose rows it holds, and its width."""

    name: str
    feature: str
    dim: int


@dataclasses.dataclass(frozen=True)
class FeatureTables:
    """One table's lookup and embedding layers, its feature, and where its new rows start."""

    lookup: TokenToRow
    embedding: EmbeddingTable
    first_new_row: int
    feature: str


def initial_rows(
    diff: LevelDiff, dim: int, parent_table: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Splits a feature's starting table into the frozen part and the fresh part.

    Args:
        diff: the feature's level diff.
        dim: embedding width.
        parent_table: the parent's [1 + old_levels, dim] table (OOV row first), or
            None for a model with no parent.
        seed: seeds the fresh rows.

    Returns:
        (frozen, fresh): frozen holds the parent's rows (only the OOV row, zero,
        when there is no parent); fresh holds random rows for every new token.
    """
    if parent_table is None:
        frozen = np.zeros((FIRST_TOKEN_ROW, dim), np.float32)
    else:
        frozen = np.asarray(parent_table, np.float32)
        if frozen.shape != (diff.frozen_rows, dim):
            raise ValueError(
                f"parent table of {diff.feature!r} has shape {frozen.shape}, "
                f"expected {(diff.frozen_rows, dim)}"
            )
    return frozen, fresh_rows(diff.new_levels, dim, seed)


def build_tables(
    spec: DataSpec,
    diffs: Mapping[str, LevelDiff],
    strategy: EmbeddingStrategy,
    parent_tables: Mapping[str, np.ndarray] | None,
    seed: int,
) -> dict[str, FeatureTables]:
    """Builds one table per feature (named after it) with `strategy`."""
    specs = [TableSpec(f.name, f.name, f.embedding_dim) for f in spec.categorical]
    return build_table_set(specs, diffs, strategy, parent_tables, seed)


def build_table_set(
    specs: Sequence[TableSpec],
    diffs: Mapping[str, LevelDiff],
    strategy: EmbeddingStrategy,
    parent_tables: Mapping[str, np.ndarray] | None,
    seed: int,
) -> dict[str, FeatureTables]:
    """Builds every table in `specs` with `strategy`; tables of one feature share a lookup.

    Args:
        specs: the tables, in model order.
        diffs: each feature's level diff.
        strategy: builds every table, so each freezes its old rows the same way.
        parent_tables: the parent's tables by table name, or None.
        seed: seeds the fresh rows (table k uses seed + k).

    Returns:
        The tables by name.
    """
    lookups: dict[str, TokenToRow] = {}
    tables = {}
    for index, table in enumerate(specs):
        diff = diffs[table.feature]
        if table.feature not in lookups:
            lookups[table.feature] = TokenToRow(diff.merged, name=f"{table.feature}_rows")
        parent = None if parent_tables is None else parent_tables[table.name]
        frozen, fresh = initial_rows(diff, table.dim, parent, seed + index)
        tables[table.name] = FeatureTables(
            lookup=lookups[table.feature],
            embedding=strategy.build(name=f"{table.name}_embedding", frozen=frozen, fresh=fresh),
            first_new_row=frozen.shape[0],
            feature=table.feature,
        )
    return tables


class EmbeddingModel(keras.Model):
    """What every model family shares: token lookups, tables, the new-level flag, training.

    Subclasses define `call`. `embeddings` maps table names to tables and
    `table_features` each table to its feature.
    """

    def __init__(self, tables: Mapping[str, FeatureTables], **kwargs) -> None:
        super().__init__(**kwargs)
        self.feature_names = tuple(dict.fromkeys(t.feature for t in tables.values()))
        self.lookups = {t.feature: t.lookup for t in tables.values()}
        self.embeddings = {name: t.embedding for name, t in tables.items()}
        self.table_features = {name: t.feature for name, t in tables.items()}
        self.first_new_rows = {t.feature: t.first_new_row for t in tables.values()}

    def shared_weights(self) -> dict[str, np.ndarray]:
        """Weights outside the tables, by name (exported as `embeddings/<name>.npy`)."""
        return {}

    def compile(self, optimizer: str | keras.optimizers.Optimizer = "rmsprop", **kwargs) -> None:
        """Compiles, then lets every table refuse an optimizer that would move its frozen rows.

        Raises:
            FrozenRowsError: if a table's strategy cannot keep its old rows with `optimizer`.
        """
        super().compile(optimizer=optimizer, **kwargs)
        for table in self.embeddings.values():
            table.check_optimizer(self.optimizer)
        # Slots now, not in the first step: a tf.function whose first trace
        # creates variables is traced a second time (~0.3 s per `fit`).
        self.optimizer.build(self.trainable_variables)

    def rows(self, features: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Each feature's row index for a batch of tokens."""
        return {
            name: self.lookups[name](tf.reshape(features[name], [-1]))
            for name in self.feature_names
        }

    def new_level_flags(self, features: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Per feature, True for rows whose level of that feature this model added."""
        return {
            name: rows >= self.first_new_rows[name] for name, rows in self.rows(features).items()
        }

    def has_new_level(self, features: Mapping[str, tf.Tensor]) -> tf.Tensor:
        """True for rows holding at least one level this model added."""
        flags = list(self.new_level_flags(features).values())
        return tf.reduce_any(tf.stack(flags, axis=0), axis=0)

    def make_train_function(self, force: bool = False):
        """Keras's one-step train function, traced with AutoGraph off.

        Profiling showed the first `fit` in a process spending most of its time
        in AutoGraph transpiling Keras's training loop (about 12,000 `compile`
        calls, 10-30 s; later models reuse the cache). Nothing on this path
        needs AutoGraph: the model has no data-dependent Python control flow.
        """
        if self.train_function is not None and not force:
            return self.train_function
        strategy = self.distribute_strategy

        def one_step(iterator):
            outputs = strategy.run(self.train_step, args=(next(iterator),))
            return reduce_per_replica(outputs, strategy, reduction="auto")

        self.train_function = tf.function(one_step, reduce_retracing=True, autograph=False)
        return self.train_function


class AdditiveEmbeddingModel(EmbeddingModel):
    """sigmoid(sum over features of sum over dims of the feature's embedding row)."""

    def call(self, features: Mapping[str, tf.Tensor]) -> tf.Tensor:
        logit = tf.add_n(
            [
                tf.reduce_sum(self.embeddings[name](rows), axis=-1)
                for name, rows in self.rows(features).items()
            ]
        )
        return tf.sigmoid(logit)


class SharedScalar(keras.layers.Layer):
    """One scalar weight shared by every row (the global bias); frozen unless `trainable`."""

    def __init__(self, value: float, trainable: bool, **kwargs) -> None:
        super().__init__(trainable=trainable, **kwargs)
        self.value = self.add_weight(
            name="value",
            shape=(),
            initializer=keras.initializers.Constant(np.float32(value)),
            trainable=trainable,
        )

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return self.value + tf.zeros_like(inputs)


class MatrixFactorizationModel(EmbeddingModel):
    """sigmoid(<user_vec, item_vec> + user_bias + item_bias + global_bias).

    The biases are 1-wide tables built by the same strategy as the vectors, so an
    old level's bias freezes exactly like its vector.
    """

    GLOBAL_BIAS = "global_bias"

    def __init__(
        self,
        tables: Mapping[str, FeatureTables],
        user: str,
        item: str,
        global_bias: SharedScalar,
        **kwargs,
    ) -> None:
        super().__init__(tables, **kwargs)
        self.user, self.item = user, item
        self.global_bias = global_bias

    @staticmethod
    def bias_table(feature: str) -> str:
        """The name of a feature's 1-wide bias table."""
        return f"{feature}_bias"

    def shared_weights(self) -> dict[str, np.ndarray]:
        return {self.GLOBAL_BIAS: self.global_bias.value.numpy()}

    def call(self, features: Mapping[str, tf.Tensor]) -> tf.Tensor:
        rows = self.rows(features)
        user, item = rows[self.user], rows[self.item]
        dot = tf.reduce_sum(self.embeddings[self.user](user) * self.embeddings[self.item](item), -1)
        biases = (
            self.embeddings[self.bias_table(self.user)](user)[:, 0]
            + self.embeddings[self.bias_table(self.item)](item)[:, 0]
        )
        return tf.sigmoid(dot + biases + self.global_bias(dot))


def compile_model(
    model: keras.Model, learning_rate: float, sparse_updates: str = optimizers.DEFAULT
) -> None:
    """RMSprop and binary cross-entropy, as in the seed post.

    Args:
        model: the model to compile.
        learning_rate: RMSprop's learning rate.
        sparse_updates: `lazy` or `dense` (see `optimizers.py`).
    """
    rmsprop = keras.optimizers.RMSprop(learning_rate=learning_rate)
    model.compile(
        optimizer=optimizers.with_sparse_updates(rmsprop, sparse_updates),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.AUC(name="auc")],
    )
