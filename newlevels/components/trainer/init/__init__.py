"""Where a model's new rows start (`--init random|mean|fit`), in pure NumPy.

- `random`: N(0, 0.05^2), the seed post's start (and the only one for a model
  without a parent: with no old row there is nothing to start from).
- `mean`: every new row of a table starts at the mean of the parent's old token
  rows, each level counted once (not weighted by its rows): a new level is a new
  member of the population of levels, and the parent does not record how many
  rows each level had.
- `fit`: each new row is fitted to the span's training rows with every old row
  fixed (the family's `fit_new_rows`: a per-level logistic fit for `additive`,
  a ridge-logistic solve against the frozen factors for `mf`), shrunk toward the
  mean: a Gaussian prior centred on the mean of the parent's old rows, so a
  level with one row moves a little from the mean and a level with many rows
  goes where its rows say. The shrinkage strength is chosen by empirical Bayes
  (`ridge.fit_shrunk`): the prior variance is the spread of the parent's old
  rows times the power of 4 under which the span's rows are most probable (the
  Laplace approximation of their marginal likelihood). The spread alone shrank
  too hard: a parent's rows, trained for a few epochs, spread less than the
  levels' true effects. A row holding two new levels couples them:
  the features are fitted in turn (Gauss-Seidel, `FIT_ROUNDS` sweeps), the
  first sweep with the other feature's new levels at their mean, later sweeps
  against the other feature's latest fit.

Nothing here writes a parent row: a start is computed from copies and returned
as the new rows only; `parent.check_frozen` still checks every old row after
training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np

from newlevels.components.trainer.head import Head
from newlevels.components.trainer.init import ridge
from newlevels.components.trainer.levels import FIRST_TOKEN_ROW, OOV_ROW

RANDOM = "random"
MEAN = "mean"
FIT = "fit"
#: the `--init` choices.
INITS = (RANDOM, MEAN, FIT)
DEFAULT = FIT
#: the standard deviation of `random` rows.
RANDOM_STDDEV = 0.05
#: Gauss-Seidel sweeps of `fit` over the features: the first fits each feature
#: with the other features' new levels at their mean, later ones refit each
#: against the others' latest fit (rows holding two new levels couple them).
FIT_ROUNDS = 2
#: the prior variance of the head's bias and scales around the parent's head when
#: `--adapt head` fits them (weak: the span's old-level rows decide).
HEAD_PRIOR_VARIANCE = 1.0
#: the smallest prior variance of a fitted coefficient (a parent whose old rows
#: barely differ must not pin its new rows to the mean).
MIN_PRIOR_VARIANCE = 1e-3


class Table(Protocol):
    """A table's name, the feature whose rows it holds, and its width (`tables.TableSpec`)."""

    name: str
    feature: str
    dim: int


@dataclasses.dataclass(frozen=True)
class LabelledRows:
    """Training rows as table rows: per feature, the row each example looks up (0 = OOV)."""

    index: Mapping[str, np.ndarray]
    labels: np.ndarray

    def counts(self, feature: str, rows: int) -> np.ndarray:
        """How many examples look up each of `rows` rows of `feature`'s tables."""
        return np.bincount(self.index[feature], minlength=rows)[:rows]


@dataclasses.dataclass(frozen=True)
class Problem:
    """What a start sees: the tables, the parent's rows, the new levels and the rows.

    Attributes:
        tables: the model's tables, in model order.
        parent: per table, the parent's [1 + old levels, dim] rows (OOV row first).
        new_levels: per feature, how many rows it adds.
        rows: the run's training rows (after any held-out part is set aside).
        head: the head the new rows are trained under (the parent's, or identity).
        shared: the parent's shared weights by name (e.g. the `mf` global bias).
    """

    tables: Sequence[Table]
    parent: Mapping[str, np.ndarray]
    new_levels: Mapping[str, int]
    rows: LabelledRows
    head: Head
    shared: Mapping[str, float]

    def first_new_row(self, feature: str) -> int:
        """The first row of `feature`'s tables that this model adds."""
        table = next(t for t in self.tables if t.feature == feature)
        return int(self.parent[table.name].shape[0])


