"""Which blessed models may be a pipeline's parent: those its own pushes blessed.

A team's MLMD store holds many pipelines: several newlevels pipelines (one per
data set, each with its `--pipeline-name`) and any TFX pipeline that blesses
models with the stock Evaluator. A parent must be a model this pipeline pushed.

- Locally, TFX gives the resolver only artifacts attributed to the pipeline's
  context (a context named after the pipeline): other pipelines are out.
- The blessings the pushes read carry `PIPELINE_PROPERTY` = the pipeline name.
  This excludes the stock Evaluator's own blessing inside the pipeline, and is
  the only scope a compiled Kubeflow query can express (it has no context).

`BLESSINGS_NAME_THEIR_PIPELINE` says whether the local resolver, the preflight
and `newlevels lineage` require that property too. It is False until the
decision component writes it on the blessings both Pushers read; setting it True
is then the one-line switch (the compiled query requires it already, see
`kubeflow/compile.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ml_metadata.proto import metadata_store_pb2

Artifact = metadata_store_pb2.Artifact

#: the custom property naming the pipeline whose push a ModelBlessing allows.
PIPELINE_PROPERTY = "newlevels_pipeline"
#: TFX's ModelBlessing properties (tfx.components.evaluator.constants).
BLESSED = "blessed"
CURRENT_MODEL_ID = "current_model_id"
#: whether the blessings the Pushers read carry PIPELINE_PROPERTY (see above).
BLESSINGS_NAME_THEIR_PIPELINE = False

#: the default `--pipeline-name` (`pipeline.config.PIPELINE_NAME`).
DEFAULT_PIPELINE_NAME = "newlevels"
#: lowercase letters, digits and hyphens: a valid Kubeflow/Vertex pipeline name,
#: and safe inside a quoted metadata filter.
PIPELINE_NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class PipelineNameError(ValueError):
    """A pipeline name Kubeflow or a metadata filter would not take."""


def check_pipeline_name(name: str) -> str:
    """Returns `name` if it is a valid pipeline name.

    Raises:
        PipelineNameError: naming the flag and the allowed characters.
    """
    if not PIPELINE_NAME_PATTERN.fullmatch(name):
        raise PipelineNameError(
            f"--pipeline-name {name!r}: use 1-64 lowercase letters, digits and hyphens, "
            "starting with a letter or digit"
        )
    return name


def _value(artifact: Artifact, key: str):
    if key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    return getattr(value, value.WhichOneof("value"))


def allows_parent(blessing: Artifact, pipeline_name: str, require_property: bool) -> bool:
    """Whether `blessing` blesses a model as a parent of pipeline `pipeline_name`.

    Args:
        blessing: a ModelBlessing artifact (already within the pipeline's context).
        pipeline_name: the pipeline resolving its parent.
        require_property: count only blessings whose PIPELINE_PROPERTY names it.
    """
    if _value(blessing, BLESSED) != 1 or _value(blessing, CURRENT_MODEL_ID) is None:
        return False
    return not require_property or _value(blessing, PIPELINE_PROPERTY) == pipeline_name


def latest_blessed_model(
    models: Iterable[Artifact],
    blessings: Iterable[Artifact],
    pipeline_name: str,
    require_property: bool | None = None,
) -> tuple[Artifact, Artifact] | None:
    """The newest model (highest id) with a blessing that allows it, and that blessing.

    Args:
        models: Model artifacts of the pipeline's context.
        blessings: ModelBlessing artifacts of the pipeline's context.
        pipeline_name: the pipeline resolving its parent.
        require_property: see `allows_parent` (None: BLESSINGS_NAME_THEIR_PIPELINE).

    Returns:
        (model, blessing), or None when no model qualifies (a first run).
    """
    if require_property is None:
        require_property = BLESSINGS_NAME_THEIR_PIPELINE
    allowed: dict[int, Artifact] = {}
    for blessing in sorted(blessings, key=lambda b: b.id):
        if allows_parent(blessing, pipeline_name, require_property):
            allowed[int(_value(blessing, CURRENT_MODEL_ID))] = blessing
    for model in sorted(models, key=lambda m: m.id, reverse=True):
        if model.id in allowed:
            return model, allowed[model.id]
    return None


def blessing_filter(pipeline_name: str) -> str:
    """The clause a compiled resolver's ModelBlessing query needs to stay in the pipeline.

    Vertex ML Metadata's filter syntax, as the rest of TFX's compiled query
    (`metadata.blessed.number_value=1`): the artifact's metadata holds its custom
    properties.
    """
    return f'metadata.{PIPELINE_PROPERTY}.string_value="{check_pipeline_name(pipeline_name)}"'
