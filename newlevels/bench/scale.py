"""The scale benchmark: a long drift timeline under a baseline schedule, per component.

Generates the drift timeline (`newlevels data drift`: 20 spans of 100k rows, 2
million rows in all, by default) and runs its spans in order on one workdir
with `--baseline every:5`, one process per span
(`component_rss.py`: each component's seconds and peak RSS). Then span N again,
from the same store as it stood before span N (a copy of the SQLite file: the
artifacts it names are shared), with `--baseline every`: the same span with its
full retrain trained, to compare with the run that skipped it. All ratios come
from this one run, with the machine's load beside each span.

    python -m newlevels.bench.scale --out benchmarks/scale
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from newlevels.bench import common, movielens_run
from newlevels.bench.scale_report import INCREMENTAL_PATH, markdown
from newlevels.bench.span_cost import checkout_commit

#: the spans whose components are compared.
SAMPLED = (2, 10, 20)


def run_span(root: str, data: str, workdir: str, span: int, baseline: str, tag: str) -> dict:
    """One process running span `span`: wall, process-tree peak RSS, per-component records.

    Raises:
        common.BenchError: if the run fails (its log is named).
    """
    from newlevels.pipeline.data.drift import RUN_FLAGS

    records = os.path.join(root, f"span-{span}{tag}.json")
    log = os.path.join(root, f"span-{span}{tag}.log")
    command = [sys.executable, "-m", "newlevels.bench.component_rss", records, "run"]
    command += ["--data", data, "--span", str(span), "--workdir", workdir, *RUN_FLAGS]
    command += ["--baseline", baseline, "--quiet"]
    load = common.load_average()
    wall, rss, code = movielens_run.timed_process(command, log)
    if code:
        raise common.BenchError(f"span {span} ({baseline}) failed ({code}): see {log}")
    with open(records, encoding="utf-8") as handle:
        components = json.load(handle)["components"]
    with open(os.path.join(workdir, "runs", f"span-{span}", "summary.json")) as handle:
        summary = json.load(handle)
    path = {name: components[name] for name in INCREMENTAL_PATH if name in components}
    return {
        "span": span,
        "baseline": baseline,
        "baseline_trained": summary["baseline"]["trained"],
        "baseline_reason": summary["baseline"]["reason"],
        "decision": summary["decision"],
        "wall_s": round(wall, 1),
        "pipeline_s": round(sum(c["seconds"] for c in components.values()), 2),
        "tree_peak_rss_mib": round(rss, 1),
        "components": components,
        "incremental_path_s": round(sum(c["seconds"] for c in path.values()), 2),
        "incremental_path_peak_rss_mib": max(c["peak_rss_mib"] for c in path.values()),
        "load_before": load,
        "load_after": common.load_average(),
    }


def ratios(runs: list[dict], trained: dict, first: int, last: int) -> dict[str, float]:
    """The done-means ratios: the incremental path and its peak RSS, last span over first;
    the last span skipping its full retrain over training it."""
    by_span = {run["span"]: run for run in runs}
    a, b = by_span[first], by_span[last]
    return {
        "incremental_path_s": round(b["incremental_path_s"] / a["incremental_path_s"], 3),
        "incremental_path_peak_rss": round(
            b["incremental_path_peak_rss_mib"] / a["incremental_path_peak_rss_mib"], 3
        ),
        "skipped_over_trained_pipeline_s": round(b["pipeline_s"] / trained["pipeline_s"], 3),
        "skipped_over_trained_wall_s": round(b["wall_s"] / trained["wall_s"], 3),
    }


def run_timeline(
    root: str,
    spans: int,
    rows: int,
    baseline: str,
    progress: Callable[[dict], None],
    done: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Writes the drift timeline and runs it; then the last span again with its baseline.

    `progress` gets the timeline so far after each span (a long run leaves its
    results as it goes). `done`: the timeline so far of an earlier, interrupted
    run on the same `root` (its data and store), which this one goes on from.
    """
    from newlevels.pipeline.data.drift import DriftSettings, write_drift

    data, workdir = os.path.join(root, "data"), os.path.join(root, "work")
    forked = os.path.join(root, "work-trained")
    if done is None:
        written = write_drift(data, DriftSettings(spans=spans, rows=rows))
        timeline: dict[str, Any] = {"rows_per_span": written, "runs": []}
    else:
        timeline = {"rows_per_span": done["rows_per_span"], "runs": list(done["runs"])}
    timeline["trained_last_span"] = None
    for span in range(len(timeline["runs"]) + 1, spans + 1):
        if span == spans:
            os.makedirs(forked, exist_ok=True)
            shutil.copy2(os.path.join(workdir, "metadata.sqlite"), forked)
        timeline["runs"].append(run_span(root, data, workdir, span, baseline, ""))
        progress(timeline)
    timeline["trained_last_span"] = run_span(root, data, forked, spans, "every", "-trained")
    return timeline


