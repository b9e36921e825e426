"""`newlevels delta`: what a child model added to its parent, for indexes and caches."""

from __future__ import annotations

import argparse

NAME = "delta"
HELP = "write the new rows, vocabulary tail and digests a child model adds to its parent"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help="the child Model artifact (a summary's model_uri)"
    )
    parser.add_argument(
        "--parent",
        help="the model the delta applies to (default: the child's parent, from its manifest); "
        "an earlier ancestor works too",
    )
    parser.add_argument("--out", required=True, help="a new folder for the delta")


def execute(args: argparse.Namespace) -> None:
    import tensorflow as tf

    from newlevels.cli.commands.options import resolve_path
    from newlevels.delta.format import write_delta
    from newlevels.delta.make import delta_between
    from newlevels.pipeline.errors import ConfigError

    out = resolve_path(args.out)
    if tf.io.gfile.exists(out) and tf.io.gfile.listdir(out):
        raise ConfigError(f"--out {out} is not empty; give a new folder")
    parent = None if args.parent is None else resolve_path(args.parent)
    delta = delta_between(resolve_path(args.model), parent)
    write_delta(delta, out)
    print(f"delta {delta.parent_model_uri} -> {delta.child_model_uri}")
    for name, table in sorted(delta.tables.items()):
        ids = f" (ids {table.ids[0]}..{table.ids[-1]})" if len(table.tail) else ""
        print(
            f"  {name}: {table.parent_rows} old rows kept, {len(table.tail)} new{ids}; "
            f"{table.parent_digest} -> {table.child_digest}"
        )
    for name, value in sorted(delta.shared.items()):
        print(f"  shared {name}: {'changed' if value.changed else 'unchanged'}")
    print(f"written: {out}")
