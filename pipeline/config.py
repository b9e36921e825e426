"""The typed configuration of one pipeline run, built from the CLI."""

from __future__ import annotations

import dataclasses
import os

from components.trainer import families, optimizers
from components.trainer.distribution import DEFAULT as DEFAULT_DISTRIBUTION
from components.trainer.settings import Role, TrainerSettings
from components.trainer.strategies import INCREMENTAL, UnknownStrategyError
from pipeline.errors import ConfigError
from transforms.features import DataSpec

PIPELINE_NAME = "newlevels"
#: Beam args of a one-machine run; `merge_beam_args` lets a user's flags replace them.
#: Beam 2.74's DirectRunner first tries the Prism runner, which downloads a binary
#: from GitHub at run time (no network here: it fails, then falls back). Naming the
#: portable in-process runner that DirectRunner falls back to avoids that attempt.
DEFAULT_BEAM_ARGS = (
    "--runner=FnApiRunner",
    "--direct_running_mode=in_memory",
    "--direct_num_workers=1",
)
#: MovieLens columns, the CLI's defaults.
DEFAULT_CATEGORICAL = ("userId", "movieId")
DEFAULT_LABEL = "liked"
DEFAULT_ID = "id"


@dataclasses.dataclass(frozen=True)
class GateConfig:
    """When the Evaluator blesses the incremental candidate.

    Attributes:
        min_auc: the candidate's overall AUC must be at least this.
        max_auc_drop: the candidate's overall AUC may be lower than the full
            retrain's by at most this much.
    """

    min_auc: float = 0.55
    max_auc_drop: float = 0.02


def beam_flag(arg: str) -> str:
    """The flag name of a Beam argument: `--runner=X` and `--runner` give `--runner`."""
    return arg.split("=", 1)[0]


def merge_beam_args(defaults: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    """The defaults whose flag `extra` does not set, then `extra` in the user's order.

    Beam parses its options with argparse, where the last value of a flag wins;
    dropping the replaced defaults keeps the effective args readable in the spec.
    """
    given = {beam_flag(arg) for arg in extra}
    return (*(arg for arg in defaults if beam_flag(arg) not in given), *extra)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run of the pipeline on span `span` of the data under `data_root`."""

    data_root: str
    span: int
    workdir: str
    data_spec: DataSpec
    strategy: str = "split"
    epochs: int = 2
    batch_size: int = 64
    learning_rate: float = 0.01
    gate: GateConfig = GateConfig()
    #: push the full retrain when the candidate is rejected (and the baseline
    #: reaches gate.min_auc); the next run then extends it.
    promote_baseline_on_reject: bool = False
    #: train a fresh model when the previous one has other features or dims.
    fresh_on_mismatch: bool = False
    beam_args: tuple[str, ...] = DEFAULT_BEAM_ARGS
    distribution: str = DEFAULT_DISTRIBUTION
    #: model family (`families.REGISTRY`); the CLI's `--embedding-dim` default
    #: is the family's `default_embedding_dim` (2 for additive, 16 for mf).
    model: str = families.DEFAULT
    user_column: str = families.DEFAULT_USER_COLUMN
    item_column: str = families.DEFAULT_ITEM_COLUMN
    #: let shared weights (the mf global bias) train, replaying old rows.
    unfreeze_shared: bool = False
    replay_fraction: float = 0.0
    #: a new level gets a row once seen this often (counts accumulate across runs).
    min_count: int = 1
    #: `lazy` or `dense` optimizer updates of sparse gradients (see trainer/optimizers.py).
    sparse_updates: str = optimizers.DEFAULT

    def __post_init__(self) -> None:
        if self.span < 1:
            raise ConfigError(f"--span must be 1 or more, got {self.span}")
        if self.strategy not in INCREMENTAL:
            raise UnknownStrategyError(
                f"unknown strategy {self.strategy!r}: choose one of {', '.join(INCREMENTAL)}"
            )
        if self.epochs < 1:
            raise ConfigError(f"--epochs must be 1 or more, got {self.epochs}")
        if any(f.embedding_dim < 1 for f in self.data_spec.categorical):
            raise ConfigError("--embedding-dim must be 1 or more")
        try:
            families.get_family(self.model, self.user_column, self.item_column).check(
                self.data_spec
            )
        except (families.UnknownModelError, families.ModelFamilyError) as error:
            raise ConfigError(str(error)) from None
        if not 0.0 <= self.replay_fraction <= 1.0:
            raise ConfigError(f"--replay-fraction must be in [0, 1], got {self.replay_fraction}")
        if self.min_count < 1:
            raise ConfigError(f"--min-count must be 1 or more, got {self.min_count}")
        if self.replay_fraction and not self.unfreeze_shared:
            raise ConfigError("--replay-fraction needs --unfreeze-shared")
        if os.path.exists(self.workdir) and not os.path.isdir(self.workdir):
            raise ConfigError(f"--workdir {self.workdir} exists and is not a folder")
        if os.path.realpath(self.workdir) == os.path.realpath(self.data_root):
            raise ConfigError("--workdir must not be the data folder itself")

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.workdir, "tfx")

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.workdir, "metadata.sqlite")

    @property
    def serving_dir(self) -> str:
        return os.path.join(self.workdir, "serving")

    @property
    def run_dir(self) -> str:
        return os.path.join(self.workdir, "runs", f"span-{self.span}")

    def trainer_settings(self, role: Role) -> TrainerSettings:
        return TrainerSettings(
            data_spec=self.data_spec,
            role=role,
            strategy=self.strategy if role is Role.INCREMENTAL else "full",
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            fresh_on_mismatch=self.fresh_on_mismatch,
            distribution=self.distribution,
            model=self.model,
            user_column=self.user_column,
            item_column=self.item_column,
            unfreeze_shared=self.unfreeze_shared,
            replay_fraction=self.replay_fraction,
            min_count=self.min_count,
            sparse_updates=self.sparse_updates,
        )
