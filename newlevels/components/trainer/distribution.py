"""The `tf.distribute` strategy a Trainer builds, compiles and fits its model under.

`default` is TensorFlow's no-op strategy (one device). `mirrored` replicates the
model over the local GPUs of one machine (with none, over its logical CPU devices:
one unless configured with `tf.config.set_logical_device_configuration`).
`multi_worker_mirrored` spans several machines: it reads the cluster from
`TF_CONFIG`, which Vertex AI custom training sets for each replica.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

DEFAULT = "default"
FACTORIES: dict[str, Callable[[], tf.distribute.Strategy]] = {
    DEFAULT: tf.distribute.get_strategy,
    "mirrored": tf.distribute.MirroredStrategy,
    "multi_worker_mirrored": tf.distribute.MultiWorkerMirroredStrategy,
}


class UnknownDistributionError(ValueError):
    """Raised for a distribution name with no factory."""


def check_distribution(name: str) -> None:
    """Raises UnknownDistributionError, naming the choices, if `name` is not one."""
    if name not in FACTORIES:
        raise UnknownDistributionError(
            f"unknown distribution {name!r}: choose one of {', '.join(FACTORIES)}"
        )


def distribution_strategy(name: str) -> tf.distribute.Strategy:
    """Creates the strategy registered under `name`.

    Raises:
        UnknownDistributionError: naming the valid choices.
    """
    check_distribution(name)
    return FACTORIES[name]()


def is_chief(resolver: tf.distribute.cluster_resolver.ClusterResolver | None) -> bool:
    """Whether this replica writes the Trainer's outputs.

    True on one machine (no resolver, or an empty cluster), for the `chief` task,
    and for worker 0 of a cluster without a chief (TF_CONFIG's convention).
    """
    if resolver is None:
        return True
    cluster = resolver.cluster_spec().as_dict()
    if not cluster or resolver.task_type is None:
        return True
    if "chief" in cluster:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0
