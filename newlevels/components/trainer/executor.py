"""A thin Trainer executor that records the model's genealogy in ML Metadata.

`run_fn` cannot set artifact properties, so this wraps TFX's GenericExecutor:
after training, it copies the facts from `embeddings/manifest.json` onto the
output Model artifact as MLMD custom properties, with the parent Model
artifact's id (the model whose rows were frozen), or -1 for a model with none,
and the freeze certificate's digests (`components/certificate.py`).
"""

from __future__ import annotations

from typing import Any

from tfx import types
from tfx.components.trainer.executor import GenericExecutor
from tfx.types import artifact_utils, standard_component_specs

from newlevels.components import certificate
from newlevels.components.trainer import artifacts
from newlevels.contracts.manifest import Manifest

NO_PARENT = -1


class Properties:
    """Names of the custom properties on a Model artifact (read back by `newlevels lineage`)."""

    ROLE = "newlevels_role"
    STRATEGY = "newlevels_strategy"
    EMBEDDING_DIM = "newlevels_embedding_dim"
    LEVELS = "newlevels_levels"  # JSON: {feature: {old_levels, new_levels, vocab_size}}
    NEW_LEVELS = "newlevels_new_levels"  # total over features: 0 means nothing to add
    ROWS_TRAINED = "newlevels_rows_trained"
    ROWS_TOTAL = "newlevels_rows_total"
    PARENT_MODEL_ID = "newlevels_parent_model_id"
    MODEL_FAMILY = "newlevels_model_family"  # registry name: additive, mf
    USER_COLUMN = "newlevels_user_column"  # mf only
    ITEM_COLUMN = "newlevels_item_column"  # mf only
    ROWS_DIGEST = certificate.ROWS_DIGEST  # JSON: {table: sha256 of the table}
    OLD_ROWS_DIGEST = certificate.OLD_ROWS_DIGEST  # JSON: {table: sha256 of the kept rows}


def record_properties(model: types.Artifact, manifest: Manifest, parent_id: int) -> None:
    """Sets the genealogy properties of `model` from its manifest."""
    model.set_string_custom_property(Properties.ROLE, manifest.role)
    model.set_string_custom_property(Properties.STRATEGY, manifest.strategy)
    model.set_int_custom_property(Properties.EMBEDDING_DIM, manifest.embedding_dim)
    model.set_json_value_custom_property(
        Properties.LEVELS,
        {name: counts.levels() for name, counts in manifest.features.items()},
    )
    model.set_int_custom_property(Properties.NEW_LEVELS, manifest.new_levels)
    model.set_int_custom_property(Properties.ROWS_TRAINED, manifest.rows_trained)
    model.set_int_custom_property(Properties.ROWS_TOTAL, manifest.rows_total)
    model.set_int_custom_property(Properties.PARENT_MODEL_ID, parent_id)
    family = manifest.model_family
    model.set_string_custom_property(Properties.MODEL_FAMILY, family["name"])
    for key, column in (
        (Properties.USER_COLUMN, "user_column"),
        (Properties.ITEM_COLUMN, "item_column"),
    ):
        if column in family:
            model.set_string_custom_property(key, family[column])


def record_digests(model: types.Artifact, embeddings: artifacts.ExportedEmbeddings) -> None:
    """Sets the freeze certificate's digests of `model` (see `components/certificate.py`)."""
    model.set_json_value_custom_property(
        Properties.ROWS_DIGEST, certificate.rows_digests(embeddings)
    )
    model.set_json_value_custom_property(
        Properties.OLD_ROWS_DIGEST, certificate.old_rows_digests(embeddings)
    )


class LineageTrainerExecutor(GenericExecutor):
    """GenericExecutor, then genealogy properties on the output Model."""

    def Do(  # noqa: N802 (TFX API)
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        super().Do(input_dict, output_dict, exec_properties)
        model = artifact_utils.get_single_instance(output_dict[standard_component_specs.MODEL_KEY])
        embeddings = artifacts.read_embeddings(model.uri)
        bases = input_dict.get(standard_component_specs.BASE_MODEL_KEY) or []
        parent_id = bases[0].id if bases and embeddings.manifest.parent_model_uri else NO_PARENT
        record_properties(model, embeddings.manifest, parent_id)
        record_digests(model, embeddings)
