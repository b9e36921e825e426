"""The freeze certificate's digest of an embedding table (numpy only).

A table's digest is the sha256 of, in order: a format tag, the row count and
width, then each row as little-endian float32 bytes, the OOV row first and then
one row per vocabulary token, each token's UTF-8 bytes (length-prefixed) before
its row. The digest therefore changes when a row, a token or the row order
changes, and two tables with the same tokens and rows in the same order share it.

Every Model records `rows_digest` (each table in full) and, when it extends a
parent, `old_rows_digest` (each table's OOV row and the rows of its first
`old_levels` tokens: the rows it kept from its parent, which an append-only
vocabulary keeps first). An extension whose old-rows digest is not its parent's
rows digest did not keep its parent's rows.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

import numpy as np

FORMAT = b"newlevels-table-v1\0"


def table_digest(vocabulary: Sequence[str], table: np.ndarray) -> str:
    """The hex sha256 of a table: row 0 is the OOV row, row i + 1 is `vocabulary[i]`'s.

    Raises:
        ValueError: if the table does not hold one row per token plus the OOV row.
    """
    rows = np.ascontiguousarray(table, dtype="<f4")
    if rows.ndim != 2 or rows.shape[0] != len(vocabulary) + 1:
        raise ValueError(
            f"a table of shape {rows.shape} does not hold the OOV row and {len(vocabulary)} tokens"
        )
    digest = hashlib.sha256(FORMAT)
    digest.update(struct.pack("<qq", *rows.shape))
    digest.update(rows[0].tobytes())
    for token, row in zip(vocabulary, rows[1:], strict=True):
        encoded = token.encode("utf-8")
        digest.update(struct.pack("<q", len(encoded)))
        digest.update(encoded)
        digest.update(row.tobytes())
    return digest.hexdigest()


def old_rows_digest(vocabulary: Sequence[str], table: np.ndarray, old_levels: int) -> str:
    """The digest of a child's OOV row and the rows of its first `old_levels` tokens."""
    return table_digest(vocabulary[:old_levels], np.asarray(table)[: old_levels + 1])
