"""Lazy sparse updates equal the stock ones on touched rows and leave every other row alone."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from newlevels.components.trainer.model import compile_model
from newlevels.components.trainer.optimizers import (
    LazyAdam,
    LazyRMSprop,
    LazySGD,
    LazyUpdatesUnsupportedError,
    UnknownSparseUpdatesError,
    with_sparse_updates,
)
from tests.test_strategies import build, parent_tables

ROWS, DIM = 12, 4
TOUCHED = [7, 2, 9]
STOCK = {
    "rmsprop": lambda: keras.optimizers.RMSprop(0.05),
    "rmsprop_centered_momentum": lambda: keras.optimizers.RMSprop(
        0.05, momentum=0.5, centered=True
    ),
    "adam": lambda: keras.optimizers.Adam(0.05),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.05, amsgrad=True),
    "sgd": lambda: keras.optimizers.SGD(0.05),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
}


def start() -> np.ndarray:
    return np.random.default_rng(1).normal(size=(ROWS, DIM)).astype(np.float32)


def sparse_gradient(step: int, rows: list[int]) -> tf.IndexedSlices:
    """Values for `rows`, with the first row repeated (apply_gradients sums duplicates)."""
    indices = [*rows, rows[0]]
    values = np.random.default_rng(100 + step).normal(size=(len(indices), DIM))
    return tf.IndexedSlices(
        tf.constant(values, tf.float32), tf.constant(indices, tf.int64), tf.constant([ROWS, DIM])
    )


def train(optimizer: keras.optimizers.Optimizer, gradients, dense: bool = False):
    """Applies each gradient in turn (as a dense tensor if `dense`); returns var and slots."""
    variable = tf.Variable(start())
    for gradient in gradients:
        if dense:
            gradient = tf.convert_to_tensor(gradient)
        optimizer.apply_gradients([(gradient, variable)])
    slots = [v.numpy() for v in optimizer.variables if v.shape == variable.shape]
    return variable.numpy(), slots


def lazy(name: str) -> keras.optimizers.Optimizer:
    return with_sparse_updates(STOCK[name](), "lazy")


@pytest.mark.parametrize("name", sorted(STOCK))
def test_lazy_update_equals_the_dense_one_on_rows_touched_every_step(name):
    """Equal to float rounding, not bit for bit: TF's vectorized `rsqrt` and its scalar
    tail round differently, so a 3-row and a 12-row tensor may differ in the last bit."""
    gradients = [sparse_gradient(step, TOUCHED) for step in range(4)]
    lazy_var, lazy_slots = train(lazy(name), gradients)
    dense_var, dense_slots = train(STOCK[name](), gradients, dense=True)
    np.testing.assert_allclose(lazy_var[TOUCHED], dense_var[TOUCHED], rtol=1e-6, atol=1e-7)
    assert lazy_slots and len(lazy_slots) == len(dense_slots)
    for lazy_slot, dense_slot in zip(lazy_slots, dense_slots, strict=True):
        np.testing.assert_allclose(lazy_slot[TOUCHED], dense_slot[TOUCHED], rtol=1e-6, atol=1e-7)
    assert not np.array_equal(lazy_var[TOUCHED], start()[TOUCHED])


@pytest.mark.parametrize("name", sorted(STOCK))
def test_rows_a_step_does_not_touch_keep_their_value_and_slots(name):
    """Row 7 is touched in step 0 only; rows outside TOUCHED never are."""
    optimizer = lazy(name)
    variable = tf.Variable(start())
    optimizer.apply_gradients([(sparse_gradient(0, TOUCHED), variable)])
    after_first = variable.numpy()
    slots_after_first = [v.numpy() for v in optimizer.variables if v.shape == variable.shape]
    for step in range(1, 4):
        optimizer.apply_gradients([(sparse_gradient(step, [2, 9]), variable)])
    table = variable.numpy()
    untouched = [row for row in range(ROWS) if row not in TOUCHED]
    assert np.max(np.abs(table[untouched] - start()[untouched])) == 0.0
    assert np.max(np.abs(table[7] - after_first[7])) == 0.0
    slots = [v.numpy() for v in optimizer.variables if v.shape == variable.shape]
    for slot, first in zip(slots, slots_after_first, strict=True):
        assert not np.any(slot[untouched])
        np.testing.assert_array_equal(slot[7], first[7])
    assert not np.array_equal(table[[2, 9]], after_first[[2, 9]])


@pytest.mark.parametrize("name", ("rmsprop", "adam", "sgd_momentum"))
def test_the_stock_update_does_move_a_skipped_row_or_its_slots(name):
    """What lazy updates change: the stock update rewrites rows the gradient skipped."""
    optimizer = STOCK[name]()
    variable = tf.Variable(start())
    optimizer.apply_gradients([(sparse_gradient(0, TOUCHED), variable)])
    before = [variable.numpy()] + [v.numpy() for v in optimizer.variables[1:]]
    optimizer.apply_gradients([(sparse_gradient(1, [2, 9]), variable)])
    after = [variable.numpy()] + [v.numpy() for v in optimizer.variables[1:]]
    assert any(not np.array_equal(b[7], a[7]) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("name", sorted(STOCK))
def test_dense_gradients_take_the_stock_path(name):
    gradients = [tf.convert_to_tensor(sparse_gradient(step, TOUCHED)) + 0.1 for step in range(3)]
    lazy_var, lazy_slots = train(lazy(name), gradients)
    stock_var, stock_slots = train(STOCK[name](), gradients)
    np.testing.assert_array_equal(lazy_var, stock_var)
    for lazy_slot, stock_slot in zip(lazy_slots, stock_slots, strict=True):
        np.testing.assert_array_equal(lazy_slot, stock_slot)


def test_lazy_variants_keep_the_stock_config():
    stock = keras.optimizers.RMSprop(0.03, rho=0.8, momentum=0.2, global_clipnorm=1.0)
    variant = with_sparse_updates(stock, "lazy")
    assert isinstance(variant, LazyRMSprop)
    assert variant.get_config() == stock.get_config()
    assert isinstance(with_sparse_updates(keras.optimizers.Adam(), "lazy"), LazyAdam)
    assert isinstance(with_sparse_updates(keras.optimizers.SGD(), "lazy"), LazySGD)
    assert with_sparse_updates(stock, "dense") is stock


def test_lazy_updates_refuse_an_optimizer_without_a_lazy_variant():
    with pytest.raises(LazyUpdatesUnsupportedError, match="Adagrad has no lazy sparse updates"):
        with_sparse_updates(keras.optimizers.Adagrad(), "lazy")
    with pytest.raises(UnknownSparseUpdatesError, match="choose one of lazy, dense"):
        with_sparse_updates(keras.optimizers.SGD(), "eager")


@pytest.mark.parametrize(("sparse_updates", "expected"), [("lazy", LazyRMSprop), ("dense", None)])
def test_the_trainer_compiles_with_the_optimizer_its_settings_ask_for(sparse_updates, expected):
    model = build("split", parent_tables())
    compile_model(model, 0.02, sparse_updates)
    assert type(model.optimizer) is (expected or keras.optimizers.RMSprop)
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.02)
