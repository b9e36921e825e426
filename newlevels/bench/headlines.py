"""The README's benchmark headline table, rendered from a full run's `results.json`."""

from __future__ import annotations

from typing import Any

from newlevels.bench.markdown import GIB, table, verdict
from newlevels.bench.pipeline_sections import fixed_shares, over_fixed_share
from newlevels.bench.results import noise_bands, ratio_keys
from newlevels.bench.targets import (
    B1_MAX_RATIO,
    B2_MAX_RATIO,
    B3_MAX_FIXED_SHARE,
    B3_MAX_WALL_S,
    B4_MAX_GIB,
    b2_targeted,
)


def loads_1m(node: Any) -> list[float]:
    """Every 1-minute load average recorded anywhere in the results (`load*` lists)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("load") and isinstance(value, list) and value:
                found.append(value[0])
            else:
                found += loads_1m(value)
    elif isinstance(node, list):
        for value in node:
            found += loads_1m(value)
    return found


def b1_row(figure: str, b1: dict[str, Any]) -> tuple[str, str, str]:
    inc, full = b1["incremental"], b1["full"]
    result = (
        f"{inc['median_s']} s / {full['median_s']} s = **{b1['ratio']}x** (trains "
        f"{inc['rows_trained']:,} vs {full['rows_trained']:,} rows = {b1['rows_trained_ratio']}x)"
    )
    return figure, result, f"<= {B1_MAX_RATIO}x: {verdict(b1['ratio'] <= B1_MAX_RATIO)}"


def b2_rows(b2: dict[str, Any], default_updates: str) -> list[tuple[str, str, str]]:
    """The targeted strategies with the default sparse updates (and dense), then the rest."""
    ms: dict[str, dict[int, float]] = {}
    for case in b2["cases"]:
        key = "/".join((case["strategy"], case["optimizer"], case["sparse_updates"]))
        ms.setdefault(key, {})[case["rows"]] = case["ms_per_step"]
    small, large = min(c["rows"] for c in b2["cases"]), max(c["rows"] for c in b2["cases"])
    default = [k for k in ratio_keys(b2) if k.endswith(f"/{default_updates}")]
    targeted = [k for k in default if b2_targeted(k)]
    others = [k for k in default if not b2_targeted(k)]
    other_updates = [k for k in ratio_keys(b2) if b2_targeted(k) and k not in default]

    def case(key: str) -> str:
        return key.rsplit("/", 1)[0]

    def times(key: str) -> str:
        return f"{ms[key][large]} / {ms[key][small]} ms"

    ok = all(b2["ratios"][k] <= B2_MAX_RATIO for k in targeted)
    return [
        (
            f"B2 {' / '.join(f'`{case(k)}`' for k in targeted)} step time, V = {large:,} / "
            f"{small:,} ({default_updates} sparse updates, the default)",
            " / ".join(f"**{b2['ratios'][k]}x**" for k in targeted)
            + f" ({', '.join(times(k) for k in targeted)}); "
            + ", ".join(f"{k} {b2['ratios'][k]}x" for k in other_updates),
            f"<= {B2_MAX_RATIO}x: {verdict(ok)}",
        ),
        (
            f"B2 the other strategies / optimizers, same V ({default_updates})",
            ", ".join(f"`{case(k)}` {b2['ratios'][k]}x ({times(k)})" for k in others),
            "-",
        ),
    ]


def b3_rows(b3: dict[str, Any], first_fit: dict[str, Any]) -> list[tuple[str, str, str]]:
    runs = b3["runs"]
    walls = " / ".join(f"{run['wall_s']} s" for run in runs.values())
    worst = max(run["wall_s"] for run in runs.values())
    rows = [
        (
            f"B3 MovieLens run wall ({' / '.join(f'span {s}' for s in runs)})",
            f"**{walls}**; import of tfx+tensorflow {b3['import_tfx_tensorflow_s']} s",
            f"<= {B3_MAX_WALL_S:g} s: {verdict(worst <= B3_MAX_WALL_S)}",
        )
    ]
    if "one_percent" in b3:
        shares = fixed_shares(b3)
        ranges = []
        for component, by_span in shares.items():
            values = sorted(f"{v:.0%}" for v in by_span.values() if v is not None)
            ranges.append(f"{component} {' / '.join(values)}")
        over = over_fixed_share(shares)
        rows.append(
            (
                "B3 fixed share per component (its time on 1 % of the rows / on all rows)",
                ", ".join(ranges),
                f"<= {B3_MAX_FIXED_SHARE:.0%}: "
                + (f"MISSED ({', '.join(over)})" if over else "met"),
            )
        )
    stock, ours = first_fit["autograph_on_stock_keras"], first_fit["autograph_off_override"]
    rows.append(
        (
            "B3 first `fit` in a process (AutoGraph on -> our override)",
            f"{stock['first_fit_s']} s -> {ours['first_fit_s']} s ({stock['first_ms_per_step']} "
            f"-> {ours['first_ms_per_step']} ms/step)",
            "-",
        )
    )
    builds = " / ".join(str(run["sdist_builds"]) for run in runs.values())
    rows.append(
        (
            "B3 `tfx_ephemeral` sdist builds per run",
            f"{builds} (one build: {b3['one_sdist_build_s']} s)",
            "-",
        )
    )
    peak = max(run["peak_rss_mib"] for run in runs.values()) / GIB
    rows.append(
        (
            "B4 peak RSS of a MovieLens run",
            f"**{peak:.2f} GiB**",
            f"<= {B4_MAX_GIB:g} GiB: " + verdict(peak <= B4_MAX_GIB),
        )
    )
    return rows


def b5_row(b5: dict[str, Any]) -> tuple[str, str, str]:
    by_pair: dict[str, list[tuple[str, float, float, float]]] = {}
    for name, batch, ratio, low, high in noise_bands(b5):
        by_pair.setdefault(name, []).append((batch, ratio, low, high))
    parts = []
    for name, batches in by_pair.items():
        ratios = " / ".join(f"{ratio}x" for _, ratio, _, _ in batches)
        bands = " / ".join(f"{low}-{high}" for _, _, low, high in batches)
        parts.append(f"{name}: **{ratios}** (control's band {bands})")
    inside = all(low <= r <= high for b in by_pair.values() for _, r, low, high in b)
    batches = " / ".join(batch for batch, *_ in next(iter(by_pair.values()), []))
    return (
        f"B5 serving A / B, batch {batches}",
        "; ".join(parts),
        "equal within noise: " + verdict(inside),
    )


def headline_lines(results: dict[str, Any]) -> list[str]:
    """The headline table of a full-size run: each figure, its result and its target.

    Args:
        results: the figures `newlevels bench --size full` wrote to results.json.

    Returns:
        Markdown lines: one sentence on the run, then the table.
    """
    from newlevels.components.trainer.optimizers import DEFAULT as DEFAULT_SPARSE_UPDATES

    machine, loads = results["machine"], loads_1m(results)
    took = results.get("wall_s")
    lines = [
        f"Headlines of the {results['size']}-size run of {machine['date'][:10]} "
        f"({machine['cores']} cores, 1-minute load {min(loads)}-{max(loads)}"
        + ("" if took is None else f", {took / 60:.1f} min in all")
        + "; each ratio measured side by side in one process):",
        "",
    ]
    rows = [
        b1_row("B1 incremental / full Trainer, MovieLens span 2", results["b1"]),
        b1_row(
            "B1 the same, span 2 cut to users already in span 1 (only new movies new)",
            results["b1_old_users"],
        ),
        *b2_rows(results["b2"], DEFAULT_SPARSE_UPDATES),
        *b3_rows(results["b3"], results["b3_first_fit"]),
        b5_row(results["b5"]),
    ]
    return lines + table(("figure", "result", "target"), rows)
