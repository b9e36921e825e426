"""Helpers shared by the benchmarks: the machine, timing, peak RSS and fresh subprocesses."""

from __future__ import annotations

import datetime
import json
import os
import platform
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


def peak_rss_mib(pid: int | str = "self") -> float:
    """A process's peak resident set size in MiB (`VmHWM`; 0.0 once it is gone).

    Not `getrusage().ru_maxrss`: Linux carries a parent's high-water mark across
    fork + exec, so a case started from a large bench process would report the
    parent's size. `VmHWM` belongs to the process's own address space.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    """`pid` and every live process below it (read from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


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
        from newlevels.bench.cases import CASES

        return CASES[name](**params)
    command = [sys.executable, "-m", "newlevels.bench.cases", name, json.dumps(dict(params))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise BenchError(f"case {name} {dict(params)} exited {done.returncode}: {done.stderr[-2000:]}")
