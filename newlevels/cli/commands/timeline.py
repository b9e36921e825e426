"""`newlevels timeline`: a data set's spans run in order on one workdir, one table row per span.

A command of its own rather than a `bench` figure: it takes any `newlevels run`
options (passed through unchanged, so a timeline can be rerun for each `--init` or
policy), and each (data set, tag, options) is its own ~10-minute measurement with its
own results files, where `bench` writes one fixed suite into RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import tempfile

NAME = "timeline"
HELP = "run a data set's spans in order and tabulate decision, AUC and cohorts per span"
#: shipped data sets -> the `newlevels data --spans` they are written with.
SHIPPED = {"movielens": "yearly", "drift": None}
#: the flags the timeline sets itself for every span.
OWN_RUN_FLAGS = ("--data", "--span", "--workdir")
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset",
        help="movielens (the 9 yearly spans), drift (the generated timeline, default "
        "settings), or any name for the spans given with --data",
    )
    parser.add_argument(
        "--tag",
        required=True,
        help="what this timeline measures, e.g. before, init-fit, extend-only "
        "(the results are <out>/<dataset>-<tag>.json and .md)",
    )
    parser.add_argument(
        "--data", default=None, help="read the spans from this folder (default: write the data set)"
    )
    parser.add_argument("--out", default="benchmarks/timeline", help="folder for the results")
    parser.add_argument(
        "--workdir",
        default=None,
        help="run the spans in this new or empty folder and keep it (default: a temporary "
        "folder, removed after a timeline that completes)",
    )
    parser.add_argument(
        "--last-span", type=int, default=None, help="stop after this span (default: the last)"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="run nothing: rewrite <dataset>-<tag>.md and INDEX.md from <dataset>-<tag>.json",
    )
    parser.add_argument(
        "--run-options",
        dest="run_args",
        nargs=argparse.REMAINDER,
        default=[],
        help="put it last: everything after it goes to every `newlevels run`, e.g. "
        "--run-options --init fit --policy extend-only",
    )


def run_flags(dataset: str) -> tuple[str, ...]:
    """The `newlevels run` flags that read a shipped data set's columns (none for others)."""
    if dataset == "drift":
        from newlevels.pipeline.data.drift import RUN_FLAGS

        return RUN_FLAGS
    return ()


def command_line(args: argparse.Namespace) -> str:
    """The command that regenerates the results (the workdir does not change them)."""
    words = ["newlevels", "timeline", args.dataset, "--tag", args.tag]
    for flag, value in (("--data", args.data), ("--last-span", args.last_span)):
        if value is not None:
            words += [flag, str(value)]
    if args.out != "benchmarks/timeline":
        words += ["--out", args.out]
    if args.run_args:
        words += ["--run-options", *args.run_args]
    return shlex.join(words)


def _spans(data_root: str, last_span: int | None) -> tuple[int, ...]:
    from newlevels.components.ingest.csv_rows import available_spans
    from newlevels.pipeline.errors import ConfigError

    found = available_spans(data_root)
    last = max(found, default=0) if last_span is None else last_span
    if last < 1 or found[:last] != list(range(1, last + 1)):
        raise ConfigError(
            f"--data {data_root}: the timeline needs span folders 1..{max(last, 1)} "
            f"(spans found: {found})"
        )
    return tuple(range(1, last + 1))


def plan(args: argparse.Namespace, workdir: str):
    """The TimelinePlan of the parsed options, with the run options checked up front.

    Raises:
        ConfigError: an unknown data set without --data, a flag the timeline sets
            itself, a tag that cannot name a file, or a bad run option (also exits 2
            with argparse's one line for an unknown flag).
    """
    from newlevels import cli
    from newlevels.bench.timeline import TimelinePlan
    from newlevels.cli.commands import data, options
    from newlevels.pipeline.errors import ConfigError

    if not TAG.fullmatch(args.tag) or not TAG.fullmatch(args.dataset):
        raise ConfigError(
            f"dataset {args.dataset!r}, --tag {args.tag!r}: use letters, digits, '.', '_', '-'"
        )
    taken = [arg.split("=")[0] for arg in args.run_args if arg.split("=")[0] in OWN_RUN_FLAGS]
    if taken:
        raise ConfigError(f"--run-options {taken[0]}: the timeline sets it for every span")
    if args.data is None and args.dataset not in SHIPPED:
        raise ConfigError(
            f"no data set named {args.dataset!r} is shipped ({', '.join(SHIPPED)}): "
            "give its spans with --data"
        )
    data_root = options.resolve_path(args.data or os.path.join(workdir, "data"))
    run_args = (*run_flags(args.dataset), *args.run_args)
    parsed = cli.build_parser(only="run").parse_args(
        ["run", "--data", data_root, "--span", "1", "--workdir", workdir, *run_args]
    )
    spec = options.run_config(parsed, data_root, 1, workdir).data_spec
    if args.data is None:
        data.write(args.dataset, data_root, SHIPPED[args.dataset])
    features = spec.feature_names
    return TimelinePlan(
        dataset=args.dataset,
        tag=args.tag,
        data_root=data_root,
        workdir=workdir,
        spans=_spans(data_root, args.last_span),
        run_args=run_args,
        spec=spec,
        item_column=parsed.item_column if parsed.item_column in features else None,
        user_column=parsed.user_column if parsed.user_column in features else None,
        command=command_line(args),
    )


def _workdir(path: str | None) -> str:
    from newlevels.cli.commands.options import resolve_path
    from newlevels.pipeline.errors import ConfigError

    if path is None:
        return tempfile.mkdtemp(prefix="newlevels-timeline-")
    path = resolve_path(path)
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise ConfigError(f"--workdir {path} is not a new or empty folder: pick another")
    os.makedirs(path, exist_ok=True)
    return path


def execute(args: argparse.Namespace) -> None:
    from newlevels.bench.timeline import run_timeline
    from newlevels.bench.timeline_files import rerender
    from newlevels.cli.commands.options import resolve_path

    if args.render:
        markdown, raw = rerender(args.dataset, args.tag, resolve_path(args.out))
        print(f"timeline: {markdown}\nfrom:     {raw}")
        return
    workdir = _workdir(args.workdir)
    try:
        timeline = plan(args, workdir)
    except BaseException:  # a refused option (argparse exits): leave no temporary folder
        if args.workdir is None:
            shutil.rmtree(workdir)
        raise
    markdown, raw = run_timeline(timeline, resolve_path(args.out))
    if args.workdir is None:
        shutil.rmtree(workdir)
    print(f"timeline: {markdown}\nraw:      {raw}")
