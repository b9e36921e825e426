"""`--adapt head`: a bias and a scale per feature follow drift while every row stays fixed."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components.trainer import artifacts, export, fitting, head, init, parent
from newlevels.components.trainer.strategies import INCREMENTAL
from newlevels.components.trainer.train import TrainedModel
from tests import generated
from tests import pipeline_checks as checks
from tests.transform_graph import write_transform_graph


def adapted(family: str, strategy: str = "split", adapt: str = head.HEAD, problem=None):
    """An extension trained under drift (every logit shifted by +1.5), as a TrainedModel."""
    problem = problem or generated.make(family, base=1.5)
    settings = problem.settings(strategy, adapt=adapt, early_stopping="off", learning_rate=0.05)
    fitted = problem.fit(settings)
    rows = len(problem.labels)
    trained = TrainedModel(settings, fitted.model, dict(fitted.diffs), rows, rows, "parent")
    return problem, fitted, trained


def old_only(problem: generated.Problem) -> dict[str, tf.Tensor]:
    rows = problem.old_levels_only()
    assert len(rows.labels) > 50
    return {f: tf.constant(t) for f, t in rows.tokens.items()}


@pytest.mark.parametrize(
    "strategy",
    # `split` in the default run; the others (the same shared head) with `-m slow`
    [s if s == "split" else pytest.param(s, marks=pytest.mark.slow) for s in INCREMENTAL],
)
def test_the_head_moves_while_every_old_row_stays_bit_identical(strategy):
    problem, fitted, trained = adapted("additive", strategy)
    for name, rows in problem.parent.features.items():
        table = fitted.model.embeddings[name].full_table().numpy()
        assert np.max(np.abs(table[1 : len(rows.table)] - rows.weights)) == 0.0, name
    weights = fitted.model.shared_weights()
    assert weights[head.BIAS] > 0.3, "the bias follows the drift (+1.5 on every logit)"
    assert all(weights[head.scale_name(f)] != 1.0 for f in generated.FEATURES)
    parent.check_frozen(trained, problem.parent)
    assert trained.manifest().head_adapted is True
    # so old-level predictions change, and the manifest says so
    served = fitted.model(old_only(problem)).numpy()
    identity = generated.make("additive", base=1.5)
    unadapted = identity.fit(identity.settings(early_stopping="off", learning_rate=0.05))
    assert not np.array_equal(served, unadapted.model(old_only(problem)).numpy())


def test_a_child_without_adapt_keeps_its_parents_head_and_old_level_predictions():
    problem, fitted, _ = adapted("additive")
    adapted_parent = fitted.as_parent()
    child = generated.make("additive", seed=3).later().extending(adapted_parent)
    assert all(d.new_levels for d in child.diffs.values())
    _, child_fitted, child_trained = adapted("additive", adapt=head.NONE, problem=child)
    for name in head.names(generated.FEATURES):
        assert child_fitted.model.shared_weights()[name] == adapted_parent.shared[name], name
    parent.check_frozen(child_trained, adapted_parent)
    assert child_trained.manifest().head_adapted is False
    features = old_only(problem)
    assert np.array_equal(child_fitted.model(features).numpy(), fitted.model(features).numpy())


@pytest.fixture(scope="module")
def tft_output(tmp_path_factory):
    root = tmp_path_factory.mktemp("transform")
    problem = generated.make("additive")
    rows = [
        {"id": f"r{k}", "label": "1", **{f: problem.tokens[f][k] for f in generated.FEATURES}}
        for k in range(20)
    ]
    spec = problem.spec
    return write_transform_graph(spec, rows, str(root / "graph"), str(root / "tmp"))


@pytest.mark.slow
@pytest.mark.parametrize("family", ["additive", "mf"])
def test_the_served_model_folds_the_head_and_predicts_as_the_trained_model(
    family, tft_output, tmp_path
):
    problem, fitted, trained = adapted(family)
    uri = str(tmp_path / "model")
    export.export_trained(trained, tft_output, os.path.join(uri, artifacts.SERVING_DIR))
    exported = artifacts.read_embeddings(uri)
    assert set(head.names(generated.FEATURES)) <= set(exported.shared)
    assert exported.manifest.head_adapted is True
    rows = [{f: problem.tokens[f][k] for f in generated.FEATURES} for k in range(200)]
    examples = checks.to_examples(
        [{"id": str(k), "label": "0", **row} for k, row in enumerate(rows)], problem.spec
    )
    served = checks.predict(os.path.join(uri, artifacts.SERVING_DIR), examples)
    features = {f: tf.constant([r[f] for r in rows]) for f in generated.FEATURES}
    assert np.array_equal(served, fitted.model(features).numpy())


@pytest.mark.parametrize("family", ["additive", "mf"])
def test_the_head_starts_at_its_fit_to_the_drift_of_the_old_levels(family):
    problem = generated.make(family, rows=6000, base=1.5)  # every logit shifted by +1.5
    settings = problem.settings(adapt=head.HEAD)
    rows = init.labelled_rows(
        problem.tokens, problem.labels, {f: d.merged for f, d in problem.diffs.items()}
    )
    start = settings.family.fit_head(
        fitting.start_problem(settings, problem.diffs, problem.parent, rows)
    )
    assert abs(start.bias - 1.5) < 0.25, start
    assert all(abs(scale - 1.0) < 0.25 for scale in start.scales.values()), start
