"""When each component of a local run starts and finishes: the events a progress display shows.

Each event is an INFO record of the `newlevels.progress` logger carrying a
`NodeEvent` (`EVENT_ATTR`): it lands in the run's pipeline.log with the rest of
the logging, and the CLI's display (`newlevels.cli.progress`) attaches a handler
to that logger. `progress_runner.ReportingDagRunner` emits them. No TFX here.
"""

from __future__ import annotations

import dataclasses
import logging

LOGGER_NAME = "newlevels.progress"
#: the LogRecord attribute holding the NodeEvent.
EVENT_ATTR = "newlevels_event"
STARTED, DONE, FAILED = "started", "done", "failed"


@dataclasses.dataclass(frozen=True)
class NodeEvent:
    """A pipeline node started, finished (`done`) or failed, `seconds` after it started."""

    node: str
    state: str
    seconds: float = 0.0

    def line(self) -> str:
        """The event as one plain line (the log's and the non-terminal display's)."""
        text = f"{self.state:<8} {self.node}"
        return text if self.state == STARTED else f"{text:<40} {self.seconds:6.1f} s"


def report(event: NodeEvent) -> None:
    """Publishes `event` to the `newlevels.progress` logger's handlers."""
    logging.getLogger(LOGGER_NAME).info(event.line(), extra={EVENT_ATTR: event})
