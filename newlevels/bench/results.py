"""Writes the raw figures to `results.json` and one table per figure to `RESULTS.md`."""

from __future__ import annotations

import json
import os
from typing import Any

from newlevels.bench.markdown import table, verdict
from newlevels.bench.pipeline_sections import b3_lines, b4_lines

#: what the second B1 table measures (`trainer_cost.run_old_users`).
OLD_USERS_DATA = "MovieLens, span 2 cut to users already in span 1: only new movies are new"


def b1_lines(b1: dict[str, Any], data: str = "MovieLens span 2") -> list[str]:
    rows = [
        (
            role,
            b1[role]["rows_read"],
            b1[role]["rows_trained"],
            b1[role]["median_s"],
            b1[role]["times_s"],
            b1[role]["warmup_s"],
        )
        for role in ("incremental", "full")
    ]
    lines = [f"## B1 Trainer cost ({data}, `train()` in one process)", ""]
    lines += table(("role", "rows read", "rows trained", "median s", "runs s", "warm-up s"), rows)
    lines += [
        f"incremental / full: **{b1['ratio']}x** wall (target <= 0.15x: "
        f"{verdict(b1['ratio'] <= 0.15)}); rows trained ratio {b1['rows_trained_ratio']}; "
        f"epochs {b1['epochs']}, batch {b1['batch_size']}; load {b1['load']}",
        "",
        "cProfile of one incremental `train()` (top by cumulative time):",
        "",
        "```",
        *b1["incremental"]["profile_top"],
        "```",
        "",
    ]
    return lines


def b2_lines(b2: dict[str, Any]) -> list[str]:
    rows = [
        (
            c["strategy"],
            c["optimizer"],
            c["sparse_updates"],
            f"{c['rows']:,}",
            c["ms_per_step"],
            c["p90_ms"],
            c["peak_rss_mib"],
            c["rss_after_imports_mib"],
            c["load"][0],
        )
        for c in b2["cases"]
    ]
    lines = [
        f"## B2 Strategy scaling ({b2['dim']} dims, {b2['new_fraction']:.0%} new rows, "
        f"batch {b2['batch']}, one process per case)",
        "",
    ]
    lines += table(
        (
            "strategy",
            "optimizer",
            "sparse updates",
            "V",
            "median ms/step",
            "p90 ms",
            "peak RSS MiB",
            "of which imports MiB",
            "load 1m",
        ),
        rows,
    )
    ratio_rows = []
    for key, ratio in b2["ratios"].items():
        target = "<= 1.2x" if key.startswith(("split/rmsprop", "masked/rmsprop")) else "-"
        ratio_rows.append((key, ratio, target, verdict(ratio <= 1.2) if target != "-" else ""))
    lines += table(
        ("strategy/optimizer/updates", "largest V / smallest V", "target", ""), ratio_rows
    )
    return lines


def kilo(rate: float) -> str:
    """A rate in thousands: one decimal under 100k, none above."""
    return f"{rate / 1000:.1f}" if rate < 100_000 else f"{rate / 1000:.0f}"


def b5_lines(b5: dict[str, Any]) -> list[str]:
    lines = [
        "## B5 Serving (`serving_default`, predictions/s, alternating rounds)",
        "",
        "Each model is loaded several times and a round times all its loads; A/B is the "
        "median over rounds of the ratio in one round (range: min-max). With TF's default "
        "thread pools each load of a model settles on one of two batch-256 rates about "
        "20 % apart (see the per-load rates); with one inter-op thread every load serves "
        "at the same rate. The control compares the full retrain with separate loads of "
        "itself: its range, mirrored about 1, is the noise band, and the two models are "
        "equal within noise when their ratio falls inside it.",
        "",
    ]
    rows = []
    for name, figures in b5.items():
        for batch in ("1", "256"):
            first, second = figures[batch].values()
            spread = figures.get(f"ratio_{batch}_range")
            per_load = figures.get(f"per_load_{batch}")
            rows.append(
                (
                    name,
                    batch,
                    first,
                    second,
                    figures[f"ratio_{batch}"],
                    "-" if spread is None else f"{spread[0]}-{spread[1]}",
                    "-"
                    if per_load is None
                    else " vs ".join(
                        "/".join(kilo(rate) for rate in rates) for rates in per_load.values()
                    ),
                    figures["load"][0],
                )
            )
    header = (
        "models (A vs B)",
        "batch",
        "A /s",
        "B /s",
        "A / B",
        "range",
        "per load k/s (A vs B)",
        "load 1m",
    )
    return [*lines, *table(header, rows), *b5_verdicts(b5), ""]


def b5_verdicts(b5: dict[str, Any]) -> list[str]:
    """Per batch, whether incremental vs full falls inside its control's noise band.

    A control compares a model with itself, so its A/B is 1 up to noise in either
    direction: the band is its range mirrored about 1 (a range 0.86-0.90 gives
    0.86-1.16).
    """
    lines = []
    for name, figures in b5.items():
        control = b5.get(figures.get("control", ""))
        if control is None:
            continue
        for batch in ("1", "256"):
            ratio, (low, high) = figures[f"ratio_{batch}"], control[f"ratio_{batch}_range"]
            low, high = round(min(low, 1 / high), 3), round(max(high, 1 / low), 3)
            lines.append(
                f"- {name}, batch {batch}: {ratio} against the control's band {low}-{high}: "
                + ("equal within noise" if low <= ratio <= high else "**outside the noise**")
            )
    return lines


def write(results: dict[str, Any], out: str) -> tuple[str, str]:
    """Writes `results.json` and `RESULTS.md` under `out`; returns their paths."""
    os.makedirs(out, exist_ok=True)
    json_path, md_path = os.path.join(out, "results.json"), os.path.join(out, "RESULTS.md")
    with open(json_path, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
    m = results["machine"]
    lines = [
        f"# newlevels benchmarks ({results['size']} size)",
        "",
        f"{m['date']}; {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, TFX {m['tfx']}; {m['platform']}.",
        f"Load average (1, 5, 15 min) at start {results['load_start']}, at end "
        f"{results['load_end']}: the CPU was shared, so read ratios measured side by side.",
        "Generated by `newlevels bench`; raw figures in `results.json`.",
        "",
    ]
    if "b1" in results:
        lines += b1_lines(results["b1"])
    if "b1_old_users" in results:
        lines += b1_lines(results["b1_old_users"], OLD_USERS_DATA)
    lines += b2_lines(results["b2"])
    if "b3" in results:
        lines += b3_lines(results["b3"], results["b3_first_fit"])
        lines += b4_lines(results["b3"])
    lines += b5_lines(results["b5"])
    with open(md_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return md_path, json_path
