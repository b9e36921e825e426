"""`newlevels run`: the pipeline for one span of a span-folder data set (CSV, Parquet, TFRecord)."""

from __future__ import annotations

import argparse

from newlevels.cli.commands import options, span_runner, store_options

NAME = "run"
HELP = "run the pipeline for one span"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        required=True,
        help="data root holding span-N/ folders of CSV, Parquet or TFRecord files",
    )
    parser.add_argument("--span", type=int, required=True)
    parser.add_argument(
        "--workdir",
        required=True,
        help="artifacts, serving dir, summaries and (unless --metadata) the MLMD store",
    )
    options.add_run_options(parser)
    span_runner.add_progress_option(parser)
    store_options.add_store_options(parser)


def execute(args: argparse.Namespace) -> None:
    metadata = store_options.store_from_args(args)
    config = options.run_config(args, args.data, args.span, args.workdir, metadata)
    span_runner.run_span(config, quiet=args.quiet)
