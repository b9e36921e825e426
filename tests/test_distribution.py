"""The Trainer builds and fits under the chosen tf.distribute strategy, old rows still frozen."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.trainer import train
from newlevels.components.trainer.distribution import UnknownDistributionError, is_chief
from newlevels.components.trainer.levels import diff_levels
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.components.trainer.strategies import INCREMENTAL
from tests.test_strategies import NEW, OLD, SPEC, mixed_batches, parent_tables


def settings(strategy: str, distribution: str) -> TrainerSettings:
    return TrainerSettings(
        data_spec=SPEC,
        role=Role.INCREMENTAL,
        strategy=strategy,
        options=TrainingOptions(learning_rate=0.05, distribution=distribution),
    )


@pytest.mark.parametrize("strategy", INCREMENTAL)
def test_mirrored_training_on_cpu_keeps_old_rows_bit_identical(strategy):
    parents = parent_tables()
    diffs = {name: diff_levels(name, OLD[name], [*OLD[name], *NEW[name]]) for name in OLD}
    model = train.build_model(settings(strategy, "mirrored"), diffs, parents)
    assert isinstance(model.distribute_strategy, tf.distribute.MirroredStrategy)
    start = {name: model.embeddings[name].full_table().numpy() for name in OLD}

    history = model.fit(mixed_batches(), epochs=3, verbose=0)

    assert np.isfinite(history.history["loss"]).all()
    for name, parent in parents.items():
        table = model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[: len(parent)] - parent)) == 0.0
        assert not np.array_equal(table[len(parent) :], start[name][len(parent) :])


def test_settings_round_trip_the_distribution_through_custom_config():
    original = settings("split", "multi_worker_mirrored")
    assert TrainerSettings.from_custom_config(original.to_custom_config()) == original


def test_unknown_distribution_is_refused_with_the_choices():
    with pytest.raises(UnknownDistributionError, match="mirrored, multi_worker_mirrored"):
        settings("split", "tpu")


@pytest.mark.parametrize(
    ("cluster", "task_type", "task_id", "chief"),
    [
        ({}, None, None, True),
        ({"worker": ["w0:2222", "w1:2222"]}, "worker", 0, True),
        ({"worker": ["w0:2222", "w1:2222"]}, "worker", 1, False),
        ({"chief": ["c:2222"], "worker": ["w0:2222"]}, "worker", 0, False),
        ({"chief": ["c:2222"], "worker": ["w0:2222"]}, "chief", 0, True),
    ],
)
def test_only_the_chief_replica_writes_the_model_artifact(cluster, task_type, task_id, chief):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id
    )
    assert is_chief(resolver) is chief
    assert is_chief(None)
