"""Writes the raw figures to `results.json` and one table per figure to `RESULTS.md`."""

from __future__ import annotations

import json
import os
from typing import Any

from newlevels.bench.markdown import ResultsError, table, verdict
from newlevels.bench.pipeline_sections import b3_lines, b4_lines
from newlevels.bench.targets import B1_MAX_RATIO, B2_MAX_RATIO, b2_targeted

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
        f"incremental / full: **{b1['ratio']}x** wall (target <= {B1_MAX_RATIO}x: "
        f"{verdict(b1['ratio'] <= B1_MAX_RATIO)}); rows trained ratio {b1['rows_trained_ratio']}; "
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
    for key in ratio_keys(b2):
        ratio = b2["ratios"][key]
        if b2_targeted(key):
            ratio_rows.append((key, ratio, f"<= {B2_MAX_RATIO}x", verdict(ratio <= B2_MAX_RATIO)))
        else:
            ratio_rows.append((key, ratio, "-", ""))
    lines += table(
        ("strategy/optimizer/updates", "largest V / smallest V", "target", ""), ratio_rows
    )
    return lines


def ratio_keys(b2: dict[str, Any]) -> list[str]:
    """The B2 ratio keys in the order their cases ran (the cases list keeps it)."""
    keys = ("/".join((c["strategy"], c["optimizer"], c["sparse_updates"])) for c in b2["cases"])
    return [key for key in dict.fromkeys(keys) if key in b2["ratios"]]


def kilo(rate: float) -> str:
    """A rate in thousands: one decimal under 100k, none above."""
    return f"{rate / 1000:.1f}" if rate < 100_000 else f"{rate / 1000:.0f}"


def loads_apart(figures: dict[str, Any], batch: str) -> float | None:
    """The widest gap between two loads of one model in a B5 row: max/min rate - 1."""
    per_load = figures.get(f"per_load_{batch}")
    if per_load is None:
        return None
    return max(max(rates) / min(rates) - 1 for rates in per_load.values())


def b5_lines(b5: dict[str, Any]) -> list[str]:
    lines = [
        "## B5 Serving (`serving_default`, predictions/s, alternating rounds)",
        "",
        "Each model is loaded several times and a round times all its loads; A/B is the "
        "median over rounds of the ratio in one round (range: min-max). Separate loads of "
        "one model can settle on different rates: `loads apart` is the widest gap between "
        "two loads of one model in the row (its per-load rates follow). The control "
        "compares the full retrain with separate loads of itself: its range, mirrored "
        "about 1, is the noise band, and the two models are equal within noise when their "
        "ratio falls inside it.",
        "",
    ]
    rows = []
    for name, figures in b5.items():
        first, second = figures["models"]
        for batch in ("1", "256"):
            spread = figures.get(f"ratio_{batch}_range")
            per_load = figures.get(f"per_load_{batch}")
            apart = loads_apart(figures, batch)
            rows.append(
                (
                    name,
                    batch,
                    figures[batch][first],
                    figures[batch][second],
                    figures[f"ratio_{batch}"],
                    "-" if spread is None else f"{spread[0]}-{spread[1]}",
                    "-" if apart is None else f"{apart:.0%}",
                    "-"
                    if per_load is None
                    else " vs ".join(
                        "/".join(kilo(rate) for rate in per_load[model])
                        for model in (first, second)
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
        "loads apart",
        "per load k/s (A vs B)",
        "load 1m",
    )
    return [*lines, *table(header, rows), *b5_verdicts(b5), ""]


def noise_bands(b5: dict[str, Any]) -> list[tuple[str, str, float, float, float]]:
    """(pair, batch, A/B, band low, band high) for every B5 pair that names a control.

    A control compares a model with itself, so its A/B is 1 up to noise in either
    direction: the band is its range mirrored about 1 (a range 0.86-0.90 gives
    0.86-1.16).
    """
    bands = []
    for name, figures in b5.items():
        control = b5.get(figures.get("control", ""))
        if control is None:
            continue
        for batch in ("1", "256"):
            ratio, (low, high) = figures[f"ratio_{batch}"], control[f"ratio_{batch}_range"]
            low, high = round(min(low, 1 / high), 3), round(max(high, 1 / low), 3)
            bands.append((name, batch, ratio, low, high))
    return bands


def b5_verdicts(b5: dict[str, Any]) -> list[str]:
    """Per batch, whether incremental vs full falls inside its control's noise band."""
    return [
        f"- {name}, batch {batch}: {ratio} against the control's band {low}-{high}: "
        + ("equal within noise" if low <= ratio <= high else "**outside the noise**")
        for name, batch, ratio, low, high in noise_bands(b5)
    ]


def write(results: dict[str, Any], out: str) -> tuple[str, str]:
    """Writes `results.json` and `RESULTS.md` under `out`; returns their paths."""
    os.makedirs(out, exist_ok=True)
    json_path, md_path = os.path.join(out, "results.json"), os.path.join(out, "RESULTS.md")
    with open(json_path, "w", encoding="utf-8") as handle:
        # Insertion order: the order the figures were measured in.
        json.dump(results, handle, indent=2)
    with open(md_path, "w", encoding="utf-8") as handle:
        handle.write(render(results))
    return md_path, json_path


def rebuild(out: str) -> str:
    """Rewrites `RESULTS.md` under `out` from the `results.json` beside it; returns its path.

    Raises:
        ResultsError: if `results.json` is missing or not JSON.
    """
    json_path, md_path = os.path.join(out, "results.json"), os.path.join(out, "RESULTS.md")
    try:
        with open(json_path, encoding="utf-8") as handle:
            results = json.load(handle)
    except (OSError, ValueError) as error:
        raise ResultsError(f"cannot read {json_path}: {error}") from None
    with open(md_path, "w", encoding="utf-8") as handle:
        handle.write(render(results))
    return md_path


def render(results: dict[str, Any]) -> str:
    """RESULTS.md from the figures (what `write` wrote to results.json, or read back)."""
    m = results["machine"]
    took = results.get("wall_s")
    lines = [
        f"# newlevels benchmarks ({results['size']} size)",
        "",
        f"{m['date']}; {m['cores']} cores, {m['ram_gib']} GiB RAM; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, TFX {m['tfx']}; {m['platform']}.",
        f"Load average (1, 5, 15 min) at start {results['load_start']}, at end "
        f"{results['load_end']}: the CPU was shared, so read ratios measured side by side.",
        "Generated by `newlevels bench`; raw figures in `results.json`"
        + ("." if took is None else f"; the whole run took {took / 60:.1f} min."),
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
    return "\n".join(lines)
