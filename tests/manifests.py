"""Manifests for tests that write an `embeddings/` folder by hand."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from newlevels.contracts.manifest import FeatureCounts, Manifest


def counts(old_levels: int = 0, new_levels: int = 2, dim: int = 2) -> FeatureCounts:
    """One feature's counts (`vocab_size` is old + new, nothing vanished)."""
    return FeatureCounts(old_levels, new_levels, old_levels + new_levels, 0, dim)


def manifest(names: Iterable[str], **fields: Any) -> Manifest:
    """A first model's manifest over the features `names`, with `fields` replaced."""
    first = {
        "role": "incremental",
        "strategy": "split",
        "data_spec": {},
        "features": {name: counts() for name in names},
        "rows_trained": 0,
        "rows_total": 0,
        "parent_model_uri": None,
    }
    return Manifest(**(first | fields))
