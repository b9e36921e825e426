"""`newlevels report`: PNG figures and an HTML page for one finished run."""

from __future__ import annotations

import argparse

from newlevels.cli.commands import store_options

NAME = "report"
HELP = "draw a finished run's embeddings, their movement and its predictions (PNG + HTML)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", required=True, help="the workdir the run wrote to")
    parser.add_argument("--span", type=int, required=True)
    store_options.add_store_options(parser)
    store_options.add_pipeline_name(parser)
    parser.epilog = (
        "With --metadata or --connection-config the run is read from that MLMD store (a run "
        "of --pipeline-name made on another machine sharing it) instead of the workdir's "
        "summary.json; the report is written under --workdir either way."
    )


def execute(args: argparse.Namespace) -> None:
    from newlevels.pipeline import metadata
    from newlevels.pipeline.report import write_report
    from newlevels.pipeline.report.from_store import summary_from_store

    where = store_options.store_from_args(args)
    summary = None
    if where is not None:
        mlmd_store = metadata.connect(where, read_only=True)
        summary = summary_from_store(mlmd_store, args.pipeline_name, args.span)
    report = write_report(args.workdir, args.span, summary)
    for path in report.images:
        print(f"figure: {path}")
    print(f"page:   {report.page}")
