"""Reading one pipeline run back from ML Metadata (no TFX runner needed)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator

import ml_metadata as mlmd
from ml_metadata import errors as mlmd_errors
from ml_metadata.proto import metadata_store_pb2

from newlevels.components.resolver import scope
from newlevels.pipeline import store
from newlevels.pipeline.errors import ConfigError

Artifact = metadata_store_pb2.Artifact
Execution = metadata_store_pb2.Execution


def open_store(sqlite_path: str) -> mlmd.MetadataStore:
    """Opens an existing SQLite MLMD store, read-only.

    Raises:
        ConfigError: if the file is missing or is not an MLMD store.
    """
    return connect(store.sqlite_store(sqlite_path), read_only=True)


def connect(where: store.StoreConfig, read_only: bool = False) -> mlmd.MetadataStore:
    """Connects to an MLMD store, turning a failure into one line (without the password).

    Args:
        where: the store.
        read_only: open a SQLite file read-only, and refuse one that does not exist
            (a server store is opened as it is).

    Raises:
        ConfigError: the store cannot be opened, with MLMD's reason.
    """
    config = where.connection_config()
    path = where.sqlite_path
    if path is not None and read_only:
        if not os.path.isfile(path):
            raise ConfigError(f"no MLMD store at {path}")
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    elif path is not None:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        with _native_errors() as logged:
            try:
                return mlmd.MetadataStore(config)
            except Exception as error:  # noqa: BLE001 (MLMD raises bare RuntimeErrors)
                failure = error
        # Runs starting together on an empty database race to create MLMD's
        # tables; MLMD asks the loser to connect again, and the tables are there then.
        if attempt == CONNECT_ATTEMPTS or not _SCHEMA_RACE.search(str(failure)):
            break
        time.sleep(0.5 * attempt)
    reason = str(failure).replace("Error when executing query: ", "").split(" query:")[0]
    reason = re.sub(r":? errno: , error:\s*$", "", reason)
    # MLMD's exception is often empty ("errno: , error: "); its C++ log says why.
    reason = "; ".join(filter(None, [reason.strip(), *logged])) or type(failure).__name__
    raise ConfigError(store.redact(f"{where.label} is not a readable MLMD store ({reason})"))


CONNECT_ATTEMPTS = 5
#: MLMD's errors when another connection is creating its tables at the same moment
#: (MySQL: "a subset of tables ... concurrent connection", or MariaDB's "Deadlock found
#: when trying to get lock; try restarting transaction"; PostgreSQL: a duplicate key).
_SCHEMA_RACE = re.compile(
    r"concurrent connection|already exists|duplicate key|deadlock found", re.IGNORECASE
)
#: a glog line: severity, date, time, thread, file:line] message.
_GLOG_LINE = re.compile(r"^([IWEF])\d{4} [\d:.]+ +\d+ [^]]+\] (.*)$")


@contextlib.contextmanager
def _native_errors() -> Iterator[list[str]]:
    """Collects the error lines MLMD's C++ code logs to file descriptor 2 meanwhile.

    They would otherwise reach the terminal beside the CLI's one-line error; other
    output written meanwhile is passed on.
    """
    logged: list[str] = []
    collecting = False
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield logged
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines():
                match = _GLOG_LINE.match(line)
                if match:
                    collecting = match.group(1) in "EF"
                    if collecting:
                        logged.append(match.group(2).strip())
                elif line[:1].isspace() and collecting:
                    logged[-1] += " " + line.strip()  # a multi-line message
                elif line and not line.startswith("WARNING: Logging before InitGoogleLogging"):
                    collecting = False
                    print(line, file=sys.stderr)


@dataclasses.dataclass
class NodeRun:
    """One node's execution in a pipeline run, with its artifacts by key."""

    execution: Execution
    inputs: dict[str, list[Artifact]]
    outputs: dict[str, list[Artifact]]

    @property
    def seconds(self) -> float:
        e = self.execution
        return max(0.0, (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000.0)

    def output(self, key: str) -> Artifact | None:
        found = self.outputs.get(key) or []
        return found[0] if found else None

    def input(self, key: str) -> Artifact | None:
        found = self.inputs.get(key) or []
        return found[0] if found else None


@dataclasses.dataclass
class PipelineRun:
    run_id: str
    nodes: dict[str, NodeRun]


def latest_run(store: mlmd.MetadataStore, pipeline_name: str) -> PipelineRun:
    """The most recent run of `pipeline_name`, node by node.

    Raises:
        ConfigError: if the store holds no run of that pipeline.
    """
    runs = all_runs(store, pipeline_name)
    if not runs:
        raise ConfigError(f"no run of pipeline {pipeline_name!r} in the MLMD store")
    return runs[-1]


def all_runs(store: mlmd.MetadataStore, pipeline_name: str) -> list[PipelineRun]:
    """Every run of `pipeline_name`, oldest first (empty if there is none)."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    runs = [
        context
        for context in store.get_contexts_by_type("pipeline_run")
        if any(p.id == pipeline.id for p in store.get_parent_contexts_by_context(context.id))
    ]
    return [read_run(store, run) for run in sorted(runs, key=lambda c: c.create_time_since_epoch)]


def read_run(store: mlmd.MetadataStore, run: metadata_store_pb2.Context) -> PipelineRun:
    executions = store.get_executions_by_context(run.id)
    events = store.get_events_by_execution_ids([e.id for e in executions])
    artifacts = {a.id: a for a in store.get_artifacts_by_id({ev.artifact_id for ev in events})}
    nodes: dict[str, NodeRun] = {}
    for execution in executions:
        node_id = _node_id(store, execution)
        node = NodeRun(execution, {}, {})
        for event in (ev for ev in events if ev.execution_id == execution.id):
            key = event.path.steps[0].key if event.path.steps else ""
            side = node.inputs if event.type == metadata_store_pb2.Event.INPUT else node.outputs
            side.setdefault(key, []).append(artifacts[event.artifact_id])
        nodes[node_id] = node
    return PipelineRun(run_id=run.name, nodes=nodes)


def _node_id(store: mlmd.MetadataStore, execution: Execution) -> str:
    node_type = store.get_context_type("node").id
    for context in store.get_contexts_by_execution(execution.id):
        if context.type_id == node_type:
            return context.name.split(".", 1)[-1]
    return str(execution.id)


def custom_value(artifact: Artifact | Execution | metadata_store_pb2.Context | None, key: str):
    """A record's custom property as a plain Python value (None if absent)."""
    if artifact is None or key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    return getattr(value, value.WhichOneof("value"))


def pipeline_artifacts(
    mlmd_store: mlmd.MetadataStore, pipeline_name: str, type_name: str
) -> list[Artifact]:
    """The artifacts of type `type_name` attributed to pipeline `pipeline_name`'s context.

    These are what a TFX resolver of the pipeline sees on a channel of that type.
    """
    pipeline = mlmd_store.get_context_by_type_and_name("pipeline", pipeline_name)
    artifact_type = _artifact_type(mlmd_store, type_name)
    if pipeline is None or artifact_type is None:
        return []
    return [
        a for a in mlmd_store.get_artifacts_by_context(pipeline.id) if a.type_id == artifact_type
    ]


def _artifact_type(mlmd_store: mlmd.MetadataStore, type_name: str) -> int | None:
    try:
        return mlmd_store.get_artifact_type(type_name).id
    except mlmd_errors.NotFoundError:
        return None


def last_pushed_model(mlmd_store: mlmd.MetadataStore, pipeline_name: str) -> Artifact | None:
    """The model the pipeline's parent resolver picks now (None before its first push).

    The same rule as the resolver (`components/resolver/scope.py`): the newest
    model of the pipeline with a blessing of the pipeline that allows it.
    """
    found = scope.latest_blessed_model(
        pipeline_artifacts(mlmd_store, pipeline_name, "Model"),
        pipeline_artifacts(mlmd_store, pipeline_name, "ModelBlessing"),
        pipeline_name,
    )
    return found[0] if found else None
