"""The freeze certificate: a Model's table digests, and whether an extension kept its parent's.

The Trainer's executor records on every Model, as MLMD custom properties,
`newlevels_rows_digest` ({table: digest of the whole table}) and, for a model
that extends a parent, `newlevels_old_rows_digest` ({table: digest of the
parent's table as the child holds it: the parent's tokens with the child's rows
of them, under the parent's OOV row, which the manifest records}); a child fits
its own OOV row, and no old level looks it up. `contracts.digest` defines the
digest. The two properties keep their format, so a digest recorded by an
earlier release (whose children kept the parent's OOV row) verifies as before. A model
with a context (`trainer/context.py`) adds one entry per feature, `context/<feature>`:
its corrections as a table (a row per level, a column per vintage); a child's old
part is its parent's rows and vintages, which it keeps frozen. The decision
refuses an extension whose old rows are not its parent's, and the push guard
checks again, on the files it is about to copy, just before it copies them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import tensorflow as tf

from newlevels.components.trainer import artifacts
from newlevels.components.trainer.export import served_table_key
from newlevels.contracts.decision import Certificate
from newlevels.contracts.digest import old_rows_digest, table_digest

ROWS_DIGEST = "newlevels_rows_digest"
OLD_ROWS_DIGEST = "newlevels_old_rows_digest"

Digests = dict[str, str]


class FreezeCertificateError(RuntimeError):
    """A model about to be served as an extension did not keep its parent's rows."""


CONTEXT_PREFIX = "context/"


def rows_digests(embeddings: artifacts.ExportedEmbeddings) -> Digests:
    """{table: digest of the whole table}, and {context/<feature>: digest of its corrections}."""
    digests = {
        name: table_digest(rows.vocabulary, rows.table)
        for name, rows in sorted(embeddings.features.items())
    }
    context = embeddings.context
    for feature, table in sorted(({} if context is None else context.corrections).items()):
        vocabulary = embeddings.features[feature].vocabulary
        digests[CONTEXT_PREFIX + feature] = table_digest(vocabulary, table)
    return digests


def old_rows_digests(embeddings: artifacts.ExportedEmbeddings) -> Digests:
    """{table: digest of the parent's tokens' rows, as the child holds them}; {} without a parent.

    The vocabulary is append-only (`levels.LevelDiff.merged`): a child's first
    `old_levels` tokens are its parent's, in the parent's order. They are hashed
    under the parent's OOV row (`Manifest.parent_oov_rows`; the child's own for a
    child written before it was recorded), so the digest is the parent's rows
    digest exactly when every old token's row is the parent's.
    """
    manifest = embeddings.manifest
    if not manifest.parent_model_uri:
        return {}
    digests = {
        name: old_rows_digest(
            rows.vocabulary,
            rows.table,
            manifest.features[manifest.tables[name]].old_levels,
            manifest.parent_oov_rows.get(name),
        )
        for name, rows in sorted(embeddings.features.items())
    }
    context = embeddings.context
    for feature, table in sorted(({} if context is None else context.corrections).items()):
        # The parent's levels and vintages: every column but this model's own.
        old = manifest.features[feature].old_levels
        vocabulary = embeddings.features[feature].vocabulary[:old]
        digests[CONTEXT_PREFIX + feature] = table_digest(vocabulary, table[: 1 + old, :-1])
    return digests


def verify(
    candidate: artifacts.ExportedEmbeddings,
    parent_rows: Mapping[str, str],
    recorded_old_rows: Mapping[str, str] | None,
) -> Certificate:
    """Whether the candidate's files (and its recorded digests) hold its parent's rows.

    Args:
        candidate: the extension's `embeddings/`, read from its artifact.
        parent_rows: the parent's `newlevels_rows_digest`.
        recorded_old_rows: the candidate's `newlevels_old_rows_digest` as its
            Trainer recorded it (None: not recorded).

    Returns:
        The verdict, naming the first table that differs.
    """
    found = old_rows_digests(candidate)
    if not parent_rows:
        return Certificate(False, "the parent records no rows digest")
    for table, expected in sorted(parent_rows.items()):
        if found.get(table) != expected:
            return Certificate(
                False,
                f"the old rows of {table!r} in the candidate's files are not its parent's "
                f"(digest {_short(found.get(table))}, parent {_short(expected)})",
            )
        if recorded_old_rows is not None and recorded_old_rows.get(table) != expected:
            return Certificate(
                False,
                f"the candidate's recorded old-rows digest of {table!r} is not its parent's "
                f"({_short(recorded_old_rows.get(table))}, parent {_short(expected)})",
            )
    tables = ", ".join(sorted(parent_rows))
    return Certificate(True, f"the old rows of {tables} are the parent's, by sha256 digest")


def served_tables_differ(model_uri: str, embeddings: artifacts.ExportedEmbeddings) -> str | None:
    """Which table the SavedModel serves other than `embeddings/` holds (None: all bit-equal).

    The Pusher copies the SavedModel, not `embeddings/`: this ties the digests,
    computed from `embeddings/`, to the bytes that are served.
    """
    variables = os.path.join(model_uri, artifacts.SERVING_DIR, "variables", "variables")
    try:
        reader = tf.train.load_checkpoint(variables)
    except (tf.errors.OpError, ValueError) as error:
        return f"the SavedModel's variables are unreadable ({error})"
    for name, rows in sorted(embeddings.features.items()):
        key = served_table_key(name)
        if not reader.has_tensor(key):
            return f"the SavedModel serves no table {name!r}"
        if not np.array_equal(reader.get_tensor(key), rows.table):
            return f"the SavedModel serves other rows of {name!r} than its embeddings/ hold"
    return None


def _short(digest: str | None) -> str:
    return "none" if digest is None else digest[:12]


def movement(
    parent: artifacts.ExportedEmbeddings, other: artifacts.ExportedEmbeddings
) -> dict[str, dict[str, float | int]]:
    """How far the parent's token rows moved in another model, per table, matched by token.

    Args:
        parent: the model whose tokens are compared.
        other: a model with the same tables (a child, or a full retrain).

    Returns:
        {table: {"max_abs", "mean_abs": of |other - parent| over the parent tokens'
        rows, "tokens": how many were compared, "missing": parent tokens `other`
        lacks}}.
    """
    moved = {}
    for name, old in sorted(parent.features.items()):
        new = other.features[name]
        row_of = {token: i for i, token in enumerate(new.vocabulary)}
        pairs = [(i, row_of[t]) for i, t in enumerate(old.vocabulary) if t in row_of]
        delta = (
            np.abs(new.weights[[j for _, j in pairs]] - old.weights[[i for i, _ in pairs]])
            if pairs
            else np.zeros((0, old.weights.shape[1]), np.float32)
        )
        moved[name] = {
            "max_abs": float(delta.max(initial=0.0)),
            "mean_abs": float(delta.mean()) if delta.size else 0.0,
            "tokens": len(pairs),
            "missing": len(old.vocabulary) - len(pairs),
        }
    return moved
