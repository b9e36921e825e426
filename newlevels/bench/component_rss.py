"""Runs `newlevels run` in this process and records each component's seconds and peak RSS.

The local runner runs one component at a time in this process and announces
each start and finish on the `newlevels.progress` logger. At each start the
process's RSS high-water mark (`VmHWM`) is reset (Linux: `5` written to
`/proc/self/clear_refs`); at each finish it is read: that component's peak.

    python -m newlevels.bench.component_rss OUT.json run --data ... --span N ...
"""

from __future__ import annotations

import json
import logging
import re
import sys

from newlevels.pipeline.progress import DONE, EVENT_ATTR, FAILED, LOGGER_NAME, STARTED


def high_water_mib() -> float:
    """This process's peak RSS since the last reset, in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1)) / 1024


def reset_high_water() -> None:
    """Sets the peak RSS back to the current RSS (Linux 4.0 and later)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


class PeakPerComponent(logging.Handler):
    """Collects {component: {"seconds", "peak_rss_mib"}} from the progress events."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.components: dict[str, dict[str, float]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, EVENT_ATTR, None)
        if event is None:
            return
        if event.state == STARTED:
            reset_high_water()
        elif event.state in (DONE, FAILED):
            self.components[event.node] = {
                "seconds": round(event.seconds, 2),
                "peak_rss_mib": round(high_water_mib(), 1),
            }


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI with `argv[1:]` and writes the components' records to `argv[0]`."""
    from newlevels import cli

    out, *command = sys.argv[1:] if argv is None else argv
    handler = PeakPerComponent()
    progress = logging.getLogger(LOGGER_NAME)
    progress.addHandler(handler)
    progress.setLevel(logging.INFO)
    code = cli.main(command)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"exit_code": code, "components": handler.components}, handle, indent=1)
    return code


if __name__ == "__main__":
    sys.exit(main())
