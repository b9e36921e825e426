"""Computes the delta between a parent model and a child that extends it.

A child extends its parent when, in every table, the parent's tokens are the
first tokens of the child's vocabulary, in the same order, and the parent's
tokens' rows are the child's rows of them, bit for bit. The OOV row is not one
of them: every model fits its own (no old level looks it up), and the delta
carries the child's. Anything else (a full retrain, a promoted baseline, a model of other
features or widths) gets no delta: applying one would leave an index serving
rows the child no longer has.
"""

from __future__ import annotations

import numpy as np

from newlevels.components.trainer import artifacts
from newlevels.contracts.digest import table_digest
from newlevels.delta.format import Delta, DeltaError, SharedDelta, TableDelta


def _refuse_moved_rows(
    name: str, parent: artifacts.FeatureRows, child: artifacts.FeatureRows
) -> None:
    """Refuses a child table that does not keep the parent's tokens and rows as its prefix."""
    widths = (parent.weights.shape[1], child.weights.shape[1])
    if widths[0] != widths[1]:
        raise DeltaError(
            f"table {name!r} is {widths[1]} wide in the child, {widths[0]} in the parent"
        )
    size = len(parent.vocabulary)
    if child.vocabulary[:size] != parent.vocabulary:
        at = next(
            i
            for i, token in enumerate(parent.vocabulary)
            if i >= len(child.vocabulary) or child.vocabulary[i] != token
        )
        raise DeltaError(
            f"table {name!r}: the parent's token {at} ({parent.vocabulary[at]!r}) is not the "
            "child's, so the child does not extend this parent"
        )
    old = np.asarray(child.weights[:size], np.float32)
    # Bits, not values: 0.0 and -0.0 (or two NaNs) are different rows to a digest.
    moved = np.any(old.view(np.uint32) != parent.weights.view(np.uint32), axis=1)
    if moved.any():
        row = int(np.flatnonzero(moved)[0])  # row i is token i
        raise DeltaError(
            f"table {name!r}: the row of token {parent.vocabulary[row]!r} moved "
            f"({int(moved.sum())} old rows differ, max |change| "
            f"{float(np.max(np.abs(old - parent.weights))):.3g}), so the child's old rows are not "
            "the parent's (a full retrain or a promoted baseline?); rebuild the index from the "
            "child's table instead"
        )


def make_delta(
    parent: artifacts.ExportedEmbeddings,
    child: artifacts.ExportedEmbeddings,
    parent_uri: str,
    child_uri: str,
) -> Delta:
    """The delta that turns the parent's tables into the child's.

    Args:
        parent: the parent's `embeddings/`.
        child: the child's `embeddings/`.
        parent_uri: the parent Model artifact (recorded in the delta).
        child_uri: the child Model artifact (recorded in the delta).

    Returns:
        Per table, the child's new tokens and rows with both digests; every shared weight.

    Raises:
        DeltaError: if the two models have other tables or shared weights, or if any
            parent token or row is not kept bit for bit at its place in the child.
    """
    if set(parent.features) != set(child.features) or set(parent.shared) != set(child.shared):
        raise DeltaError(
            f"model {child_uri} has tables {sorted(child.features)} and shared weights "
            f"{sorted(child.shared)}; its parent {parent_uri} has {sorted(parent.features)} "
            f"and {sorted(parent.shared)}"
        )
    tables = {}
    features = child.manifest.tables
    for name, rows in child.features.items():
        old = parent.features[name]
        _refuse_moved_rows(name, old, rows)
        size = len(old.vocabulary)
        tables[name] = TableDelta(
            feature=features[name],
            parent_rows=size,
            tail=rows.vocabulary[size:],
            rows=rows.weights[size:].astype(np.float32),
            parent_digest=table_digest(old.vocabulary, old.table),
            child_digest=table_digest(rows.vocabulary, rows.table),
            oov=np.asarray(rows.oov, np.float32),
        )
    shared = {
        name: SharedDelta(
            np.asarray(parent.shared[name], np.float32), np.asarray(value, np.float32)
        )
        for name, value in child.shared.items()
    }
    return Delta(parent_uri, child_uri, tables, shared)


def delta_between(child_uri: str, parent_uri: str | None = None) -> Delta:
    """Reads two Model artifacts and computes the child's delta.

    Args:
        child_uri: the child Model artifact (holding `embeddings/`).
        parent_uri: the model the delta applies to: the child's parent by default
            (its manifest's `parent_model_uri`), or any model the child extends, such
            as an earlier ancestor an index was built from.

    Returns:
        The delta.

    Raises:
        DeltaError: if the child has no parent and none is given, or does not extend it.
        artifacts.ParentModelError: if either artifact is unreadable.
    """
    child = artifacts.read_embeddings(child_uri)
    if parent_uri is None:
        parent_uri = child.manifest.parent_model_uri
        if not parent_uri:
            raise DeltaError(
                f"model {child_uri} extends no parent (a first model or a full retrain): "
                "build the index from its own table, or name the model it extends with --parent"
            )
    return make_delta(artifacts.read_embeddings(parent_uri), child, parent_uri, child_uri)