def resumed(path: str, spans: int, rows: int, baseline: str) -> dict[str, Any]:
    """The timeline so far in an interrupted run's results file, checked against the flags.

    Raises:
        common.BenchError: if the file is missing or was run with other settings.
    """
    if not os.path.exists(path):
        raise common.BenchError(f"--resume: no results file {path} to go on from")
    with open(path, encoding="utf-8") as handle:
        earlier = json.load(handle)
    settings = {"spans": spans, "rows": rows, "baseline": baseline}
    found = {key: earlier.get(key) for key in settings}
    if found != settings:
        raise common.BenchError(f"--resume: {path} ran {found}, not {settings}")
    # A span is recorded once its run finished: an interrupted span runs again.
    return {key: earlier["timeline"][key] for key in ("rows_per_span", "runs")}


def main(argv: list[str] | None = None) -> None:
    """`python -m newlevels.bench.scale --out DIR [--spans N] [--rows R] [--baseline S]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/scale")
    parser.add_argument("--label", default="scale")
    parser.add_argument("--spans", type=int, default=20)
    parser.add_argument("--rows", type=int, default=100_000, help="rows per span")
    parser.add_argument("--baseline", default="every:5")
    parser.add_argument("--workdir", default=None, help="keep the runs here (default: temp)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on after the spans that an interrupted run with the same --workdir and --out "
        "recorded (a span it was running runs again)",
    )
    args = parser.parse_args(argv)
    if args.resume and not args.workdir:
        parser.error("--resume needs the interrupted run's --workdir")
    compared = (SAMPLED[0], args.spans)
    result: dict[str, Any] = {
        "command": "python -m newlevels.bench.scale " + " ".join(argv or sys.argv[1:]),
        "commit": checkout_commit(sys.executable),
        "machine": common.machine(),
        "load_start": common.load_average(),
        "spans": args.spans,
        "rows": args.rows,
        "baseline": args.baseline,
        "sampled": sorted({s for s in (*SAMPLED[:-1], args.spans) if s <= args.spans}),
        "compared": compared,
    }
    out = os.path.abspath(args.out)

    def write(timeline: dict[str, Any]) -> None:
        result["timeline"] = timeline
        result["load_end"] = common.load_average()
        if timeline["trained_last_span"]:
            result["ratios"] = ratios(timeline["runs"], timeline["trained_last_span"], *compared)
        plain = json.loads(json.dumps(result))  # int keys as strings, as read back
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, f"{args.label}.json"), "w", encoding="utf-8") as handle:
            json.dump(plain, handle, indent=1)
        with open(os.path.join(out, f"{args.label}.md"), "w", encoding="utf-8") as handle:
            handle.write(markdown(plain) + "\n")

    done = None
    if args.resume:
        results = os.path.join(out, f"{args.label}.json")
        done = resumed(results, args.spans, args.rows, args.baseline)
    with tempfile.TemporaryDirectory(prefix="newlevels-scale-") as tmp:
        root = os.path.abspath(args.workdir or tmp)
        os.makedirs(root, exist_ok=True)
        write(run_timeline(root, args.spans, args.rows, args.baseline, write, done))
    print(f"results: {out}/{args.label}.md")


if __name__ == "__main__":
    main()
