"""One model's ancestry back to its first full model, with the inputs of each step."""

from __future__ import annotations

import dataclasses
from typing import Any

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from newlevels.components.trainer.settings import Role
from newlevels.pipeline import metadata
from newlevels.pipeline.errors import ConfigError
from newlevels.pipeline.lineage.records import ModelRecord

FULL_ROLE = Role.FULL.value
INPUT = metadata_store_pb2.Event.INPUT
OUTPUT = metadata_store_pb2.Event.OUTPUT


@dataclasses.dataclass(frozen=True)
class ArtifactRef:
    id: int
    uri: str
    span: int | None = None


@dataclasses.dataclass(frozen=True)
class Step:
    """A model and what its Trainer read."""

    model: ModelRecord
    examples: ArtifactRef | None  # ExampleGen output: span N only
    transform_graph: ArtifactRef | None
    schema: ArtifactRef | None
    base_model: ArtifactRef | None
    #: the spans the model trained on: span N for a candidate; 1..N for a full
    #: retrain, which adds the earlier spans its transform graph records.
    spans: list[int] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _inputs_of_producer(store: mlmd.MetadataStore, artifact_id: int) -> dict[str, list]:
    produced = [e for e in store.get_events_by_artifact_ids([artifact_id]) if e.type == OUTPUT]
    if not produced:
        return {}
    events = store.get_events_by_execution_ids([produced[0].execution_id])
    inputs: dict[str, list] = {}
    for event in events:
        if event.type == INPUT and event.path.steps:
            inputs.setdefault(event.path.steps[0].key, []).append(event.artifact_id)
    return {key: store.get_artifacts_by_id(ids) for key, ids in inputs.items()}


def _ref(artifacts: list | None) -> ArtifactRef | None:
    if not artifacts:
        return None
    artifact = artifacts[0]
    return ArtifactRef(artifact.id, artifact.uri, metadata.custom_value(artifact, "span"))


def step(store: mlmd.MetadataStore, model: ModelRecord) -> Step:
    trainer_inputs = _inputs_of_producer(store, model.id)
    transformed = trainer_inputs.get("examples") or []
    transform_inputs = _inputs_of_producer(store, transformed[0].id) if transformed else {}
    examples = _ref(transform_inputs.get("examples"))
    graph = _ref(trainer_inputs.get("transform_graph"))
    span = examples.span if examples else None
    if model.role == FULL_ROLE and graph is not None and graph.span is not None:
        spans = list(range(1, graph.span + 1))
    else:
        spans = [] if span is None else [span]
    return Step(
        model=model,
        examples=examples,
        transform_graph=graph,
        schema=_ref(transform_inputs.get("schema")),
        base_model=_ref(trainer_inputs.get("base_model")),
        spans=spans,
    )


def ancestry(
    store: mlmd.MetadataStore, model_id: int, models: dict[int, ModelRecord]
) -> list[Step]:
    """The model, its parent, ... down to a model with no parent.

    Raises:
        ConfigError: if `model_id` is not a model of the pipeline.
    """
    if model_id not in models:
        raise ConfigError(f"no Model artifact with id {model_id} (known: {sorted(models)})")
    chain: list[Step] = []
    current: int | None = model_id
    while current is not None:
        if any(s.model.id == current for s in chain):
            raise ConfigError(f"model {current} appears twice in its own ancestry")
        model = models[current]
        chain.append(step(store, model))
        current = model.parent_id
    return chain
