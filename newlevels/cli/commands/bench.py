"""`newlevels bench`: the cost benchmarks (see `benchmarks/`), written as a table and JSON."""

from __future__ import annotations

import argparse

NAME = "bench"
HELP = "measure trainer cost, strategy scaling, pipeline time, memory and serving speed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size",
        choices=("smoke", "full"),
        default="smoke",
        help="smoke: pure-Keras figures in under a minute; full: everything (~15 min)",
    )
    parser.add_argument("--out", default="benchmarks", help="folder for RESULTS.md/results.json")
    parser.add_argument(
        "--workdir", default=None, help="keep the full size's MovieLens runs here (default: temp)"
    )


def execute(args: argparse.Namespace) -> None:
    from newlevels.bench.suite import run_suite
    from newlevels.cli.commands.options import resolve_path

    workdir = None if args.workdir is None else resolve_path(args.workdir)
    markdown, raw = run_suite(args.size, resolve_path(args.out), workdir)
    print(f"results: {markdown}\nraw:     {raw}")
