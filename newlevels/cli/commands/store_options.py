"""The metadata-store options (`--metadata`, `--connection-config`, the password) and
`--pipeline-name`, shared by the commands that write or read ML Metadata."""

from __future__ import annotations

import argparse

STORE_HELP = (
    "the MLMD store: a SQLite path, mysql://user@host:port/db or postgresql://user@host:port/db "
    "(the password comes from --metadata-password-file or $NEWLEVELS_METADATA_PASSWORD)"
)


def add_pipeline_name(parser: argparse.ArgumentParser) -> None:
    from newlevels.components.resolver.scope import DEFAULT_PIPELINE_NAME

    parser.add_argument(
        "--pipeline-name",
        default=DEFAULT_PIPELINE_NAME,
        help="the pipeline's name in MLMD; runs of one name form one line of models, and a "
        f"run only ever extends a model of its own pipeline (default: {DEFAULT_PIPELINE_NAME})",
    )


def add_store_options(parser: argparse.ArgumentParser, group=None) -> None:
    """Adds `--metadata` and `--connection-config` (to `group` if given) and the password file.

    Args:
        parser: the command's parser.
        group: a mutually exclusive group the two store options join (None: a new one).
    """
    group = group or parser.add_mutually_exclusive_group()
    group.add_argument("--metadata", metavar="STORE", help=STORE_HELP)
    group.add_argument(
        "--connection-config",
        metavar="FILE",
        help="a text-format ml_metadata ConnectionConfig (TLS options and the like)",
    )
    parser.add_argument(
        "--metadata-password-file",
        metavar="FILE",
        help="a file whose first line is the MySQL/PostgreSQL password",
    )


def store_from_args(args: argparse.Namespace, default=None):
    """The `StoreConfig` the options name, else `default`.

    Raises:
        ConfigError: a malformed URL or config file, a password in a URL, an
            unreadable password file (never quoting a password).
    """
    from newlevels.cli.commands.options import resolve_path
    from newlevels.pipeline import store

    connection_config = args.connection_config and resolve_path(args.connection_config)
    return store.resolve(
        args.metadata, connection_config, args.metadata_password_file, default=default
    )
