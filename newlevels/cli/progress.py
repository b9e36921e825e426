"""The progress of a run on the console: one line per component, with its seconds.

On a terminal a live display (rich) keeps one line per component, a spinner
while it runs, then its mark and seconds. Elsewhere (CI, a log file) each start
and finish is printed as a plain line as it happens. `--quiet` shows nothing.
The events come from `newlevels.pipeline.progress` (see `progress_runner` for
the hook).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

from newlevels.pipeline.progress import DONE, EVENT_ATTR, FAILED, LOGGER_NAME, NodeEvent

#: how `display` shows the events.
LIVE, PLAIN, QUIET = "live", "plain", "quiet"
#: the live display's mark of a finished or failed component.
MARKS = {DONE: "✓", FAILED: "✗"}


class _Forward(logging.Handler):
    """Hands the NodeEvent of each `newlevels.progress` record to `show`."""

    def __init__(self, show: Callable[[NodeEvent], None]) -> None:
        super().__init__(logging.INFO)
        self.show = show

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, EVENT_ATTR, None)
        if isinstance(event, NodeEvent):
            self.show(event)


def choose_mode(quiet: bool, stream: TextIO) -> str:
    """QUIET if asked, LIVE on an interactive terminal, else PLAIN."""
    from rich.console import Console

    if quiet:
        return QUIET
    # isatty first: CI often sets FORCE_COLOR, which makes rich treat a pipe as a terminal.
    # rich's is_interactive then rules out TERM=dumb and honours TTY_INTERACTIVE=0.
    isatty = getattr(stream, "isatty", None)
    return LIVE if isatty and isatty() and Console(file=stream).is_interactive else PLAIN


def _plain(stream: TextIO) -> Callable[[NodeEvent], None]:
    def show(event: NodeEvent) -> None:
        print(event.line(), file=stream, flush=True)

    return show


@contextlib.contextmanager
def _live(stream: TextIO) -> Iterator[Callable[[NodeEvent], None]]:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, SpinnerColumn, TextColumn
    from rich.text import Text

    class Mark(SpinnerColumn):
        def render(self, task):
            state = task.fields["state"]
            return Text(MARKS[state]) if state in MARKS else super().render(task)

    class Seconds(ProgressColumn):
        def render(self, task):
            seconds = task.fields["seconds"]
            return Text(f"{task.elapsed if seconds is None else seconds:6.1f} s")

    console = Console(file=stream)
    columns = (Mark(), TextColumn("{task.description}"), Seconds())
    tasks: dict[str, int] = {}
    with Progress(*columns, console=console, refresh_per_second=4) as progress:

        def show(event: NodeEvent) -> None:
            if event.node not in tasks:
                tasks[event.node] = progress.add_task(event.node, state=event.state, seconds=None)
                return
            task = tasks[event.node]
            progress.update(task, state=event.state, seconds=event.seconds)
            progress.stop_task(task)

        yield show


@contextlib.contextmanager
def display(mode: str, stream: TextIO | None = None) -> Iterator[None]:
    """Shows the progress events published while the block runs.

    Args:
        mode: LIVE, PLAIN or QUIET (`choose_mode`).
        stream: where to write (default: sys.stdout as it is on entry).
    """
    if mode == QUIET:
        yield
        return
    stream = sys.stdout if stream is None else stream
    logger = logging.getLogger(LOGGER_NAME)
    level = logger.level
    with contextlib.ExitStack() as stack:
        show = stack.enter_context(_live(stream)) if mode == LIVE else _plain(stream)
        handler = _Forward(show)
        # The events are INFO records whatever level the root logger has.
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
