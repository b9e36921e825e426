"""`newlevels bench`: the cost benchmarks (see `benchmarks/`), written as a table and JSON."""

from __future__ import annotations

import argparse

NAME = "bench"
HELP = "measure trainer cost, strategy scaling, pipeline time, memory and serving speed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--size",
        choices=("smoke", "full", "delta"),
        default="smoke",
        help="smoke: pure-Keras figures in under a minute; full: everything (~15 min); "
        "delta: only B6, a delta's size against the full table (four MovieLens runs, ~5 min; "
        "writes DELTA.md/delta.json)",
    )
    parser.add_argument(
        "--out", default="benchmarks", help="folder for RESULTS.md/results.json (or DELTA.md)"
    )
    parser.add_argument(
        "--workdir", default=None, help="keep the full size's MovieLens runs here (default: temp)"
    )


def execute(args: argparse.Namespace) -> None:
    from newlevels.bench.suite import run_suite
    from newlevels.cli.commands.options import resolve_path

    workdir = None if args.workdir is None else resolve_path(args.workdir)
    if args.size == "delta":
        import tempfile

        from newlevels.bench import delta_size

        with tempfile.TemporaryDirectory(prefix="newlevels-bench-") as tmp:
            markdown, raw = delta_size.write(resolve_path(args.out), workdir or tmp)
    else:
        markdown, raw = run_suite(args.size, resolve_path(args.out), workdir)
    print(f"results: {markdown}\nraw:     {raw}")
