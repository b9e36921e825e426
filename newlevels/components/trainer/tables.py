"""Where a model's tables are built: token -> row lookups, and each feature's tables.

Each categorical feature's token is mapped to a row by the model's own append-only
vocabulary (unseen tokens go to the OOV row). A model holds one or more tables per
feature, each built by the run's strategy from the parent's rows (frozen) and fresh
rows for the new levels, so every table's old rows freeze the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf
import tf_keras as keras

from newlevels.components.trainer.init import random_rows
from newlevels.components.trainer.levels import FIRST_TOKEN_ROW, OOV_ROW, LevelDiff
from newlevels.components.trainer.strategies import EmbeddingStrategy, EmbeddingTable
from newlevels.transforms.features import DataSpec


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


def new_level_flags(
    rows: Mapping[str, tf.Tensor], first_new_rows: Mapping[str, int]
) -> dict[str, tf.Tensor]:
    """Per feature, True for rows whose row index is one the model added."""
    return {name: index >= first_new_rows[name] for name, index in rows.items()}


def any_new_level(flags: Mapping[str, tf.Tensor]) -> tf.Tensor:
    """True for rows holding at least one added level (`flags`: `new_level_flags`)."""
    return tf.reduce_any(tf.stack(list(flags.values()), axis=0), axis=0)


def new_level_filter(
    diffs: Mapping[str, LevelDiff],
) -> Callable[[Mapping[str, tf.Tensor]], tf.Tensor]:
    """A row filter marking rows that hold a level the diffs add (before any model exists).

    The incremental Trainer reads its rows with it before building the model,
    because where the new rows start (`--init fit`) depends on those rows.
    """
    lookups = {name: TokenToRow(diff.merged, name=f"{name}_filter") for name, diff in diffs.items()}
    first_new_rows = {name: diff.frozen_rows for name, diff in diffs.items()}

    def keep(features: Mapping[str, tf.Tensor]) -> tf.Tensor:
        rows = {name: lookup(tf.reshape(features[name], [-1])) for name, lookup in lookups.items()}
        return any_new_level(new_level_flags(rows, first_new_rows))

    return keep


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
    diff: LevelDiff,
    dim: int,
    parent_table: np.ndarray | None,
    seed: int,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Splits a feature's starting table into the frozen part and the fresh part.

    Args:
        diff: the feature's level diff.
        dim: embedding width.
        parent_table: the parent's [1 + old_levels, dim] table (OOV row first), or
            None for a model with no parent.
        seed: seeds the fresh rows when `start` is None.
        start: the new rows' starting values (`init.start_rows`), or None for
            random rows.

    Returns:
        (frozen, fresh): frozen holds the parent's rows (only the OOV row, zero,
        when there is no parent); the OOV row is fitted after training either
        way (`fitting.set_average_oov_rows`); fresh holds the new tokens'
        starting rows.

    Raises:
        ValueError: if the parent table or the start has the wrong shape.
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
    if start is None:
        return frozen, random_rows(diff.new_levels, dim, seed)
    if start.shape != (diff.new_levels, dim):
        raise ValueError(
            f"start rows of {diff.feature!r} have shape {start.shape}, "
            f"expected {(diff.new_levels, dim)}"
        )
    return frozen, np.asarray(start, np.float32)


def build_tables(
    spec: DataSpec,
    diffs: Mapping[str, LevelDiff],
    strategy: EmbeddingStrategy,
    parent_tables: Mapping[str, np.ndarray] | None,
    seed: int,
    *,
    dim: int,
) -> dict[str, FeatureTables]:
    """Builds one table per feature (named after it, `dim` wide) with `strategy`."""
    specs = [TableSpec(name, name, dim) for name in spec.feature_names]
    return build_table_set(specs, diffs, strategy, parent_tables, seed)


def build_table_set(
    specs: Sequence[TableSpec],
    diffs: Mapping[str, LevelDiff],
    strategy: EmbeddingStrategy,
    parent_tables: Mapping[str, np.ndarray] | None,
    seed: int,
    starts: Mapping[str, np.ndarray] | None = None,
) -> dict[str, FeatureTables]:
    """Builds every table in `specs` with `strategy`; tables of one feature share a lookup.

    Args:
        specs: the tables, in model order.
        diffs: each feature's level diff.
        strategy: builds every table, so each freezes its old rows the same way.
        parent_tables: the parent's tables by table name, or None.
        seed: seeds random fresh rows (table k uses seed + k).
        starts: the new rows' starting values by table name, or None for random.

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
        start = None if starts is None else starts[table.name]
        frozen, fresh = initial_rows(diff, table.dim, parent, seed + index, start)
        tables[table.name] = FeatureTables(
            lookup=lookups[table.feature],
            embedding=strategy.build(name=f"{table.name}_embedding", frozen=frozen, fresh=fresh),
            first_new_row=frozen.shape[0],
            feature=table.feature,
        )
    return tables
