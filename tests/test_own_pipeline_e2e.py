"""`examples/own_pipeline`: stock upstream components, then the public newlevels API, two spans.

The stock Transform analyses every span each run, so span 2's vocabularies put old
tokens at other indices than span 1's: the incremental Trainer must diff them by
token. Span 2's rows mix old and new levels, so the rows the candidate trains on
reach old rows (the full retrain, which freezes nothing, moves them).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow_transform as tft
from tfx.types.standard_artifacts import ModelBlessing

import newlevels
from examples.own_pipeline import data, preprocessing
from examples.own_pipeline import pipeline as own
from newlevels.components.trainer import artifacts
from newlevels.contracts import blessing
from newlevels.pipeline import metadata
from newlevels.pipeline import store as store_config

pytestmark = pytest.mark.e2e

#: these runs test the mechanics (freezing by token, lineage, pushes), not the gate's
#: outcome: any extension whose old rows are intact goes through.
LENIENT = newlevels.Gate(tolerance=0.5, staleness_budget=0.5)
FEATURES = preprocessing.CATEGORICAL


def outputs(root: str, node: str, key: str) -> list[str]:
    """The URIs of a node's output `key`, oldest first (TFX names them by execution id)."""
    folder = os.path.join(root, "tfx", node, key)
    return [os.path.join(folder, name) for name in sorted(os.listdir(folder), key=int)]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> str:
    work = str(tmp_path_factory.mktemp("own-pipeline"))
    data_root = os.path.join(work, "data")
    for span in (1, 2):
        data.write_span(data_root, span)
        own.run(work, data_root, gate=LENIENT)
    return work


def max_change_by_token(parent: artifacts.FeatureRows, child: artifacts.FeatureRows) -> float:
    """max |child - parent| over every parent token's row, matched by token.

    The OOV row is the child's own (every model fits it after training).
    """
    index = {token: row for row, token in enumerate(child.vocabulary)}
    rows = [index[token] for token in parent.vocabulary]
    return float(np.max(np.abs(child.weights[rows] - parent.weights)))


def test_span_2_extends_span_1_by_token_with_old_rows_bit_identical(workdir):
    graphs = outputs(workdir, "Transform", "transform_graph")
    assert len(graphs) == 2
    before, after = (tft.TFTransformOutput(g).vocabulary_by_name("item") for g in graphs)
    moved = [token for index, token in enumerate(before) if after.index(token) != index]
    assert moved, "span 2's vocabulary kept every old token's index: nothing tests the diff"

    first, candidate = outputs(workdir, "candidate", "model")
    child = artifacts.read_embeddings(candidate)
    assert child.manifest.parent_model_uri == first  # span 1's model was pushed
    parent = artifacts.read_embeddings(first)
    full = artifacts.read_embeddings(outputs(workdir, "full_retrain", "model")[-1])
    for name in FEATURES:
        assert max_change_by_token(parent.features[name], child.features[name]) == 0.0
        # The same rows were trained by the full retrain: the data reaches them.
        assert max_change_by_token(parent.features[name], full.features[name]) > 0.0

    added = {
        name: set(child.features[name].vocabulary) - set(parent.features[name].vocabulary)
        for name in FEATURES
    }
    assert added["item"] and added["item"] <= {str(i) for i in range(data.OLD_ITEMS, data.ITEMS)}
    assert added["user"] and added["user"] <= {f"u{i}" for i in range(data.OLD_USERS, data.USERS)}
    assert 0 < child.manifest.rows_trained < child.manifest.rows_total


def test_each_span_is_decided_and_the_model_it_serves_is_pushed(workdir):
    store = metadata.connect(store_config.sqlite_store(os.path.join(workdir, "metadata.sqlite")))
    blessings = store.get_artifacts_by_type(ModelBlessing.TYPE_NAME)
    decided = [b for b in blessings if blessing.DECISION in b.custom_properties]
    assert len(decided) == 4  # the Decision's two blessings per span
    assert {b.custom_properties[blessing.PIPELINE].string_value for b in decided} == {"clicks"}
    served = [b for b in decided if b.custom_properties["blessed"].int_value]
    assert len(served) == 2  # one model per span: the candidate or the full retrain
    assert len(os.listdir(os.path.join(workdir, "serving"))) == 2
