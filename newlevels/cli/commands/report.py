"""`newlevels report`: PNG figures and an HTML page for one finished run."""

from __future__ import annotations

import argparse
import os
import pathlib
import shlex
import sys

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
    from newlevels.pipeline.report import write_report

    out = None if args.out is None else os.path.abspath(args.out)
    report = write_report(os.path.abspath(args.workdir), args.span, out)
    for path in report.images:
        print(f"figure: {path}")
    print(f"page:   {report.page}")
    print(how_to_open(report.page))
