"""The `mf` family keeps old user/item rows, old biases and the global bias bit-identical."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.trainer import artifacts, families
from newlevels.components.trainer.model import MatrixFactorizationModel
from newlevels.components.trainer.settings import (
    Role,
    TrainerSettings,
    TrainingOptions,
    TrainingOptionsError,
)
from newlevels.components.trainer.strategies import INCREMENTAL, get_strategy
from newlevels.components.trainer.tables import build_table_set
from newlevels.pipeline.config import RunConfig
from newlevels.pipeline.errors import ConfigError
from newlevels.transforms.features import DataSpec
from tests import manifests
from tests.test_strategies import NEW, OLD, OPTIMIZERS, level_diffs, mixed_batches

SPEC = DataSpec.build(["item", "user"], "label", "id")
DIM = 3
FAMILY = families.get_family("mf", user_column="user", item_column="item")
GLOBAL_BIAS = np.float32(0.25)


def parent_tables(seed: int = 7) -> dict[str, np.ndarray]:
    """Random parent rows for every mf table: vectors (width 3) and biases (width 1)."""
    rng = np.random.default_rng(seed)
    return {
        table.name: rng.normal(size=(1 + len(OLD[table.feature]), table.dim)).astype(np.float32)
        for table in FAMILY.table_specs(SPEC, DIM)
    }


def build(strategy: str, parents, train_shared: bool) -> MatrixFactorizationModel:
    tables = build_table_set(
        FAMILY.table_specs(SPEC, DIM), level_diffs(), get_strategy(strategy), parents, 3
    )
    return FAMILY.build(tables, {"global_bias": GLOBAL_BIAS}, train_shared)


def test_mf_has_a_vector_and_a_one_wide_bias_table_per_column():
    specs = {t.name: (t.feature, t.dim) for t in FAMILY.table_specs(SPEC, DIM)}
    assert specs == {
        "user": ("user", 3),
        "item": ("item", 3),
        "user_bias": ("user", 1),
        "item_bias": ("item", 1),
    }


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("strategy", INCREMENTAL)
def test_mf_old_rows_old_biases_and_global_bias_are_bit_identical(strategy, optimizer):
    parents = parent_tables()
    model = build(strategy, parents, train_shared=False)
    start = {name: table.full_table().numpy() for name, table in model.embeddings.items()}
    model.compile(optimizer=OPTIMIZERS[optimizer](), loss="binary_crossentropy")
    model.fit(mixed_batches(), epochs=3, verbose=0)
    for name, parent in parents.items():
        table = model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[: len(parent)] - parent)) == 0.0, name
        assert not np.array_equal(table[len(parent) :], start[name][len(parent) :]), (
            f"new rows of {name} should have moved away from their initialisation"
        )
    assert np.abs(model.shared_weights()["global_bias"] - GLOBAL_BIAS) == 0.0


def test_mf_global_bias_trains_only_when_shared_weights_are_unfrozen():
    parents = parent_tables()
    model = build("split", parents, train_shared=True)
    model.compile(optimizer=OPTIMIZERS["adam"](), loss="binary_crossentropy")
    model.fit(mixed_batches(), epochs=2, verbose=0)
    assert model.shared_weights()["global_bias"] != GLOBAL_BIAS
    for name, parent in parents.items():
        table = model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[: len(parent)] - parent)) == 0.0, name


def test_mf_logit_is_dot_plus_biases_plus_global_bias():
    parents = parent_tables()
    model = build("split", parents, train_shared=False)
    features = {"item": tf.constant(["i2", "never"]), "user": tf.constant(["u1", "u3"])}
    item, user = [3, 0], [2, 4]  # token k of OLD is row k + 1; row 0 is OOV
    logit = (
        np.sum(parents["user"][user] * parents["item"][item], axis=-1)
        + parents["user_bias"][user, 0]
        + parents["item_bias"][item, 0]
        + GLOBAL_BIAS
    )
    np.testing.assert_allclose(model(features).numpy(), 1 / (1 + np.exp(-logit)), rtol=1e-6)
    assert model.has_new_level(
        {"item": tf.constant(["i0", NEW["item"][0]]), "user": tf.constant(["u0", "u0"])}
    ).numpy().tolist() == [False, True]


def test_mf_tables_and_global_bias_round_trip_through_embeddings(tmp_path):
    parents = parent_tables()
    model = build("split", parents, train_shared=False)
    diffs = level_diffs()
    rows = {
        name: artifacts.FeatureRows.from_table(
            diffs[model.table_features[name]].merged, table.full_table().numpy()
        )
        for name, table in model.embeddings.items()
    }
    manifest = manifests.manifest(
        ["item", "user"], tables=dict(model.table_features), shared=("global_bias",)
    )
    artifacts.write_embeddings(str(tmp_path), manifest, rows, model.shared_weights())
    assert (tmp_path / "embeddings" / "item_bias" / "weights.npy").exists()
    read = artifacts.read_embeddings(str(tmp_path))
    assert read.shared["global_bias"] == GLOBAL_BIAS
    for name, table in rows.items():
        np.testing.assert_array_equal(read.features[name].table, table.table)


def test_mf_needs_its_user_and_item_to_be_the_categorical_columns():
    with pytest.raises(families.ModelFamilyError, match="--user-col"):
        TrainerSettings(
            data_spec=SPEC,
            role=Role.INCREMENTAL,
            strategy="split",
            options=TrainingOptions(model="mf", user_column="who"),
        )
    with pytest.raises(ConfigError, match="--user-col"):
        RunConfig(
            data_root="/d",
            span=1,
            workdir="/w",
            data_spec=SPEC,
            options=TrainingOptions(model="mf"),
        )
    with pytest.raises(TrainingOptionsError, match="unknown model"):
        TrainingOptions(model="deep")


@pytest.mark.parametrize("unfreeze", [False, True])
def test_build_model_trains_the_global_bias_of_a_child_only_with_unfreeze_shared(unfreeze):
    from newlevels.components.trainer import train

    settings = TrainerSettings(
        data_spec=SPEC,
        role=Role.INCREMENTAL,
        strategy="masked",
        options=TrainingOptions(
            model="mf",
            user_column="user",
            item_column="item",
            unfreeze_shared=unfreeze,
            replay_fraction=0.2 if unfreeze else 0.0,
            embedding_dim=DIM,
        ),
    )
    parents = parent_tables()
    model = train.build_model(settings, level_diffs(), parents, {"global_bias": GLOBAL_BIAS})
    model.fit(mixed_batches().map(lambda x, y: (x, tf.cast(y, tf.float32))), epochs=2, verbose=0)
    moved = model.shared_weights()["global_bias"] != GLOBAL_BIAS
    assert moved == unfreeze
    for name, parent in parents.items():
        table = model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[: len(parent)] - parent)) == 0.0, name
    first = train.build_model(settings, level_diffs(), None)
    assert first.global_bias.trainable, "a model without a parent learns its global bias"
