"""The init sweep: extensions against full retrains over the 9 yearly MovieLens spans (no TFX).

For each span k >= 2 it extends a parent with the Trainer's own functions
(`fitting.row_selection`, `fitting.fit`: the same start, early stopping and
head as `run_fn`), on span k's training rows read straight from the CSV data,
and trains a full retrain on every earlier row plus span k's training rows.
Both are scored on span k's evaluation rows, per cohort (`init_cohorts.py`). The
parent is either the previous span's full retrain (`rebase`: every span starts
from a fresh model, which isolates how good the new rows are) or the previous
extension of the same configuration (`chain`: staleness accumulates).

    python -m newlevels.bench.init_sweep [--model additive|mf] [--out benchmarks]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from typing import Any

import numpy as np

#: the sweep compares how new rows start and train, so no context corrections
#: (`--context frozen`; `init_sweep_swap` measures `--context refresh`).
FROZEN = {"context": "frozen"}
#: (name, TrainingOptions overrides): the configurations compared.
CONFIGS = (
    ("random, 2 epochs", {"init": "random", "early_stopping": "off", **FROZEN}),
    ("mean, 2 epochs", {"init": "mean", "early_stopping": "off", **FROZEN}),
    ("fit, 2 epochs", {"init": "fit", "early_stopping": "off", **FROZEN}),
    ("random, early stopping", {"init": "random", "early_stopping": "on", **FROZEN}),
    ("mean, early stopping", {"init": "mean", "early_stopping": "on", **FROZEN}),
    ("fit, early stopping", {"init": "fit", "early_stopping": "on", **FROZEN}),
    (
        "fit, early stopping, adapt head",
        {"init": "fit", "early_stopping": "on", "adapt": "head", **FROZEN},
    ),
)
MODES = ("rebase", "chain")
SEED = 0


def settings_for(model: str, role, overrides: dict[str, Any]):
    """The TrainerSettings of one Trainer of the sweep (the CLI's defaults otherwise)."""
    from newlevels.bench.yearly import FEATURES, LABEL
    from newlevels.components.trainer.settings import TrainerSettings, TrainingOptions
    from newlevels.transforms.features import DataSpec

    spec = DataSpec.build(list(FEATURES), LABEL, "id")
    options = TrainingOptions(model=model, **overrides)
    strategy = "split" if role.value == "incremental" else "full"
    return TrainerSettings(spec, role, strategy, options, SEED)


def train_one(settings, span, parent, rows):
    """Plans the levels against `parent` and fits one model (`fitting.fit`), timed."""
    from newlevels.components.trainer import data, fitting, training_rows
    from newlevels.components.trainer.planning import plan_levels

    started = time.monotonic()
    diffs = plan_levels(settings.data_spec, span.vocabulary, parent)
    selection = fitting.row_selection(settings, diffs, extends_parent=parent is not None)
    batches = data.batches_from_arrays(rows.tokens, rows.labels, rows.ids)
    selected = training_rows.select_rows(batches, **dataclasses.asdict(selection))
    every = training_rows.select_rows(batches) if parent is not None else None
    fitted = fitting.fit(settings, diffs, parent, selected, every)
    return fitted, time.monotonic() - started


def predict(model, rows) -> np.ndarray:
    import tensorflow as tf

    features = {f: tf.constant(tokens) for f, tokens in rows.tokens.items()}
    return np.asarray(model(features), np.float64)


def run_sweep(model: str) -> dict[str, Any]:
    """Runs every configuration in both modes; returns the raw results."""
    from newlevels.bench import common, init_cohorts, yearly
    from newlevels.components.trainer.settings import Role

    spans = yearly.load_spans()
    load = [common.load_average()]
    fulls, full_scores = [], {}
    for span in spans:
        rows = yearly.Rows.concat([span.earlier, span.train])
        fitted, seconds = train_one(settings_for(model, Role.FULL, {}), span, None, rows)
        fulls.append(fitted.as_parent())
        full_scores[span.number] = (predict(fitted.model, span.eval), seconds)
    results = {"model": model, "spans": {}, "configs": {}}
    for k, span in enumerate(spans[1:], start=1):
        results["spans"][str(span.number)] = init_cohorts.describe(span, spans[k - 1])
    for name, overrides in CONFIGS:
        settings = settings_for(model, Role.INCREMENTAL, overrides)
        results["configs"][name] = {"options": overrides, "modes": {}}
        for mode in MODES:
            parent, per_span = fulls[0], {}
            for k, span in enumerate(spans[1:], start=1):
                if mode == "rebase":
                    parent = fulls[k - 1]
                fitted, seconds = train_one(settings, span, parent, span.train)
                full, full_seconds = full_scores[span.number]
                per_span[str(span.number)] = {
                    **init_cohorts.score(
                        span, spans[k - 1], predict(fitted.model, span.eval), full
                    ),
                    "epochs": fitted.epochs,
                    "best_epoch": None
                    if fitted.convergence is None
                    else fitted.convergence.best_epoch,
                    "seconds": round(seconds, 2),
                    "full_seconds": round(full_seconds, 2),
                }
                parent = fitted.as_parent() if mode == "chain" else parent
                print(name, mode, span.number, per_span[str(span.number)]["overall"], flush=True)
            results["configs"][name]["modes"][mode] = per_span
        load.append(common.load_average())
    results["machine"] = common.machine()
    results["load_average"] = load
    return results


def main(argv: list[str] | None = None) -> None:
    from newlevels.bench import init_sweep_report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="additive", choices=("additive", "mf"))
    parser.add_argument("--out", default="benchmarks")
    args = parser.parse_args(argv)
    results = run_sweep(args.model)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"init_sweep_{args.model}")
    with open(f"{stem}.json", "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    with open(f"{stem}.md", "w", encoding="utf-8") as handle:
        handle.write(init_sweep_report.render(results))
    print(f"results: {stem}.md\nraw:     {stem}.json")


if __name__ == "__main__":
    main()
