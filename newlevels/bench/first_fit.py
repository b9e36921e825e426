"""B3 (Trainer part): the first `fit` in a fresh process, AutoGraph on vs our override.

Keras's stock `make_train_function` wraps its loop in `tf.function` with AutoGraph on;
`AdditiveEmbeddingModel.make_train_function` traces the same step with AutoGraph off.
Each variant runs in its own fresh interpreter (AutoGraph's cache is per process), on a
MovieLens-shaped synthetic set: two features (8,869 and 671 levels, dim 2), 12,000 rows,
batch 64, one epoch; then a second fit of a second model in the same process.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from newlevels.bench import common

LEVELS = {"movieId": 8869, "userId": 671}


def fit_case(autograph: bool, rows: int, batch: int) -> dict[str, Any]:
    """Fits two fresh models in this process and times each `fit` (run in a subprocess).

    Returns:
        wall seconds of the first and second fit, their steps, and ms/step of each.
    """
    import tensorflow as tf
    import tf_keras as keras

    from newlevels.components.trainer.model import AdditiveEmbeddingModel, compile_model
    from newlevels.components.trainer.strategies import get_strategy
    from newlevels.components.trainer.tables import FeatureTables, TokenToRow

    class StockLoop(AdditiveEmbeddingModel):
        """The model with Keras's own train function (AutoGraph on)."""

        def make_train_function(self, force: bool = False):
            return keras.Model.make_train_function(self, force)

    rng = np.random.default_rng(0)
    vocab = {name: [f"{name}{i}" for i in range(n)] for name, n in LEVELS.items()}
    features = {name: rng.choice(tokens, rows) for name, tokens in vocab.items()}
    labels = rng.integers(0, 2, rows).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(batch)
    cls = StockLoop if autograph else AdditiveEmbeddingModel

    def fit_once() -> float:
        tables = {
            name: FeatureTables(
                TokenToRow(tokens),
                get_strategy("full").build(
                    name=f"{name}_embedding",
                    frozen=np.zeros((1, 2), np.float32),
                    fresh=rng.normal(0, 0.05, (len(tokens), 2)).astype(np.float32),
                ),
                1,
                name,
            )
            for name, tokens in vocab.items()
        }
        model = cls(tables)
        compile_model(model, 0.01)
        started = time.perf_counter()
        model.fit(dataset, epochs=1, verbose=0)
        return time.perf_counter() - started

    first, second = fit_once(), fit_once()
    steps = -(-rows // batch)
    return {
        "first_fit_s": round(first, 2),
        "second_fit_s": round(second, 2),
        "steps": steps,
        "first_ms_per_step": round(first / steps * 1000, 1),
        "second_ms_per_step": round(second / steps * 1000, 1),
        "peak_rss_mib": round(common.peak_rss_mib(), 1),
    }


#: the two train functions timed, in the order RESULTS.md shows them: name -> AutoGraph on.
VARIANTS = (("autograph_on_stock_keras", True), ("autograph_off_override", False))


def run(size: str) -> dict[str, Any]:
    """Both variants, each in a fresh process."""
    rows = 2_000 if size == "smoke" else 12_000
    return {
        name: {
            **common.run_case("b3_first_fit", {"autograph": on, "rows": rows, "batch": 64}),
            "load": common.load_average(),
        }
        for name, on in VARIANTS
    }
