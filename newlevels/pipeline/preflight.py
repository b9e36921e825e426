"""Checks made before a run starts, so bad state fails fast and nothing is computed.

The parent checked here is the one the pipeline's resolver will pick: the
latest blessed Model in MLMD (see pipeline.py on why that is the last pushed one).
"""

from __future__ import annotations

import os

from newlevels.components.trainer import artifacts
from newlevels.components.trainer.parent import parent_mismatch
from newlevels.components.trainer.settings import Role
from newlevels.pipeline import metadata
from newlevels.pipeline.config import RunConfig


def last_pushed_model_uri(store) -> str | None:
    """URI of the latest blessed Model artifact, or None before the first push."""
    blessed = {
        int(metadata.custom_value(b, "current_model_id"))
        for b in store.get_artifacts_by_type("ModelBlessing")
        if metadata.custom_value(b, "blessed") == 1
    }
    models = store.get_artifacts_by_id(sorted(blessed)) if blessed else []
    return max(models, key=lambda m: m.id).uri if models else None


def check_parent(config: RunConfig) -> str | None:
    """Reads and checks the model this run will extend.

    Returns:
        The parent's URI, or None for a first run.

    Raises:
        ParentModelError: the parent's files are missing or damaged, or it has
            another model family, other features or embedding widths (unless
            `fresh_on_mismatch`).
    """
    if not os.path.exists(config.metadata_path):
        return None
    uri = last_pushed_model_uri(metadata.open_store(config.metadata_path))
    if uri is None:
        return None
    mismatch = parent_mismatch(
        config.trainer_settings(Role.INCREMENTAL), artifacts.read_embeddings(uri)
    )
    if mismatch and not config.options.fresh_on_mismatch:
        raise artifacts.ParentModelError(
            f"previous model {uri} {mismatch}; pass --fresh-on-mismatch to train a fresh "
            "full model instead, or use a new workdir"
        )
    return uri
