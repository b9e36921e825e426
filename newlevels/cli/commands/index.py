"""`newlevels index`: a FAISS index of one table, built from a model and kept current by deltas."""

from __future__ import annotations

import argparse

NAME = "index"
HELP = "build a FAISS index of a model's table, apply a delta to it, or query it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="index one table of a Model artifact")
    build.add_argument("--model", required=True, help="the Model artifact (a summary's model_uri)")
    build.add_argument("--table", required=True, help="the table (a categorical feature's name)")
    build.add_argument("--metric", default="ip", choices=("ip", "l2"), help="default: ip")
    build.add_argument("--out", required=True, help="a new local folder for the index")
    apply = actions.add_parser("apply", help="add a delta's new rows to an index, in place")
    apply.add_argument("--index", required=True, help="the index folder")
    apply.add_argument("--delta", required=True, help="a folder written by `newlevels delta`")
    query = actions.add_parser("query", help="the nearest tokens of a token")
    query.add_argument("--index", required=True, help="the index folder")
    query.add_argument("--token", required=True)
    query.add_argument("-k", type=int, default=10, help="neighbours to print (default: 10)")


def execute(args: argparse.Namespace) -> None:
    import os

    from newlevels.cli.commands.options import resolve_path
    from newlevels.delta.faiss_index import TableIndex
    from newlevels.delta.format import read_delta
    from newlevels.pipeline.errors import ConfigError

    if args.action == "build":
        out = os.path.abspath(args.out)
        if os.path.exists(out):
            raise ConfigError(f"--out {out} exists; give a new folder")
        index = TableIndex.build(resolve_path(args.model), args.table, args.metric)
        index.save(out)
        print(f"index of {index.table!r} ({index.index.ntotal} rows, {index.metric}): {out}")
        print(f"  holds {index.digest} of {index.model_uri}")
    elif args.action == "apply":
        folder = os.path.abspath(args.index)
        index = TableIndex.load(folder)
        added = index.apply(read_delta(resolve_path(args.delta)))
        index.save(folder)
        print(f"index of {index.table!r}: {added} rows added, {index.index.ntotal} in all")
        print(f"  holds {index.digest} of {index.model_uri}")
    else:
        if args.k < 1:
            raise ConfigError(f"-k must be 1 or more, got {args.k}")
        index = TableIndex.load(os.path.abspath(args.index))
        distances, ids = index.search(index.vector(args.token)[None, :], args.k)
        print(f"{'id':>8}  {index.metric:>12}  token")
        for distance, row in zip(distances[0], ids[0], strict=True):
            if row >= 0:
                print(f"{row:>8}  {distance:>12.6g}  {index.vocabulary[row]}")
