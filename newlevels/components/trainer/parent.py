"""The parent model: refused before training if it does not fit, checked after it.

`parent_mismatch` is shared with the pipeline's preflight, which checks the parent
the resolver will pick before any component runs; `check_frozen` is the Trainer's
last word that every old token's row (and shared weight) survived bit for bit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from newlevels.components.trainer import artifacts, head
from newlevels.components.trainer.levels import FIRST_TOKEN_ROW
from newlevels.components.trainer.settings import TrainerSettings

if TYPE_CHECKING:
    from newlevels.components.trainer.train import TrainedModel


def parent_mismatch(settings: TrainerSettings, parent: artifacts.ExportedEmbeddings) -> str | None:
    """How a parent's model family, tables or widths differ from this run's (None if alike)."""
    family = settings.family
    expected_family = family.describe()
    found_family = parent.manifest.model_family
    if found_family != expected_family:
        return f"is model {found_family}, this run asks for {expected_family}"
    expected = {t.name: t.dim for t in settings.table_specs}
    found = {name: int(rows.weights.shape[1]) for name, rows in parent.features.items()}
    if expected == found:
        return None
    return f"has features/dims {found}, this run asks for {expected}"


def check_parent(settings: TrainerSettings, parent: artifacts.ExportedEmbeddings, uri: str) -> None:
    """Refuses a parent whose family, features or embedding widths differ from this run's.

    Raises:
        artifacts.ParentModelError: naming the parent artifact and the mismatch.
    """
    mismatch = parent_mismatch(settings, parent)
    if mismatch:
        raise artifacts.ParentModelError(
            f"previous model {uri} {mismatch}; pass --fresh-on-mismatch to train a fresh "
            "full model instead, or use a new workdir"
        )


def movable_shared(settings: TrainerSettings) -> set[str]:
    """The shared weights an extension may move: the family's with `--unfreeze-shared`,
    the head's with `--adapt head`."""
    movable = set(settings.family.shared_names) if settings.options.unfreeze_shared else set()
    if settings.options.adapt == head.HEAD:
        movable |= set(head.names(settings.data_spec.feature_names))
    return movable


def check_frozen(trained: TrainedModel, parent: artifacts.ExportedEmbeddings) -> None:
    """Asserts that every parent token's row (and shared weight it may not move) survived.

    The OOV row (row 0) is left out: every model fits its own after training
    (`fitting.set_average_oov_rows`), and no old level looks it up.

    Raises:
        AssertionError: naming the table or shared weight that moved.
    """
    for name, rows in parent.features.items():
        table = trained.model.embeddings[name].full_table().numpy()
        if not np.array_equal(table[FIRST_TOKEN_ROW : rows.table.shape[0]], rows.weights):
            raise AssertionError(f"old rows of {name!r} moved during training")
    movable = movable_shared(trained.settings)
    shared = trained.model.shared_weights()
    for name, value in parent.shared.items():
        if name not in movable and not np.array_equal(shared.get(name), value):
            raise AssertionError(f"shared weight {name!r} moved during training")
