"""Typed settings of one Trainer, carried through TFX as the Trainer's custom_config."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from newlevels.components.trainer import context, families, head, optimizers
from newlevels.components.trainer import early_stopping as stopping
from newlevels.components.trainer import init as starts
from newlevels.components.trainer.distribution import DEFAULT, check_distribution
from newlevels.components.trainer.strategies import REGISTRY, UnknownStrategyError
from newlevels.components.trainer.tables import TableSpec
from newlevels.transforms.features import DataSpec


class Role(str, enum.Enum):
    """What a Trainer in the pipeline is for."""

    INCREMENTAL = "incremental"  # extends the parent model, trains new-level rows only
    FULL = "full"  # retrains every row on all spans (the baseline)


class TrainingOptionsError(ValueError):
    """A training option is out of range or inconsistent (the message names its flag)."""


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """How the Trainers train: the run's training options, set once from the CLI.

    Both Trainers of a run get the same options (the full retrain ignores the
    incremental-only ones). A new training option is a field here, its flag in
    `pipeline/commands/options.py`, and nothing else to copy.

    Attributes:
        epochs: passes over the training rows (`--epochs`).
        incremental_epochs: passes of the incremental Trainer when it extends a
            parent (`--incremental-epochs`); None means `epochs`.
        batch_size: rows per step (`--batch-size`).
        learning_rate: RMSprop learning rate (`--learning-rate`).
        fresh_on_mismatch: train a fresh model (no parent) when the parent has
            other features or embedding widths, instead of failing.
        distribution: name of the `tf.distribute` strategy (see `distribution.py`).
        model: registry name of the model family (see `families.py`).
        user_column: the user feature of the `mf` family (`--user-col`).
        item_column: the item feature of the `mf` family (`--item-col`).
        unfreeze_shared: let shared weights (the `mf` global bias) train in an
            incremental run; they stay at the parent's value otherwise.
        replay_fraction: with `unfreeze_shared`, the fraction of old-level rows
            (picked by a hash of the row id) mixed into incremental training.
        min_count: a new level gets a row once seen this often in the training
            rows, adding the parent's pending count (see `admission.py`).
        sparse_updates: `lazy` (a sparse gradient updates only its rows and
            their optimizer slots) or `dense` (tf_keras's stock update, O(rows)
            per step); see `optimizers.py`.
        init: where an extension's new rows start: `random`, `mean` or `fit`
            (`--init`; see `init`).
        early_stopping: `on`: an extension trains its new rows until the
            held-out loss stops improving (`--incremental-epochs` is then the
            cap, default `stopping.DEFAULT_EPOCH_CAP`) and keeps the best
            epoch; `off`: it trains a fixed number of epochs.
        holdout_fraction: the share of an extension's training rows held out
            for early stopping (by a hash of the row id).
        patience: epochs without a better held-out loss before stopping.
        embedding_dim: the width of each feature's embedding rows
            (`--embedding-dim`); None means the model family's
            `default_embedding_dim`. A model option, not a data one: no
            component before the Trainer reads it.
        adapt: `head`: an extension also trains a head (a bias and a scale per
            feature) on every row of the span, so old-level predictions follow
            drift while every row stays bit-identical; `none`: no head trains.
        context: `refresh`: an extension fits a correction of each old level,
            read only by rows holding a level it added or an unseen one, so
            those rows see their old levels fresh while old-level rows keep the
            parent's predictions (`context.py`); `frozen`: it fits none.
    """

    epochs: int = 2
    incremental_epochs: int | None = None
    batch_size: int = 64
    learning_rate: float = 0.01
    fresh_on_mismatch: bool = False
    distribution: str = DEFAULT
    model: str = families.DEFAULT
    user_column: str = families.DEFAULT_USER_COLUMN
    item_column: str = families.DEFAULT_ITEM_COLUMN
    unfreeze_shared: bool = False
    replay_fraction: float = 0.0
    min_count: int = 1
    sparse_updates: str = optimizers.DEFAULT
    init: str = starts.DEFAULT
    early_stopping: str = stopping.DEFAULT
    holdout_fraction: float = stopping.DEFAULT_HOLDOUT_FRACTION
    patience: int = stopping.DEFAULT_PATIENCE
    adapt: str = head.DEFAULT
    context: str = context.DEFAULT
    embedding_dim: int | None = None

    def __post_init__(self) -> None:
        positive = {
            "--epochs": self.epochs,
            "--incremental-epochs": self.epochs
            if self.incremental_epochs is None
            else self.incremental_epochs,
            "--batch-size": self.batch_size,
            "--min-count": self.min_count,
            "--patience": self.patience,
        }
        for flag, value in positive.items():
            if value < 1:
                raise TrainingOptionsError(f"{flag} must be 1 or more, got {value}")
        if not self.learning_rate > 0:
            raise TrainingOptionsError(
                f"--learning-rate must be positive, got {self.learning_rate}"
            )
        check_distribution(self.distribution)
        try:
            self.family  # noqa: B018 (validates the name)
        except families.UnknownModelError as error:
            raise TrainingOptionsError(str(error)) from None
        if self.width < 1:
            raise TrainingOptionsError(f"--embedding-dim must be 1 or more, got {self.width}")
        try:
            optimizers.check_sparse_updates(self.sparse_updates)
        except optimizers.UnknownSparseUpdatesError as error:
            raise TrainingOptionsError(f"--sparse-updates: {error}") from None
        if not 0.0 <= self.replay_fraction <= 1.0:
            raise TrainingOptionsError(
                f"--replay-fraction must be in [0, 1], got {self.replay_fraction}"
            )
        if self.replay_fraction and not self.unfreeze_shared:
            raise TrainingOptionsError("--replay-fraction needs --unfreeze-shared")
        for flag, value, choices in (
            ("--init", self.init, starts.INITS),
            ("--early-stopping", self.early_stopping, stopping.CHOICES),
            ("--adapt", self.adapt, head.ADAPTS),
            ("--context", self.context, context.CONTEXTS),
        ):
            if value not in choices:
                raise TrainingOptionsError(
                    f"{flag} must be one of {', '.join(choices)}, got {value!r}"
                )
        if not 0.0 < self.holdout_fraction < 1.0:
            raise TrainingOptionsError(
                f"--holdout-fraction must be in (0, 1), got {self.holdout_fraction}"
            )
        if self.adapt == head.HEAD and self.replay_fraction:
            raise TrainingOptionsError(
                "--adapt head trains on every row of the span: drop --replay-fraction"
            )

    @property
    def family(self) -> families.ModelFamily:
        """The model family these options select.

        Raises:
            families.UnknownModelError: for a name not in the registry.
        """
        return families.get_family(self.model, self.user_column, self.item_column)

    @property
    def width(self) -> int:
        """The width of each feature's embedding rows (`--embedding-dim`, else the family's)."""
        if self.embedding_dim is None:
            return self.family.default_embedding_dim
        return self.embedding_dim

    def stops_early(self, role: Role, extends_parent: bool) -> bool:
        """Whether a Trainer of `role` trains with early stopping (an extension, if on)."""
        return role is Role.INCREMENTAL and extends_parent and self.early_stopping == stopping.ON

    def epochs_for(self, role: Role, extends_parent: bool) -> int:
        """Passes over the training rows of a Trainer of `role` (the cap, with early stopping).

        Args:
            role: the Trainer's role.
            extends_parent: whether the run extends a parent model (a run without
                one trains every level, as the full model does).

        Returns:
            For an incremental run with a parent, `incremental_epochs` if set,
            else `stopping.DEFAULT_EPOCH_CAP` with early stopping and
            `epochs` without; `epochs` for every other run.
        """
        if not (role is Role.INCREMENTAL and extends_parent):
            return self.epochs
        if self.incremental_epochs is not None:
            return self.incremental_epochs
        if self.stops_early(role, extends_parent):
            return stopping.DEFAULT_EPOCH_CAP
        return self.epochs


OPTION_FIELDS = tuple(field.name for field in dataclasses.fields(TrainingOptions))
#: the custom_config keys of `TrainerSettings` beside the options'.
SETTINGS_KEYS = ("data_spec", "role", "strategy", "seed")


@dataclasses.dataclass(frozen=True)
class TrainerSettings:
    """Everything a Trainer run needs beyond its TFX inputs.

    Attributes:
        data_spec: the columns.
        role: incremental candidate or full-retrain baseline.
        strategy: registry name of the embedding strategy.
        options: the run's training options (epochs, model family, ...).
        seed: seeds fresh rows and shuffling.
    """

    data_spec: DataSpec
    role: Role
    strategy: str
    options: TrainingOptions = TrainingOptions()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in REGISTRY:
            raise UnknownStrategyError(
                f"unknown strategy {self.strategy!r}: choose one of {', '.join(sorted(REGISTRY))}"
            )
        self.family.check(self.data_spec)

    @property
    def family(self) -> families.ModelFamily:
        """The model family of the options."""
        return self.options.family

    @property
    def table_specs(self) -> tuple[TableSpec, ...]:
        """The tables of the model: the family's, `options.width` wide."""
        return self.family.table_specs(self.data_spec, self.options.width)

    def to_custom_config(self) -> dict[str, Any]:
        """The settings as a flat JSON-able dict (the options' keys at the top level).

        Flat, so the `incremental_trainer_config` runtime parameter keeps the keys
        it had before the options were grouped.
        """
        return {
            "data_spec": self.data_spec.to_dict(),
            "role": self.role.value,
            "strategy": self.strategy,
            "seed": self.seed,
            **dataclasses.asdict(self.options),
        }

    @classmethod
    def from_custom_config(cls, config: Mapping[str, Any]) -> TrainerSettings:
        """Reads `to_custom_config`'s dict back (absent options keep their defaults)."""
        unknown = sorted(set(config) - set(OPTION_FIELDS) - set(SETTINGS_KEYS))
        if unknown:
            raise TrainingOptionsError(f"unknown trainer config keys: {', '.join(unknown)}")
        options = {k: v for k, v in config.items() if k in OPTION_FIELDS}
        options.setdefault("embedding_dim", legacy_embedding_dim(config["data_spec"]))
        return cls(
            data_spec=DataSpec.from_dict(config["data_spec"]),
            role=Role(config["role"]),
            strategy=config["strategy"],
            options=TrainingOptions(**options),
            seed=config.get("seed", 0),
        )


def legacy_embedding_dim(data_spec: Mapping[str, Any]) -> int | None:
    """The width a data spec written before `--embedding-dim` became a model option carries.

    Such a spec (in an older compiled pipeline's trainer config) gave every
    feature the run's one width; None for a spec without one.
    """
    dims = {f["embedding_dim"] for f in data_spec["categorical"] if "embedding_dim" in f}
    return max(dims) if dims else None
