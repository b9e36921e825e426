"""The genealogy properties a Trainer writes on its Model artifact, read back by lineage."""

from __future__ import annotations

import pytest
from tfx.types import standard_artifacts

from newlevels.components.trainer.executor import Properties, record_properties
from newlevels.contracts.manifest import Manifest
from newlevels.pipeline.lineage import render
from newlevels.pipeline.lineage.records import ModelRecord, RunRecord


def manifest(family: dict) -> dict:
    """A manifest's JSON; without `model_family` when `family` is empty (before families)."""
    counts = {
        "old_levels": 5,
        "new_levels": 2,
        "vocab_size": 7,
        "vanished_levels": 0,
        "embedding_dim": 16,
    }
    values = {
        "role": "incremental",
        "strategy": "split",
        "data_spec": {},
        "model_family": family,
        "features": {"userId": counts, "movieId": counts},
        "rows_trained": 10,
        "rows_total": 30,
        "parent_model_uri": None,
    }
    if not family:
        del values["model_family"]
    return values


@pytest.mark.parametrize(
    "family",
    [
        {"name": "mf", "user_column": "userId", "item_column": "movieId"},
        {"name": "additive"},
    ],
)
def test_the_model_family_and_its_columns_reach_mlmd_and_lineage(family):
    model = standard_artifacts.Model()
    record_properties(model, Manifest.from_dict(manifest(family)), parent_id=3)
    properties = model.mlmd_artifact.custom_properties
    assert properties[Properties.MODEL_FAMILY].string_value == family["name"]
    assert (Properties.USER_COLUMN in properties) == ("user_column" in family)
    record = ModelRecord.from_artifact(model.mlmd_artifact)
    assert record.model == family and record.parent_id == 3 and record.embedding_dim == 16
    run = RunRecord(
        run_id="r",
        span=2,
        candidate=record,
        baseline=None,
        auc={m: {"overall": None} for m in ("candidate", "baseline")},
        blessed=True,
        pushed=False,
        pushed_model=None,
        pushed_path=None,
        time="t",
    )
    header, row = render.table([run]).splitlines()
    start = header.index("family")
    end = header.index("frozen/+added")
    shown = "mf (userId x movieId)" if family["name"] == "mf" else "additive"
    assert row[start:end].strip() == shown


def test_a_manifest_from_before_model_families_records_additive():
    model = standard_artifacts.Model()
    record_properties(model, Manifest.from_dict(manifest({})), parent_id=-1)
    assert ModelRecord.from_artifact(model.mlmd_artifact).model == {"name": "additive"}
