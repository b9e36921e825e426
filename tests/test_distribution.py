"""The Trainer builds and fits under the chosen tf.distribute strategy, old rows still frozen."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.trainer import train
from newlevels.components.trainer.distribution import UnknownDistributionError, is_chief
from newlevels.components.trainer.levels import diff_levels
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.components.trainer.strategies import INCREMENTAL
from tests.test_strategies import DIM, NEW, OLD, SPEC, mixed_batches, parent_tables

REPO = pathlib.Path(__file__).resolve().parent.parent


def settings(strategy: str, distribution: str) -> TrainerSettings:
    return TrainerSettings(
        data_spec=SPEC,
        role=Role.INCREMENTAL,
        strategy=strategy,
        options=TrainingOptions(learning_rate=0.05, distribution=distribution, embedding_dim=DIM),
    )


#: logical CPU devices the mirrored run replicates over, and the rows of each batch.
REPLICAS, BATCH = 2, 32


def mirrored_run(strategy: str) -> dict:
    """Fits under `mirrored` over the logical CPU devices of this process; what it saw."""
    parents = parent_tables()
    diffs = {name: diff_levels(name, OLD[name], [*OLD[name], *NEW[name]]) for name in OLD}
    model = train.build_model(settings(strategy, "mirrored"), diffs, parents)
    distribute = model.distribute_strategy
    first = next(iter(distribute.experimental_distribute_dataset(mixed_batches())))
    rows_per_replica = [int(t.shape[0]) for t in distribute.experimental_local_results(first[1])]
    start = {name: model.embeddings[name].full_table().numpy() for name in OLD}
    history = model.fit(mixed_batches(), epochs=3, verbose=0)
    tables = {name: model.embeddings[name].full_table().numpy() for name in OLD}
    return {
        "mirrored": isinstance(distribute, tf.distribute.MirroredStrategy),
        "replicas": distribute.num_replicas_in_sync,
        "rows_per_replica": rows_per_replica,
        "loss_finite": bool(np.isfinite(history.history["loss"]).all()),
        "old_rows_max_abs_change": {
            name: float(np.max(np.abs(tables[name][: len(p)] - p))) for name, p in parents.items()
        },
        "new_rows_moved": {
            name: not np.array_equal(tables[name][len(p) :], start[name][len(p) :])
            for name, p in parents.items()
        },
    }


def main(strategies: list[str]) -> None:
    """Runs `mirrored_run` for each strategy on REPLICAS logical CPUs; prints JSON."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(REPLICAS)]
    )
    print(json.dumps({strategy: mirrored_run(strategy) for strategy in strategies}))


@pytest.fixture(scope="module")
def mirrored_runs() -> dict[str, dict]:
    """Every strategy fit in one fresh process: logical devices are set before TF starts."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.test_distribution", *INCREMENTAL],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("strategy", INCREMENTAL)
def test_mirrored_training_on_two_cpu_replicas_keeps_old_rows_bit_identical(
    mirrored_runs, strategy
):
    run = mirrored_runs[strategy]
    assert run["mirrored"] and run["replicas"] == REPLICAS
    assert run["rows_per_replica"] == [BATCH // REPLICAS] * REPLICAS, "each replica gets half"
    assert run["loss_finite"]
    assert run["old_rows_max_abs_change"] == {name: 0.0 for name in OLD}
    assert all(run["new_rows_moved"].values())


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


if __name__ == "__main__":
    main(sys.argv[1:])
