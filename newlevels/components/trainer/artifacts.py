"""The `embeddings/` folder kept inside every Model artifact, beside the SavedModel.

Layout (per feature):
    embeddings/<feature>/vocab.txt   row i = token i (UTF-8, one per line; a backslash,
                                     line feed or carriage return in a token is written
                                     as \\\\, \\n or \\r so any token fits on its line)
    embeddings/<feature>/weights.npy [vocab_size, dim] float32, row i = token i
    embeddings/<feature>/oov.npy     [dim] float32, the OOV row
    embeddings/<feature>/initial.npy [new levels, dim] float32: where the rows this
                                     model trained (its new rows) started
    embeddings/manifest.json         strategy, model family, tables, dims, level counts,
                                     rows trained, parent (`contracts/manifest.py`)
    embeddings/<feature>/context.npy [rows, vintages + 1] float32: an extension's
                                     corrections of old levels, read only beside a
                                     newer level (`context.py`); absent without one
    embeddings/<feature>/context_starts.json  the first row of each vintage

A table is one feature's rows; the `additive` family has one per feature, named
after it; `mf` adds a 1-wide bias table per feature, `embeddings/<feature>_bias/`
(same files), and its global bias, a shared weight, as `embeddings/global_bias.npy`.
A feature may also hold `pending.json`: levels not admitted yet (see
`admission.py`) -> their accumulated count. The manifest's `tables` maps each
table to its feature and `shared` names the shared weights.

The SavedModel serves from exactly `concat([oov], weights)` for each feature:
that is what the next run freezes, and what tests compare bit for bit.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Mapping

import numpy as np
import tensorflow as tf

from newlevels.components.trainer.context import Context
from newlevels.contracts.manifest import FILE as MANIFEST
from newlevels.contracts.manifest import Manifest

EMBEDDINGS_DIR = "embeddings"
SERVING_DIR = "Format-Serving"
PENDING = "pending.json"
INITIAL = "initial.npy"
CONTEXT, CONTEXT_STARTS = "context.npy", "context_starts.json"


class ParentModelError(ValueError):
    """The previous model's artifact cannot be extended (missing files, other features...)."""


@dataclasses.dataclass(frozen=True)
class FeatureRows:
    """One feature's vocabulary and rows, as exported."""

    vocabulary: tuple[str, ...]
    weights: np.ndarray  # [len(vocabulary), dim]
    oov: np.ndarray  # [dim]

    @property
    def table(self) -> np.ndarray:
        """The table the SavedModel serves from: the OOV row, then one row per token."""
        return np.concatenate([self.oov[np.newaxis, :], self.weights]).astype(np.float32)

    @classmethod
    def from_table(cls, vocabulary: tuple[str, ...], table: np.ndarray) -> FeatureRows:
        table = np.asarray(table, np.float32)
        return cls(vocabulary=vocabulary, weights=table[1:], oov=table[0])


@dataclasses.dataclass(frozen=True)
class ExportedEmbeddings:
    manifest: Manifest
    features: dict[str, FeatureRows]  # by table name (a feature's name for its vectors)
    shared: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    #: per feature, levels waiting for admission -> their accumulated count.
    pending: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    #: per table, the starting values of the rows the model trained (`initial.npy`).
    initial: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    #: the corrections of old levels beside newer ones (`context.py`), or None.
    context: Context | None = None


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r"}


def escape_token(token: str) -> str:
    """A token as one vocab.txt line (reversible by `unescape_token`)."""
    return "".join(_ESCAPES.get(char, char) for char in token)


def unescape_token(line: str) -> str:
    """Inverse of `escape_token`.

    Raises:
        ValueError: on a dangling or unknown escape.
    """
    chars, i = [], 0
    while i < len(line):
        if line[i] == "\\":
            if i + 1 >= len(line) or line[i + 1] not in _UNESCAPES:
                raise ValueError(f"bad escape in vocabulary line {line!r}")
            chars.append(_UNESCAPES[line[i + 1]])
            i += 2
        else:
            chars.append(line[i])
            i += 1
    return "".join(chars)


def vocabulary_text(tokens: Iterable[str]) -> str:
    """The text of a `vocab.txt`: each token escaped on its own line."""
    return "".join(f"{escape_token(token)}\n" for token in tokens)


def parse_vocabulary(text: str) -> tuple[str, ...]:
    """The tokens of a `vocab.txt`'s text (inverse of `vocabulary_text`).

    Raises:
        ValueError: on a dangling or unknown escape.
    """
    return tuple(unescape_token(line) for line in text.split("\n")[:-1])


def model_root(serving_model_dir: str) -> str:
    """The Model artifact's URI, given its `Format-Serving` directory."""
    return os.path.dirname(serving_model_dir.rstrip("/"))


def _feature_dir(root: str, feature: str) -> str:
    """The folder of one feature, refusing names that would leave the artifact."""
    if not feature or feature in (".", "..") or "/" in feature or "\\" in feature:
        raise ValueError(f"feature name {feature!r} is not a plain folder name")
    return os.path.join(root, EMBEDDINGS_DIR, feature)


def _save_npy(path: str, array: np.ndarray) -> None:
    with tf.io.gfile.GFile(path, "wb") as handle:
        np.save(handle, np.asarray(array, np.float32), allow_pickle=False)


