"""The ML Metadata a KFP v2 launcher keeps, on SQLite, and the resolver queries it answers.

Recorded as `backend/src/v2/metadata/client.go` and `converter.go` record it:
- a `system.Pipeline` context per pipeline name, a `system.PipelineRun` context per
  run (its child), and every execution and artifact attributed to both;
- one execution per container or importer task (`system.ContainerExecution`,
  `system.ImporterExecution`),
  RUNNING when created, then COMPLETE or FAILED; CANCELED for a task whose
  condition was false ("not triggered");
- INPUT and OUTPUT events whose path is the input or output key;
- an output artifact of the type named by its schema title, its custom properties
  converted from the `metadata` the executor wrote (`StructValueToMLMDValue`: a
  number becomes a double, a bool an int, a list `{"list": ...}`, a struct
  `{"struct": ...}`), plus `display_name`;
- an input artifact handed to a task as a RuntimeArtifact whose `metadata` holds its
  properties and custom properties (`toRuntimeArtifact`).

Resolver queries are Vertex AI Pipelines' (the KFP backend does not run resolver
tasks): the newest LIVE artifact matching a filter. The filter grammar is what
TFX's compiler and `newlevels kfp compile` write, terms joined by ` AND `:

    schema_title="tfx.Model"   state=LIVE   name="..."   uri="..."
    metadata.KEY.number_value=1   metadata.KEY.string_value="..."

Anything else is refused with `UnsupportedFilter`, so a new kind of term shows up
as a failing conformance run, not as a query that silently matches everything.
An artifact's name (what `name=` compares) is the one the launcher hands the
executor as `RuntimeArtifact.name`: `runs/RUN/tasks/TASK/artifacts/KEY`.
"""

from __future__ import annotations

import re

import ml_metadata as mlmd
import yaml
from google.protobuf import struct_pb2
from kfp.pipeline_spec import pipeline_spec_pb2
from ml_metadata.proto import metadata_store_pb2

Artifact = metadata_store_pb2.Artifact
Execution = metadata_store_pb2.Execution
Event = metadata_store_pb2.Event
PIPELINE_CONTEXT = "system.Pipeline"
RUN_CONTEXT = "system.PipelineRun"
_TERM = re.compile(
    r"(?P<field>schema_title|state|name|uri|metadata\.(?P<key>[\w.-]+?)\.(?P<kind>number|string)_value)"
    r'=(?P<value>"[^"]*"|[\w.+-]+)'
)


class UnsupportedFilter(ValueError):
    """A resolver filter term outside the grammar TFX's compiler writes today."""


def schema_title(type_schema: pipeline_spec_pb2.ArtifactTypeSchema) -> str:
    """The artifact type an output is recorded as (the `title` of its instance schema)."""
    if type_schema.WhichOneof("kind") == "schema_title":
        return type_schema.schema_title
    return yaml.safe_load(type_schema.instance_schema)["title"]


def to_mlmd_value(value: struct_pb2.Value) -> metadata_store_pb2.Value:
    """`StructValueToMLMDValue`: how the launcher stores one `metadata` entry."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return metadata_store_pb2.Value(string_value=value.string_value)
    if kind == "number_value":
        return metadata_store_pb2.Value(double_value=value.number_value)
    if kind == "bool_value":
        return metadata_store_pb2.Value(int_value=int(value.bool_value))
    if kind in ("list_value", "struct_value"):
        wrapped = struct_pb2.Struct()
        wrapped.fields[kind.split("_")[0]].CopyFrom(value)
        return metadata_store_pb2.Value(struct_value=wrapped)
    raise TypeError(f"the KFP launcher cannot store a metadata value of kind {kind}")


def to_struct_value(value: metadata_store_pb2.Value) -> struct_pb2.Value:
    """`toRuntimeArtifact`: how a stored property reaches a task's `metadata`."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return struct_pb2.Value(string_value=value.string_value)
    if kind in ("double_value", "int_value"):
        return struct_pb2.Value(number_value=getattr(value, kind))
    if kind == "struct_value":
        return struct_pb2.Value(struct_value=value.struct_value)
    raise TypeError(f"the KFP launcher cannot pass a property of kind {kind}")


