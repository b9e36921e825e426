"""The B3 fixed-overhead section and the 1 % sample it is measured on."""

from __future__ import annotations

import pandas as pd

from newlevels.bench.movielens_run import write_sampled_spans
from newlevels.bench.pipeline_sections import fixed_overhead_lines


def test_write_sampled_spans_keeps_every_nth_row_of_each_span(tmp_path) -> None:
    for span, count in ((1, 250), (2, 99)):
        folder = tmp_path / "data" / f"span-{span}"
        folder.mkdir(parents=True)
        frame = pd.DataFrame({"id": [f"{span}-{i}" for i in range(count)], "liked": "1"})
        frame.to_csv(folder / "ratings.csv", index=False)

    written = write_sampled_spans(str(tmp_path / "data"), str(tmp_path / "out"), 100)

    assert written == {1: 3, 2: 1}
    sampled = pd.read_csv(tmp_path / "out" / "span-1" / "ratings.csv", dtype=str)
    assert list(sampled["id"]) == ["1-0", "1-100", "1-200"]


def test_fixed_overhead_flags_components_over_half_and_skips_sub_second_ones() -> None:
    def run(**seconds: float) -> dict:
        return {"wall_s": sum(seconds.values()), "component_s": seconds}

    b3 = {
        "runs": {"1": run(Transform=10.0, Evaluator=30.0, Pusher=0.2)},
        "one_percent": {"1": run(Transform=8.0, Evaluator=6.0, Pusher=0.2)},
        "one_percent_rows": {"1": 850},
    }

    text = "\n".join(fixed_overhead_lines(b3))

    assert "| Transform | 10.0 | 8.0 | 80% |" in text
    assert "| Evaluator | 30.0 | 6.0 | 20% |" in text
    assert "Pusher" not in text
    assert "MISSED (Transform span 1: 80%)" in text
    b3["one_percent"]["1"]["component_s"]["Transform"] = 4.0
    assert "fixed overhead: met." in "\n".join(fixed_overhead_lines(b3))


def test_b5_verdict_mirrors_the_control_range_about_one() -> None:
    from newlevels.bench.results import b5_verdicts

    def figures(ratio: float, low: float, high: float) -> dict:
        return {f"ratio_{b}": ratio for b in ("1", "256")} | {
            f"ratio_{b}_range": [low, high] for b in ("1", "256")
        }

    b5 = {
        "pair": figures(0.993, 0.95, 1.03) | {"control": "control"},
        "control": figures(0.88, 0.86, 0.90),
    }
    assert all("band 0.86-1.163: equal within noise" in line for line in b5_verdicts(b5))
    b5["pair"] |= figures(0.80, 0.78, 0.83)
    assert all("**outside the noise**" in line for line in b5_verdicts(b5))
