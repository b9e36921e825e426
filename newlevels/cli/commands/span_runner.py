"""Running one span from the command line: progress lines, then the summary table."""

from __future__ import annotations

import argparse


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """`--quiet`: no progress lines while the pipeline runs (the summary still prints)."""
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="show no progress while the pipeline runs: one line per component as it starts "
        "and finishes, live on a terminal, plain lines otherwise (the summary still prints)",
    )


def run_span(config, quiet: bool = False) -> dict:
    """Runs one span, showing each component's progress, and prints its summary table.

    Args:
        config: the RunConfig of the span.
        quiet: show no progress lines.

    Returns:
        the run's summary.
    """
    import sys
    import time

    from newlevels.cli import progress
    from newlevels.pipeline.local_runner import run_span as run_locally

    started = time.monotonic()
    print(
        f"== span {config.span}: running the pipeline (log: {config.run_dir}/pipeline.log)",
        flush=True,
    )
    with progress.display(progress.choose_mode(quiet, sys.stdout)):
        summary, path, text = run_locally(config)
    print(text)
    print(f"summary: {path}  ({time.monotonic() - started:.0f} s wall)\n", flush=True)
    return summary
