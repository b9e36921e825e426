"""`newlevels reproduce-seed` reruns the post's toy experiment and reports real numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newlevels import cli
from newlevels.components.trainer.strategies import INCREMENTAL
from newlevels.pipeline.auc import auc


def test_auc_counts_ordered_pairs_and_halves_ties():
    labels = np.array([0, 0, 1, 1])
    assert auc(labels, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert auc(labels, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert auc(labels, np.full(4, 0.5)) == 0.5
    assert auc(labels, np.array([0.1, 0.3, 0.3, 0.4])) == pytest.approx(0.875)
    assert auc(np.ones(3), np.array([0.1, 0.2, 0.3])) is None


def test_reproduce_seed_freezes_old_rows_for_every_incremental_method(tmp_path, capsys):
    assert cli.main(["reproduce-seed", "--out", str(tmp_path), "--rows", "1500"]) == 0
    printed = capsys.readouterr().out
    results = json.loads((tmp_path / "seed_results.json").read_text())
    markdown = (tmp_path / "seed_results.md").read_text()
    methods = {m["method"]: m for m in results["methods"]}
    assert list(methods) == ["initial", *INCREMENTAL, "full"]
    for name in INCREMENTAL:
        assert methods[name]["old_rows_max_abs_change"] == 0.0
        # Old-level rows are served by the initial model's rows, so they score the same.
        assert methods[name]["slices"]["old"] == methods["initial"]["slices"]["old"]
        assert methods[name]["slices"]["new"]["auc"] > 0.6
        assert f"| {name} |" in markdown and f"| {name} |" in printed
    assert methods["full"]["old_rows_max_abs_change"] > 0.0
    assert methods["initial"]["slices"]["new"]["auc"] == 0.5, "new levels all hit the OOV row"
    assert 0.6 < results["initial_val_accuracy"] < 0.9
    assert results["post_initial_val_accuracy"] == 0.7397
    assert "(the post: about 0.74)" in printed
