"""A delta between a parent model and a child that extends it, and its folder format.

Per table (a feature's vectors; `mf`'s bias tables too), a delta holds the child's
vocabulary tail (the tokens it appended after the parent's), their rows, the
child's OOV row (every model fits its own; no old level looks it up), and two
table digests (`newlevels.contracts.digest`): the parent's, which it applies to, and
the child's, which applying it produces. It also holds every shared weight (`mf`'s
global bias) with its parent and child value.

A token's id is its line in the model's `vocab.txt` (its row of `weights.npy`; the
served table's row is id + 1, after the OOV row). A table's new ids run from
`parent_rows` on.

Layout:
    DIR/delta.json              format, both models, per table: feature, width,
                                parent_rows, new_rows, digests; shared weights
    DIR/<table>/vocab_tail.txt  the tail, escaped as `embeddings/<table>/vocab.txt` is
    DIR/<table>/rows.npy        [new_rows, width] float32, row i = tail token i
    DIR/<table>/oov.npy         [width] float32, the child's OOV row (format v2)

A v1 delta (no `oov.npy`) is still read: its child kept the parent's OOV row.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf

from newlevels.components.trainer.artifacts import parse_vocabulary, vocabulary_text

FORMAT = "newlevels-delta-v2"
#: formats read: v1 deltas hold no OOV row (their children kept the parent's).
READABLE = ("newlevels-delta-v1", FORMAT)
MANIFEST = "delta.json"
TAIL = "vocab_tail.txt"
ROWS = "rows.npy"
OOV = "oov.npy"


class DeltaError(ValueError):
    """A delta cannot be made, read or applied (the message names the model, table or file)."""


@dataclasses.dataclass(frozen=True)
class TableDelta:
    """What the child added to one table.

    Attributes:
        feature: the feature the table belongs to.
        parent_rows: tokens in the parent's table (the first new id).
        tail: the tokens the child appended, in id order.
        rows: [len(tail), width] float32, their vectors.
        parent_digest: the parent table's digest (what the delta applies to).
        child_digest: the child table's digest (what applying it gives).
        oov: [width] float32, the child's OOV row; None (a v1 delta) keeps the parent's.
    """

    feature: str
    parent_rows: int
    tail: tuple[str, ...]
    rows: np.ndarray
    parent_digest: str
    child_digest: str
    oov: np.ndarray | None = None

    @property
    def width(self) -> int:
        return int(self.rows.shape[1])

    @property
    def ids(self) -> np.ndarray:
        """The new tokens' ids (int64), in row order."""
        return np.arange(self.parent_rows, self.parent_rows + len(self.tail), dtype=np.int64)


@dataclasses.dataclass(frozen=True)
class SharedDelta:
    """A shared weight (e.g. `mf`'s global bias) in the parent and in the child."""

    parent: np.ndarray
    child: np.ndarray

    @property
    def changed(self) -> bool:
        return not np.array_equal(self.parent, self.child)


@dataclasses.dataclass(frozen=True)
class Delta:
    """Everything a child added to its parent, by table, and its shared weights."""

    parent_model_uri: str
    child_model_uri: str
    tables: dict[str, TableDelta]
    shared: dict[str, SharedDelta] = dataclasses.field(default_factory=dict)

    def table(self, name: str) -> TableDelta:
        """One table's delta.

        Raises:
            DeltaError: naming the tables the delta holds.
        """
        if name not in self.tables:
            raise DeltaError(f"the delta holds tables {sorted(self.tables)}, not {name!r}")
        return self.tables[name]


