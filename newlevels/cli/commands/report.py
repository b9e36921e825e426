"""`newlevels report`: PNG figures and an HTML page for one finished run."""

from __future__ import annotations

import argparse

NAME = "report"
HELP = "draw a finished run's embeddings, their movement and its predictions (PNG + HTML)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", required=True, help="the workdir the run wrote to")
    parser.add_argument("--span", type=int, required=True)


def execute(args: argparse.Namespace) -> None:
    from newlevels.pipeline.report import write_report

    report = write_report(args.workdir, args.span)
    for path in report.images:
        print(f"figure: {path}")
    print(f"page:   {report.page}")
