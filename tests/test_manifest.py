"""The manifest (`embeddings/manifest.json`): its keys, old releases' manifests, bad ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newlevels.components.trainer import artifacts
from newlevels.contracts.manifest import LEGACY_FAMILY, Manifest, ManifestError
from tests import manifests

#: a manifest as the first release wrote it (commit 35aa855): no model family,
#: tables, shared weights, admission, replay, epochs, init, early stopping or head.
FIRST_RELEASE = """{
  "data_spec": {"categorical": [{"embedding_dim": 2, "name": "level", "oov_buckets": 1}],
                "id_column": "id", "label": "label"},
  "features": {"level": {"embedding_dim": 2, "new_levels": 2, "old_levels": 0,
                         "vanished_levels": 0, "vocab_size": 2}},
  "parent_model_uri": null,
  "role": "incremental",
  "rows_total": 40,
  "rows_trained": 40,
  "strategy": "split"
}"""

#: the keys this release writes: other tools read them, so they never change.
KEYS = {
    "role",
    "strategy",
    "model_family",
    "tables",
    "shared",
    "data_spec",
    "features",
    "admission",
    "rows_trained",
    "rows_replayed",
    "rows_total",
    "epochs",
    "init",
    "early_stopping",
    "head_adapted",
    "parent_oov_rows",
    "parent_model_uri",
}


def first_release_model(root) -> str:
    """A Model artifact's `embeddings/` as the first release wrote it."""
    rows = artifacts.FeatureRows(("a", "b"), np.ones((2, 2), np.float32), np.zeros(2))
    artifacts.write_embeddings(str(root), manifests.manifest(["level"]), {"level": rows})
    (root / "embeddings" / "manifest.json").write_text(FIRST_RELEASE)
    return str(root)


def test_a_first_release_manifest_reads_as_what_that_release_did(tmp_path):
    manifest = artifacts.read_embeddings(first_release_model(tmp_path)).manifest
    assert manifest.model_family == LEGACY_FAMILY
    assert manifest.tables == {"level": "level"} and manifest.shared == ()
    assert manifest.admission == {} and manifest.rows_replayed == 0
    assert manifest.init == "random" and manifest.early_stopping is None
    assert manifest.epochs is None and manifest.head_adapted is False
    assert manifest.features["level"].levels() == {
        "old_levels": 0,
        "new_levels": 2,
        "vocab_size": 2,
    }
    assert manifest.rows_trained == 40 and manifest.embedding_dim == 2


def test_the_json_keys_are_the_on_disk_format_and_round_trip():
    written = manifests.manifest(["item", "user"], early_stopping={"best_epoch": 1})
    assert set(json.loads(written.to_json())) == KEYS
    assert Manifest.from_json(written.to_json()) == written


def test_keys_from_a_later_release_are_ignored():
    values = json.loads(FIRST_RELEASE) | {"written_by_a_later_release": [1, 2]}
    assert Manifest.from_dict(values).strategy == "split"


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        (lambda values: values.pop("rows_total"), "'rows_total'"),
        (lambda values: values["features"]["level"].pop("old_levels"), "features.level.old_levels"),
    ],
)
def test_a_missing_required_key_is_one_line_naming_the_artifact(tmp_path, drop, named):
    root = first_release_model(tmp_path)
    path = tmp_path / "embeddings" / "manifest.json"
    values = json.loads(path.read_text())
    drop(values)
    path.write_text(json.dumps(values))
    with pytest.raises(artifacts.ParentModelError) as raised:
        artifacts.read_embeddings(root)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and named in message


def test_a_manifest_that_is_not_an_object_is_refused():
    with pytest.raises(ManifestError, match="somewhere.json: a manifest is a JSON object"):
        Manifest.from_json("[1, 2]", "somewhere.json")
