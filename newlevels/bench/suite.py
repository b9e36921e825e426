"""The benchmark suite: which figures each size runs, in which order."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from newlevels.bench import (
    common,
    first_fit,
    movielens_run,
    results,
    scaling,
    serving,
    trainer_cost,
)

SIZES = ("smoke", "full")


def run_suite(size: str, out: str, workdir: str | None = None) -> tuple[str, str]:
    """Runs the figures of `size` and writes `RESULTS.md` and `results.json` under `out`.

    The smoke size runs the pure-Keras figures only (B2 at V = 1e3 and 1e4, B5 on tiny
    models). The full size runs everything, including MovieLens pipeline runs (B1, B3,
    B4, B5 on the pushed models; B1 again on a variant whose span 2 has old users only).
    Each run records its own wall time (`wall_s`, shown in RESULTS.md).

    Args:
        size: "smoke" or "full".
        out: folder for the two result files.
        workdir: where the full size writes MovieLens and its pipeline runs (a temporary
            folder when None).

    Returns:
        (path of RESULTS.md, path of results.json).

    Raises:
        ValueError: for an unknown size.
        common.BenchError: when a case or a pipeline run fails.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    started = time.perf_counter()
    figures: dict[str, Any] = {
        "size": size,
        "machine": common.machine(),
        "load_start": common.load_average(),
    }
    if size == "full":
        with tempfile.TemporaryDirectory(prefix="newlevels-bench-") as tmp:
            root = workdir or tmp
            os.makedirs(root, exist_ok=True)
            figures["b3"] = movielens_run.run(root)
            figures["b1"] = trainer_cost.run(root, repeats=3)
            figures["b1_old_users"] = trainer_cost.run_old_users(root, repeats=3)
            figures["b5"] = serving.run_pushed(root, size)
        figures["b3_first_fit"] = first_fit.run(size)
    else:
        figures["b5"] = {}
    figures["b5"].update(serving.run_tiny(size))
    figures["b2"] = scaling.run(size)
    figures["load_end"] = common.load_average()
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    return results.write(figures, out)