def _load_npy(path: str) -> np.ndarray:
    with tf.io.gfile.GFile(path, "rb") as handle:
        return np.load(handle, allow_pickle=False)


def write_embeddings(
    root: str,
    manifest: Manifest,
    features: Mapping[str, FeatureRows],
    shared: Mapping[str, np.ndarray] | None = None,
    pending: Mapping[str, Mapping[str, int]] | None = None,
    initial: Mapping[str, np.ndarray] | None = None,
    context: Context | None = None,
) -> None:
    """Writes `embeddings/` under a Model artifact root (tables, shared weights, pending,
    the trained rows' starting values, the context)."""
    for name, rows in features.items():
        folder = _feature_dir(root, name)
        tf.io.gfile.makedirs(folder)
        with tf.io.gfile.GFile(os.path.join(folder, "vocab.txt"), "w") as handle:
            handle.write(vocabulary_text(rows.vocabulary))
        _save_npy(os.path.join(folder, "weights.npy"), rows.weights)
        _save_npy(os.path.join(folder, "oov.npy"), rows.oov)
    for name, values in (initial or {}).items():
        _save_npy(os.path.join(_feature_dir(root, name), INITIAL), values)
    for name, levels in (pending or {}).items():
        with tf.io.gfile.GFile(os.path.join(_feature_dir(root, name), PENDING), "w") as handle:
            json.dump(dict(levels), handle, ensure_ascii=False, sort_keys=True)
    for name, value in (shared or {}).items():
        _save_npy(_feature_dir(root, name) + ".npy", value)
    if context is not None:
        for name, table in context.corrections.items():
            folder = _feature_dir(root, name)
            tf.io.gfile.makedirs(folder)
            _save_npy(os.path.join(folder, CONTEXT), table)
            with tf.io.gfile.GFile(os.path.join(folder, CONTEXT_STARTS), "w") as handle:
                json.dump(list(context.starts[name]), handle)
    with tf.io.gfile.GFile(os.path.join(root, EMBEDDINGS_DIR, MANIFEST), "w") as handle:
        handle.write(manifest.to_json())


def read_embeddings(root: str) -> ExportedEmbeddings:
    """Reads `embeddings/` from a Model artifact root.

    Raises:
        ParentModelError: naming the artifact and the missing or damaged file.
    """
    manifest_path = os.path.join(root, EMBEDDINGS_DIR, MANIFEST)
    try:
        with tf.io.gfile.GFile(manifest_path) as handle:
            manifest = Manifest.from_json(handle.read(), manifest_path)
        features, initial = {}, {}
        for name in manifest.tables:
            folder = _feature_dir(root, name)
            with tf.io.gfile.GFile(os.path.join(folder, "vocab.txt")) as handle:
                vocabulary = parse_vocabulary(handle.read())
            rows = FeatureRows(
                vocabulary=vocabulary,
                weights=_load_npy(os.path.join(folder, "weights.npy")),
                oov=_load_npy(os.path.join(folder, "oov.npy")),
            )
            if rows.weights.shape[0] != len(vocabulary) or rows.oov.shape != rows.weights.shape[1:]:
                raise ValueError(
                    f"{folder}: weights {rows.weights.shape} / oov {rows.oov.shape} do not "
                    f"match {len(vocabulary)} vocabulary tokens"
                )
            features[name] = rows
            if tf.io.gfile.exists(os.path.join(folder, INITIAL)):
                initial[name] = _load_npy(os.path.join(folder, INITIAL))
        shared = {name: _load_npy(_feature_dir(root, name) + ".npy") for name in manifest.shared}
        pending = {}
        for name in manifest.features:
            path = os.path.join(_feature_dir(root, name), PENDING)
            if tf.io.gfile.exists(path):
                with tf.io.gfile.GFile(path) as handle:
                    pending[name] = {
                        token: int(count) for token, count in json.load(handle).items()
                    }
        context = read_context(root, manifest.features)
    except (OSError, tf.errors.OpError, ValueError) as error:
        raise ParentModelError(f"model artifact {root} is unreadable: {error}") from error
    return ExportedEmbeddings(manifest, features, shared, pending, initial, context)


def read_context(root: str, features: Iterable[str]) -> Context | None:
    """The context under a Model artifact root, or None if it holds none."""
    starts, corrections = {}, {}
    for name in features:
        folder = _feature_dir(root, name)
        if tf.io.gfile.exists(os.path.join(folder, CONTEXT)):
            corrections[name] = _load_npy(os.path.join(folder, CONTEXT))
            with tf.io.gfile.GFile(os.path.join(folder, CONTEXT_STARTS)) as handle:
                starts[name] = tuple(int(v) for v in json.load(handle))
            if corrections[name].shape[1] != len(starts[name]) + 1:
                raise ValueError(
                    f"{folder}: {CONTEXT} has {corrections[name].shape[1]} columns for "
                    f"{len(starts[name])} vintages"
                )
    if not corrections:
        return None
    if set(corrections) != set(features):
        raise ValueError(f"{root}: a context for {sorted(corrections)}, not every feature")
    return Context(starts, corrections)
