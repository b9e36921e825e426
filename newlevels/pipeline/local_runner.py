"""Runs one span locally: BeamDagRunner with the run's MLMD store (SQLite under the workdir
by default, or a shared MySQL/PostgreSQL store)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from newlevels.components.ingest import csv_rows
from newlevels.pipeline import store
from newlevels.pipeline.config import RunConfig

LOG_FILE = "pipeline.log"


def check_data(config: RunConfig) -> int:
    """Checks span N's files before anything runs, so bad input fails fast with one line.

    Only span N is read: the spans before it were checked when they were
    ingested, and the run resolves them from MLMD (`check_span_order`).

    Returns:
        span N's row count.
    """
    return csv_rows.check_span(config.data_root, config.span, config.data_spec)


def check_span_order(config: RunConfig) -> None:
    """Refuses span N unless this pipeline has ingested spans 1..N-1 (one line, before any run)."""
    from newlevels.components.transform import resolution
    from newlevels.pipeline import metadata
    from newlevels.pipeline.pipeline import NodeIds

    where = config.metadata_store
    fresh = where.sqlite_path is not None and not os.path.isfile(where.sqlite_path)
    store = None if fresh else metadata.connect(where)
    resolution.check_span_order(store, config.pipeline_name, NodeIds.TRANSFORM, config.span)


class RedactingFormatter(logging.Formatter):
    """Formats a record, then takes the store's password out (`store.redact`).

    TFX logs the pipeline's metadata connection config, password included, when
    a run starts; tracebacks may quote it too.
    """

    def format(self, record: logging.LogRecord) -> str:
        return store.redact(super().format(record))


def log_to_file(path: str) -> None:
    """Sends TFX, Beam and TensorFlow logging to `path` instead of the console."""
    from absl import logging as absl_logging

    os.makedirs(os.path.dirname(path), exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    # TensorFlow's logger has its own console handler and does not propagate.
    logging.getLogger("tensorflow").handlers = [handler]
    absl_logging.set_verbosity(absl_logging.INFO)


#: Runners that execute in this interpreter's environment and never stage packages.
LOCAL_RUNNERS = ("directrunner", "direct", "fnapirunner", "bundlebaseddirectrunner")


def uses_direct_runner(beam_args: Sequence[str]) -> bool:
    """Whether the Beam args leave the runner at a local one (DirectRunner, FnApiRunner)."""
    runners = [arg.split("=", 1)[1] for arg in beam_args if arg.startswith("--runner=")]
    return not runners or runners[-1].lower() in LOCAL_RUNNERS


@contextlib.contextmanager
def no_tfx_sdist(beam_args: Sequence[str]) -> Iterator[None]:
    """Skips the `tfx_ephemeral` sdist every Beam executor builds, on the DirectRunner.

    TFX's BaseBeamExecutor runs `setup.py sdist` of the installed TFX (about 1-3 s per
    Beam component) unless an extra package, setup file, requirements file or container
    image is in the Beam args, so that remote workers can install TFX. The DirectRunner
    (in-memory or multi-processing) runs in this interpreter's environment and never
    stages packages, so the sdist is thrown away. Remote runners keep TFX's behaviour.
    """
    if not uses_direct_runner(beam_args):
        yield
        return
    from unittest import mock

    from tfx.utils import dependency_utils

    with mock.patch.object(dependency_utils, "make_beam_dependency_flags", list):
        yield


#: Runner of BeamDagRunner's own orchestration pipeline (one ParDo per component).
ORCHESTRATION_RUNNER = "FnApiRunner"


@contextlib.contextmanager
def orchestration_runner(runner: str = ORCHESTRATION_RUNNER) -> Iterator[None]:
    """Makes `runner` Beam's default runner while BeamDagRunner orchestrates.

    BeamDagRunner builds its orchestration pipeline with a bare `beam.Pipeline()`,
    so it gets Beam's default runner: DirectRunner, which in Beam 2.74 first tries
    the Prism runner and downloads its binary from GitHub (a network call at run
    time; offline it fails, then falls back). Passing it options instead switches
    TFX to its legacy runner, which cannot pickle our components. Only pipelines
    that name no runner see this default; each component's Beam args name theirs.
    """
    from unittest import mock

    from apache_beam.options.pipeline_options import StandardOptions

    with mock.patch.object(StandardOptions, "DEFAULT_RUNNER", runner):
        yield


def run_pipeline(config: RunConfig, baseline=None) -> None:
    """Runs the pipeline for `config.span` with BeamDagRunner.

    Args:
        config: the run's configuration.
        baseline: the run's `contracts.baseline.Plan` (None: train the full retrain).
    """
    from newlevels.contracts.baseline import ALWAYS
    from newlevels.pipeline.pipeline import create_pipeline
    from newlevels.pipeline.progress_runner import ReportingDagRunner

    os.makedirs(config.workdir, exist_ok=True)
    connection = config.metadata_store.connection_config()
    pipeline = create_pipeline(config, connection, baseline=baseline or ALWAYS)
    with no_tfx_sdist(config.beam_args), orchestration_runner():
        ReportingDagRunner().run(pipeline)


def run_span(config: RunConfig) -> tuple[dict[str, Any], str, str]:
    """Checks the data, runs the pipeline and writes the run's summary.

    Returns:
        (summary, path of summary.json, the summary as a table).
    """
    from newlevels.pipeline import baseline_plan, lease, metadata, preflight, summary
    from newlevels.pipeline.workdir_lock import locked

    where = config.metadata_store
    with locked(config.workdir):
        check_data(config)
        check_span_order(config)
        # One run of the pipeline at a time across every machine sharing the store.
        with lease.held(where, config.pipeline_name, config.span, config.workdir):
            preflight.check_parent(config)
            plan = baseline_plan.read_plan(config)
            log_to_file(os.path.join(config.run_dir, LOG_FILE))
            run_pipeline(config, plan)
            run = metadata.latest_run(metadata.connect(where), config.pipeline_name)
            result = summary.build_summary(config, run)
            path = summary.write_summary(result, config.run_dir)
    return result, path, summary.format_summary(result)
