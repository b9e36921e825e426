"""`newlevels data`: write a shipped data set as span folders."""

from __future__ import annotations

import argparse

NAME = "data"
HELP = "write a shipped data set (movielens or toy) as span folders"


def write(dataset: str, out: str) -> dict[int, int]:
    """Writes `dataset` under `out`; returns rows per span."""
    if dataset == "movielens":
        from pipeline.data.movielens import write_movielens

        return write_movielens(out)
    from pipeline.data.toy import write_toy

    return write_toy(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=("movielens", "toy"))
    parser.add_argument("--out", required=True)


def execute(args: argparse.Namespace) -> None:
    written = write(args.dataset, args.out)
    spans = ", ".join(f"span {k}: {n} rows" for k, n in written.items())
    print(f"wrote {args.dataset} to {args.out}: {spans}")
