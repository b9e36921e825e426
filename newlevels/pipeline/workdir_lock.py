"""One run per workdir at a time: a second `newlevels run` is refused, not interleaved."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from newlevels.pipeline.errors import ConfigError

LOCK_FILE = ".newlevels.lock"


class WorkdirBusyError(ConfigError):
    """Another run holds the workdir."""


@contextlib.contextmanager
def locked(workdir: str) -> Iterator[None]:
    """Holds an exclusive lock on `workdir` for the duration of the block.

    The lock is an fcntl lock, released by the OS when the process dies, so a
    killed run never leaves the workdir locked.

    Raises:
        WorkdirBusyError: naming the process holding the lock.
    """
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, LOCK_FILE)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise WorkdirBusyError(
                f"workdir {workdir} is in use by another newlevels run (pid {holder}); "
                "wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
