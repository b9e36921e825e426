"""The RESULTS.md sections of the MovieLens pipeline runs: B3 (time) and B4 (memory)."""

from __future__ import annotations

from typing import Any

from newlevels.bench.first_fit import VARIANTS
from newlevels.bench.markdown import GIB, table, verdict
from newlevels.bench.targets import B3_MAX_FIXED_SHARE, B3_MAX_WALL_S, B4_MAX_GIB


def b3_lines(b3: dict[str, Any], first_fit: dict[str, Any]) -> list[str]:
    lines = ["## B3 Pipeline (one `newlevels run` process per span)", ""]
    runs = b3["runs"]
    components = sorted({c for run in runs.values() for c in run["component_s"]})
    rows = [(c, *(runs[s]["component_s"].get(c, "-") for s in runs)) for c in components]
    rows += [("sum of components", *(runs[s]["components_sum_s"] for s in runs))]
    rows += [("**process wall**", *(f"**{runs[s]['wall_s']}**" for s in runs))]
    rows += [("tfx_ephemeral sdist builds", *(runs[s]["sdist_builds"] for s in runs))]
    rows += [("load 1m at end", *(runs[s]["load"][0] for s in runs))]
    lines += table(("seconds", *(f"span {s}" for s in runs)), rows)
    worst = max(run["wall_s"] for run in runs.values())
    lines += fixed_overhead_lines(b3)
    lines += [
        f"Import `tfx, tensorflow` in a fresh interpreter: {b3['import_tfx_tensorflow_s']} s. "
        f"One `tfx_ephemeral` sdist build: {b3['one_sdist_build_s']} s.",
        f"Target <= {B3_MAX_WALL_S:g} s wall per run: {verdict(worst <= B3_MAX_WALL_S)} "
        f"(slowest {worst} s).",
        "",
        "First `fit` in a fresh process (MovieLens-shaped synthetic data, 1 epoch, batch 64):",
        "",
    ]
    rows = [
        (
            name,
            r["steps"],
            r["first_fit_s"],
            r["first_ms_per_step"],
            r["second_fit_s"],
            r["second_ms_per_step"],
            r["load"][0],
        )
        for name, r in ((name, first_fit[name]) for name, _ in VARIANTS if name in first_fit)
    ]
    lines += table(
        ("train function", "steps", "first fit s", "ms/step", "second fit s", "ms/step", "load 1m"),
        rows,
    )
    return lines


def fixed_shares(b3: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per component (1 s or more on all rows) and span: its time on 1 % of the rows over
    its time on all rows, at most 1 (None where either time is missing)."""
    full, small = b3["runs"], b3["one_percent"]
    components = sorted(
        {c for run in full.values() for c, seconds in run["component_s"].items() if seconds >= 1}
    )
    shares: dict[str, dict[str, float | None]] = {}
    for component in components:
        shares[component] = {}
        for span, run in full.items():
            whole = run["component_s"].get(component)
            part = small.get(span, {}).get("component_s", {}).get(component)
            # Components under 1 s are left out: their fixed part costs nothing.
            ok = whole is not None and part is not None and whole >= 1
            shares[component][span] = min(part / whole, 1) if ok else None
    return shares


def over_fixed_share(shares: dict[str, dict[str, float | None]]) -> list[str]:
    """`<component> span <k>: <share>` for every share over the target."""
    return [
        f"{component} span {span}: {share:.0%}"
        for component, by_span in shares.items()
        for span, share in by_span.items()
        if share is not None and share > B3_MAX_FIXED_SHARE
    ]


def fixed_overhead_lines(b3: dict[str, Any]) -> list[str]:
    """Each component's seconds on all rows and on 1 % of them, and the fixed share."""
    if "one_percent" not in b3:
        return []
    full, small = b3["runs"], b3["one_percent"]
    shares = fixed_shares(b3)
    rows = []
    for component, by_span in shares.items():
        cells: list[Any] = [component]
        for span, run in full.items():
            whole = run["component_s"].get(component)
            part = small.get(span, {}).get("component_s", {}).get(component)
            share = by_span[span]
            cells += [
                "-" if whole is None else whole,
                "-" if part is None else part,
                "-" if share is None else f"{share:.0%}",
            ]
        rows.append(tuple(cells))
    rows.append(
        (
            "**process wall**",
            *(
                cell
                for span, run in full.items()
                for cell in (run["wall_s"], small.get(span, {}).get("wall_s", "-"), "")
            ),
        )
    )
    header = ["component"]
    for span in full:
        header += [f"span {span} s", "on 1 % of rows s", "fixed share"]
    counts = b3.get("one_percent_rows", {})
    over = over_fixed_share(shares)
    return [
        "",
        "Fixed overhead: the same runs on every 100th row of each span "
        f"({', '.join(f'span {k}: {v} rows' for k, v in counts.items())}). A component's "
        "time there is, to within 1 % of its data, what it spends whatever the data; its "
        "fixed share is that time over its time on all rows (components under 1 s on all rows "
        "left out).",
        "",
        *table(tuple(header), rows),
        "",
        f"Target: no component spends more than {B3_MAX_FIXED_SHARE:.0%} of its time on fixed "
        "overhead: " + (f"MISSED ({', '.join(over)})" if over else "met") + ".",
        "",
    ]


def b4_lines(b3: dict[str, Any]) -> list[str]:
    rows = [
        (f"span {s}", run["peak_rss_mib"], round(run["peak_rss_mib"] / GIB, 2))
        for s, run in b3["runs"].items()
    ]
    worst = max(run["peak_rss_mib"] for run in b3["runs"].values()) / GIB
    lines = ["## B4 Memory (peak RSS of a `newlevels run` process, children included)", ""]
    lines += table(("run", "peak RSS MiB", "GiB"), rows)
    return [*lines, f"Target <= {B4_MAX_GIB:g} GiB: {verdict(worst <= B4_MAX_GIB)}.", ""]
