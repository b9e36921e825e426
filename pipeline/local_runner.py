"""Runs one span locally: BeamDagRunner with a SQLite MLMD store under the workdir."""

from __future__ import annotations

import os

from tfx import v1 as tfx

from components.ingest import csv_rows
from pipeline.config import RunConfig
from pipeline.pipeline import create_pipeline


def check_data(config: RunConfig) -> dict[int, int]:
    """Checks spans 1..N before anything runs, so bad input fails fast with one line.

    Returns:
        rows per span.
    """
    return {
        span: csv_rows.check_span(config.data_root, span, config.data_spec)
        for span in range(1, config.span + 1)
    }


def run_pipeline(config: RunConfig) -> None:
    """Runs the pipeline for `config.span` with BeamDagRunner."""
    os.makedirs(config.workdir, exist_ok=True)
    metadata = tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path)
    tfx.orchestration.LocalDagRunner  # noqa: B018 (keeps the v1 namespace import lazy-safe)
    from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

    BeamDagRunner().run(create_pipeline(config, metadata))
