"""`newlevels data`: write a shipped data set as span folders."""

from __future__ import annotations

import argparse

NAME = "data"
HELP = "write a shipped data set (movielens or toy) as span folders"


def write(dataset: str, out: str, spans: int = 2) -> dict[int, int]:
    """Writes `dataset` under `out` (MovieLens in `spans` time-ordered spans); rows per span."""
    if dataset == "movielens":
        from newlevels.pipeline.data.movielens import SPAN_BOUNDARIES, write_movielens

        return write_movielens(out, SPAN_BOUNDARIES[spans])
    from newlevels.pipeline.data.toy import write_toy

    return write_toy(out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=("movielens", "toy"))
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--spans",
        type=int,
        default=2,
        choices=(2, 3),
        help="movielens: 2 spans (before 2014, 2014 on) or 3 (before 2014, 2014, 2015 on)",
    )


def execute(args: argparse.Namespace) -> None:
    written = write(args.dataset, args.out, args.spans)
    spans = ", ".join(f"span {k}: {n} rows" for k, n in written.items())
    print(f"wrote {args.dataset} to {args.out}: {spans}")
