"""The two-run pipeline on MovieLens with the `mf` family (user x item with biases)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from newlevels.components.trainer import artifacts
from newlevels.pipeline.data.movielens import write_movielens
from newlevels.transforms.features import DataSpec
from tests import pipeline_checks as checks

SPEC = DataSpec.build(["userId", "movieId"], "liked", "id")
MF = [
    *("--model", "mf", "--user-col", "userId", "--item-col", "movieId", "--embedding-dim", "8"),
    *("--incremental-epochs", "3"),
]


@pytest.fixture(scope="module")
def mf_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("movielens-mf")
    data, workdir = str(root / "data"), str(root / "work")
    write_movielens(data)
    summaries = checks.run_spans(data, workdir, (1, 2), "split", MF)
    return {"data": data, "summaries": summaries}


def serving_dir(model_uri: str) -> str:
    return os.path.join(model_uri, artifacts.SERVING_DIR)


@pytest.mark.slow
def test_mf_keeps_every_old_vector_and_bias_and_the_global_bias_by_token(mf_runs):
    first, second = mf_runs["summaries"]
    changes = checks.max_change_by_token(first["model_uri"], second["model_uri"])
    assert changes == {"userId": 0.0, "movieId": 0.0, "userId_bias": 0.0, "movieId_bias": 0.0}
    parent = artifacts.read_embeddings(first["model_uri"])
    child = artifacts.read_embeddings(second["model_uri"])
    assert child.manifest.model_family["name"] == "mf"
    assert child.features["movieId"].weights.shape[1] == 8
    assert child.features["movieId_bias"].weights.shape[1] == 1
    assert child.shared["global_bias"] == parent.shared["global_bias"]
    assert second["features"]["movieId"]["new_levels"] > 1000


@pytest.mark.slow
def test_mf_predicts_bit_identically_on_rows_with_only_old_levels(mf_runs):
    first, second = mf_runs["summaries"]
    old = {
        name: set(artifacts.read_embeddings(first["model_uri"]).features[name].vocabulary)
        for name in SPEC.feature_names
    }
    rows = [
        row
        for row in checks.csv_rows(mf_runs["data"], 2)
        if all(row[name] in tokens for name, tokens in old.items())
    ]
    assert len(rows) > 100
    examples = checks.to_examples(rows, SPEC)
    before = checks.predict(serving_dir(first["model_uri"]), examples)
    after = checks.predict(serving_dir(second["model_uri"]), examples)
    assert np.array_equal(before, after)
    assert second["metrics"]["candidate"]["overall"]["auc"] > 0.5


@pytest.mark.slow
def test_mf_summary_slices_by_user_and_item_and_states_old_rows_are_the_parents(mf_runs):
    first, second = mf_runs["summaries"]
    assert (first["epochs"], second["epochs"]) == (2, 3)
    candidate = second["metrics"]["candidate"]
    change = second["old_level_rows_prediction_change"]
    assert change["max_abs"] == 0.0
    assert change["rows"] == candidate["old_level_rows"]["examples"] > 0
    new_rows = []
    for feature in SPEC.feature_names:
        for model in ("candidate", "baseline"):
            sliced = second["metrics_by_feature"][model][feature]
            cohorts = ("new_level_rows", "unseen_level_rows", "old_level_rows")
            examples = sum(sliced[c]["examples"] or 0 for c in cohorts)
            assert examples == candidate["overall"]["examples"]
        new_rows.append(second["metrics_by_feature"]["candidate"][feature]["new_level_rows"])
    assert all(0.0 < s["auc"] < 1.0 for s in new_rows)
    counts = [s["examples"] for s in new_rows]
    assert max(counts) <= candidate["new_level_rows"]["examples"] <= sum(counts)
