"""Every incremental strategy keeps the parent's rows bit-identical under common optimizers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from newlevels.components.trainer.levels import LevelDiff, diff_levels
from newlevels.components.trainer.model import AdditiveEmbeddingModel
from newlevels.components.trainer.optimizers import SPARSE_UPDATES, with_sparse_updates
from newlevels.components.trainer.strategies import INCREMENTAL, UnknownStrategyError, get_strategy
from newlevels.components.trainer.tables import build_tables
from newlevels.transforms.features import DataSpec

SPEC = DataSpec.build(["item", "user"], "label", "id")
DIM = 3
OLD = {"item": [f"i{k}" for k in range(6)], "user": [f"u{k}" for k in range(4)]}
NEW = {"item": ["i_new0", "i_new1"], "user": ["u_new"]}
OPTIMIZERS = {
    "rmsprop": lambda: keras.optimizers.RMSprop(0.05),
    "adam": lambda: keras.optimizers.Adam(0.05),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
}


def parent_tables(seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        name: rng.normal(size=(1 + len(tokens), 3)).astype(np.float32)
        for name, tokens in OLD.items()
    }


def mixed_batches() -> tf.data.Dataset:
    """Rows mixing old and new levels, so old rows do receive gradients."""
    rng = np.random.default_rng(0)
    rows = 256
    items = rng.choice(OLD["item"] + NEW["item"], rows)
    users = rng.choice(OLD["user"] + NEW["user"], rows)
    labels = rng.integers(0, 2, rows).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices(({"item": items, "user": users}, labels)).batch(32)


def level_diffs() -> dict[str, LevelDiff]:
    """OLD extended by NEW; the current vocabulary lists the new tokens first."""
    return {name: diff_levels(name, OLD[name], [*NEW[name], *reversed(OLD[name])]) for name in OLD}


def build(strategy: str, parents: dict[str, np.ndarray]) -> AdditiveEmbeddingModel:
    return AdditiveEmbeddingModel(
        build_tables(SPEC, level_diffs(), get_strategy(strategy), parents, 3, dim=DIM)
    )


@pytest.mark.parametrize("sparse_updates", SPARSE_UPDATES)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("strategy", INCREMENTAL)
def test_old_rows_are_bit_identical_after_training(strategy, optimizer, sparse_updates):
    parents = parent_tables()
    model = build(strategy, parents)
    start = {name: model.embeddings[name].full_table().numpy() for name in OLD}
    model.compile(
        optimizer=with_sparse_updates(OPTIMIZERS[optimizer](), sparse_updates),
        loss="binary_crossentropy",
    )
    model.fit(mixed_batches(), epochs=3, verbose=0)
    for name, parent in parents.items():
        table = model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[: len(parent)] - parent)) == 0.0
        assert not np.array_equal(table[len(parent) :], start[name][len(parent) :]), (
            "new rows should have moved away from their initialisation"
        )


@pytest.mark.parametrize("strategy", INCREMENTAL)
def test_tokens_map_to_their_rows_and_unseen_tokens_to_the_oov_row(strategy):
    parents = parent_tables()
    model = build(strategy, parents)
    rows = model.rows(
        {"item": tf.constant(["i0", "i5", "i_new1", "never"]), "user": tf.constant(["u3"] * 4)}
    )
    assert rows["item"].numpy().tolist() == [1, 6, 8, 0]
    vectors = model.embeddings["item"](rows["item"]).numpy()
    np.testing.assert_array_equal(vectors[0], parents["item"][1])
    np.testing.assert_array_equal(vectors[3], parents["item"][0])


@pytest.mark.parametrize("strategy", INCREMENTAL)
def test_a_table_looks_up_rows_of_any_shape_in_its_full_table(strategy):
    table = build(strategy, parent_tables()).embeddings["item"]
    rows = tf.constant([[1, 7, 0], [8, 3, 7]], tf.int64)
    vectors = table(rows)
    assert vectors.shape == (2, 3, 3)
    np.testing.assert_array_equal(vectors.numpy(), table.full_table().numpy()[rows.numpy()])


@pytest.mark.parametrize("strategy", INCREMENTAL)
def test_has_new_level_marks_rows_holding_any_new_token(strategy):
    model = build(strategy, parent_tables())
    flags = model.has_new_level(
        {
            "item": tf.constant(["i0", "i_new0", "i1", "never"]),
            "user": tf.constant(["u0", "u1", "u_new", "u2"]),
        }
    )
    assert flags.numpy().tolist() == [False, True, True, False]


def test_unknown_strategy_names_the_choices():
    with pytest.raises(UnknownStrategyError, match="choose one of"):
        get_strategy("sideways")
