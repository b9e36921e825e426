"""The incremental strategies learn the same new rows, and refuse what would move old rows."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from newlevels.components.trainer.optimizers import SPARSE_UPDATES, with_sparse_updates
from newlevels.components.trainer.strategies import INCREMENTAL, FrozenRowsError
from tests.test_strategies import NEW, OLD, OPTIMIZERS, build, mixed_batches, parent_tables

#: strategies whose old rows never get a non-zero gradient into the optimizer.
GRADIENT_FREE_OLD_ROWS = ("two_tables", "split", "masked")


def train(strategy: str, optimizer: keras.optimizers.Optimizer):
    """Trains `strategy` from the same parents, fresh rows, data order and seed."""
    keras.utils.set_random_seed(0)
    model = build(strategy, parent_tables())
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    model.fit(mixed_batches(), epochs=3, verbose=0, shuffle=False)
    return model


def tables(model) -> dict[str, np.ndarray]:
    return {name: model.embeddings[name].full_table().numpy() for name in OLD}


def predictions(model) -> np.ndarray:
    """On every (item, user) pair of old, new and unseen tokens."""
    items, users = ([*OLD[n], *NEW[n], "never"] for n in ("item", "user"))
    pairs = [(item, user) for item in items for user in users]
    return model(
        {"item": tf.constant([p[0] for p in pairs]), "user": tf.constant([p[1] for p in pairs])}
    ).numpy()


@pytest.mark.parametrize("sparse_updates", SPARSE_UPDATES)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_incremental_strategy_learns_the_same_new_rows_and_predictions(
    optimizer, sparse_updates
):
    trained = {
        s: train(s, with_sparse_updates(OPTIMIZERS[optimizer](), sparse_updates))
        for s in INCREMENTAL
    }
    reference = trained["split"]
    for model in trained.values():
        for name, table in tables(model).items():
            np.testing.assert_allclose(table, tables(reference)[name], rtol=0, atol=1e-6)
        np.testing.assert_allclose(predictions(model), predictions(reference), rtol=0, atol=1e-6)


def test_constrained_differs_under_global_norm_clipping_because_old_rows_count_in_the_norm():
    """`constrained` computes (and then discards) gradients for old rows; the global norm
    includes them, so its new rows are clipped harder. The other three agree."""
    trained = {s: train(s, keras.optimizers.SGD(0.05, global_clipnorm=0.01)) for s in INCREMENTAL}
    new_rows = {
        s: {n: t[len(OLD[n]) + 1 :] for n, t in tables(m).items()} for s, m in trained.items()
    }
    for strategy in GRADIENT_FREE_OLD_ROWS:
        for name in OLD:
            np.testing.assert_allclose(new_rows[strategy][name], new_rows["split"][name], atol=1e-6)
    gap = max(np.abs(new_rows["constrained"][n] - new_rows["split"][n]).max() for n in OLD)
    assert gap > 1e-3
    # What makes the difference: the old rows' share of the gradient constrained clips with.
    model = trained["constrained"]
    batch, labels = next(iter(mixed_batches()))
    with tf.GradientTape() as tape:
        loss = keras.losses.binary_crossentropy(labels, model(batch))
    gradient = tape.gradient(loss, model.embeddings["item"].trainable_variables[0])
    old_rows = gradient.indices.numpy() < len(OLD["item"]) + 1
    assert np.abs(gradient.values.numpy()[old_rows]).max() > 0.0


@pytest.mark.parametrize("strategy", GRADIENT_FREE_OLD_ROWS)
def test_the_trainable_table_gets_gradient_entries_for_new_rows_only(strategy):
    """One entry per looked-up new row and none for old rows, so a lazy optimizer
    touches the slots of the new rows the batch used and nothing else."""
    model = build(strategy, parent_tables())
    batch, labels = next(iter(mixed_batches()))
    with tf.GradientTape() as tape:
        loss = keras.losses.binary_crossentropy(labels, model(batch))
    variables = {name: model.embeddings[name].trainable_variables[0] for name in OLD}
    gradients = tape.gradient(loss, variables)
    for name, rows in model.rows(batch).items():
        first_new = len(OLD[name]) + 1
        new_rows = rows.numpy()[rows.numpy() >= first_new]
        assert 0 < len(new_rows) < len(rows)
        table_rows = new_rows if strategy == "masked" else new_rows - first_new
        assert sorted(gradients[name].indices.numpy()) == sorted(table_rows)


@pytest.mark.parametrize("sparse_updates", SPARSE_UPDATES)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_masked_keeps_every_optimizer_slot_of_an_old_row_at_zero(optimizer, sparse_updates):
    model = train("masked", with_sparse_updates(OPTIMIZERS[optimizer](), sparse_updates))
    for name in OLD:
        table = model.embeddings[name].embeddings
        slots = [v for v in model.optimizer.variables if v.shape == table.shape]
        assert slots, "the optimizer keeps per-row slots for the table"
        frozen = len(OLD[name]) + 1
        for slot in slots:
            assert not np.any(slot.numpy()[:frozen]), slot.name
            assert np.any(slot.numpy()[frozen:]), "new rows' slots did move"


@pytest.mark.parametrize(
    ("strategy", "optimizer"),
    [
        ("masked", lambda: keras.optimizers.AdamW(0.01)),
        ("masked", lambda: keras.optimizers.SGD(0.01, weight_decay=0.1)),
        ("masked", lambda: keras.optimizers.RMSprop(0.01, use_ema=True)),
        ("constrained", lambda: keras.optimizers.Adam(0.01, use_ema=True)),
    ],
)
def test_options_that_act_on_the_whole_variable_are_refused(strategy, optimizer):
    model = build(strategy, parent_tables())
    with pytest.raises(FrozenRowsError, match=f"strategy '{strategy}' cannot use"):
        model.compile(optimizer=optimizer(), loss="binary_crossentropy")


@pytest.mark.parametrize("strategy", ("split", "two_tables"))
def test_weight_decay_and_ema_leave_old_rows_that_are_not_trainable_alone(strategy):
    model = train(strategy, keras.optimizers.AdamW(0.05, weight_decay=0.5, use_ema=True))
    for name, parent in parent_tables().items():
        assert np.max(np.abs(tables(model)[name][: len(parent)] - parent)) == 0.0


def test_two_tables_allocates_the_new_table_for_the_new_levels_only():
    model = build("two_tables", parent_tables())
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    layer = model.embeddings["item"]
    assert layer.frozen.shape == (1 + len(OLD["item"]), 3) and not layer.frozen.trainable
    assert [v.shape for v in layer.trainable_variables] == [(len(NEW["item"]), 3)]
