"""A FAISS index over one table's rows, built from a model and kept current by deltas.

The index is an `IndexIDMap2` over an `IndexFlatIP` (inner product, the `mf`
score) or `IndexFlatL2`; a token's id is its line in the model's `vocab.txt`,
so a search returns ids that `vocabulary` turns back into tokens. Beside it the
folder keeps the vocabulary, the table's OOV row (not searchable, but part of
the table's digest) and the digest of the table the index holds.

`TableIndex.apply` adds a delta's new rows only, and refuses, before changing
anything, a delta made for another table (its parent digest is not the index's)
and a delta whose result would not be the child's table (the child's old rows
differ from the ones the index holds). The check hashes the index's rows with
the delta's, so after `apply` the index holds exactly the child's table.

Folder layout (local paths: FAISS reads and writes local files):
    DIR/index.faiss  the FAISS index
    DIR/index.json   table, metric, rows, width, digest, the model it came from
    DIR/vocab.txt    token of id i on line i (escaped as in `embeddings/`)
    DIR/oov.npy      the table's OOV row
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import faiss
import numpy as np

from newlevels.components.trainer import artifacts
from newlevels.contracts.digest import TableDigest, table_digest
from newlevels.delta.format import Delta, DeltaError

METRICS = {"ip": faiss.IndexFlatIP, "l2": faiss.IndexFlatL2}
INDEX_FILE = "index.faiss"
META = "index.json"
VOCABULARY = "vocab.txt"
OOV = "oov.npy"
#: rows hashed per step when a digest is recomputed from the index (bounds the copy).
DIGEST_CHUNK = 65_536


@dataclasses.dataclass
class TableIndex:
    """A flat FAISS index over one table's token rows.

    Attributes:
        index: `IndexIDMap2` over `IndexFlatIP`/`IndexFlatL2`; id = token id.
        table: the table's name (`embeddings/<table>/`).
        metric: a key of `METRICS`.
        vocabulary: token of each id.
        oov: the table's OOV row.
        digest: the digest of the table the index holds.
        model_uri: the model whose table the index holds (the last delta's child).
    """

    index: faiss.IndexIDMap2
    table: str
    metric: str
    vocabulary: list[str]
    oov: np.ndarray
    digest: str
    model_uri: str

    @classmethod
    def build(cls, model_uri: str, table: str, metric: str = "ip") -> TableIndex:
        """Builds the index of one table of a Model artifact.

        Raises:
            DeltaError: for an unknown table or metric.
            artifacts.ParentModelError: if the artifact is unreadable.
        """
        if metric not in METRICS:
            raise DeltaError(f"unknown metric {metric!r}: choose one of {', '.join(METRICS)}")
        tables = artifacts.read_embeddings(model_uri).features
        if table not in tables:
            raise DeltaError(f"model {model_uri} has tables {sorted(tables)}, not {table!r}")
        rows = tables[table]
        index = faiss.IndexIDMap2(METRICS[metric](rows.weights.shape[1]))
        weights = np.ascontiguousarray(rows.weights, np.float32)
        index.add_with_ids(weights, np.arange(len(weights), dtype=np.int64))
        digest = table_digest(rows.vocabulary, rows.table)
        return cls(index, table, metric, list(rows.vocabulary), rows.oov, digest, model_uri)

    @property
    def width(self) -> int:
        return int(self.index.d)

    def _rows(self) -> np.ndarray:
        """The index's vectors in id order, checked to be stored in that order."""
        ids = faiss.vector_to_array(self.index.id_map)
        if not np.array_equal(ids, np.arange(self.index.ntotal)):
            raise DeltaError(f"index of {self.table!r} does not hold ids 0..n-1 in order")
        return faiss.downcast_index(self.index.index)

    def _digest_with(
        self, rows: np.ndarray, tail: tuple[str, ...], oov: np.ndarray | None = None
    ) -> str:
        """The digest of the table the index would hold with `rows`/`tail` appended.

        `oov` replaces the OOV row (a child's own); None keeps the index's.
        """
        flat, total = self._rows(), self.index.ntotal
        oov = self.oov if oov is None else oov
        digest = TableDigest(1 + total + len(rows), self.width).rows(oov[np.newaxis, :])
        for start in range(0, total, DIGEST_CHUNK):
            digest.rows(flat.reconstruct_n(start, min(DIGEST_CHUNK, total - start)))
        return digest.rows(rows).tokens(self.vocabulary).tokens(tail).hexdigest()

    def content_digest(self) -> str:
        """The digest of the table the index holds, recomputed from its vectors."""
        return self._digest_with(np.zeros((0, self.width), np.float32), ())

    def apply(self, delta: Delta) -> int:
        """Adds a delta's new rows of this index's table and takes its OOV row; no token moves.

        Args:
            delta: a delta whose parent table is the one this index holds.

        Returns:
            How many rows were added (0 if the index already holds the child's
            table: applying a delta twice is harmless, e.g. when a job re-runs).

        Raises:
            DeltaError: before changing the index, if the delta applies to another
                table than the one the index holds, or if the index's rows plus the
                delta's would not be the child's table (an old row would move).
        """
        change = delta.table(self.table)
        if change.child_digest == self.digest:
            return 0
        if change.parent_digest != self.digest:
            raise DeltaError(
                f"delta {delta.parent_model_uri} -> {delta.child_model_uri} applies to table "
                f"{self.table!r} {change.parent_digest}, but this index holds "
                f"{self.digest} (from {self.model_uri}): apply the deltas in order, or "
                "rebuild the index from the child's table"
            )
        if change.parent_rows != self.index.ntotal or change.width != self.width:
            raise DeltaError(
                f"delta for {self.table!r} adds ids from {change.parent_rows}, {change.width} "
                f"wide; the index holds {self.index.ntotal} rows, {self.width} wide"
            )
        if self._digest_with(change.rows, change.tail, change.oov) != change.child_digest:
            raise DeltaError(
                f"delta {delta.parent_model_uri} -> {delta.child_model_uri}: the index's rows "
                f"plus the delta's are not the child's table {self.table!r} "
                f"{change.child_digest}: the child's old rows differ from the index's (an "
                "old row would move); rebuild the index from the child's table"
            )
        if len(change.tail):
            self.index.add_with_ids(np.ascontiguousarray(change.rows), change.ids)
        self.vocabulary.extend(change.tail)
        if change.oov is not None:
            self.oov = np.asarray(change.oov, np.float32)
        self.digest, self.model_uri = change.child_digest, delta.child_model_uri
        return len(change.tail)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest ids of each query row: (distances, ids), as FAISS returns them."""
        return self.index.search(np.ascontiguousarray(queries, np.float32), k)

    def vector(self, token: str) -> np.ndarray:
        """A token's row.

        Raises:
            DeltaError: if the index holds no such token.
        """
        try:
            return self.index.reconstruct(self.vocabulary.index(token))
        except ValueError:
            raise DeltaError(f"the index of {self.table!r} holds no token {token!r}") from None

    def save(self, folder: str) -> None:
        """Writes the index into `folder`, replacing it only once every file is written."""
        partial = folder.rstrip("/") + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        faiss.write_index(self.index, os.path.join(partial, INDEX_FILE))
        with open(os.path.join(partial, VOCABULARY), "w", encoding="utf-8", newline="\n") as out:
            out.write(artifacts.vocabulary_text(self.vocabulary))
        np.save(os.path.join(partial, OOV), np.asarray(self.oov, np.float32), allow_pickle=False)
        meta = {
            "table": self.table,
            "metric": self.metric,
            "rows": int(self.index.ntotal),
            "width": self.width,
            "digest": self.digest,
            "model_uri": self.model_uri,
        }
        with open(os.path.join(partial, META), "w", encoding="utf-8") as out:
            json.dump(meta, out, indent=2, sort_keys=True)
        previous = folder.rstrip("/") + ".previous"
        if os.path.exists(folder):
            os.rename(folder, previous)
        os.rename(partial, folder)
        shutil.rmtree(previous, ignore_errors=True)

    @classmethod
    def load(cls, folder: str) -> TableIndex:
        """Reads an index written by `save`.

        Raises:
            DeltaError: naming the folder and what is missing or inconsistent.
        """
        try:
            with open(os.path.join(folder, META), encoding="utf-8") as handle:
                meta = json.load(handle)
            index = faiss.read_index(os.path.join(folder, INDEX_FILE))
            with open(os.path.join(folder, VOCABULARY), encoding="utf-8", newline="\n") as handle:
                vocabulary = list(artifacts.parse_vocabulary(handle.read()))
            oov = np.load(os.path.join(folder, OOV), allow_pickle=False)
            if not isinstance(index, faiss.IndexIDMap2) or index.ntotal != len(vocabulary):
                raise ValueError(
                    f"{type(index).__name__} of {index.ntotal} rows beside {len(vocabulary)} "
                    "tokens (expected an IndexIDMap2 with one row per token)"
                )
            return cls(
                index,
                meta["table"],
                meta["metric"],
                vocabulary,
                oov,
                meta["digest"],
                meta["model_uri"],
            )
        except (OSError, RuntimeError, ValueError, KeyError) as error:
            raise DeltaError(f"index {folder} is unreadable: {error}") from error
