"""Reliability without running the pipeline: damaged or unsafe parent artifacts, path names."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newlevels.components.trainer import artifacts
from newlevels.components.trainer.parent import check_parent
from newlevels.components.trainer.settings import Role, TrainerSettings, TrainingOptions
from newlevels.transforms.features import DataSpec
from tests import manifests


def exported(root, features=("level",), dim=2) -> str:
    rows = {
        name: artifacts.FeatureRows(("a", "b"), np.ones((2, dim), np.float32), np.zeros(dim))
        for name in features
    }
    artifacts.write_embeddings(str(root), manifests.manifest(features), rows)
    return str(root)


@pytest.mark.reliability("previous model's files truncated")
def test_a_truncated_weights_file_is_named(tmp_path):
    root = exported(tmp_path)
    path = tmp_path / "embeddings" / "level" / "weights.npy"
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(artifacts.ParentModelError, match=f"model artifact {root} is unreadable"):
        artifacts.read_embeddings(root)


@pytest.mark.reliability("previous model's files truncated")
def test_a_deleted_manifest_is_named(tmp_path):
    root = exported(tmp_path)
    (tmp_path / "embeddings" / "manifest.json").unlink()
    with pytest.raises(artifacts.ParentModelError, match="manifest.json"):
        artifacts.read_embeddings(root)


@pytest.mark.reliability("previous model's files truncated")
def test_a_manifest_cannot_point_outside_its_artifact(tmp_path):
    root = exported(tmp_path / "model")
    outside = exported(tmp_path / "elsewhere")
    manifest = tmp_path / "model" / "embeddings" / "manifest.json"
    values = json.loads(manifest.read_text())
    values["tables"] = {"../../elsewhere/embeddings/level": "level"}
    manifest.write_text(json.dumps(values))
    with pytest.raises(artifacts.ParentModelError, match="not a plain folder name"):
        artifacts.read_embeddings(root)
    assert artifacts.read_embeddings(outside).features["level"].vocabulary == ("a", "b")


@pytest.mark.reliability("previous model with another embedding dim")
@pytest.mark.parametrize(
    "spec,options,message",
    [
        (DataSpec.build(["level"], "label", "id"), {"embedding_dim": 3}, "'level': 2.*'level': 3"),
        (DataSpec.build(["level", "user"], "label", "id"), {}, "this run asks for"),
    ],
)
def test_a_parent_with_other_dims_or_features_is_refused(tmp_path, spec, options, message):
    root = exported(tmp_path)
    with pytest.raises(artifacts.ParentModelError, match=message):
        check_parent(settings(spec, **options), artifacts.read_embeddings(root), root)


def settings(spec: DataSpec, **kwargs) -> TrainerSettings:
    options = TrainingOptions(**kwargs)
    return TrainerSettings(data_spec=spec, role=Role.INCREMENTAL, strategy="split", options=options)


@pytest.mark.reliability("previous model with another embedding dim")
def test_a_parent_of_another_model_family_is_refused(tmp_path):
    root = exported(tmp_path)
    spec = DataSpec.build(["level", "user"], "label", "id")
    mf = settings(spec, model="mf", user_column="user", item_column="level")
    with pytest.raises(artifacts.ParentModelError, match="is model .*additive.*asks for .*mf"):
        check_parent(mf, artifacts.read_embeddings(root), root)


@pytest.mark.reliability("unknown strategy")
def test_column_names_that_would_escape_a_folder_are_refused():
    with pytest.raises(ValueError, match="cannot name a folder"):
        DataSpec.build(["../x"], "label", "id")
