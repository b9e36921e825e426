"""The typed configuration of one pipeline run, built from the CLI."""

from __future__ import annotations

import dataclasses
import os

from newlevels.components.resolver.scope import (
    DEFAULT_PIPELINE_NAME,
    PipelineNameError,
    check_pipeline_name,
)
from newlevels.components.trainer import families
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.components.trainer.strategies import DEFAULT as DEFAULT_STRATEGY
from newlevels.components.trainer.strategies import INCREMENTAL, UnknownStrategyError
from newlevels.contracts.baseline import Schedule
from newlevels.contracts.gate import Gate
from newlevels.contracts.signatures import slice_keys
from newlevels.pipeline import store
from newlevels.pipeline.errors import ConfigError
from newlevels.transforms.features import DataSpec
from newlevels.transforms.preprocessing import LABEL_KEY, ROW_ID_KEY

#: the default `--pipeline-name`.
PIPELINE_NAME = DEFAULT_PIPELINE_NAME
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


def check_reserved_columns(spec: DataSpec, family: families.ModelFamily) -> None:
    """Refuses a column named like a key the pipeline writes itself.

    Reserved: the transform's row-id passthrough (`_row_id`), the Evaluator's
    slice keys (`new_level`, `level_cohort` and their `_<feature>` forms), the model family's own
    tables and shared weights (`<feature>_bias`, `global_bias` for mf) and, for
    a categorical column, the transform's label key (`label`; the label column
    itself may be called that).

    Raises:
        ConfigError: naming the column and the flag that set it.
    """
    reserved = {
        ROW_ID_KEY: "the transform passes the row id through under it",
        **{key: "an Evaluator slice flag" for key in slice_keys(spec.feature_names)},
        **{
            name: f"a table or weight of --model {family.name}"
            for name in family.reserved_names(spec)
        },
    }
    categorical_only = {LABEL_KEY: "the transform writes the label under it"}
    columns = [
        *(("--categorical", name, {**reserved, **categorical_only}) for name in spec.feature_names),
        ("--label", spec.label, reserved),
        ("--id", spec.id_column, reserved),
    ]
    for flag, name, names in columns:
        if name in names:
            raise ConfigError(
                f"{flag} column {name!r} is reserved ({names[name]}): rename the column"
            )


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One run of the pipeline on span `span` of the data under `data_root`.

    Attributes:
        data_root: the folder holding `span-N/` folders of CSV files.
        span: the span this run ingests.
        workdir: where the run writes (pipeline root, MLMD, serving, summaries).
        data_spec: the columns.
        strategy: the incremental Trainer's embedding strategy.
        options: the training options both Trainers get.
        gate: the decision's policy and budgets (extend, rebase or hold).
        beam_args: Beam options of ExampleGen, Transform and the Evaluator.
        pipeline_name: the pipeline's name in MLMD (and on Kubeflow): runs of one
            name form one line of models; a parent is only ever taken from it.
        metadata: the MLMD store (None: SQLite under the workdir).
        baseline: the baseline schedule: on which spans the full retrain runs.
    """

    data_root: str
    span: int
    workdir: str
    data_spec: DataSpec
    strategy: str = DEFAULT_STRATEGY
    options: TrainingOptions = TrainingOptions()
    gate: Gate = Gate()
    beam_args: tuple[str, ...] = DEFAULT_BEAM_ARGS
    pipeline_name: str = PIPELINE_NAME
    metadata: store.StoreConfig | None = None
    baseline: Schedule = Schedule()

    def __post_init__(self) -> None:
        try:
            check_pipeline_name(self.pipeline_name)
        except PipelineNameError as error:
            raise ConfigError(str(error)) from None
        if self.span < 1:
            raise ConfigError(f"--span must be 1 or more, got {self.span}")
        if self.strategy not in INCREMENTAL:
            raise UnknownStrategyError(
                f"unknown strategy {self.strategy!r}: choose one of {', '.join(INCREMENTAL)}"
            )
        try:
            self.options.family.check(self.data_spec)
        except families.ModelFamilyError as error:
            raise ConfigError(str(error)) from None
        check_reserved_columns(self.data_spec, self.options.family)
        if os.path.exists(self.workdir) and not os.path.isdir(self.workdir):
            raise ConfigError(f"--workdir {self.workdir} exists and is not a folder")
        workdir, data_root = os.path.realpath(self.workdir), os.path.realpath(self.data_root)
        if workdir == data_root:
            raise ConfigError("--workdir must not be the data folder itself")
        if os.path.commonpath([workdir, data_root]) == data_root:
            raise ConfigError(
                f"--workdir {self.workdir} is inside the data folder {self.data_root}: a run "
                "never writes into its data; choose a workdir outside it"
            )

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.workdir, "tfx")

    @property
    def metadata_path(self) -> str:
        """The default store: a SQLite file under the workdir."""
        return os.path.join(self.workdir, "metadata.sqlite")

    @property
    def metadata_store(self) -> store.StoreConfig:
        """The MLMD store the run writes to."""
        return self.metadata or store.sqlite_store(self.metadata_path)

    @property
    def serving_dir(self) -> str:
        return os.path.join(self.workdir, "serving")

    @property
    def run_dir(self) -> str:
        return os.path.join(self.workdir, "runs", f"span-{self.span}")

    def trainer_settings(self, role: Role) -> TrainerSettings:
        """The settings of the Trainer of `role` (the full retrain uses strategy `full`)."""
        strategy = self.strategy if role is Role.INCREMENTAL else "full"
        return TrainerSettings(self.data_spec, role, strategy, self.options)
