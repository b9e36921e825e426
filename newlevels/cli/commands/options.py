"""Options shared by the commands that run the pipeline, and the RunConfig they build."""

from __future__ import annotations

import argparse
import os


def columns(text: str) -> tuple[str, ...]:
    """Parses `a,b,c` into column names."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one column")
    return names


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Adds the flags of a run; each default is read from the field the flag sets.

    A training flag's default is its `TrainingOptions` field's, a gate flag's
    its `Gate` field's, `--strategy`'s the strategies' registry's: each default
    is written once, where the dataclass (the API's and the CLI's shared
    config) declares it.
    """
    from newlevels.cli.commands.gate_options import add_gate_options
    from newlevels.cli.commands.store_options import add_pipeline_name
    from newlevels.components.trainer import (
        context,
        early_stopping,
        families,
        head,
        init,
        optimizers,
    )
    from newlevels.components.trainer.distribution import FACTORIES
    from newlevels.components.trainer.settings import TrainingOptions
    from newlevels.components.trainer.strategies import DEFAULT as DEFAULT_STRATEGY
    from newlevels.components.trainer.strategies import INCREMENTAL
    from newlevels.pipeline.config import DEFAULT_CATEGORICAL, DEFAULT_ID, DEFAULT_LABEL

    options = TrainingOptions()
    add_pipeline_name(parser)
    parser.add_argument(
        "--strategy",
        default=DEFAULT_STRATEGY,
        help=f"one of {', '.join(INCREMENTAL)} (default: {DEFAULT_STRATEGY})",
    )
    parser.add_argument(
        "--categorical",
        type=columns,
        default=DEFAULT_CATEGORICAL,
        help="categorical columns, comma-separated (default: userId,movieId)",
    )
    parser.add_argument("--label", default=DEFAULT_LABEL, help="0/1 label column (default: liked)")
    parser.add_argument(
        "--id", dest="id_column", default=DEFAULT_ID, help="unique row id column (default: id)"
    )
    parser.add_argument(
        "--model",
        default=options.model,
        choices=tuple(families.REGISTRY),
        help="model family: additive (sum of embeddings) or mf (user x item factorization "
        f"with biases) (default: {options.model})",
    )
    parser.add_argument(
        "--user-col",
        dest="user_column",
        default=options.user_column,
        help=f"mf: the user column (default: {options.user_column})",
    )
    parser.add_argument(
        "--item-col",
        dest="item_column",
        default=options.item_column,
        help=f"mf: the item column (default: {options.item_column})",
    )
    parser.add_argument(
        "--unfreeze-shared",
        action="store_true",
        help="let shared weights (the mf global bias) train in an incremental run",
    )
    parser.add_argument(
        "--replay-fraction",
        type=float,
        default=options.replay_fraction,
        help="with --unfreeze-shared: fraction of old-level rows replayed "
        f"(default: {options.replay_fraction:g})",
    )
    parser.add_argument(
        "--min-count",
        type=int,
        default=options.min_count,
        help="a new level gets a row once seen this many times in the training rows, "
        f"counting earlier runs; until then it serves through the OOV row (default: "
        f"{options.min_count})",
    )
    parser.add_argument(
        "--embedding-dim",
        type=int,
        default=options.embedding_dim,
        help="embedding width (default: "
        + ", ".join(f"{f.default_embedding_dim} for {n}" for n, f in families.REGISTRY.items())
        + ")",
    )
    parser.add_argument("--epochs", type=int, default=options.epochs)
    parser.add_argument(
        "--incremental-epochs",
        type=int,
        default=options.incremental_epochs,
        help="passes of the incremental Trainer when it extends a previous model: the cap "
        f"with --early-stopping on (default: {early_stopping.DEFAULT_EPOCH_CAP}), the count "
        "with it off (default: --epochs); a first run trains as the full retrain does",
    )
    parser.add_argument("--batch-size", type=int, default=options.batch_size)
    parser.add_argument("--learning-rate", type=float, default=options.learning_rate)
    parser.add_argument(
        "--distribution",
        default=options.distribution,
        choices=tuple(FACTORIES),
        help=f"tf.distribute strategy of both Trainers (default: {options.distribution}, "
        "one device)",
    )
    parser.add_argument(
        "--sparse-updates",
        default=options.sparse_updates,
        choices=optimizers.SPARSE_UPDATES,
        help="how the optimizer applies a sparse embedding gradient: lazy updates only the "
        "looked-up rows and their slots (O(batch) per step); dense is tf_keras's stock "
        f"update of every row's slots (O(rows)) (default: {options.sparse_updates})",
    )
    parser.add_argument(
        "--init",
        default=options.init,
        choices=init.INITS,
        help="where an extension's new rows start: random (N(0, 0.05^2)), mean (the mean of "
        "the parent's old rows) or fit (fitted to the span's rows with every old row fixed, "
        f"shrunk toward the mean) (default: {options.init})",
    )
    parser.add_argument(
        "--early-stopping",
        default=options.early_stopping,
        choices=early_stopping.CHOICES,
        help="on: an extension trains its new rows until the loss on a held-out part of its "
        "rows stops improving, and keeps the best epoch (--incremental-epochs is the cap, "
        f"default {early_stopping.DEFAULT_EPOCH_CAP}); off: a fixed number of epochs "
        f"(default: {options.early_stopping})",
    )
    parser.add_argument(
        "--holdout-fraction",
        type=float,
        default=options.holdout_fraction,
        help="share of an extension's training rows held out for early stopping, picked by "
        f"a hash of the id (default: {options.holdout_fraction})",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=options.patience,
        help="epochs without a better held-out loss before early stopping stops "
        f"(default: {options.patience})",
    )
    parser.add_argument(
        "--adapt",
        default=options.adapt,
        choices=head.ADAPTS,
        help="head: an extension also trains a head (a global bias and a scale per feature) "
        "on every row of the span, so old-level predictions follow drift while every "
        f"embedding row stays bit-identical (default: {options.adapt})",
    )
    parser.add_argument(
        "--context",
        default=options.context,
        choices=context.CONTEXTS,
        help="refresh: an extension also fits a correction of each old level, read only by "
        "rows holding a new or unseen level, so those rows see their old levels fresh while "
        "old-level predictions stay the parent's, bit for bit; frozen: no correction "
        f"(default: {options.context})",
    )
    parser.add_argument(
        "--beam-arg",
        dest="beam_args",
        action="append",
        default=[],
        metavar="--FLAG=VALUE",
        help="a Beam pipeline option for ExampleGen, Transform and Evaluator; repeat it, "
        "and write it with '=' (--beam-arg=--runner=FlinkRunner); it replaces a default "
        "of the same flag",
    )
    add_gate_options(parser)
    parser.add_argument(
        "--fresh-on-mismatch",
        action="store_true",
        help="train a fresh full model when the previous model has other features or "
        "embedding dims (default: refuse)",
    )


