"""B1: the incremental Trainer vs the full-retrain Trainer on MovieLens span 2, one process.

Calls `components.trainer.train.train` (what `run_fn` calls) on the span-2 run's real
Transform output, with the span-1 model as the parent, at the pipeline's defaults (equal
epochs). One warm-up of each role, then alternating timed repeats; the median is reported.
A cProfile of one more call of each role shows where the time goes.
"""

from __future__ import annotations

import cProfile
import glob
import io
import json
import os
import pstats
import time
from typing import Any

from newlevels.bench import common, movielens_run

#: the folder, under the bench workdir, of the MovieLens variant whose span 2 has old users only.
OLD_USERS = "old-users"


def latest_artifact(pipeline_root: str, component: str, output: str) -> str:
    """The newest artifact folder of `component`'s `output` (ids grow run by run)."""
    folders = glob.glob(os.path.join(pipeline_root, component, output, "*"))
    return max(folders, key=lambda path: int(os.path.basename(path)))


def profile_summary(profile: cProfile.Profile, top: int = 12) -> list[str]:
    """The `top` functions by cumulative time, one line each."""
    stream = io.StringIO()
    pstats.Stats(profile, stream=stream).sort_stats("cumulative").print_stats(top)
    lines = [line.rstrip() for line in stream.getvalue().splitlines()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    return [" ".join(line.split()) for line in lines[start : start + top + 1] if line.strip()]


def run(workdir: str, repeats: int) -> dict[str, Any]:
    """Times both roles on span 2 of the MovieLens run under `workdir/work`."""
    import tensorflow_transform as tft

    from newlevels.components.ingest.executor import SPLIT_TRAIN
    from newlevels.components.trainer.settings import Role
    from newlevels.components.trainer.train import train
    from newlevels.components.transform.history import earlier_patterns
    from newlevels.pipeline import config
    from newlevels.transforms.features import DataSpec

    root = os.path.join(workdir, "work")
    with open(os.path.join(root, "runs", "span-2", "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    pipeline_root = os.path.join(root, "tfx")
    graph = latest_artifact(pipeline_root, "Transform", "transform_graph")
    tft_output = tft.TFTransformOutput(graph)
    examples = latest_artifact(pipeline_root, "Transform", "transformed_examples")
    run_config = config.RunConfig(
        data_root=summary["data_root"],
        span=2,
        workdir=root,
        data_spec=DataSpec.build(
            config.DEFAULT_CATEGORICAL, config.DEFAULT_LABEL, config.DEFAULT_ID
        ),
    )
    # what the pipeline's Trainers read: span 2's training rows, and for the full
    # retrain every row of span 1 too (from the transform graph's span history)
    span_train = [os.path.join(examples, f"Split-{SPLIT_TRAIN}", "*")]
    roles = {
        "incremental": (Role.INCREMENTAL, span_train, summary["parent_model_uri"]),
        "full": (Role.FULL, [*earlier_patterns(graph), *span_train], None),
    }

    def call(role: str) -> tuple[float, Any]:
        kind, patterns, parent = roles[role]
        started = time.perf_counter()
        trained = train(run_config.trainer_settings(kind), patterns, tft_output, parent)
        return time.perf_counter() - started, trained

    result: dict[str, Any] = {
        "epochs": run_config.options.epochs,
        "batch_size": run_config.options.batch_size,
    }
    for role in roles:
        warm, trained = call(role)
        result[role] = {
            "warmup_s": round(warm, 2),
            "rows_read": trained.rows_total,
            "rows_trained": trained.rows_trained,
            "times_s": [],
        }
    for _ in range(repeats):
        for role in roles:
            result[role]["times_s"].append(round(call(role)[0], 2))
    for role in roles:
        result[role]["median_s"] = round(common.median(result[role]["times_s"]), 2)
        profile = cProfile.Profile()
        profile.runcall(call, role)
        result[role]["profile_top"] = profile_summary(profile)
    result["ratio"] = round(result["incremental"]["median_s"] / result["full"]["median_s"], 3)
    result["rows_trained_ratio"] = round(
        result["incremental"]["rows_trained"] / result["full"]["rows_trained"], 3
    )
    result["load"] = common.load_average()
    return result


def run_old_users(workdir: str, repeats: int) -> dict[str, Any]:
    """B1 on the issue's premise: span 2 cut to old users' rows (only new movies are new).

    Writes the variant under `workdir/old-users`, runs its two spans (about 3 minutes on
    2 cores), then times the Trainers as `run` does.
    """
    root = os.path.join(workdir, OLD_USERS)
    movielens_run.write_old_user_spans(os.path.join(root, "data"))
    movielens_run.run_spans(root)
    return run(root, repeats)
