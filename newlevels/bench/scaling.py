"""B2: training step time of each strategy as the table grows (pure Keras, synthetic ids).

A table of V rows x 32 dims, 1 % of them new; each step looks up a batch of ids drawn
uniformly from all V rows, sums each vector into a logit and applies one optimizer update.
Each (strategy, optimizer) runs with lazy sparse updates (the Trainer's default, see
`components/trainer/optimizers.py`) and with tf_keras's stock dense ones, side by side.
Every (strategy, V, optimizer, updates) runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from newlevels.bench import common

STRATEGIES = ("split", "masked", "constrained", "two_tables")
DIM = 32
NEW_FRACTION = 0.01
BATCH = 1024
SIZES = {"smoke": (1_000, 10_000), "full": (1_000, 100_000, 1_000_000)}
STEPS = {"smoke": (1, 3), "full": (10, 50)}  # (warm-up, timed)
#: (strategy, optimizer) pairs timed under each kind of sparse update.
PLAN = (*((s, "rmsprop") for s in STRATEGIES), ("masked", "sgd_momentum"))
UPDATES = ("lazy", "dense")


def step_case(
    strategy: str, rows: int, optimizer: str, warmup: int, steps: int, sparse_updates: str
) -> dict[str, Any]:
    """Times `steps` training steps of one strategy after `warmup` steps (run in a subprocess).

    Returns:
        median and p90 ms/step, and this process's peak RSS in MiB.
    """
    import tensorflow as tf
    import tf_keras as keras

    from newlevels.components.trainer.optimizers import with_sparse_updates
    from newlevels.components.trainer.strategies import get_strategy

    import_rss = common.peak_rss_mib()
    new = max(1, int(rows * NEW_FRACTION))
    rng = np.random.default_rng(0)
    frozen = rng.normal(0, 0.05, (rows - new, DIM)).astype(np.float32)
    fresh = rng.normal(0, 0.05, (new, DIM)).astype(np.float32)
    table = get_strategy(strategy).build(name="table", frozen=frozen, fresh=fresh)
    del frozen, fresh
    stock = (
        keras.optimizers.RMSprop(learning_rate=0.01)
        if optimizer == "rmsprop"
        else keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)
    )
    opt = with_sparse_updates(stock, sparse_updates)
    loss_fn = keras.losses.BinaryCrossentropy()
    ids = tf.constant(rng.integers(0, rows, (warmup + steps, BATCH)), tf.int64)
    labels = tf.constant(rng.integers(0, 2, (warmup + steps, BATCH)), tf.float32)
    table(ids[0])  # builds the variables

    @tf.function(autograph=False)
    def train_step(batch: tf.Tensor, label: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(label, tf.sigmoid(tf.reduce_sum(table(batch), axis=-1)))
        variables = table.trainable_variables
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    times = []
    for i in range(warmup + steps):
        started = time.perf_counter()
        train_step(ids[i], labels[i]).numpy()
        if i >= warmup:
            times.append((time.perf_counter() - started) * 1000)
    return {
        "ms_per_step": round(common.median(times), 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "peak_rss_mib": round(common.peak_rss_mib(), 1),
        "rss_after_imports_mib": round(import_rss, 1),
    }


def run(size: str) -> dict[str, Any]:
    """Every strategy at every V with RMSprop (the pipeline's) and masked with SGD momentum,
    each with lazy and with dense sparse updates.

    Returns:
        {"cases": [...], "ratios": {strategy/optimizer/updates: time at largest V / time
        at smallest}}.
    """
    warmup, steps = STEPS[size]
    cases = []
    for updates in UPDATES:
        for strategy, optimizer in PLAN:
            for rows in SIZES[size]:
                params = {
                    "strategy": strategy,
                    "rows": rows,
                    "optimizer": optimizer,
                    "sparse_updates": updates,
                }
                case = {**params, "warmup": warmup, "steps": steps}
                result = common.run_case("b2_step", case, fresh=size == "full")
                cases.append({**params, **result, "load": common.load_average()})
    ratios = {}
    for updates in UPDATES:
        for strategy, optimizer in PLAN:
            key = (strategy, optimizer, updates)
            times = {
                c["rows"]: c["ms_per_step"]
                for c in cases
                if (c["strategy"], c["optimizer"], c["sparse_updates"]) == key
            }
            small, large = min(times), max(times)
            ratios["/".join(key)] = round(times[large] / times[small], 2)
    return {
        "dim": DIM,
        "batch": BATCH,
        "new_fraction": NEW_FRACTION,
        "cases": cases,
        "ratios": ratios,
    }
