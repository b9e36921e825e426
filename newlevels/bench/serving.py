"""B5: predictions per second of a serving SavedModel, incremental vs full, side by side.

`serving_default(examples=tf.string[None])` is called on batches of 1 and 256 serialized
tf.Examples. The two models are timed in alternating rounds in one process, so drift in
the machine's load hits both alike. The smoke size exports tiny pure-Keras models (a split
table and a full table, same vocabulary, each folded as the Trainer's export folds it)
with the same signature; the full size loads the two models a MovieLens run wrote.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from newlevels.bench import common

BATCHES = (1, 256)


def serialized_examples(features: Mapping[str, Sequence[str]], count: int) -> list[bytes]:
    """`count` tf.Examples with one bytes feature per name, cycling through its tokens."""
    import tensorflow as tf

    examples = []
    for i in range(count):
        feature = {
            name: tf.train.Feature(
                bytes_list=tf.train.BytesList(value=[tokens[i % len(tokens)].encode()])
            )
            for name, tokens in features.items()
        }
        examples.append(tf.train.Example(features=tf.train.Features(feature=feature)))
    return [e.SerializeToString() for e in examples]


def predictions_per_second(
    models: Mapping[str, str],
    examples: Sequence[bytes],
    rounds: int,
    seconds: float,
    loads: int = 1,
) -> dict[str, Any]:
    """Loads each SavedModel `loads` times and times `serving_default` in alternating rounds.

    Separate loads of one model can serve batch 256 at different rates (the runtime's
    thread pools schedule each loaded function's ops their own way; RESULTS.md shows the
    gap per row), so a model's rate in a round is its calls over all its loads, each
    timed for `seconds / loads`.

    Args:
        models: label -> SavedModel directory.
        examples: serialized tf.Examples (at least max(BATCHES)).
        rounds: alternating rounds per batch size.
        seconds: wall time of each model in each round (split among its loads).
        loads: separate loads of each model, made in alternation.

    Returns:
        {"models": the labels in `models`' order (A, then B), "loads": loads, batch:
        {label: median predictions/s over rounds}, "ratio_<batch>": the median over
        rounds of A/B, "ratio_<batch>_range": their min and max, "per_load_<batch>":
        {label: each load's median predictions/s}}.
    """
    import tensorflow as tf

    serve: dict[str, list[Any]] = {label: [] for label in models}
    for _ in range(loads):
        for label, path in models.items():
            serve[label].append(tf.saved_model.load(path).signatures["serving_default"])
    # A and B are named here, not left to the order of a dict that may be re-sorted.
    results: dict[str, Any] = {"models": list(models), "loads": loads}
    for batch in BATCHES:
        tensor = tf.constant(list(examples[:batch]))
        for fns in serve.values():
            for fn in fns:
                for _ in range(20):
                    fn(examples=tensor)  # warm-up
        rates: dict[str, list[float]] = {label: [] for label in serve}
        per_load: dict[str, list[list[float]]] = {
            label: [[] for _ in fns] for label, fns in serve.items()
        }
        for round_ in range(rounds):
            # ABBA order: neither model always runs first in a round.
            order = list(serve.items()) if round_ % 2 == 0 else list(serve.items())[::-1]
            for label, fns in order:
                total_calls, total_time = 0, 0.0
                for index, fn in enumerate(fns):
                    calls, started = 0, time.perf_counter()
                    while time.perf_counter() - started < seconds / loads:
                        fn(examples=tensor)
                        calls += 1
                    elapsed = time.perf_counter() - started
                    per_load[label][index].append(calls * batch / elapsed)
                    total_calls, total_time = total_calls + calls, total_time + elapsed
                rates[label].append(total_calls * batch / total_time)
        medians = {label: round(common.median(r), 1) for label, r in rates.items()}
        first, second = (rates[label] for label in serve)
        paired = sorted(a / b for a, b in zip(first, second, strict=True))
        results[str(batch)] = medians
        # The median of per-round ratios: a burst of load hits both models of a round.
        results[f"ratio_{batch}"] = round(common.median(paired), 3)
        results[f"ratio_{batch}_range"] = [round(paired[0], 3), round(paired[-1], 3)]
        results[f"per_load_{batch}"] = {
            label: [round(common.median(r), 1) for r in load_rates]
            for label, load_rates in per_load.items()
        }
    results["load"] = common.load_average()
    return results


def set_inter_op_threads(threads: int) -> None:
    """Sizes the TF runtime's inter-op thread pool (0: TF's default, one per core).

    Must run before the process's first TF op. With the default pool, separate loads
    of one model can settle on different batch-256 rates; B5 runs with both settings
    and RESULTS.md shows how far apart the loads of each model were.
    """
    import tensorflow as tf

    if threads:
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def tiny_case(levels: int, rounds: int, seconds: float, loads: int = 1) -> dict[str, Any]:
    """Exports a split and a full tiny model with one vocabulary and times both (subprocess)."""
    import tensorflow as tf

    from newlevels.components.trainer.families import get_family
    from newlevels.components.trainer.folding import fold
    from newlevels.components.trainer.model import AdditiveEmbeddingModel
    from newlevels.components.trainer.strategies import get_strategy
    from newlevels.components.trainer.tables import FeatureTables, TokenToRow

    rng = np.random.default_rng(0)
    tokens = [f"t{i}" for i in range(levels)]
    old = levels - levels // 10

    def export(strategy: str, directory: str) -> None:
        table = rng.normal(0, 0.1, (levels + 1, 2)).astype(np.float32)
        first_new = old + 1 if strategy == "split" else 1
        layer = get_strategy(strategy).build(
            name="f_embedding", frozen=table[:first_new], fresh=table[first_new:]
        )
        trained = AdditiveEmbeddingModel(
            {"f": FeatureTables(TokenToRow(tokens), layer, first_new, "f")}
        )
        model = fold(trained, get_family("additive"))
        module = tf.Module()
        module.model = model
        spec = {"f": tf.io.FixedLenFeature([], tf.string)}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve(serialized: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"probability": model(tf.io.parse_example(serialized, spec))}

        tf.saved_model.save(module, directory, signatures={"serving_default": serve})

    with tempfile.TemporaryDirectory() as tmp:
        export("split", f"{tmp}/incremental")
        export("full", f"{tmp}/full")
        examples = serialized_examples({"f": tokens}, max(BATCHES))
        models = {"incremental": f"{tmp}/incremental", "full": f"{tmp}/full"}
        return predictions_per_second(models, examples, rounds, seconds, loads)


def run_tiny(size: str) -> dict[str, Any]:
    """The tiny pure-Keras serving case in a fresh process."""
    rounds, seconds, loads = (2, 0.2, 2) if size == "smoke" else (7, 1.0, 3)
    params = {"levels": 1000, "rounds": rounds, "seconds": seconds, "loads": loads}
    return {"tiny": common.run_case("b5_tiny_serving", params, fresh=size == "full")}


def pushed_case(workdir: str, size: str, control: bool, inter_op_threads: int) -> dict[str, Any]:
    """Times span 2's incremental candidate against its full retrain on real eval examples.

    With `control`, times the full retrain against separate loads of itself instead.
    `inter_op_threads` sizes the runtime's inter-op pool (0: TF's default). Runs in a
    fresh process.
    """
    import json
    import os

    set_inter_op_threads(inter_op_threads)
    import tensorflow as tf

    root = os.path.join(workdir, "work")
    with open(os.path.join(root, "runs", "span-2", "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    from newlevels.pipeline.pipeline import NodeIds

    examples_root = os.path.join(root, "tfx", NodeIds.EXAMPLE_GEN, "examples")
    files = sorted(tf.io.gfile.glob(os.path.join(examples_root, "*", "Split-span_eval", "*")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(max(BATCHES))
    examples = [record.numpy() for record in dataset]
    full = os.path.join(summary["baseline_model_uri"], "Format-Serving")
    if control:
        models = {"full": full, "full, loaded again": os.path.join(full, "")}
    else:
        models = {"incremental": os.path.join(summary["model_uri"], "Format-Serving"), "full": full}
    rounds, seconds, loads = (2, 0.2, 1) if size == "smoke" else (7, 1.0, 3)
    return predictions_per_second(models, examples, rounds, seconds, loads)


def run_pushed(workdir: str, size: str) -> dict[str, Any]:
    """B5 on a MovieLens run's span 2: incremental vs full and the same-model control,
    with TF's default thread pools and with one inter-op thread (one process each).

    Each incremental-vs-full entry names its control (`"control"`), so the report
    can say whether the two models are equal within that control's noise.
    """
    figures = {}
    for threads, runtime in ((0, "default thread pools"), (1, "1 inter-op thread")):
        pair = f"MovieLens span 2, incremental vs full, {runtime}"
        control = f"MovieLens span 2, control: full vs itself, {runtime}"
        for name, is_control in ((pair, False), (control, True)):
            params = {
                "workdir": workdir,
                "size": size,
                "control": is_control,
                "inter_op_threads": threads,
            }
            figures[name] = common.run_case("b5_pushed_serving", params)
        figures[pair]["control"] = control
    return figures
