"""One run per pipeline at a time, across machines: a lease kept in the MLMD store itself.

The workdir lock (`workdir_lock.py`) only serialises runs on one machine. Runs of
one pipeline on several machines sharing a store would both read the same parent
and both push. So every run first takes the pipeline's lease, in the store:

- A lease is a ticket: an MLMD context of type `LEASE_TYPE` named
  `<pipeline>#<n>`. MLMD refuses a second context of one type and name (a unique
  key in every backend), so of two runs that read ticket n and create ticket
  n + 1 at the same moment, exactly one succeeds; the other is refused, naming
  the winner.
- A ticket records its holder (host, pid, span, workdir, start time), is
  refreshed every `HEARTBEAT_SECONDS` while the run lasts and is closed when it
  ends. A run may take the next ticket only when the latest one is closed, or
  stale: its holder's process is gone (same host) or it has not been refreshed
  for `STALE_SECONDS` (another host: a crashed machine frees the pipeline then).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

import ml_metadata as mlmd
from ml_metadata import errors as mlmd_errors
from ml_metadata.metadata_store import ListOptions, OrderByField
from ml_metadata.proto import metadata_store_pb2

from newlevels.pipeline import metadata, store
from newlevels.pipeline.errors import ConfigError

LEASE_TYPE = "newlevels_run_lease"
HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 300.0


class PipelineBusyError(ConfigError):
    """Another run of the pipeline holds its lease."""


def _utc(seconds: float) -> str:
    stamp = datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclasses.dataclass(frozen=True)
class Holder:
    """Who holds (or held) a ticket; times are seconds since the epoch.

    Times are stored as MLMD doubles: MLMD's MySQL schema keeps int properties
    in 32 bits.
    """

    host: str
    pid: int
    span: int
    workdir: str
    started: float
    heartbeat: float
    finished: float = 0.0

    @classmethod
    def this_process(cls, span: int, workdir: str) -> Holder:
        now = time.time()
        return cls(socket.gethostname(), os.getpid(), span, workdir, now, now)

    @classmethod
    def from_context(cls, context: metadata_store_pb2.Context) -> Holder:
        fields = dataclasses.fields(cls)
        return cls(**{f.name: metadata.custom_value(context, f.name) for f in fields})

    def to_context(self, context: metadata_store_pb2.Context) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            prop = context.custom_properties[field.name]
            if isinstance(value, float):
                prop.double_value = value
            elif isinstance(value, int):
                prop.int_value = value
            else:
                prop.string_value = value

    def describe(self) -> str:
        return (
            f"span {self.span} on host {self.host}, pid {self.pid}, "
            f"started {_utc(self.started)} (workdir {self.workdir})"
        )

    def is_stale(self, now: float, stale_seconds: float) -> bool:
        """Closed, silent for `stale_seconds`, or its process is gone from this host.

        A ticket of this very process is stale too: one process runs one span at
        a time (the demo runs two in a row), so it is a ticket left unclosed.
        """
        if self.finished or now - self.heartbeat > stale_seconds:
            return True
        if self.host != socket.gethostname():
            return False
        return self.pid == os.getpid() or not _alive(self.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True


def _lease_type(mlmd_store: mlmd.MetadataStore) -> int:
    context_type = metadata_store_pb2.ContextType(name=LEASE_TYPE)
    try:
        return mlmd_store.put_context_type(context_type)
    except mlmd_errors.AlreadyExistsError:
        # Created by another run meanwhile.
        return mlmd_store.put_context_type(context_type)


def latest_ticket(
    mlmd_store: mlmd.MetadataStore, pipeline_name: str
) -> metadata_store_pb2.Context | None:
    """The pipeline's newest lease ticket, or None before its first run."""
    options = ListOptions(
        filter_query=f"type = '{LEASE_TYPE}' AND custom_properties.pipeline.string_value = "
        f"'{pipeline_name}'",
        order_by=OrderByField.ID,
        is_asc=False,
        limit=1,
    )
    found = mlmd_store.get_contexts(list_options=options)
    return found[0] if found else None


def _ticket_number(context: metadata_store_pb2.Context | None) -> int:
    return 0 if context is None else int(context.name.rsplit("#", 1)[1])


