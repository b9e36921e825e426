"""The `additive` family's numerics: fitting new rows, and the average OOV row (pure NumPy).

The additive logit is bias + sum over features of scale_f * (sum of the row's
dims), so a row acts only through the sum of its dims. Fitting a new level is a
one-coefficient logistic regression on its rows, the other features' frozen
contributions as offset; the fitted sum is put on the mean row, spread equally
over the dims (the row keeps the mean's direction).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from newlevels.components.trainer.head import Head
from newlevels.components.trainer.init import (
    LabelledRows,
    Problem,
    fit_head_terms,
    mean_row,
    old_level_rows,
    prior_variance,
    ridge,
)

#: a scale this close to 0 cannot carry a correction (it would need a huge row).
MIN_SCALE = 1e-6


def logit_from_probability(probability: float) -> float:
    """The logit of a probability clipped into (0, 1)."""
    p = min(max(probability, 1e-6), 1.0 - 1e-6)
    return float(np.log(p / (1.0 - p)))


def contributions(
    tables: Mapping[str, np.ndarray], index: Mapping[str, np.ndarray], head: Head
) -> dict[str, np.ndarray]:
    """Each feature's part of every row's logit: scale_f * sum(row_f)."""
    return {
        f: head.scales[f] * np.asarray(tables[f], np.float64)[index[f]].sum(axis=-1) for f in index
    }


def fit_new_rows(problem: Problem, start: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Fits each new level's row sum to its rows, every other row fixed at `start`.

    Features are fitted in turn, each against the others' latest rows (one
    Gauss-Seidel sweep over the features).

    Args:
        problem: the parent's rows, the new levels and the training rows.
        start: every table, parent rows then the new rows' current values.

    Returns:
        Per table, its new rows.
    """
    index, labels, scales = problem.rows.index, problem.rows.labels, problem.head.scales
    current = {name: np.asarray(table, np.float64) for name, table in start.items()}
    parts = contributions(current, index, problem.head)
    for table in problem.tables:
        f, first, count = (
            table.feature,
            problem.first_new_row(table.feature),
            problem.new_levels[table.feature],
        )
        new = index[f] >= first
        if not (count and new.any()):
            continue
        mean = mean_row(problem.parent[table.name])
        old_sums = np.asarray(problem.parent[table.name], np.float64)[1:].sum(axis=-1)
        level_rows = ridge.Levels(
            levels=index[f][new] - first,
            x=np.full((int(new.sum()), 1), scales[f]),
            offset=(problem.head.bias + sum(parts.values()) - parts[f])[new],
            labels=labels[new],
            count=count,
        )
        sums = ridge.fit_shrunk(
            level_rows,
            prior_mean=np.array([mean.sum()]),
            base_var=prior_variance(old_sums[:, None]),
            start=current[table.name][first:].sum(axis=-1, keepdims=True),
        )[:, 0]
        current[table.name][first:] = mean + (sums - mean.sum())[:, None] / table.dim
        parts[f] = contributions({f: current[table.name]}, {f: index[f]}, problem.head)[f]
    return {t.name: current[t.name][problem.first_new_row(t.feature) :] for t in problem.tables}


def fit_head(problem: Problem) -> Head:
    """The head that best explains the span's rows holding only old levels (`--adapt head`).

    The parent's rows are fixed, so the logit is linear in the bias and the
    scales: one small logistic regression, started at the parent's head.
    """
    old = old_level_rows(problem)
    if not old.any():
        return problem.head
    features = tuple(problem.head.scales)
    sums = [
        np.asarray(problem.parent[f], np.float64)[problem.rows.index[f][old]].sum(axis=-1)
        for f in features
    ]
    terms = np.column_stack([np.ones(int(old.sum())), *sums])
    start = [problem.head.bias, *(problem.head.scales[f] for f in features)]
    theta = fit_head_terms(terms, np.zeros(len(terms)), problem.rows.labels[old], start)
    return Head(float(theta[0]), {f: float(s) for f, s in zip(features, theta[1:], strict=True)})


def average_oov_rows(
    tables: Mapping[str, np.ndarray], rows: LabelledRows, head: Head, base_rate: float
) -> dict[str, np.ndarray]:
    """OOV rows that serve an average level: a request of unseen levels gets the base rate.

    Each feature's OOV row is the mean of its token rows weighted by their
    training rows (the average row the traffic looked up), then every row is
    shifted equally along its dims, so that the all-OOV logit is the base rate's.

    Args:
        tables: per feature, the trained table (OOV row first).
        rows: the training rows (their counts weight the mean).
        head: the model's head (identity without one).
        base_rate: the probability the all-OOV request gets (`training_rows.Rows.base_rate`).

    Returns:
        Per feature, the OOV row (float64).
    """
    oov = {}
    for f, table in tables.items():
        table = np.asarray(table, np.float64)
        weights = rows.counts(f, len(table))[1:].astype(np.float64)
        oov[f] = np.average(table[1:], axis=0, weights=weights if weights.sum() else None)
    logit = head.bias + sum(head.scales[f] * row.sum() for f, row in oov.items())
    movable = [f for f in oov if abs(head.scales[f]) > MIN_SCALE]
    gap = logit_from_probability(base_rate) - logit
    for f in movable:
        oov[f] = oov[f] + gap / (len(movable) * len(oov[f]) * head.scales[f])
    return oov
