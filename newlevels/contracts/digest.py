"""The digest of an embedding table: one definition for MLMD, deltas and indexes.

A table is what the SavedModel serves from: row 0 is the OOV row, row i (i >= 1)
is the vector of token i - 1 of the vocabulary (`embeddings/<table>/vocab.txt`,
`concat([oov.npy], weights.npy)`). Its digest is

    "sha256:" + sha256(
        b"newlevels-table-v1\\n"
        + uint64 LE rows + uint64 LE width          (rows = len(vocabulary) + 1)
        + the table's float32 LE bytes, row by row  (row 0, the OOV row, first)
        + for each token, in row order: uint64 LE length of its UTF-8 bytes + those bytes
    ).hexdigest()

so two tables share a digest only if they hold the same bits in the same rows for
the same tokens (length prefixes keep any token, even "" or one holding a line
break, unambiguous). Rows come before tokens so that a table can be hashed a chunk
of rows at a time (`TableDigest`), e.g. straight out of a FAISS index.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence

import numpy as np

PREFIX = "sha256:"
_HEADER = b"newlevels-table-v1\n"
_ROW_DTYPE = np.dtype("<f4")


class TableDigest:
    """A table digest computed in pieces: every row (in order), then every token.

    Args:
        rows: rows of the table, the OOV row included (vocabulary size + 1).
        width: the table's width.

    Raises:
        ValueError: from `rows`/`tokens`/`hexdigest` when pieces come in the wrong
            order, with the wrong width, or add up to another shape than declared.
    """

    def __init__(self, rows: int, width: int) -> None:
        self._rows, self._width = rows, width
        self._rows_seen = self._tokens_seen = 0
        self._hash = hashlib.sha256(_HEADER + struct.pack("<QQ", rows, width))

    def rows(self, block: np.ndarray) -> TableDigest:
        """Adds the next rows, a [n, width] block (cast to float32 little-endian)."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[1] != self._width:
            raise ValueError(f"rows of shape {block.shape} in a table of width {self._width}")
        if self._tokens_seen or self._rows_seen + block.shape[0] > self._rows:
            raise ValueError(f"more than the {self._rows} declared rows, or rows after tokens")
        self._hash.update(np.ascontiguousarray(block, dtype=_ROW_DTYPE).tobytes())
        self._rows_seen += block.shape[0]
        return self

    def tokens(self, tokens: Iterable[str]) -> TableDigest:
        """Adds the next tokens (after every row)."""
        if self._rows_seen != self._rows:
            raise ValueError(f"tokens after {self._rows_seen} of {self._rows} rows")
        for token in tokens:
            encoded = token.encode("utf-8")
            self._hash.update(struct.pack("<Q", len(encoded)) + encoded)
            self._tokens_seen += 1
        return self

    def hexdigest(self) -> str:
        """The digest, `sha256:<hex>`, once every row and token is in."""
        if self._rows_seen != self._rows or self._tokens_seen != self._rows - 1:
            raise ValueError(
                f"{self._rows_seen} rows and {self._tokens_seen} tokens do not make a table "
                f"of {self._rows} rows"
            )
        return PREFIX + self._hash.hexdigest()


def table_digest(vocabulary: Sequence[str], table: np.ndarray) -> str:
    """The digest of a whole table.

    Args:
        vocabulary: the tokens of rows 1.. (`vocab.txt`).
        table: [len(vocabulary) + 1, width], the OOV row first.

    Returns:
        `sha256:<hex>`.

    Raises:
        ValueError: if the table does not have one row per token plus the OOV row.
    """
    table = np.asarray(table)
    if table.ndim != 2:
        raise ValueError(f"a table is 2-D, got shape {table.shape}")
    return TableDigest(table.shape[0], table.shape[1]).rows(table).tokens(vocabulary).hexdigest()


def old_rows_digest(
    vocabulary: Sequence[str],
    table: np.ndarray,
    old_levels: int,
    parent_oov: np.ndarray | None = None,
) -> str:
    """The digest of the parent's table as a child holds it: its first `old_levels` tokens.

    An append-only vocabulary keeps the parent's tokens first, so the child's rows of
    them are the rows it must have kept from its parent. A child fits its own OOV row,
    which no old level looks up: the digest takes the parent's OOV row (`parent_oov`)
    in its place, so it equals the parent's `table_digest` exactly when every old
    token and its row are the parent's, bit for bit (the freeze certificate).

    Args:
        vocabulary: the child's tokens (`vocab.txt`).
        table: the child's table, its own OOV row first.
        old_levels: how many of its first tokens are the parent's.
        parent_oov: the parent's OOV row; None takes the child's own (a model from
            before OOV rows were refitted kept its parent's).

    Returns:
        `sha256:<hex>`.
    """
    rows = np.array(table[: old_levels + 1], dtype=np.float32)
    if parent_oov is not None:
        rows[0] = np.asarray(parent_oov, np.float32)
    return table_digest(vocabulary[:old_levels], rows)
