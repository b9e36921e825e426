"""Checks made before a run starts, so bad state fails fast and nothing is computed.

The parent checked here is the one the pipeline's resolver will pick: the latest
Model this pipeline pushed (`metadata.last_pushed_model`, by the resolver's own
rule in `components/resolver/scope.py`).
"""

from __future__ import annotations

import os

from newlevels.components.trainer import artifacts
from newlevels.components.trainer.parent import parent_mismatch
from newlevels.components.trainer.settings import Role
from newlevels.pipeline import metadata
from newlevels.pipeline.config import RunConfig


def check_parent(config: RunConfig) -> str | None:
    """Reads and checks the model this run will extend.

    Returns:
        The parent's URI, or None for a first run.

    Raises:
        ParentModelError: the parent's files are missing or damaged, or it has
            another model family, other features or embedding widths (unless
            `fresh_on_mismatch`).
    """
    where = config.metadata_store
    if where.sqlite_path is not None and not os.path.exists(where.sqlite_path):
        return None
    parent = metadata.last_pushed_model(metadata.connect(where), config.pipeline_name)
    if parent is None:
        return None
    uri = parent.uri
    mismatch = parent_mismatch(
        config.trainer_settings(Role.INCREMENTAL), artifacts.read_embeddings(uri)
    )
    if mismatch and not config.options.fresh_on_mismatch:
        raise artifacts.ParentModelError(
            f"previous model {uri} {mismatch}; pass --fresh-on-mismatch to train a fresh "
            "full model instead, or start another line with a new --pipeline-name or workdir"
        )
    return uri
