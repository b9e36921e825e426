"""`newlevels report`: PNG figures and an HTML page for one finished run."""

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import sys

from newlevels.cli.commands import store_options

NAME = "report"
HELP = "draw a finished run's embeddings, their movement and its predictions (PNG + HTML)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", required=True, help="the workdir the run wrote to")
    parser.add_argument("--span", type=int, required=True)
    parser.add_argument(
        "--out",
        help="the folder to write the figures and report.html to "
        "(default: <workdir>/runs/span-N/report)",
    )
    store_options.add_store_options(parser)
    store_options.add_pipeline_name(parser)
    parser.epilog = (
        "With --metadata or --connection-config the run is read from that MLMD store (a run "
        "of --pipeline-name made on another machine sharing it) instead of the workdir's "
        "summary.json; the report is written under --out (default: the run's folder under "
        "--workdir) either way."
    )


def how_to_open(page: str, platform: str = sys.platform) -> str:
    """The line telling how to open `page` (an absolute path): its file:// URL and a command.

    Args:
        page: the HTML page's absolute path.
        platform: `sys.platform` of the machine that opens it.

    Returns:
        `open:   file:///…/report.html  (or: xdg-open /…/report.html)` (`open` on macOS).
    """
    opener = "open" if platform == "darwin" else "xdg-open"
    return f"open:   {pathlib.Path(page).as_uri()}  (or: {opener} {shlex.quote(page)})"


def execute(args: argparse.Namespace) -> None:
    from newlevels.pipeline import metadata
    from newlevels.pipeline.report import write_report
    from newlevels.pipeline.report.from_store import summary_from_store

    where = store_options.store_from_args(args)
    summary = None
    if where is not None:
        mlmd_store = metadata.connect(where, read_only=True)
        summary = summary_from_store(mlmd_store, args.pipeline_name, args.span)
    out = None if args.out is None else os.path.abspath(args.out)
    report = write_report(os.path.abspath(args.workdir), args.span, out, summary)
    for path in report.images:
        print(f"figure: {path}")
    print(f"page:   {report.page}")
    print(how_to_open(report.page))
