"""`newlevels`: run the pipeline on a span, write the shipped data sets, run the demo.

Heavy imports (TensorFlow, TFX) happen inside the commands, so the console only
shows what a user needs. Errors a user can act on print as one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `newlevels` parser.

    Args:
        only: give the options of this command only (None: of every command).
            Some commands' defaults come from registries that import TensorFlow
            (several seconds), which `newlevels --help` and the other commands skip.
    """
    from newlevels.cli.commands import COMMANDS

    parser = argparse.ArgumentParser(prog="newlevels", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(command.NAME, help=command.HELP)
        if only is None or only == command.NAME:
            command.add_arguments(sub)
        sub.set_defaults(execute=command.execute)
    return parser


def chosen_command(argv: Sequence[str]) -> str:
    """The subcommand named in `argv` ("" if none): options precede it only as flags."""
    return next((arg for arg in argv if not arg.startswith("-")), "")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newlevels` command. Returns the exit code."""
    # Before TensorFlow is first imported (the parser's defaults import it).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Before ML Metadata is loaded: its C++ INFO lines (one per PostgreSQL
    # connection) stay off the console; errors still show.
    os.environ.setdefault("GLOG_minloglevel", "1")
    import warnings

    warnings.filterwarnings("ignore")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(only=chosen_command(argv)).parse_args(argv)
    from newlevels.pipeline.errors import PipelineRunError, user_facing
    from newlevels.pipeline.store import redact

    try:
        args.execute(args)
    except Exception as error:  # noqa: BLE001 (the CLI's one-line error boundary)
        known = user_facing(error)
        if known is not None:
            print(redact(f"newlevels: error: {known}"), file=sys.stderr)
            return 2
        lines = str(error).strip().splitlines()
        failure = PipelineRunError(f"{type(error).__name__}: {lines[0] if lines else ''}")
        print(
            redact(f"newlevels: error: pipeline failed: {failure} (details in the run's log)"),
            file=sys.stderr,
        )
        return 1
    return 0
