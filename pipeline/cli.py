"""`newlevels`: run the pipeline on a span, write the shipped data sets, run the demo.

Heavy imports (TensorFlow, TFX) happen inside the commands, after logging is set
up, so `--help` is instant and the console only shows what a user needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence


def _columns(text: str) -> tuple[str, ...]:
    columns = tuple(part.strip() for part in text.split(",") if part.strip())
    if not columns:
        raise argparse.ArgumentTypeError("give at least one column")
    return columns


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    from pipeline.config import DEFAULT_CATEGORICAL, DEFAULT_ID, DEFAULT_LABEL, GateConfig

    parser.add_argument("--strategy", default="split", help="split (default) or constrained")
    parser.add_argument(
        "--categorical",
        type=_columns,
        default=DEFAULT_CATEGORICAL,
        help="categorical columns, comma-separated (default: userId,movieId)",
    )
    parser.add_argument("--label", default=DEFAULT_LABEL, help="0/1 label column (default: liked)")
    parser.add_argument(
        "--id", dest="id_column", default=DEFAULT_ID, help="unique row id column (default: id)"
    )
    parser.add_argument("--embedding-dim", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument(
        "--min-auc",
        type=float,
        default=GateConfig.min_auc,
        help="the candidate's AUC must reach this",
    )
    parser.add_argument(
        "--max-auc-drop",
        type=float,
        default=GateConfig.max_auc_drop,
        help="how far the candidate's AUC may fall below the full retrain's",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newlevels", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the pipeline for one span")
    run.add_argument("--data", required=True, help="data root holding span-N/ folders of CSV")
    run.add_argument("--span", type=int, required=True)
    run.add_argument("--workdir", required=True, help="MLMD store, artifacts and serving dir")
    _add_run_options(run)

    data = commands.add_parser("data", help="write a shipped data set as span folders")
    data.add_argument("dataset", choices=("movielens", "toy"))
    data.add_argument("--out", required=True)

    demo = commands.add_parser("demo", help="MovieLens span 1 then span 2, with summaries")
    demo.add_argument("--workdir", default="demo-work")
    _add_run_options(demo)
    return parser


def _run_config(args: argparse.Namespace, data_root: str, span: int, workdir: str):
    from pipeline.config import GateConfig, RunConfig
    from pipeline.errors import ConfigError
    from transforms.features import DataSpec

    try:
        spec = DataSpec.build(args.categorical, args.label, args.id_column, args.embedding_dim)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return RunConfig(
        data_root=os.path.abspath(data_root),
        span=span,
        workdir=os.path.abspath(workdir),
        data_spec=spec,
        strategy=args.strategy,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        gate=GateConfig(min_auc=args.min_auc, max_auc_drop=args.max_auc_drop),
    )


def _write_data(dataset: str, out: str) -> dict[int, int]:
    if dataset == "movielens":
        from pipeline.data.movielens import write_movielens

        return write_movielens(out)
    from pipeline.data.toy import write_toy

    return write_toy(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newlevels` command. Returns the exit code."""
    # Before TensorFlow is first imported (the parser's defaults import it).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import warnings

    warnings.filterwarnings("ignore")
    args = build_parser().parse_args(argv)
    from pipeline.errors import PipelineRunError, user_facing

    try:
        if args.command == "data":
            written = _write_data(args.dataset, args.out)
            print(
                f"wrote {args.dataset} to {args.out}: "
                + ", ".join(f"span {k}: {n} rows" for k, n in written.items())
            )
        elif args.command == "run":
            _run_span(_run_config(args, args.data, args.span, args.workdir))
        else:
            data_root = _fresh_demo_workdir(args.workdir)
            written = _write_data("movielens", data_root)
            print(f"MovieLens written to {data_root}: {written} rows per span", flush=True)
            for span in (1, 2):
                _run_span(_run_config(args, data_root, span, args.workdir))
    except Exception as error:  # noqa: BLE001 (the CLI's one-line error boundary)
        known = user_facing(error)
        if known is not None:
            print(f"newlevels: error: {known}", file=sys.stderr)
            return 2
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        failure = PipelineRunError(f"{type(error).__name__}: {detail}")
        print(
            f"newlevels: error: pipeline failed: {failure} (details in the run's log)",
            file=sys.stderr,
        )
        return 1
    return 0


DEMO_MARKER = ".newlevels-demo"


def _fresh_demo_workdir(workdir: str) -> str:
    """Empties a workdir the demo made before (never any other folder); returns its data root."""
    import shutil

    from pipeline.errors import ConfigError

    if os.path.exists(workdir):
        if not os.path.exists(os.path.join(workdir, DEMO_MARKER)):
            raise ConfigError(
                f"{workdir} exists and was not made by the demo; pick another --workdir"
            )
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    open(os.path.join(workdir, DEMO_MARKER), "w").close()
    return os.path.join(workdir, "data")


def _run_span(config) -> dict:
    from pipeline.local_runner import run_span

    started = time.monotonic()
    print(
        f"== span {config.span}: running the pipeline (log: {config.run_dir}/pipeline.log)",
        flush=True,
    )
    summary, path, text = run_span(config)
    print(text)
    print(f"summary: {path}  ({time.monotonic() - started:.0f} s wall)\n", flush=True)
    return summary


if __name__ == "__main__":
    sys.exit(main())