def labelled_rows(
    tokens: Mapping[str, Sequence[str]],
    labels: np.ndarray,
    vocabularies: Mapping[str, Sequence[str]],
) -> LabelledRows:
    """Maps each example's tokens to table rows (token i -> row i + 1, unseen -> OOV).

    Args:
        tokens: per feature, each example's token.
        labels: each example's 0/1 label.
        vocabularies: per feature, the model's vocabulary (`LevelDiff.merged`).

    Returns:
        The examples as table rows.
    """
    index = {}
    for name, vocabulary in vocabularies.items():
        rows = {token: FIRST_TOKEN_ROW + i for i, token in enumerate(vocabulary)}
        index[name] = np.fromiter((rows.get(t, OOV_ROW) for t in tokens[name]), np.int64)
    return LabelledRows(index, np.asarray(labels, np.float64))


def old_level_rows(problem: Problem) -> np.ndarray:
    """Marks the training rows whose every level the parent knows."""
    index = problem.rows.index
    features = dict.fromkeys(t.feature for t in problem.tables)
    return np.all([index[f] < problem.first_new_row(f) for f in features], axis=0)


def fit_head_terms(
    terms: np.ndarray, offset: np.ndarray, labels: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """Fits logit = offset + terms . theta (one shared theta) under a weak prior at `start`."""
    rows = ridge.Levels(np.zeros(len(labels), np.int64), terms, offset, labels, count=1)
    variance = np.full(len(start), HEAD_PRIOR_VARIANCE)
    return ridge.fit(rows, np.asarray(start, np.float64), variance).theta[0]


#: a family's fit: (problem, every table with its new rows' current values) -> the new rows.
Fitter = Callable[[Problem, Mapping[str, np.ndarray]], dict[str, np.ndarray]]


def random_rows(rows: int, dim: int, seed: int) -> np.ndarray:
    """Deterministic N(0, RANDOM_STDDEV^2) rows."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, RANDOM_STDDEV, size=(rows, dim)).astype(np.float32)


def mean_row(parent: np.ndarray) -> np.ndarray:
    """The mean of a parent table's token rows (row 0, the OOV row, left out), each once."""
    tokens = np.asarray(parent, np.float64)[1:]
    return tokens.mean(axis=0) if len(tokens) else np.zeros(parent.shape[1])


def prior_variance(values: np.ndarray) -> np.ndarray:
    """The spread of old levels' coefficients ([levels, K]), per coefficient, floored."""
    values = np.asarray(values, np.float64)
    spread = values.var(axis=0) if len(values) > 1 else np.zeros(values.shape[1:])
    return np.maximum(spread, MIN_PRIOR_VARIANCE)


def start_rows(method: str, problem: Problem, fitter: Fitter) -> dict[str, np.ndarray] | None:
    """Each table's new rows under `method`, for a model that extends a parent.

    Args:
        method: one of INITS.
        problem: the tables, the parent's rows and the training rows.
        fitter: the model family's fit (used by `fit` only).

    Returns:
        Per table, [new levels, dim] float32 rows; None for `random` (the tables
        draw their own, seeded, as a model without a parent does).

    Raises:
        ValueError: for a method not in INITS.
    """
    if method not in INITS:
        raise ValueError(f"unknown init {method!r}: choose one of {', '.join(INITS)}")
    if method == RANDOM:
        return None
    means = {
        t.name: np.tile(mean_row(problem.parent[t.name]), (problem.new_levels[t.feature], 1))
        for t in problem.tables
    }
    if method == MEAN:
        return {name: rows.astype(np.float32) for name, rows in means.items()}
    fitted = means
    for _ in range(FIT_ROUNDS):
        start = {
            name: np.concatenate([np.asarray(problem.parent[name], np.float64), rows])
            for name, rows in fitted.items()
        }
        fitted = fitter(problem, start)
    return {name: rows.astype(np.float32) for name, rows in fitted.items()}
