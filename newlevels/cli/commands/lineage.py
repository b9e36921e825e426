"""`newlevels lineage`: what extended what, read from ML Metadata only."""

from __future__ import annotations

import argparse
import json
import os

NAME = "lineage"
HELP = "show the model genealogy recorded in ML Metadata"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a run workdir (reads <workdir>/metadata.sqlite)")
    source.add_argument("--store", help="path of a SQLite MLMD store")
    source.add_argument(
        "--connection-config",
        help="a text-format ml_metadata ConnectionConfig (e.g. MySQL) file",
    )
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
    from newlevels.pipeline import metadata

    if args.connection_config:
        from google.protobuf import text_format
        from ml_metadata.proto import metadata_store_pb2

        from newlevels.pipeline.errors import ConfigError

        try:
            with open(args.connection_config, encoding="utf-8") as handle:
                config = text_format.Parse(handle.read(), metadata_store_pb2.ConnectionConfig())
        except (OSError, text_format.ParseError) as error:
            raise ConfigError(
                f"{args.connection_config}: not a ConnectionConfig ({error})"
            ) from None
        return metadata.connect(config, args.connection_config)
    path = args.store or os.path.join(args.workdir, "metadata.sqlite")
    return metadata.open_store(path)


def execute(args: argparse.Namespace) -> None:
    from newlevels.pipeline.errors import ConfigError
    from newlevels.pipeline.lineage import ancestry, records, render

    store = _store(args)
    history = records.history(store)
    if args.model is None:
        print(render.RENDERERS[args.format](history[-args.last :] if args.last else history))
        return
    chain = ancestry.ancestry(store, args.model, records.models_by_id(history))
    if args.format == "table":
        print(render.ancestry_table(chain))
    elif args.format == "json":
        print(json.dumps([step.to_dict() for step in chain], indent=2, sort_keys=True))
    else:
        raise ConfigError("--model prints as table or json")