def _matches(artifact: Artifact, type_name: str, term: re.Match) -> bool:
    field, raw = term["field"], term["value"]
    wanted = raw[1:-1] if raw.startswith('"') else raw
    if field == "schema_title":
        return type_name == wanted
    if field == "state":
        return Artifact.State.Name(artifact.state) == wanted
    if field in ("name", "uri"):
        return getattr(artifact, field) == wanted
    found = artifact.custom_properties.get(term["key"])
    if found is None:
        return False
    if term["kind"] == "string":
        return found.WhichOneof("value") == "string_value" and found.string_value == wanted
    numeric = found.WhichOneof("value") in ("double_value", "int_value")
    return numeric and float(getattr(found, found.WhichOneof("value"))) == float(wanted)


def parse_filter(text: str) -> list[re.Match]:
    """The terms of a resolver filter.

    Raises:
        UnsupportedFilter: naming the first term outside the grammar.
    """
    terms = []
    for part in text.split(" AND "):
        term = _TERM.fullmatch(part.strip())
        if term is None:
            raise UnsupportedFilter(f"resolver filter term {part.strip()!r} in {text!r}")
        terms.append(term)
    return terms


class LauncherStore:
    """One SQLite MLMD store, written and read as the KFP v2 launcher and driver do."""

    def __init__(self, path: str) -> None:
        config = metadata_store_pb2.ConnectionConfig()
        config.sqlite.filename_uri = path
        self.store = mlmd.MetadataStore(config)
        self.contexts: list[metadata_store_pb2.Context] = []

    def _context(self, type_name: str, name: str) -> metadata_store_pb2.Context:
        type_id = self.store.put_context_type(metadata_store_pb2.ContextType(name=type_name))
        found = self.store.get_context_by_type_and_name(type_name, name)
        if found is None:
            [context_id] = self.store.put_contexts(
                [metadata_store_pb2.Context(type_id=type_id, name=name)]
            )
            [found] = self.store.get_contexts_by_id([context_id])
        return found

    def open_run(self, pipeline_name: str, run_id: str) -> None:
        """Creates the pipeline and run contexts every later record is attributed to."""
        pipeline = self._context(PIPELINE_CONTEXT, pipeline_name)
        run = self._context(RUN_CONTEXT, run_id)
        self.store.put_parent_contexts(
            [metadata_store_pb2.ParentContext(child_id=run.id, parent_id=pipeline.id)]
        )
        self.contexts = [pipeline, run]

    def start_execution(
        self, type_name: str, task: str, inputs: dict[str, list[Artifact]], triggered: bool
    ) -> Execution:
        """`CreateExecution`: the task's execution with an INPUT event per input artifact."""
        type_id = self.store.put_execution_type(metadata_store_pb2.ExecutionType(name=type_name))
        execution = Execution(
            type_id=type_id,
            last_known_state=Execution.RUNNING if triggered else Execution.CANCELED,
        )
        for key, value in (("display_name", task), ("task_name", task)):
            execution.custom_properties[key].string_value = value
        events = [
            (artifact, Event(type=Event.INPUT, path=_path(key)))
            for key, artifacts in inputs.items()
            for artifact in artifacts
        ]
        execution_id, _, _ = self.store.put_execution(execution, events, self.contexts)
        [execution] = self.store.get_executions_by_id([execution_id])
        return execution

    def _new_artifact(self, name: str, runtime: pipeline_spec_pb2.RuntimeArtifact) -> Artifact:
        type_id = self.store.put_artifact_type(
            metadata_store_pb2.ArtifactType(name=schema_title(runtime.type))
        )
        artifact = Artifact(type_id=type_id, uri=runtime.uri, name=name, state=Artifact.LIVE)
        for field, value in runtime.metadata.fields.items():
            artifact.custom_properties[field].CopyFrom(to_mlmd_value(value))
        return artifact

    def _put(self, artifact: Artifact) -> Artifact:
        [artifact_id] = self.store.put_artifacts([artifact])
        [artifact] = self.store.get_artifacts_by_id([artifact_id])
        return artifact

    def record_artifact(
        self, name: str, key: str, runtime: pipeline_spec_pb2.RuntimeArtifact
    ) -> Artifact:
        """`RecordArtifact`: an output artifact, LIVE, with the executor's metadata."""
        artifact = self._new_artifact(name, runtime)
        if "display_name" not in artifact.custom_properties:
            artifact.custom_properties["display_name"].string_value = key
        return self._put(artifact)

    def import_artifact(
        self, name: str, runtime: pipeline_spec_pb2.RuntimeArtifact, reimport: bool
    ) -> Artifact:
        """The importer's artifact: an equal one of this pipeline unless `reimport`.

        Equal as `FindMatchedArtifact` compares: type, state, URI and every custom
        property the importer sets.
        """
        wanted = self._new_artifact(name, runtime)
        for candidate in [] if reimport else self.store.get_artifacts_by_uri(runtime.uri):
            same = candidate.type_id == wanted.type_id and candidate.state == wanted.state
            same = same and all(
                key in candidate.custom_properties and candidate.custom_properties[key] == value
                for key, value in wanted.custom_properties.items()
            )
            contexts = {c.id for c in self.store.get_contexts_by_artifact(candidate.id)}
            if same and self.contexts[0].id in contexts:
                return candidate
        return self._put(wanted)

    def finish_execution(
        self, execution: Execution, outputs: dict[str, list[Artifact]], state: int
    ) -> None:
        """`PublishExecution`: the final state and an OUTPUT event per output artifact."""
        execution.last_known_state = state
        events = [
            (artifact, Event(type=Event.OUTPUT, path=_path(key)))
            for key, artifacts in outputs.items()
            for artifact in artifacts
        ]
        self.store.put_execution(execution, events, self.contexts)

    def outputs(self, execution_id: int) -> dict[str, list[Artifact]]:
        """`GetOutputArtifactsByExecutionId`: what a downstream task resolves from."""
        events = self.store.get_events_by_execution_ids([execution_id])
        outputs = [e for e in events if e.type == Event.OUTPUT]
        by_id = {a.id: a for a in self.store.get_artifacts_by_id([e.artifact_id for e in outputs])}
        found: dict[str, list[Artifact]] = {}
        for event in outputs:
            found.setdefault(event.path.steps[0].key, []).append(by_id[event.artifact_id])
        return found

    def runtime_artifact(
        self, artifact: Artifact, type_schema: pipeline_spec_pb2.ArtifactTypeSchema
    ) -> pipeline_spec_pb2.RuntimeArtifact:
        """The RuntimeArtifact a task receives for a stored artifact."""
        runtime = pipeline_spec_pb2.RuntimeArtifact(name=artifact.name, uri=artifact.uri)
        runtime.type.CopyFrom(type_schema)
        for properties in (artifact.properties, artifact.custom_properties):
            for key, value in properties.items():
                runtime.metadata.fields[key].CopyFrom(to_struct_value(value))
        return runtime

    def latest(self, text: str) -> Artifact | None:
        """The newest artifact matching a resolver filter, or None.

        Raises:
            UnsupportedFilter: for a term outside the grammar of this module.
        """
        terms = parse_filter(text)
        type_names = {t.id: t.name for t in self.store.get_artifact_types()}
        matching = [
            artifact
            for artifact in self.store.get_artifacts()
            if all(_matches(artifact, type_names[artifact.type_id], term) for term in terms)
        ]
        return max(matching, key=lambda a: (a.create_time_since_epoch, a.id), default=None)


def _path(key: str) -> Event.Path:
    return Event.Path(steps=[Event.Path.Step(key=key)])
