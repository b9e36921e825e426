"""Which blessed models may be a pipeline's parent: those its own pushes blessed.

A team's MLMD store holds many pipelines: several newlevels pipelines (one per
data set, each with its `--pipeline-name`) and any TFX pipeline that blesses
models with the stock Evaluator. A parent must be a model this pipeline pushed.

- Locally, TFX gives the resolver only artifacts attributed to the pipeline's
  context (a context named after the pipeline): other pipelines are out.
- The Decision's blessings, which the Pushers push on, carry `PIPELINE_PROPERTY`
  = the pipeline name (`contracts/blessing.py`); only those count. This leaves
  out the stock Evaluator's own blessing inside the pipeline (blessed whenever
  TFMA's thresholds pass, pushed or not), and it is the only scope a compiled
  Kubeflow query can express (it has no context).
- A pipeline none of whose blessings name a pipeline was recorded before the
  Decision existed; its blessings were then exactly its pushes, so each blessed
  one counts (an upgraded pipeline keeps extending its line).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ml_metadata.proto import metadata_store_pb2

from newlevels.contracts.blessing import PIPELINE as PIPELINE_PROPERTY

Artifact = metadata_store_pb2.Artifact

#: TFX's ModelBlessing properties (tfx.components.evaluator.constants).
BLESSED = "blessed"
CURRENT_MODEL_ID = "current_model_id"
#: the blessed model's URI (what a compiled Kubeflow query finds the model by).
CURRENT_MODEL = "current_model"

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


def parent_blessings(blessings: Iterable[Artifact], pipeline_name: str) -> list[Artifact]:
    """The blessings that make a model a parent of pipeline `pipeline_name`.

    Args:
        blessings: the ModelBlessing artifacts of the pipeline's context.
        pipeline_name: the pipeline resolving its parent.

    Returns:
        The blessed ones naming the pipeline; or, when none of `blessings` names a
        pipeline (a store recorded before the Decision), every blessed one.
    """
    blessings = [b for b in blessings if _value(b, CURRENT_MODEL_ID) is not None]
    if any(_value(b, PIPELINE_PROPERTY) is not None for b in blessings):
        blessings = [b for b in blessings if _value(b, PIPELINE_PROPERTY) == pipeline_name]
    return [b for b in blessings if _value(b, BLESSED) == 1]


def latest_blessed_model(
    models: Iterable[Artifact], blessings: Iterable[Artifact], pipeline_name: str
) -> tuple[Artifact, Artifact] | None:
    """The newest model (highest id) that a parent blessing names, and that blessing.

    Args:
        models: Model artifacts of the pipeline's context.
        blessings: ModelBlessing artifacts of the pipeline's context.
        pipeline_name: the pipeline resolving its parent.

    Returns:
        (model, blessing), or None when no model qualifies (a first run).
    """
    allowed = {
        int(_value(b, CURRENT_MODEL_ID)): b
        for b in sorted(parent_blessings(blessings, pipeline_name), key=lambda b: b.id)
    }
    for model in sorted(models, key=lambda m: m.id, reverse=True):
        if model.id in allowed:
            return model, allowed[model.id]
    return None


def pipeline_filter(pipeline_name: str) -> str:
    """The clause that keeps a compiled resolver query inside pipeline `pipeline_name`.

    The Decision's blessings and the Transform's graphs carry `PIPELINE_PROPERTY`.
    Vertex ML Metadata's filter syntax, as the rest of TFX's compiled query
    (`metadata.blessed.number_value=1`): the artifact's metadata holds its custom
    properties.
    """
    return f'metadata.{PIPELINE_PROPERTY}.string_value="{check_pipeline_name(pipeline_name)}"'
