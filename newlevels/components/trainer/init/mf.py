"""The `mf` family's numerics: fitting new rows, and the average OOV row (pure NumPy).

logit = s_u s_i <u, v> + s_u b_u + s_i b_i + global bias + head bias (s: the
head's scales, 1 without a head). With the other side's rows fixed, a new
item's [v, b_i] (or a new user's [u, b_u]) enters the logit linearly, so its
fit is a ridge-logistic regression on its rows (IRLS), shrunk toward the mean
of the parent's old rows with the spread of those rows as prior variance.
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
from newlevels.components.trainer.init.additive import MIN_SCALE, logit_from_probability

#: alternating fits of the two scales of the head.
HEAD_ROUNDS = 2
#: per feature, (its vector table, its bias table).
Sides = Mapping[str, tuple[str, str]]


def fit_new_rows(
    problem: Problem,
    start: Mapping[str, np.ndarray],
    sides: Sides,
    global_bias: float,
) -> dict[str, np.ndarray]:
    """Fits each new user's and item's vector and bias against the other side's rows.

    The sides are fitted in turn, each against the other's latest rows (one
    Gauss-Seidel sweep).

    Args:
        problem: the parent's rows, the new levels and the training rows.
        start: every table, parent rows then the new rows' current values.
        sides: per feature (the user and the item), its vector and bias tables.
        global_bias: the model's global bias (the parent's).

    Returns:
        Per table, its new rows.
    """
    index, labels, head = problem.rows.index, problem.rows.labels, problem.head
    current = {name: np.asarray(table, np.float64) for name, table in start.items()}
    for side, (vectors, biases) in sides.items():
        other = next(f for f in sides if f != side)
        other_vectors, other_biases = sides[other]
        first, count = problem.first_new_row(side), problem.new_levels[side]
        new = index[side] >= first
        if not (count and new.any()):
            continue
        dim = current[vectors].shape[1]
        looked_up = index[other][new]
        scale, other_scale = head.scales[side], head.scales[other]
        x = np.concatenate(
            [
                scale * other_scale * current[other_vectors][looked_up],
                np.full((len(looked_up), 1), scale),
            ],
            axis=1,
        )
        offset = global_bias + head.bias + other_scale * current[other_biases][looked_up, 0]
        old = np.concatenate([problem.parent[vectors], problem.parent[biases]], axis=1)
        level_rows = ridge.Levels(
            levels=index[side][new] - first,
            x=x,
            offset=offset,
            labels=labels[new],
            count=count,
        )
        theta = ridge.fit_shrunk(
            level_rows,
            prior_mean=mean_row(old),
            base_var=prior_variance(old[1:]),
            start=np.concatenate([current[vectors][first:], current[biases][first:]], axis=1),
        )
        current[vectors][first:], current[biases][first:] = theta[:, :dim], theta[:, dim:]
    return {
        name: current[name][problem.first_new_row(side) :]
        for side, names in sides.items()
        for name in names
    }


def fit_head(problem: Problem, sides: Sides, global_bias: float) -> Head:
    """The head that best explains the span's rows holding only old levels (`--adapt head`).

    The logit is linear in the bias and one side's scale while the other
    scale is fixed, so the two are fitted in turn (`HEAD_ROUNDS` rounds),
    started at the parent's head.
    """
    old = old_level_rows(problem)
    if not old.any():
        return problem.head
    index, labels = problem.rows.index, problem.rows.labels[old]
    parent = {name: np.asarray(table, np.float64) for name, table in problem.parent.items()}
    (user, (user_vec, user_bias)), (item, (item_vec, item_bias)) = sides.items()
    users, items = index[user][old], index[item][old]
    dot = np.sum(parent[user_vec][users] * parent[item_vec][items], axis=-1)
    bias = {user: parent[user_bias][users, 0], item: parent[item_bias][items, 0]}
    head = problem.head
    for _ in range(HEAD_ROUNDS):
        for side, other in ((user, item), (item, user)):
            other_scale = head.scales[other]
            terms = np.column_stack([np.ones(len(labels)), other_scale * dot + bias[side]])
            offset = global_bias + other_scale * bias[other]
            bias_now, scale = fit_head_terms(terms, offset, labels, [head.bias, head.scales[side]])
            head = Head(float(bias_now), {**head.scales, side: float(scale)})
    return head


def average_oov_rows(
    tables: Mapping[str, np.ndarray],
    rows: LabelledRows,
    head: Head,
    sides: Sides,
    global_bias: float,
    base_rate: float,
) -> dict[str, np.ndarray]:
    """OOV rows that serve an average level: a request of unseen levels gets the base rate.

    Each table's OOV row is the mean of its token rows weighted by their training
    rows; then the two OOV biases share the correction that makes the all-OOV
    logit the base rate's.

    Args:
        tables: per table name, the trained table (OOV row first).
        rows: the training rows (their counts weight the mean).
        head: the model's head (identity without one).
        sides: per feature, its vector and bias tables.
        global_bias: the model's global bias.
        base_rate: the probability the all-OOV request gets (`training_rows.Rows.base_rate`).

    Returns:
        Per table, the OOV row (float64).
    """
    oov = {}
    for side, names in sides.items():
        for name in names:
            table = np.asarray(tables[name], np.float64)
            weights = rows.counts(side, len(table))[1:].astype(np.float64)
            oov[name] = np.average(table[1:], axis=0, weights=weights if weights.sum() else None)
    (user, (user_vec, user_bias)), (item, (item_vec, item_bias)) = sides.items()
    su, si = head.scales[user], head.scales[item]
    logit = (
        su * si * float(oov[user_vec] @ oov[item_vec])
        + su * oov[user_bias][0]
        + si * oov[item_bias][0]
        + global_bias
        + head.bias
    )
    gap = logit_from_probability(base_rate) - logit
    movable = [(s, b) for s, (_, b) in sides.items() if abs(head.scales[s]) > MIN_SCALE]
    for side, bias in movable:
        oov[bias] = oov[bias] + gap / (len(movable) * head.scales[side])
    return oov