def acquire(
    mlmd_store: mlmd.MetadataStore,
    pipeline_name: str,
    holder: Holder,
    stale_seconds: float = STALE_SECONDS,
    label: str = "the MLMD store",
) -> metadata_store_pb2.Context:
    """Takes the pipeline's next ticket.

    Args:
        mlmd_store: the store.
        pipeline_name: the pipeline whose lease it is.
        holder: who takes it.
        stale_seconds: a ticket not refreshed for this long is free.
        label: the store as messages name it.

    Returns:
        The ticket (an MLMD context) now held by `holder`.

    Raises:
        PipelineBusyError: the latest ticket is held by a live run, or another
            run took the next one first; names that run.
    """
    type_id = _lease_type(mlmd_store)
    latest = latest_ticket(mlmd_store, pipeline_name)
    if latest is not None:
        other = Holder.from_context(latest)
        if not other.is_stale(time.time(), stale_seconds):
            raise _busy(pipeline_name, other, label, stale_seconds)
        if not other.finished:
            logging.warning("taking over the lease of a stale run: %s", other.describe())
    ticket = metadata_store_pb2.Context(
        type_id=type_id, name=f"{pipeline_name}#{_ticket_number(latest) + 1}"
    )
    ticket.custom_properties["pipeline"].string_value = pipeline_name
    holder.to_context(ticket)
    try:
        [ticket.id] = mlmd_store.put_contexts([ticket])
    except mlmd_errors.AlreadyExistsError:
        winner = mlmd_store.get_context_by_type_and_name(LEASE_TYPE, ticket.name)
        raise _busy(pipeline_name, Holder.from_context(winner), label, stale_seconds) from None
    return ticket


def _busy(pipeline_name: str, other: Holder, label: str, stale_seconds: float) -> PipelineBusyError:
    return PipelineBusyError(
        f"pipeline {pipeline_name!r} is already running against {label}: {other.describe()}; "
        f"wait for it to finish (a crashed run's lease lapses after {stale_seconds:.0f} s "
        "without a heartbeat)"
    )


def update(
    mlmd_store: mlmd.MetadataStore, ticket: metadata_store_pb2.Context, **times: float
) -> None:
    """Sets times of the ticket's holder (heartbeat, finished)."""
    for key, value in times.items():
        ticket.custom_properties[key].double_value = value
    mlmd_store.put_contexts([ticket])


@contextlib.contextmanager
def held(
    where: store.StoreConfig,
    pipeline_name: str,
    span: int,
    workdir: str,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> Iterator[metadata_store_pb2.Context]:
    """Holds the pipeline's lease for the duration of the block.

    Args:
        where: the MLMD store the run writes to.
        pipeline_name: the pipeline the run belongs to.
        span: the span it runs (shown to a refused run).
        workdir: its workdir (shown to a refused run).
        heartbeat_seconds: how often the ticket is refreshed.

    Yields:
        The ticket held.

    Raises:
        PipelineBusyError: another run of the pipeline holds it.
    """
    mlmd_store = metadata.connect(where)
    ticket = acquire(
        mlmd_store, pipeline_name, Holder.this_process(span, workdir), label=where.label
    )
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(where, ticket, stop, heartbeat_seconds), daemon=True
    )
    beat.start()
    try:
        yield ticket
    finally:
        stop.set()
        beat.join()
        try:
            now = time.time()
            update(mlmd_store, ticket, heartbeat=now, finished=now)
        except Exception as error:  # noqa: BLE001 (never hide the run's own outcome)
            logging.warning(
                "could not close the lease %s (it lapses by itself): %s",
                ticket.name,
                store.redact(str(error)),
            )


def _heartbeat(
    where: store.StoreConfig,
    ticket: metadata_store_pb2.Context,
    stop: threading.Event,
    seconds: float,
) -> None:
    """Refreshes the ticket until `stop` (its own connection: MLMD's is not thread-safe)."""
    beating = metadata_store_pb2.Context()
    beating.CopyFrom(ticket)
    mlmd_store = None
    while not stop.wait(seconds):
        try:
            mlmd_store = mlmd_store or mlmd.MetadataStore(where.connection_config())
            update(mlmd_store, beating, heartbeat=time.time())
        except Exception as error:  # noqa: BLE001 (a missed beat is retried next time)
            mlmd_store = None
            logging.warning("lease heartbeat failed: %s", store.redact(str(error)))
