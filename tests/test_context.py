"""The context (`--context refresh`): fresh old levels beside new ones, and no old prediction moves.

The spans are generated (`generated.py`): their rows mix old and new levels, so
old rows receive gradients, and the parent's rows are stale (the truth plus
noise, per level), so the corrections are not zero.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os

import numpy as np
import pytest
import tensorflow as tf

from newlevels.components import certificate
from newlevels.components.trainer import artifacts, context
from newlevels.components.trainer.folding import fold
from newlevels.components.trainer.levels import diff_levels
from tests import generated, manifests


def pairs(levels: dict[str, list[str]]) -> dict[str, tf.Tensor]:
    """Every combination of the given levels of the two features, one row each."""
    rows = list(itertools.product(*(levels[f] for f in generated.FEATURES)))
    return {f: tf.constant([r[i] for r in rows]) for i, f in enumerate(generated.FEATURES)}


def logloss(model, problem: generated.Problem, keep: np.ndarray) -> float:
    features = {f: tf.constant(t[keep]) for f, t in problem.tokens.items()}
    p = np.clip(model(features).numpy().astype(np.float64), 1e-7, 1 - 1e-7)
    y = problem.labels[keep]
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def stale(problem: generated.Problem, seed: int = 5) -> generated.Problem:
    """The problem with its parent's token rows moved off the truth (the OOV row kept)."""
    rng = np.random.default_rng(seed)
    features = {
        name: artifacts.FeatureRows(
            rows.vocabulary,
            (rows.weights + rng.normal(0.0, 0.6, rows.weights.shape)).astype(np.float32),
            rows.oov,
        )
        for name, rows in problem.parent.features.items()
    }
    return dataclasses.replace(
        problem, parent=dataclasses.replace(problem.parent, features=features)
    )


@functools.cache
def chain(family: str):
    """A stale parent, its extension (span 2) and that one's extension (span 3)."""
    span2 = stale(generated.make(family, rows=1500, base=1.0, seed=1))
    first = span2.fit(span2.settings(learning_rate=0.05))
    later = generated.make(family, rows=1500, base=1.0, seed=2).later()
    span3 = later.extending(first.as_parent())
    second = span3.fit(span3.settings(learning_rate=0.05))
    return span2, first, second


def known_by(first) -> dict[str, list[str]]:
    """The levels the first extension knows (its parent's and its own)."""
    return {f: [*generated.OLD[f], *generated.NEW[f]] for f in generated.FEATURES}


@pytest.mark.parametrize("family", ["additive", "mf"])
def test_an_extension_corrects_its_old_levels_only_beside_a_new_one(family):
    span2, first, _ = chain(family)
    corrections = first.model.context.values()
    assert corrections.depth == 1
    assert max(np.abs(t[:, 1]).max() for t in corrections.corrections.values()) > 0.01
    # Rows of old levels only read no correction: the model's logit, untouched.
    old = pairs(generated.OLD)
    without = tf.sigmoid(first.model.logit(first.model.rows(old))).numpy()
    assert np.max(np.abs(first.model(old).numpy() - without)) == 0.0
    # Rows holding a new level read their old levels' corrections.
    mixed = pairs({"item": generated.NEW["item"], "user": generated.OLD["user"]})
    without = tf.sigmoid(first.model.logit(first.model.rows(mixed))).numpy()
    assert np.max(np.abs(first.model(mixed).numpy() - without)) > 1e-3


@pytest.mark.parametrize("family", ["additive", "mf"])
def test_a_child_serves_its_parents_predictions_on_every_row_the_parent_knew(family):
    """Span 2's own levels are old in span 3: rows holding them read span 2's corrections."""
    span2, first, second = chain(family)
    rows = pairs(known_by(first))
    parent, child = first.model(rows).numpy(), second.model(rows).numpy()
    assert np.max(np.abs(child - parent)) == 0.0
    served = fold(second.model, span2.settings().family)
    assert np.max(np.abs(served(rows).numpy() - parent)) == 0.0
    # What the check guards against: without span 2's corrections the child would differ.
    bare = tf.sigmoid(second.model.logit(second.model.rows(rows))).numpy()
    assert np.max(np.abs(bare - parent)) > 1e-3


