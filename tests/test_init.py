"""Where new rows start (`--init`): every strategy keeps old rows, `fit` finds known answers."""

from __future__ import annotations

import numpy as np
import pytest

from newlevels.components.trainer import fitting, init
from newlevels.components.trainer.init import ridge
from newlevels.components.trainer.strategies import INCREMENTAL
from tests import generated


def first_new_row(problem: generated.Problem, table: str) -> int:
    return problem.parent.features[table].table.shape[0]


def expected_start(problem: generated.Problem, method: str, settings) -> dict[str, np.ndarray]:
    """The start `method` gives, computed apart from the Trainer's record of it."""
    if method == init.RANDOM:
        specs = settings.table_specs
        return {
            t.name: init.random_rows(problem.diffs[t.feature].new_levels, t.dim, settings.seed + k)
            for k, t in enumerate(specs)
        }
    rows = init.labelled_rows(
        problem.tokens, problem.labels, {f: d.merged for f, d in problem.diffs.items()}
    )
    start = fitting.start_problem(settings, problem.diffs, problem.parent, rows)
    return init.start_rows(method, start, settings.family.fit_new_rows)


#: the default run covers every strategy with the default init and every init with
#: `split`; `-m slow` runs the rest of the product.
CASES = [
    pytest.param(
        strategy,
        method,
        marks=[] if strategy == "split" or method == init.DEFAULT else [pytest.mark.slow],
    )
    for strategy in INCREMENTAL
    for method in init.INITS
]


@pytest.mark.parametrize(("strategy", "method"), CASES)
def test_every_strategy_keeps_old_rows_and_starts_new_rows_where_the_init_says(strategy, method):
    problem = generated.make("additive")
    settings = problem.settings(strategy, init=method, early_stopping="off", learning_rate=0.05)
    fitted = problem.fit(settings)
    expected = expected_start(problem, method, settings)
    for name, table in fitted.model.embeddings.items():
        rows = table.full_table().numpy()
        parent = problem.parent.features[name].table
        first = first_new_row(problem, name)
        # the span's rows mix old and new levels, so old rows do receive gradients
        # (row 0, the OOV row, is refitted after training: tests/test_oov.py)
        assert np.max(np.abs(rows[1:first] - parent[1:])) == 0.0, name
        assert np.array_equal(fitted.initial_rows[name], expected[name]), name
        moved = np.any(rows[first:] != fitted.initial_rows[name], axis=1)
        assert moved.all(), f"every new row of {name} should have trained"
    if method == init.MEAN:
        mean = init.mean_row(problem.parent.features["item"].table).astype(np.float32)
        assert np.array_equal(fitted.initial_rows["item"], np.tile(mean, (8, 1)))


@pytest.mark.parametrize("family", ["additive", "mf"])
def test_the_fit_start_beats_random_on_a_problem_whose_answer_is_known(family):
    problem = generated.make(family, rows=4000)
    settings = problem.settings(init=init.FIT)
    starts = {m: expected_start(problem, m, settings) for m in init.INITS}
    held_out = generated.make(family, rows=4000, seed=1)  # same truth, other rows
    assert all(np.array_equal(problem.truth[n], held_out.truth[n]) for n in problem.truth)

    def loss(method: str) -> float:
        tables = {
            name: np.concatenate([problem.parent.features[name].table, rows])
            for name, rows in starts[method].items()
        }
        index = init.labelled_rows(
            held_out.tokens, held_out.labels, {f: d.merged for f, d in problem.diffs.items()}
        ).index
        if family == "mf":
            logit = (
                np.sum(tables["user"][index["user"]] * tables["item"][index["item"]], -1)
                + tables["user_bias"][index["user"], 0]
                + tables["item_bias"][index["item"], 0]
            )
        else:
            logit = sum(tables[f][index[f]].sum(-1) for f in generated.FEATURES)
        p = np.clip(1 / (1 + np.exp(-logit)), 1e-7, 1 - 1e-7)
        y = held_out.labels
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    losses = {m: loss(m) for m in init.INITS}
    assert losses[init.FIT] < losses[init.MEAN] - 0.02 and losses[init.FIT] < losses[init.RANDOM]
    if family == "additive":
        for feature in generated.FEATURES:
            first = first_new_row(problem, feature)
            truth = problem.truth[feature][first:].sum(-1)
            errors = {m: np.mean((starts[m][feature].sum(-1) - truth) ** 2) for m in init.INITS}
            assert errors[init.FIT] < 0.5 * errors[init.RANDOM], (feature, errors)


def test_ridge_fit_recovers_a_level_with_many_rows_and_keeps_the_prior_for_a_level_with_none():
    rng = np.random.default_rng(0)
    rows = 20_000
    x = np.ones((rows, 1))
    levels = np.zeros(rows, np.int64)  # every row is level 0; level 1 has none
    labels = (rng.random(rows) < 1 / (1 + np.exp(-1.5))).astype(float)
    problem = ridge.Levels(levels, x, np.zeros(rows), labels, count=2)
    theta = ridge.fit_shrunk(problem, np.array([0.0]), np.array([1.0]))
    assert abs(theta[0, 0] - 1.5) < 0.05
    assert theta[1, 0] == 0.0


def test_ridge_shrinks_a_level_with_one_row_toward_the_prior_mean():
    problem = ridge.Levels(np.array([0]), np.ones((1, 1)), np.zeros(1), np.ones(1), count=1)
    weak = ridge.fit(problem, np.array([0.0]), np.array([0.01])).theta[0, 0]
    strong = ridge.fit(problem, np.array([0.0]), np.array([10.0])).theta[0, 0]
    assert 0.0 < weak < 0.02 < strong < 10.0


def test_the_cholesky_solve_matches_numpy():
    rng = np.random.default_rng(0)
    a = rng.random((50, 5, 5))
    matrices = a @ a.transpose(0, 2, 1) + np.eye(5)
    vectors = rng.random((50, 5))
    solution, log_det = ridge.cholesky_solve(matrices, vectors)
    np.testing.assert_allclose(solution, np.linalg.solve(matrices, vectors[..., None])[..., 0])
    np.testing.assert_allclose(log_det, np.linalg.slogdet(matrices)[1])
