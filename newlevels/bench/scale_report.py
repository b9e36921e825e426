"""The scale benchmark's page (`scale.py` runs it): the sampled spans' components, the ratios."""

from __future__ import annotations

from typing import Any

#: the components that run on every span: ingest, Transform, the extension, the Evaluator.
INCREMENTAL_PATH = ("SpanExampleGen", "Transform", "incremental_trainer", "Evaluator")
#: the done-means bars of issue 15.
PATH_BAR, RSS_BAR, SKIP_BAR = 1.1, 1.2, 0.3


def markdown(result: dict[str, Any]) -> str:
    """The results page: the command, the machine, the sampled spans, the ratios."""
    from newlevels.bench.markdown import table, verdict

    timeline = result["timeline"]
    sampled = [run for run in timeline["runs"] if run["span"] in result["sampled"]]
    shown = [*sampled, *([timeline["trained_last_span"]] if timeline["trained_last_span"] else [])]
    names = sorted({name for run in shown for name in run["components"]})
    lines = [
        f"# Scale: {result['spans']} drift spans of {result['rows']} rows, --baseline "
        f"{result['baseline']}",
        "",
        f"Command: `{result['command']}` (checkout {result['commit']})",
        "Machine: "
        + ", ".join(f"{key} {value}" for key, value in result["machine"].items())
        + f"; load at start {result['load_start']}, at end {result['load_end']}",
        "",
        "One process per span (`newlevels/bench/component_rss.py`); seconds and peak RSS "
        "(MiB, the process's high-water mark reset at each component's start) per component. "
        f"The last row runs span {result['spans']} again from the store as it stood before "
        "it, with `--baseline every`.",
        "",
    ]
    header = ("span", "baseline", "decision", "wall s", "load", *names)
    rows = [
        (
            run["span"],
            f"{run['baseline']} ({'trained' if run['baseline_trained'] else 'skipped'})",
            run["decision"],
            run["wall_s"],
            run["load_before"][0],
            *(
                f"{c['seconds']} s / {c['peak_rss_mib']:.0f}"
                if (c := run["components"].get(name))
                else "-"
                for name in names
            ),
        )
        for run in shown
    ]
    lines += table(header, rows)
    r = result.get("ratios")
    first, last = result["compared"]
    lines += (
        []
        if r is None
        else [
            f"- Incremental path ({', '.join(INCREMENTAL_PATH)}), span {last} / span {first}: "
            f"**{r['incremental_path_s']}x** (bar <= {PATH_BAR}: "
            f"{verdict(r['incremental_path_s'] <= PATH_BAR)})",
            f"- Its peak RSS, span {last} / span {first}: **{r['incremental_path_peak_rss']}x** "
            f"(bar <= {RSS_BAR}: {verdict(r['incremental_path_peak_rss'] <= RSS_BAR)})",
            f"- Span {last} skipping its full retrain / training it: "
            f"**{r['skipped_over_trained_pipeline_s']}x** of component seconds, "
            f"{r['skipped_over_trained_wall_s']}x of wall (bar <= {SKIP_BAR}: "
            f"{verdict(r['skipped_over_trained_pipeline_s'] <= SKIP_BAR)})",
            "",
        ]
    )
    lines += [
        "Every span: "
        + ", ".join(
            f"{run['span']} {run['decision']}{'' if run['baseline_trained'] else '*'} "
            f"{run['wall_s']} s"
            for run in timeline["runs"]
        )
        + " (* baseline skipped)",
        "",
    ]
    return "\n".join(lines)
