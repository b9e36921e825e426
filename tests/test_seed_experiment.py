"""`newlevels reproduce-seed` reruns the post's toy experiment and reports real numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from newlevels import cli
from newlevels.components.trainer.strategies import INCREMENTAL
from newlevels.pipeline.auc import auc
from newlevels.pipeline.seed_experiment import POST_INITIAL_VAL_ACCURACY, is_old, split_toy


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

    # The headline is the initial model's measured accuracy on held-out old-level rows...
    measured = results["initial_val_accuracy"]
    assert measured == methods["initial"]["slices"]["old"]["accuracy"]
    assert f"held-out accuracy: {measured:.4f} (the post: about 0.74)" in printed
    # ...which beats always answering the majority label of those rows...
    split = split_toy(1500, seed=0)
    old_labels = split.test_labels[is_old(split.test_tokens)]
    assert len(old_labels) == methods["initial"]["slices"]["old"]["rows"]
    assert measured > max(old_labels.mean(), 1 - old_labels.mean()) + 0.05
    # ...and reproduces the post's figure.
    assert abs(measured - POST_INITIAL_VAL_ACCURACY) < 0.03
