"""The OOV row serves an average level: a request of unseen levels gets about the base rate.

A model without a parent fits its OOV rows after training; so does an extension,
to the base rate of its own span, while every old token's row stays its parent's.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.trainer import head
from newlevels.components.trainer.folding import fold
from newlevels.components.trainer.settings import Role
from newlevels.components.trainer.strategies import INCREMENTAL
from tests import generated

UNSEEN = {f: tf.constant(["a level never seen"]) for f in generated.FEATURES}
#: the issue's bar: |all-unseen probability - training base rate| <= this.
BAR = 0.05


def unseen_probability(model) -> float:
    return float(model(UNSEEN).numpy()[0])


@pytest.mark.parametrize("family", ["additive", "mf"])
@pytest.mark.parametrize(
    ("role", "strategy"), [(Role.INCREMENTAL, "split"), (Role.FULL, "full")], ids=["first", "full"]
)
def test_a_request_of_unseen_levels_gets_the_base_rate(family, role, strategy):
    problem = generated.make(family, base=-2.0)
    base_rate = problem.labels.mean()
    assert base_rate < 0.3, "far from 0.5, what a zero OOV row serves"
    settings = problem.settings(strategy, role, early_stopping="off")
    fitted = problem.fit(settings, parent=False)
    served = fold(fitted.model, settings.family)
    for model in (fitted.model, served):
        probability = unseen_probability(model)
        assert abs(probability - base_rate) < BAR, (probability, base_rate)


@dataclasses.dataclass(frozen=True)
class Lineage:
    """A parent fitted on a span of base rate ~0.2, and a child span of base rate ~0.7."""

    parent_model: tf.keras.Model
    child: generated.Problem


@functools.cache
def lineage(family: str) -> Lineage:
    """The family's parent and child span (fitted once per test session)."""
    first_run = generated.make(family, base=-2.0).old_levels_only()
    fitted = first_run.fit(first_run.settings(early_stopping="off"), parent=False)
    # the child's rows mix old and new levels (old rows receive gradients), at another base rate
    child = generated.make(family, base=1.0, seed=2).extending(fitted.as_parent())
    assert all(diff.new_levels for diff in child.diffs.values())
    assert child.labels.mean() - first_run.labels.mean() >= 0.15
    return Lineage(fitted.model, child)


def old_levels(problem: generated.Problem) -> dict[str, tf.Tensor]:
    rows = problem.old_levels_only()
    assert len(rows.labels) > 50
    return {f: tf.constant(t) for f, t in rows.tokens.items()}


def check_refit(lineage: Lineage, strategy: str, **options) -> tf.keras.Model:
    """Fits the child; checks its old token rows and its all-unseen probability."""
    child = lineage.child
    settings = child.settings(strategy, learning_rate=0.05, **options)
    fitted = child.fit(settings)
    for name, rows in child.parent.features.items():
        table = fitted.model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[1 : len(rows.table)] - rows.weights)) == 0.0, name
    parent_p = unseen_probability(lineage.parent_model)
    span_rate = child.labels.mean()
    assert abs(parent_p - span_rate) > BAR, "the parent's OOV row must not pass on its own"
    for model in (fitted.model, fold(fitted.model, settings.family)):
        probability = unseen_probability(model)
        assert abs(probability - span_rate) <= BAR, (probability, span_rate, parent_p)
    return fitted.model


#: every strategy with `additive`; `mf` with `split` (the others with `-m slow`).
CASES = [
    pytest.param(family, strategy, marks=[pytest.mark.slow] if slow else [])
    for family in ("additive", "mf")
    for strategy in INCREMENTAL
    for slow in [family == "mf" and strategy != "split"]
]


@pytest.mark.parametrize(("family", "strategy"), CASES)
def test_an_extension_refits_its_oov_row_and_keeps_old_rows_and_predictions(family, strategy):
    parent = lineage(family)
    model = check_refit(parent, strategy)  # early stopping on: its held-out rows left out
    features = old_levels(parent.child)
    old_p = parent.parent_model(features).numpy()
    assert np.max(np.abs(model(features).numpy() - old_p)) == 0.0


@pytest.mark.parametrize("family", ["additive", "mf"])
def test_an_extension_refits_its_oov_row_after_the_head_under_adapt_head(family):
    check_refit(lineage(family), "split", adapt=head.HEAD, early_stopping="off")
