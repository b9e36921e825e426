"""The B3 fixed-overhead section and the 1 % sample it is measured on."""

from __future__ import annotations

import json

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


def b5_pair(a_rates: list[float], b_rates: list[float]) -> dict:
    """One B5 row as `serving.predictions_per_second` records it: A is `incremental`."""
    figures = {"models": ["incremental", "full"], "loads": len(a_rates), "load": [0.5]}
    for batch in ("1", "256"):
        figures[batch] = {"incremental": max(a_rates), "full": max(b_rates)}
        figures[f"ratio_{batch}"] = round(max(a_rates) / max(b_rates), 3)
        figures[f"ratio_{batch}_range"] = [0.9, 1.1]
        figures[f"per_load_{batch}"] = {"incremental": a_rates, "full": b_rates}
    return figures


def test_b5_columns_follow_the_recorded_models_even_after_a_sorted_round_trip() -> None:
    from newlevels.bench.results import b5_lines

    b5 = {"pair": b5_pair([500.0, 600.0], [400.0, 400.0])}
    row = "| pair | 256 | 600.0 | 400.0 | 1.5 | 0.9-1.1 | 20% | 0.5/0.6 vs 0.4/0.4 | 0.5 |"
    assert row in b5_lines(b5)
    # results.json once was written with sorted keys: `full` came before `incremental`.
    reread = json.loads(json.dumps(b5, sort_keys=True))
    assert list(reread["pair"]["256"]) == ["full", "incremental"]
    assert b5_lines(reread) == b5_lines(b5)


def test_results_md_states_the_measured_run_time_and_no_fixed_figure() -> None:
    from newlevels.bench.results import b5_lines, render

    b5 = {"pair": b5_pair([500.0, 500.0], [500.0, 500.0])}
    text = "\n".join(b5_lines(b5))
    assert "| 0% |" in text and "20 %" not in text
    machine = dict.fromkeys(("date", "cores", "ram_gib", "python", "tensorflow", "tfx"), "x")
    figures = {
        "size": "smoke",
        "machine": {**machine, "platform": "x"},
        "load_start": [0.1],
        "load_end": [0.2],
        "b2": {"dim": 2, "batch": 8, "new_fraction": 0.1, "cases": [], "ratios": {}},
        "b5": b5,
    }
    assert "the whole run took" not in render(figures)
    assert "the whole run took 12.5 min." in render({**figures, "wall_s": 750.0})
