"""Errors a user can act on; the CLI prints them as one line and exits non-zero."""

from __future__ import annotations

from newlevels.components.ingest.csv_rows import DataError
from newlevels.components.trainer.artifacts import ParentModelError
from newlevels.components.trainer.distribution import UnknownDistributionError
from newlevels.components.trainer.settings import TrainingOptionsError
from newlevels.components.trainer.strategies import UnknownStrategyError
from newlevels.contracts.gate import GateError
from newlevels.delta.format import DeltaError
from newlevels.transforms.vocabularies import TransformOutputError


class ConfigError(ValueError):
    """A command-line setting is out of range or inconsistent."""


class ReportInputError(ValueError):
    """A run folder lacks something `newlevels report` needs (a summary, a data root)."""


class PipelineRunError(RuntimeError):
    """The TFX run failed for a reason not covered by a more specific error."""


#: error types whose message is shown to the user as it is.
USER_ERRORS = (
    DataError,
    ParentModelError,
    UnknownStrategyError,
    UnknownDistributionError,
    ConfigError,
    ReportInputError,
    TrainingOptionsError,
    DeltaError,
    TransformOutputError,
    GateError,
)


def user_facing(error: BaseException) -> BaseException | None:
    """Finds a user error inside `error`'s cause chain (TFX and Beam wrap executor errors)."""
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, USER_ERRORS):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
