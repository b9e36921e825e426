"""Reading one pipeline run back from ML Metadata (no TFX runner needed)."""

from __future__ import annotations

import dataclasses
import os

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from newlevels.pipeline.errors import ConfigError

Artifact = metadata_store_pb2.Artifact
Execution = metadata_store_pb2.Execution


def open_store(sqlite_path: str) -> mlmd.MetadataStore:
    """Opens an existing SQLite MLMD store, read-only.

    Raises:
        ConfigError: if the file is missing or is not an MLMD store.
    """
    if not os.path.isfile(sqlite_path):
        raise ConfigError(f"no MLMD store at {sqlite_path}")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = sqlite_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return connect(config, sqlite_path)


def connect(config: metadata_store_pb2.ConnectionConfig, name: str) -> mlmd.MetadataStore:
    """Connects to an MLMD store (SQLite or MySQL), turning failures into one line."""
    try:
        return mlmd.MetadataStore(config)
    except Exception as error:  # noqa: BLE001 (MLMD raises bare RuntimeErrors)
        reason = str(error).replace("Error when executing query: ", "").split(" query:")[0]
        raise ConfigError(f"{name} is not a readable MLMD store ({reason})") from None


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


def custom_value(artifact: Artifact | None, key: str):
    """An artifact's custom property as a plain Python value (None if absent)."""
    if artifact is None or key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    return getattr(value, value.WhichOneof("value"))
