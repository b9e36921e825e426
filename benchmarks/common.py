"""Helpers shared by the benchmarks: the machine, timing, peak RSS and fresh subprocesses."""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

#: the last line a case prints on stdout starts with this, followed by its JSON.
RESULT_PREFIX = "BENCH-RESULT "


class BenchError(RuntimeError):
    """A benchmark case failed; the message names the case and its stderr tail."""


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_peak_rss_mib() -> float:
    """The largest peak RSS of any waited-for descendant of this process, in MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def machine() -> dict[str, Any]:
    """Cores, RAM, versions and the date, for the results header."""
    import tensorflow as tf
    import tfx

    with open("/proc/meminfo", encoding="utf-8") as handle:
        total_kib = int(handle.readline().split()[1])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "ram_gib": round(total_kib / 2**20, 1),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "tfx": tfx.__version__,
        "platform": platform.platform(),
    }


def run_case(
    name: str, params: Mapping[str, Any], fresh: bool = True, timeout: float = 900
) -> dict[str, Any]:
    """Runs `cases.CASES[name](**params)` in a fresh interpreter and returns its JSON.

    With `fresh=False` (the smoke size) the case runs in this process instead: quicker,
    but its peak RSS is then this process's.

    Raises:
        BenchError: if the case exits non-zero or prints no result.
    """
    if not fresh:
        from benchmarks.cases import CASES

        return CASES[name](**params)
    command = [sys.executable, "-m", "benchmarks.cases", name, json.dumps(dict(params))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise BenchError(f"case {name} {dict(params)} exited {done.returncode}: {done.stderr[-2000:]}")
