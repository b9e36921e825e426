"""Early stopping: an extension trains its new rows until a held-out part stops improving."""

from __future__ import annotations

import numpy as np

from newlevels.components.trainer import early_stopping
from tests import generated


def noisy_problem() -> generated.Problem:
    """New levels with a handful of rows each and labels that their levels do not explain."""
    problem = generated.make("additive", rows=600, seed=4)
    rng = np.random.default_rng(5)
    noise = rng.integers(0, 2, len(problem.labels))
    return generated.Problem(
        problem.family, problem.parent, problem.truth, problem.diffs, problem.tokens, noise
    )


def test_early_stopping_stops_on_an_overfitting_case_and_keeps_the_best_epoch():
    # about 25 rows per new level and a large learning rate: one epoch helps, then it overfits
    problem = generated.make("additive", rows=600, seed=4)
    cap = 30
    # Without the context's corrections, fitted after training, which move the held-out loss.
    settings = problem.settings(
        init="random",
        incremental_epochs=cap,
        learning_rate=0.2,
        holdout_fraction=0.3,
        context="frozen",
    )
    fitted = problem.fit(settings)
    run = fitted.convergence
    assert run is not None and run.holdout_rows > 0
    losses = run.holdout_losses
    assert len(losses) == run.epochs + 1
    assert run.epochs < cap, "training should stop long before the cap"
    assert run.best_epoch == int(np.argmin(losses)) > 0
    assert run.epochs - run.best_epoch == settings.options.patience
    assert losses[-1] > losses[run.best_epoch], "the case overfits after its best epoch"
    # the model holds the best epoch's weights, not the last epoch's
    rows = generated.held_out_rows(problem, settings)
    kept = early_stopping.holdout_loss(fitted.model, *rows)
    assert kept == losses[run.best_epoch]


def test_the_best_epoch_can_be_the_start():
    problem = noisy_problem()
    settings = problem.settings(init="mean", learning_rate=0.5, holdout_fraction=0.3)
    fitted = problem.fit(settings)
    assert fitted.convergence.best_epoch == 0, "the mean start beats any fit to noise"
    assert fitted.convergence.epochs == settings.options.patience
    for name, table in fitted.model.embeddings.items():
        first = problem.parent.features[name].table.shape[0]
        assert np.array_equal(table.full_table().numpy()[first:], fitted.initial_rows[name])


def test_without_early_stopping_the_extension_trains_its_epochs_and_holds_nothing_out():
    problem = noisy_problem()
    fitted = problem.fit(problem.settings(early_stopping="off", incremental_epochs=3))
    assert fitted.convergence is None and fitted.epochs == 3