@pytest.mark.parametrize("family", ["additive", "mf"])
def test_the_corrections_fit_the_rows_holding_a_new_level_better(family):
    """On fresh rows of the span holding a new level, refresh beats frozen."""
    span2 = stale(generated.make(family, rows=1500, base=1.0, seed=1))
    refreshed = span2.fit(span2.settings(learning_rate=0.05))
    frozen = span2.fit(span2.settings(learning_rate=0.05, context=context.FROZEN))
    assert np.max(np.abs(frozen.model.context.values().corrections["item"])) == 0.0
    test = generated.make(family, rows=3000, base=1.0, seed=7)
    new = np.any([np.isin(test.tokens[f], generated.NEW[f]) for f in generated.FEATURES], axis=0)
    assert new.sum() > 300
    assert logloss(refreshed.model, test, new) < logloss(frozen.model, test, new) - 0.002


def test_row_vintages_match_the_layers():
    starts = {"item": (5, 8), "user": (3, 4)}
    index = {"item": np.array([1, 4, 5, 7, 8, 0, 2]), "user": np.array([1, 3, 2, 1, 1, 1, 3])}
    expected = [0, 1, 1, 1, 2, 2, 1]
    assert context.row_vintages(index, starts).tolist() == expected
    tables = {f: np.zeros((10, 3), np.float32) for f in starts}
    layer = context.ContextLayer(context.Context(starts, tables))
    found = layer.vintages({f: tf.constant(i, tf.int64) for f, i in index.items()})
    assert found.numpy().tolist() == expected


def write(root: str, first, parent_uri: str, old_levels: dict[str, int], parent_oov=None) -> str:
    """`embeddings/` of a fitted model, with a manifest naming its parent."""
    exported = first.as_parent()
    features = {
        f: manifests.counts(
            old_levels[f], len(rows.vocabulary) - old_levels[f], rows.weights.shape[1]
        )
        for f, rows in exported.features.items()
    }
    manifest = manifests.manifest(
        list(exported.features),
        features=features,
        parent_model_uri=parent_uri,
        parent_oov_rows=parent_oov or {},
    )
    artifacts.write_embeddings(root, manifest, exported.features, context=exported.context)
    return root


def test_the_context_round_trips_and_the_certificate_holds_a_childs_inherited_part(tmp_path):
    _, first, second = chain("additive")
    parent = write(str(tmp_path / "p"), first, "grandparent", {"item": 20, "user": 10})
    old = {f: len(r.vocabulary) for f, r in first.as_parent().features.items()}
    oov = {f: tuple(r.oov.astype(float)) for f, r in first.as_parent().features.items()}
    child = write(str(tmp_path / "c"), second, parent, old, oov)
    read = artifacts.read_embeddings(child)
    for f, table in second.as_parent().context.corrections.items():
        assert np.array_equal(read.context.corrections[f], table)
    assert read.context.starts == second.as_parent().context.starts
    parent_rows = certificate.rows_digests(artifacts.read_embeddings(parent))
    assert "context/item" in parent_rows
    assert certificate.verify(read, parent_rows, None).ok
    # One inherited correction moved by one ulp: the certificate refuses the child.
    path = os.path.join(child, artifacts.EMBEDDINGS_DIR, "user", artifacts.CONTEXT)
    table = np.load(path)
    table[2, 1] = np.nextafter(table[2, 1], np.float32(np.inf))
    np.save(path, table)
    verdict = certificate.verify(artifacts.read_embeddings(child), parent_rows, None)
    assert not verdict.ok and "'context/user'" in verdict.detail


def test_a_diff_keeps_the_vintages_of_a_parent_with_vanished_levels():
    diff = diff_levels("item", ["a", "b", "c"], ["c", "d"])
    grown = context.Context.empty({"item": 4}).extended({"item": diff.frozen_rows}, {"item": 6})
    assert grown.starts == {"item": (4,)} and grown.corrections["item"].shape == (6, 2)
