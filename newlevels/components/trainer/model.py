"""The models: a feature's tables combined into one logit.

`EmbeddingModel` holds each feature's lookup and tables (built in `tables.py`) and
the new-level flag every family shares; `AdditiveEmbeddingModel` sums every row's
vector into the logit, as in the seed post; `MatrixFactorizationModel` takes the dot
product of a user and an item vector plus per-level biases and a global bias.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import tensorflow as tf
import tf_keras as keras
from tf_keras.src.engine.training import reduce_per_replica

from newlevels.components.trainer import head, optimizers
from newlevels.components.trainer.context import ContextLayer
from newlevels.components.trainer.tables import FeatureTables, any_new_level, new_level_flags


class EmbeddingModel(keras.Model):
    """What every model family shares: token lookups, tables, the new-level flag, training.

    Subclasses define `logit`, from each feature's row index. `embeddings` maps
    table names to tables and `table_features` each table to its feature. An
    extension's `context` (see `context.py`) adds its old levels' corrections to
    rows holding a newer level; a model without one computes `sigmoid(logit)`.
    """

    def __init__(
        self, tables: Mapping[str, FeatureTables], head: HeadLayer | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.feature_names = tuple(dict.fromkeys(t.feature for t in tables.values()))
        self.lookups = {t.feature: t.lookup for t in tables.values()}
        self.embeddings = {name: t.embedding for name, t in tables.items()}
        self.table_features = {name: t.feature for name, t in tables.items()}
        self.first_new_rows = {t.feature: t.first_new_row for t in tables.values()}
        self.head = head
        self.context: ContextLayer | None = None

    def call(self, features: Mapping[str, tf.Tensor]) -> tf.Tensor:
        rows = self.rows(features)
        if self.context is None:
            return tf.sigmoid(self.logit(rows))
        return tf.sigmoid(self.logit(rows) + self.context(rows))

    def logit(self, rows: Mapping[str, tf.Tensor]) -> tf.Tensor:
        """Each row's logit, before any context correction."""
        raise NotImplementedError

    def shared_weights(self) -> dict[str, np.ndarray]:
        """Weights outside the tables, by name (exported as `embeddings/<name>.npy`)."""
        return {} if self.head is None else self.head.weights_by_name()

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
        return new_level_flags(self.rows(features), self.first_new_rows)

    def has_new_level(self, features: Mapping[str, tf.Tensor]) -> tf.Tensor:
        """True for rows holding at least one level this model added."""
        return any_new_level(self.new_level_flags(features))

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

    def logit(self, rows: Mapping[str, tf.Tensor]) -> tf.Tensor:
        parts = {
            name: tf.reduce_sum(self.embeddings[name](index), axis=-1)
            for name, index in rows.items()
        }
        if self.head is None:
            return tf.add_n(list(parts.values()))
        scaled = [self.head.scales[name] * part for name, part in parts.items()]
        return self.head.bias + tf.add_n(scaled)


class HeadLayer(keras.layers.Layer):
    """The adaptation head's weights (see `head.py`): a bias and one scale per feature."""

    def __init__(self, value: head.Head, trainable: bool, **kwargs) -> None:
        super().__init__(trainable=trainable, **kwargs)

        def scalar(name: str, start: float) -> tf.Variable:
            return self.add_weight(
                name=name,
                shape=(),
                initializer=keras.initializers.Constant(np.float32(start)),
                trainable=trainable,
            )

        self.bias = scalar(head.BIAS, value.bias)
        self.scales = {f: scalar(head.scale_name(f), s) for f, s in value.scales.items()}

    def weights_by_name(self) -> dict[str, np.ndarray]:
        """The head's shared weights, by name."""
        values = {head.BIAS: self.bias, **{head.scale_name(f): s for f, s in self.scales.items()}}
        return {name: value.numpy() for name, value in values.items()}


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
        head: HeadLayer | None = None,
        **kwargs,
    ) -> None:
        super().__init__(tables, head, **kwargs)
        self.user, self.item = user, item
        self.global_bias = global_bias

    @staticmethod
    def bias_table(feature: str) -> str:
        """The name of a feature's 1-wide bias table."""
        return f"{feature}_bias"

    def shared_weights(self) -> dict[str, np.ndarray]:
        return {self.GLOBAL_BIAS: self.global_bias.value.numpy(), **super().shared_weights()}

    def logit(self, rows: Mapping[str, tf.Tensor]) -> tf.Tensor:
        user, item = rows[self.user], rows[self.item]
        dot = tf.reduce_sum(self.embeddings[self.user](user) * self.embeddings[self.item](item), -1)
        user_bias = self.embeddings[self.bias_table(self.user)](user)[:, 0]
        item_bias = self.embeddings[self.bias_table(self.item)](item)[:, 0]
        if self.head is None:
            return dot + (user_bias + item_bias) + self.global_bias(dot)
        # The head scales each side's rows: its vector and its bias.
        user_scale, item_scale = self.head.scales[self.user], self.head.scales[self.item]
        return (
            user_scale * item_scale * dot
            + (user_scale * user_bias + item_scale * item_bias)
            + self.global_bias(dot)
            + self.head.bias
        )


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