def _table_dir(folder: str, name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise DeltaError(f"table name {name!r} is not a plain folder name")
    return os.path.join(folder, name)


def _values(array: np.ndarray) -> dict[str, Any]:
    # float32 -> Python float is exact, and so is the way back.
    array = np.asarray(array, np.float32)
    return {"shape": list(array.shape), "values": array.ravel().tolist()}


def _array(record: Mapping[str, Any]) -> np.ndarray:
    return np.asarray(record["values"], np.float32).reshape(record["shape"])


def write_delta(delta: Delta, folder: str) -> None:
    """Writes `delta` into `folder` (created; local or any `tf.io.gfile` path)."""
    tables = {}
    for name, table in delta.tables.items():
        table_dir = _table_dir(folder, name)
        tf.io.gfile.makedirs(table_dir)
        with tf.io.gfile.GFile(os.path.join(table_dir, TAIL), "w") as handle:
            handle.write(vocabulary_text(table.tail))
        with tf.io.gfile.GFile(os.path.join(table_dir, ROWS), "wb") as handle:
            np.save(handle, np.asarray(table.rows, np.float32), allow_pickle=False)
        if table.oov is not None:
            with tf.io.gfile.GFile(os.path.join(table_dir, OOV), "wb") as handle:
                np.save(handle, np.asarray(table.oov, np.float32), allow_pickle=False)
        tables[name] = {
            "feature": table.feature,
            "width": table.width,
            "parent_rows": table.parent_rows,
            "new_rows": len(table.tail),
            "parent_digest": table.parent_digest,
            "child_digest": table.child_digest,
        }
    manifest = {
        "format": FORMAT,
        "parent_model_uri": delta.parent_model_uri,
        "child_model_uri": delta.child_model_uri,
        "tables": tables,
        "shared": {
            name: {
                "changed": value.changed,
                "parent": _values(value.parent),
                "child": _values(value.child),
            }
            for name, value in delta.shared.items()
        },
    }
    with tf.io.gfile.GFile(os.path.join(folder, MANIFEST), "w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True)


def _read_table(folder: str, name: str, record: Mapping[str, Any]) -> TableDelta:
    table_dir = _table_dir(folder, name)
    with tf.io.gfile.GFile(os.path.join(table_dir, TAIL)) as handle:
        tail = parse_vocabulary(handle.read())
    with tf.io.gfile.GFile(os.path.join(table_dir, ROWS), "rb") as handle:
        rows = np.load(handle, allow_pickle=False)
    expected = (record["new_rows"], record["width"])
    if rows.dtype != np.float32 or rows.shape != expected or len(tail) != expected[0]:
        raise ValueError(
            f"{table_dir}: {len(tail)} tail tokens and rows {rows.dtype}{rows.shape} do not "
            f"match the {expected[0]} new rows of width {expected[1]} in {MANIFEST}"
        )
    oov = None
    if tf.io.gfile.exists(os.path.join(table_dir, OOV)):
        with tf.io.gfile.GFile(os.path.join(table_dir, OOV), "rb") as handle:
            oov = np.load(handle, allow_pickle=False)
        if oov.dtype != np.float32 or oov.shape != expected[1:]:
            raise ValueError(f"{table_dir}: {OOV} is {oov.dtype}{oov.shape}, not a row")
    return TableDelta(
        feature=record["feature"],
        parent_rows=int(record["parent_rows"]),
        tail=tail,
        rows=rows,
        parent_digest=record["parent_digest"],
        child_digest=record["child_digest"],
        oov=oov,
    )


def read_delta(folder: str) -> Delta:
    """Reads a delta written by `write_delta`.

    Raises:
        DeltaError: naming the folder and the missing, damaged or foreign file.
    """
    try:
        with tf.io.gfile.GFile(os.path.join(folder, MANIFEST)) as handle:
            manifest = json.load(handle)
        if manifest.get("format") not in READABLE:
            raise ValueError(
                f"{MANIFEST} is format {manifest.get('format')!r}, not one of {READABLE}"
            )
        return Delta(
            parent_model_uri=manifest["parent_model_uri"],
            child_model_uri=manifest["child_model_uri"],
            tables={
                name: _read_table(folder, name, record)
                for name, record in manifest["tables"].items()
            },
            shared={
                name: SharedDelta(_array(record["parent"]), _array(record["child"]))
                for name, record in manifest["shared"].items()
            },
        )
    except DeltaError:
        raise
    except (OSError, tf.errors.OpError, ValueError, KeyError, TypeError) as error:
        raise DeltaError(f"delta {folder} is unreadable: {error}") from error
