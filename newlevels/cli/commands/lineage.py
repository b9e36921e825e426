"""`newlevels lineage`: what extended what, read from ML Metadata only."""

from __future__ import annotations

import argparse
import json
import os

from newlevels.cli.commands import store_options

NAME = "lineage"
HELP = "show the model genealogy recorded in ML Metadata"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a run workdir (reads <workdir>/metadata.sqlite)")
    source.add_argument("--store", help="path of a SQLite MLMD store (as --metadata PATH)")
    store_options.add_store_options(parser, source)
    store_options.add_pipeline_name(parser)
    parser.add_argument("--format", default="table", choices=("table", "json", "dot", "mermaid"))
    parser.add_argument("--model", type=int, help="walk this Model artifact's ancestry")
    parser.add_argument(
        "--last", type=count, metavar="N", help="show only the last N runs (default: every run)"
    )


def count(text: str) -> int:
    """Parses `--last N`: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"give a whole number of runs, at least 1 (not {text!r})")
    return value


def _store(args: argparse.Namespace):
    from newlevels.pipeline import metadata, store

    sqlite = args.store or (args.workdir and os.path.join(args.workdir, "metadata.sqlite"))
    default = store.sqlite_store(os.path.abspath(sqlite)) if sqlite else None
    return metadata.connect(store_options.store_from_args(args, default), read_only=True)


def execute(args: argparse.Namespace) -> None:
    from newlevels.pipeline import metadata
    from newlevels.pipeline.errors import ConfigError
    from newlevels.pipeline.lineage import ancestry, records, render

    store = _store(args)
    history = records.history(store, args.pipeline_name)
    if args.model is None:
        print(render.RENDERERS[args.format](history[-args.last :] if args.last else history))
        if args.format == "table":
            parent = metadata.last_pushed_model(store, args.pipeline_name)
            print(render.next_parent(parent.id if parent else None, args.pipeline_name))
        return
    chain = ancestry.ancestry(store, args.model, records.models_by_id(history))
    if args.format == "table":
        print(render.ancestry_table(chain))
    elif args.format == "json":
        print(json.dumps([step.to_dict() for step in chain], indent=2, sort_keys=True))
    else:
        raise ConfigError("--model prints as table or json")
