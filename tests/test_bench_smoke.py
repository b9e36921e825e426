"""The benchmark harness's smoke size runs and writes real figures (no timing assertions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newlevels.bench.suite import run_suite


@pytest.mark.slow
def test_bench_smoke_size_writes_positive_figures_for_every_strategy(tmp_path) -> None:
    markdown, raw = run_suite("smoke", str(tmp_path))

    results = json.loads(Path(raw).read_text(encoding="utf-8"))
    cases = results["b2"]["cases"]
    assert {c["strategy"] for c in cases} == {"split", "masked", "constrained", "two_tables"}
    for case in cases:
        assert case["ms_per_step"] > 0 and case["peak_rss_mib"] > 0
    assert all(ratio > 0 for ratio in results["b2"]["ratios"].values())
    tiny = results["b5"]["tiny"]
    assert tiny["models"] == ["incremental", "full"], "A and B are recorded, not implied"
    assert results["wall_s"] > 0
    for batch in ("1", "256"):
        assert tiny[batch]["incremental"] > 0 and tiny[batch]["full"] > 0
        # Each model is loaded more than once, and each load is timed on its own.
        per_load = tiny[f"per_load_{batch}"]
        assert len(per_load["incremental"]) == tiny["loads"] == 2
        assert all(rate > 0 for rates in per_load.values() for rate in rates)
    assert results["machine"]["cores"] >= 1
    text = Path(markdown).read_text(encoding="utf-8")
    assert "## B2 Strategy scaling" in text and "## B5 Serving" in text