def resolve_path(path: str) -> str:
    """A local path made absolute; a URI (gs://, s3://, hdfs://) as it is."""
    return path if "://" in path else os.path.abspath(path)


def training_options(args: argparse.Namespace):
    """The TrainingOptions of parsed run options (each option's flag sets its field).

    Raises:
        TrainingOptionsError: an option out of range, naming its flag.
    """
    import dataclasses

    from newlevels.components.trainer.settings import TrainingOptions

    return TrainingOptions(
        **{field.name: getattr(args, field.name) for field in dataclasses.fields(TrainingOptions)}
    )


def run_config(args: argparse.Namespace, data_root: str, span: int, workdir: str, metadata=None):
    """Builds the RunConfig from parsed run options.

    Args:
        args: the parsed run options.
        data_root: the folder of span-N/ folders.
        span: the span to run.
        workdir: where the run writes.
        metadata: the MLMD `StoreConfig` (None: SQLite under the workdir).
    """
    from newlevels.contracts.baseline import Schedule
    from newlevels.contracts.gate import Gate
    from newlevels.pipeline.config import DEFAULT_BEAM_ARGS, RunConfig, merge_beam_args
    from newlevels.pipeline.errors import ConfigError
    from newlevels.transforms.features import DataSpec

    try:
        spec = DataSpec.build(args.categorical, args.label, args.id_column)
        schedule = Schedule.parse(args.baseline)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return RunConfig(
        data_root=resolve_path(data_root),
        span=span,
        workdir=resolve_path(workdir),
        data_spec=spec,
        strategy=args.strategy,
        options=training_options(args),
        gate=Gate(
            min_auc=args.min_auc,
            tolerance=args.tolerance,
            staleness_budget=args.staleness_budget,
            policy=args.policy,
        ),
        beam_args=merge_beam_args(DEFAULT_BEAM_ARGS, tuple(args.beam_args)),
        pipeline_name=args.pipeline_name,
        metadata=metadata,
        baseline=schedule,
    )
