"""The README's captured demo output: `./dev demo` run in a checkout, its stdout kept as results.

Run it in a fresh clone (the README's output is a new user's):

    git clone REPO fresh && cd fresh && python3 -m newlevels.bench.demo_capture \\
        --out benchmarks/demo.json     # runs ./dev demo (setup included), about 3 minutes

then copy `benchmarks/demo.json` into the repository and `newlevels bench --render`. The
`demo` renderer shows span 2's table (from its `span 2  strategy` line to its `summary:`
line) and the capture's date, commit and wall seconds; `demo-lineage` shows `newlevels
lineage` on the demo's workdir.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import tempfile
import time
from typing import Any

#: the lines of span 2's table: from the first line starting so to the next `summary:` line.
TABLE_START = "span 2  strategy"
TABLE_END = "summary:"


def capture(checkout: str) -> dict[str, Any]:
    """Runs `./dev demo` in `checkout` with a fresh workdir; returns its output and context."""
    workdir = os.path.join(tempfile.mkdtemp(prefix="newlevels-demo-"), "demo-work")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True
    ).stdout.strip()
    started = time.monotonic()
    done = subprocess.run(
        ["./dev", "demo", "--workdir", workdir],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = round(time.monotonic() - started, 1)
    lineage = subprocess.run(
        [".venv/bin/newlevels", "lineage", "--workdir", workdir],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        "command": "./dev demo (fresh clone, setup included), then newlevels lineage",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "cores": os.cpu_count(),
        "load_at_end": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "wall_seconds": wall,
        "workdir": workdir,
        "stdout": done.stdout,
        "lineage": lineage.stdout,
    }


def demo_lines(results: dict[str, Any]) -> list[str]:
    """The README block: span 2's table, its paths shortened, and where it came from."""
    lines = results["stdout"].splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(TABLE_START))
    end = next(n for n in range(start, len(lines)) if lines[n].startswith(TABLE_END))
    table = [
        line.replace(os.path.dirname(results["workdir"]), "/…") for line in lines[start : end + 1]
    ]
    return [
        "```",
        *table,
        "```",
        "",
        f"(Captured {results['date'][:10]} from a fresh clone at {results['commit']} with "
        f"`./dev demo`: {results['wall_seconds']:.0f} s in all, setup included, on "
        f"{results['cores']} cores, load {results['load_at_end']} at the end; "
        "`benchmarks/demo.json`, `python -m newlevels.bench.demo_capture`.)",
    ]


def lineage_lines(results: dict[str, Any]) -> list[str]:
    """The README block: `newlevels lineage` on the demo's workdir, paths shortened."""
    short = os.path.dirname(results["workdir"])
    table = [line.replace(short, "/…") for line in results["lineage"].splitlines()]
    return ["```", *table, "```"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the JSON file to write")
    parser.add_argument("--checkout", default=".", help="the checkout whose ./dev demo runs")
    args = parser.parse_args(argv)
    results = capture(os.path.abspath(args.checkout))
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
        handle.write("\n")
    print("\n".join(demo_lines(results)))


if __name__ == "__main__":
    main()
