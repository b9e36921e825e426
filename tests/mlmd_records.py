"""MLMD records written the way TFX writes them, for tests that need a filled store."""

from __future__ import annotations

from ml_metadata.proto import metadata_store_pb2

from newlevels.components.resolver import scope
from newlevels.pipeline import metadata, store


class Records:
    """Writes contexts and artifacts the way TFX attributes them to a pipeline."""

    def __init__(self, mlmd_store):
        self.mlmd = mlmd_store
        self.pipeline_type = mlmd_store.put_context_type(
            metadata_store_pb2.ContextType(name="pipeline")
        )
        self.types = {
            name: mlmd_store.put_artifact_type(metadata_store_pb2.ArtifactType(name=name))
            for name in ("Model", "ModelBlessing")
        }

    def pipeline(self, name: str) -> int:
        context = metadata_store_pb2.Context(type_id=self.pipeline_type, name=name)
        return self.mlmd.put_contexts([context])[0]

    def put(self, context_id: int, type_name: str, **properties) -> metadata_store_pb2.Artifact:
        artifact = metadata_store_pb2.Artifact(type_id=self.types[type_name], uri=f"/{type_name}")
        for key, value in properties.items():
            if isinstance(value, int):
                artifact.custom_properties[key].int_value = value
            else:
                artifact.custom_properties[key].string_value = value
        [artifact.id] = self.mlmd.put_artifacts([artifact])
        attribution = metadata_store_pb2.Attribution(artifact_id=artifact.id, context_id=context_id)
        self.mlmd.put_attributions_and_associations([attribution], [])
        return artifact

    def push(self, context_id: int, pipeline_name: str | None) -> metadata_store_pb2.Artifact:
        """A model and the blessing its push read (naming `pipeline_name`, if given)."""
        model = self.put(context_id, "Model")
        named = {} if pipeline_name is None else {scope.PIPELINE_PROPERTY: pipeline_name}
        self.put(context_id, "ModelBlessing", blessed=1, current_model_id=model.id, **named)
        return model


def store_with_a_run_of(path, pipeline_name: str):
    """A SQLite store at `path` holding one (empty) run of `pipeline_name`."""
    mlmd_store = metadata.connect(store.sqlite_store(str(path)))
    records = Records(mlmd_store)
    run_type = mlmd_store.put_context_type(metadata_store_pb2.ContextType(name="pipeline_run"))
    [run] = mlmd_store.put_contexts([metadata_store_pb2.Context(type_id=run_type, name="run-1")])
    mlmd_store.put_parent_contexts(
        [metadata_store_pb2.ParentContext(child_id=run, parent_id=records.pipeline(pipeline_name))]
    )
    return mlmd_store
