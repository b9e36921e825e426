"""The OOV row serves an average level: a request of unseen levels gets about the base rate."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.trainer.folding import fold
from newlevels.components.trainer.settings import Role
from tests import generated

UNSEEN = {f: tf.constant(["a level never seen"]) for f in generated.FEATURES}


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
        probability = float(model(UNSEEN).numpy()[0])
        assert abs(probability - base_rate) < 0.05, (probability, base_rate)


@pytest.mark.parametrize("family", ["additive", pytest.param("mf", marks=pytest.mark.slow)])
def test_a_child_keeps_its_parents_oov_row_bit_for_bit(family):
    first_run = generated.make(family, base=-2.0).old_levels_only()
    settings = first_run.settings(early_stopping="off")
    parent = first_run.fit(settings, parent=False).as_parent()
    assert all(rows.oov.any() for rows in parent.features.values()), "an average row, not zero"
    child = generated.make(family, base=1.0, seed=2).extending(parent)  # another base rate
    assert all(diff.new_levels for diff in child.diffs.values())
    fitted = child.fit(settings)
    for name, rows in parent.features.items():
        served = fitted.model.embeddings[name].full_table().numpy()[0]
        assert np.array_equal(served, rows.oov), name
