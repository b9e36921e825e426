"""Model families behind one interface, picked by name from a registry.

A family says which tables it needs (so the parent check and the export know
them), how to build its Keras model from tables built by the run's strategy,
and what it records in the manifest so a child can tell whether a parent is
of the same family.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from newlevels.components.trainer import head, init, model
from newlevels.components.trainer.init import additive as init_additive
from newlevels.components.trainer.init import mf as init_mf
from newlevels.components.trainer.tables import FeatureTables, TableSpec
from newlevels.transforms.features import DataSpec

SPAN_ROWS, NEW_LEVEL_ROWS = "span", "new_level"
DEFAULT_USER_COLUMN = "userId"
DEFAULT_ITEM_COLUMN = "movieId"


class UnknownModelError(ValueError):
    """Raised for a model family name that is not in the registry."""


class ModelFamilyError(ValueError):
    """A family cannot be built on these columns (e.g. mf without its user column)."""


@dataclasses.dataclass(frozen=True)
class AdaptationHead:
    """A model's head (`head.py`): where it starts and whether it trains."""

    start: head.Head
    trainable: bool


class ModelFamily(abc.ABC):
    """Builds one kind of model from tables."""

    name: ClassVar[str]
    #: embedding width when the user gives none.
    default_embedding_dim: ClassVar[int]
    #: names of the weights outside the tables (`embeddings/<name>.npy`).
    shared_names: ClassVar[tuple[str, ...]] = ()
    #: which rows `--context refresh` fits its corrections on (`context.py`): every
    #: training row of the span (`SPAN_ROWS`) or the rows holding a new level.
    context_rows: ClassVar[str] = SPAN_ROWS

    def __init__(self, user_column: str, item_column: str) -> None:
        self.user_column = user_column
        self.item_column = item_column

    def check(self, spec: DataSpec) -> None:
        """Refuses columns the family cannot use (the default accepts any).

        Raises:
            ModelFamilyError: naming the columns at fault.
        """
        return None

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the family (compared with a child's)."""
        return {"name": self.name}

    def reserved_names(self, spec: DataSpec) -> set[str]:
        """Names the family gives its own tables and shared weights (no column may take one)."""
        specs = self.table_specs(spec, self.default_embedding_dim)
        extra_tables = {t.name for t in specs if t.name != t.feature}
        return extra_tables | set(self.shared_names) | set(head.names(spec.feature_names))

    @abc.abstractmethod
    def table_specs(self, spec: DataSpec, dim: int) -> tuple[TableSpec, ...]:
        """The tables the model needs, in model order.

        Args:
            spec: the columns.
            dim: the width of each feature's rows (`TrainingOptions.width`).

        Returns:
            One spec per table.
        """

    @abc.abstractmethod
    def build(
        self,
        tables: Mapping[str, FeatureTables],
        shared: Mapping[str, np.ndarray] | None,
        train_shared: bool,
        adaptation: AdaptationHead | None = None,
    ) -> model.EmbeddingModel:
        """Builds the model.

        Args:
            tables: the tables of `table_specs`, built by the run's strategy.
            shared: the parent's shared weights (by name), or None.
            train_shared: whether the family's shared weights train (else they
                keep their value).
            adaptation: the head's start and whether it trains, or None for a
                model without a head.

        Returns:
            The (uncompiled) model.
        """

    @abc.abstractmethod
    def fit_new_rows(
        self, problem: init.Problem, start: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """The `fit` start of every table's new rows (see `init`).

        Args:
            problem: the parent's rows, the new levels and the training rows.
            start: every table with its new rows at the mean start.

        Returns:
            Per table, its new rows.
        """

    @abc.abstractmethod
    def fit_head(self, problem: init.Problem) -> head.Head:
        """The head's start under `--adapt head`: its fit to the span's old-level rows."""

    @abc.abstractmethod
    def average_oov_rows(
        self,
        tables: Mapping[str, np.ndarray],
        rows: init.LabelledRows,
        shared: Mapping[str, np.ndarray],
        base_rate: float,
    ) -> dict[str, np.ndarray]:
        """OOV rows serving an average level, fitted after training (see `init`).

        Args:
            tables: per table, the trained rows (OOV row first).
            rows: the training rows.
            shared: the model's shared weights (its head, if any, as trained).
            base_rate: the probability the all-OOV request gets.

        Returns:
            Per table, its OOV row.
        """

    def head_of(
        self, features: Sequence[str], shared: Mapping[str, np.ndarray] | None
    ) -> head.Head:
        """The head held in `shared` (over `features`), or the identity head."""
        return head.Head.from_shared(shared, features) or head.Head.identity(features)

    def _head_layer(self, adaptation: AdaptationHead | None) -> model.HeadLayer | None:
        if adaptation is None:
            return None
        return model.HeadLayer(adaptation.start, adaptation.trainable, name="head")


class AdditiveFamily(ModelFamily):
    """The seed post's model: every row's vector summed into the logit."""

    name = "additive"
    default_embedding_dim = 2

    def table_specs(self, spec: DataSpec, dim: int) -> tuple[TableSpec, ...]:
        return tuple(TableSpec(name, name, dim) for name in spec.feature_names)

    def build(self, tables, shared, train_shared, adaptation=None) -> model.EmbeddingModel:
        return model.AdditiveEmbeddingModel(tables, self._head_layer(adaptation))

    def fit_new_rows(self, problem, start) -> dict[str, np.ndarray]:
        return init_additive.fit_new_rows(problem, start)

    def fit_head(self, problem) -> head.Head:
        return init_additive.fit_head(problem)

    def average_oov_rows(self, tables, rows, shared, base_rate) -> dict[str, np.ndarray]:
        # An additive table is named after its feature.
        model_head = self.head_of(tuple(tables), shared)
        return init_additive.average_oov_rows(tables, rows, model_head, base_rate)


class MatrixFactorizationFamily(ModelFamily):
    """User x item factorization with per-level biases and a global bias."""

    name = "mf"
    default_embedding_dim = 16
    shared_names = (model.MatrixFactorizationModel.GLOBAL_BIAS,)
    # A level acts through its partner's vector: what old-level rows say about it
    # does not carry over to new partners (measured in `tests/test_context.py`).
    context_rows = NEW_LEVEL_ROWS

    def check(self, spec: DataSpec) -> None:
        columns = (self.user_column, self.item_column)
        if self.user_column == self.item_column or set(spec.feature_names) != set(columns):
            raise ModelFamilyError(
                f"--model mf needs --user-col and --item-col to be the two categorical "
                f"columns; got user {self.user_column!r}, item {self.item_column!r}, "
                f"categorical {list(spec.feature_names)}"
            )

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "user_column": self.user_column, "item_column": self.item_column}

    def table_specs(self, spec: DataSpec, dim: int) -> tuple[TableSpec, ...]:
        columns = (self.user_column, self.item_column)
        return (
            *(TableSpec(c, c, dim) for c in columns),
            *(TableSpec(model.MatrixFactorizationModel.bias_table(c), c, 1) for c in columns),
        )

    def build(self, tables, shared, train_shared, adaptation=None) -> model.EmbeddingModel:
        return model.MatrixFactorizationModel(
            tables,
            user=self.user_column,
            item=self.item_column,
            global_bias=model.SharedScalar(
                self._global_bias(shared), trainable=train_shared, name="global_bias"
            ),
            head=self._head_layer(adaptation),
        )

    def fit_new_rows(self, problem, start) -> dict[str, np.ndarray]:
        return init_mf.fit_new_rows(
            problem, start, self._sides(), self._global_bias(problem.shared)
        )

    def fit_head(self, problem) -> head.Head:
        return init_mf.fit_head(problem, self._sides(), self._global_bias(problem.shared))

    def average_oov_rows(self, tables, rows, shared, base_rate) -> dict[str, np.ndarray]:
        features = (self.user_column, self.item_column)
        return init_mf.average_oov_rows(
            tables,
            rows,
            self.head_of(features, shared),
            self._sides(),
            self._global_bias(shared),
            base_rate,
        )

    def _sides(self) -> dict[str, tuple[str, str]]:
        bias = model.MatrixFactorizationModel.bias_table
        return {c: (c, bias(c)) for c in (self.user_column, self.item_column)}

    @staticmethod
    def _global_bias(shared: Mapping[str, np.ndarray] | None) -> float:
        name = model.MatrixFactorizationModel.GLOBAL_BIAS
        return 0.0 if not shared else float(shared[name])


REGISTRY: dict[str, type[ModelFamily]] = {
    cls.name: cls for cls in (AdditiveFamily, MatrixFactorizationFamily)
}
DEFAULT = AdditiveFamily.name


def get_family(
    name: str, user_column: str = DEFAULT_USER_COLUMN, item_column: str = DEFAULT_ITEM_COLUMN
) -> ModelFamily:
    """Returns the family registered under `name`.

    Raises:
        UnknownModelError: naming the valid choices.
    """
    try:
        return REGISTRY[name](user_column, item_column)
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}: choose one of {', '.join(sorted(REGISTRY))}"
        ) from None
