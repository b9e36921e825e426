"""B3 and B4: a MovieLens run of the real pipeline, its wall time per component and peak RSS.

Each span runs as its own `newlevels run` process, timed from outside; its peak RSS is
the sum of each process's own high-water mark over the process tree. The import part is
`python -c "import tfx, tensorflow"` in a fresh interpreter, and the `tfx_ephemeral` sdist
TFX builds per Beam component is counted in the run's log and timed on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from newlevels.bench import common

SDIST_LOG_LINE = "Attempting to infer TFX Python dependency for beam"


def newlevels_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "newlevels.cli", *args]


def timed_process(command: list[str], log_path: str) -> tuple[float, float, int]:
    """Runs `command`, its output to `log_path`, polling its process tree's memory.

    The peak is the largest sum over the tree of each process's `VmHWM` (its own
    high-water mark), sampled every 0.2 s; a mark is monotonic, so the last sample
    before exit holds the process's whole-run peak.

    Returns:
        (wall seconds, peak RSS in MiB of the process and its children, exit code).
    """
    started = time.perf_counter()
    peaks: dict[int, float] = {}
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        while process.poll() is None:
            for pid in common.descendants(process.pid):
                peaks[pid] = max(peaks.get(pid, 0.0), common.peak_rss_mib(pid))
            time.sleep(0.2)
    return time.perf_counter() - started, sum(peaks.values()), process.returncode


def import_seconds(repeats: int = 3) -> float:
    """Median wall time of a fresh interpreter importing tfx and tensorflow."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tfx, tensorflow"], check=True)
        times.append(time.perf_counter() - started)
    return round(common.median(times), 2)


def sdist_seconds() -> float:
    """Wall time of one `tfx_ephemeral` sdist build, as TFX does it (fresh interpreter)."""
    code = (
        "import time; from tfx.utils import dependency_utils as d; t = time.perf_counter(); "
        "d.build_ephemeral_package(); print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(done.stdout.strip().splitlines()[-1]), 2)


def run_spans(
    workdir: str,
    spans: tuple[int, ...] = (1, 2),
    data: str | None = None,
    run_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Runs each span of `data` (MovieLens, written under `workdir` when None).

    `run_args` are passed to every `newlevels run` (e.g. `--model mf`).

    Returns:
        {"runs": {span: wall, peak RSS and component seconds}, "summaries": their folder}.

    Raises:
        common.BenchError: if a run fails (its log is named).
    """
    from newlevels.pipeline.data.movielens import write_movielens

    if data is None:
        data = os.path.join(workdir, "data")
        if not os.path.isdir(data):
            write_movielens(data)
    runs = {}
    for span in spans:
        log_path = os.path.join(workdir, f"bench-span-{span}.log")
        where = ("--data", data, "--span", str(span), "--workdir", os.path.join(workdir, "work"))
        command = newlevels_command("run", *where, *run_args)
        wall, rss, code = timed_process(command, log_path)
        if code:
            raise common.BenchError(f"span {span} run failed ({code}): see {log_path}")
        run_dir = os.path.join(workdir, "work", "runs", f"span-{span}")
        with open(os.path.join(run_dir, "summary.json"), encoding="utf-8") as handle:
            summary = json.load(handle)
        with open(os.path.join(run_dir, "pipeline.log"), encoding="utf-8") as handle:
            sdist_builds = handle.read().count(SDIST_LOG_LINE)
        runs[str(span)] = {
            "wall_s": round(wall, 1),
            "peak_rss_mib": round(rss, 1),
            "component_s": {k: round(v, 1) for k, v in sorted(summary["seconds"].items())},
            "components_sum_s": round(sum(summary["seconds"].values()), 1),
            "sdist_builds": sdist_builds,
            "load": common.load_average(),
        }
    return {"runs": runs, "summaries": os.path.join(workdir, "work", "runs")}


def write_old_user_spans(out: str) -> dict[int, int]:
    """MovieLens with span 2 cut to the rows of users already seen in span 1.

    The issue's B1 premise: only new movies are new levels. In the real span 2,
    new users bring 92 % of the rows a new level; here only new movies do.

    Returns:
        rows written per span.
    """
    import pandas as pd

    from newlevels.pipeline.data.movielens import write_movielens

    write_movielens(out)
    spans = [os.path.join(out, f"span-{k}", "ratings.csv") for k in (1, 2)]
    old, new = (pd.read_csv(path, dtype=str, keep_default_na=False) for path in spans)
    new = new[new["userId"].isin(set(old["userId"]))]
    new.to_csv(spans[1], index=False)
    return {1: len(old), 2: len(new)}


def write_sampled_spans(source: str, out: str, every: int) -> dict[int, int]:
    """Every `every`-th row of each span folder of `source`, written under `out`.

    Returns:
        rows written per span.
    """
    import pandas as pd

    written = {}
    for folder in sorted(os.listdir(source)):
        if not folder.startswith("span-"):
            continue
        os.makedirs(os.path.join(out, folder), exist_ok=True)
        for name in os.listdir(os.path.join(source, folder)):
            path = os.path.join(source, folder, name)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame.iloc[::every].to_csv(os.path.join(out, folder, name), index=False)
            span = int(folder.removeprefix("span-"))
            written[span] = written.get(span, 0) + len(frame.iloc[::every])
    return written


def run(workdir: str) -> dict[str, Any]:
    """B3 and B4 for the full size, and B3 again on 1 % of the rows (the fixed overhead).

    A component's time on 1 % of the rows is, to within that 1 %, its fixed overhead:
    what it spends whatever the data (imports, Beam pipeline construction and
    start-up, graph tracing, model loading).
    """
    result = run_spans(workdir)
    sample = os.path.join(workdir, "one-percent")
    rows = write_sampled_spans(os.path.join(workdir, "data"), os.path.join(sample, "data"), 100)
    result["one_percent"] = run_spans(sample, data=os.path.join(sample, "data"))["runs"]
    result["one_percent_rows"] = rows
    result["import_tfx_tensorflow_s"] = import_seconds()
    result["one_sdist_build_s"] = sdist_seconds()
    result["load"] = common.load_average()
    return result
