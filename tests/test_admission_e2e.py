"""Level admission through the real pipeline: deferred levels serve via OOV, counts accumulate."""

from __future__ import annotations

import csv
import os
import random

import pytest

from newlevels.components.trainer import artifacts
from tests import pipeline_checks as checks

COLUMNS = ["--categorical", "level", "--label", "label", "--id", "id"]
#: no gate: every candidate is pushed, so each run extends the one before.
OPTIONS = [*COLUMNS, "--min-count", "3", "--min-auc", "0", "--max-auc-drop", "1"]
#: span -> new level -> how many training rows hold it.
NEW_ROWS = {2: {"rare": 2, "common": 6}, 3: {"rare": 2}}


def training_ids(prefix: str, count: int) -> list[str]:
    """`count` ids that land in the training split (not the eval rows)."""
    ids, index = [], 0
    while len(ids) < count:
        row_id = f"{prefix}-{index}"
        index += 1
        if checks.is_training_row(row_id):
            ids.append(row_id)
    return ids


def write_spans(data: str) -> None:
    rng = random.Random(0)
    for span in (1, 2, 3):
        rows = [(f"s{span}-old-{i}", f"old{i % 10}", rng.randint(0, 1)) for i in range(200)]
        for level, count in NEW_ROWS.get(span, {}).items():
            rows += [
                (row_id, level, rng.randint(0, 1))
                for row_id in training_ids(f"s{span}-{level}", count)
            ]
        folder = os.path.join(data, f"span-{span}")
        os.makedirs(folder)
        with open(os.path.join(folder, "rows.csv"), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "level", "label"])
            writer.writerows(rows)


@pytest.mark.e2e
@pytest.mark.slow
def test_a_level_seen_too_rarely_waits_in_pending_until_its_counts_add_up(tmp_path):
    data, workdir = str(tmp_path / "data"), str(tmp_path / "work")
    write_spans(data)
    first, second, third = checks.run_spans(data, workdir, (1, 2, 3), "split", OPTIONS)
    assert first["admission"] == {}, "a model without a parent admits every level"

    assert second["admission"] == {"level": {"admitted": 1, "deferred": 1}}
    child = artifacts.read_embeddings(second["model_uri"])
    assert "common" in child.features["level"].vocabulary
    assert "rare" not in child.features["level"].vocabulary
    assert child.pending == {"level": {"rare": 2}}

    assert third["admission"] == {"level": {"admitted": 1, "deferred": 0}}
    grandchild = artifacts.read_embeddings(third["model_uri"])
    assert grandchild.features["level"].vocabulary[-1] == "rare"
    assert grandchild.pending == {"level": {}}
    assert third["old_rows_max_abs_change"] == {"level": 0.0}
