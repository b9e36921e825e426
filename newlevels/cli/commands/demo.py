"""`newlevels demo`: MovieLens span 1 then span 2, printing each run's summary."""

from __future__ import annotations

import argparse
import os
import shutil

from newlevels.cli.commands import data, options, span_runner, store_options

NAME = "demo"
HELP = "MovieLens span 1 then span 2, with summaries"
MARKER = ".newlevels-demo"


def fresh_workdir(workdir: str) -> str:
    """Empties a workdir the demo made before (never any other folder); returns its data root.

    Raises:
        ConfigError: if `workdir` exists and the demo did not make it.
    """
    from newlevels.pipeline.errors import ConfigError

    if os.path.exists(workdir):
        if not os.path.exists(os.path.join(workdir, MARKER)):
            raise ConfigError(
                f"{workdir} exists and was not made by the demo; pick another --workdir"
            )
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    open(os.path.join(workdir, MARKER), "w").close()
    return os.path.join(workdir, "data")


def check_store_is_fresh(where, pipeline_name: str) -> None:
    """Refuses a shared store that already holds runs of the demo's pipeline.

    The demo empties its workdir, so those runs' models would be gone: span 1
    would be refused for a missing parent.

    Raises:
        ConfigError: naming the store and the pipeline.
    """
    from newlevels.pipeline import metadata
    from newlevels.pipeline.errors import ConfigError

    if metadata.all_runs(metadata.connect(where), pipeline_name):
        raise ConfigError(
            f"{where.label} already holds runs of pipeline {pipeline_name!r}: give the demo "
            "another --pipeline-name"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", default="demo-work")
    options.add_run_options(parser)
    span_runner.add_progress_option(parser)
    store_options.add_store_options(parser)


def execute(args: argparse.Namespace) -> None:
    metadata = store_options.store_from_args(args)
    if metadata is not None:
        check_store_is_fresh(metadata, args.pipeline_name)
    data_root = fresh_workdir(args.workdir)
    written = data.write("movielens", data_root)
    print(f"MovieLens written to {data_root}: {written} rows per span", flush=True)
    for span in (1, 2):
        config = options.run_config(args, data_root, span, args.workdir, metadata)
        span_runner.run_span(config, quiet=args.quiet)
