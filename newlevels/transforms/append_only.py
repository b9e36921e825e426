"""Vocabularies that only grow across spans: earlier tokens keep their index, new ones append.

Span N's Transform analyses span N only. Each categorical vocabulary is the
previous span's vocabulary (the base, found by name in the previous transform
graph) with the tokens it lacks appended, most frequent in span N first. So a
token's index never moves once given: whatever an earlier span's transformed
examples hold stays valid, and they are resolved, never recomputed. Our own
transform passes tokens through (the model keeps its own append-only rows), so
the index matters to a user's transform that applies the vocabulary; the
Trainers diff vocabularies by token.

The file is a GZIP TFRecord of tokens (as `tft.vocabulary` writes with
`file_format="tfrecord_gzip"`), so every token survives, the empty one and those
holding a line break included.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.analyzers import sanitized_vocab_filename

#: `custom_config` key under which the Transform executor passes the base transform graph.
BASE_TRANSFORM_GRAPH_KEY = "newlevels_base_transform_graph"
#: the suffix of a vocabulary file (tf.Transform's for its `tfrecord_gzip` format).
VOCABULARY_SUFFIX = ".tfrecord.gz"
GZIP = tf.io.TFRecordOptions(compression_type="GZIP")


def merge(base: Sequence[bytes], counts: Mapping[bytes, int]) -> list[bytes]:
    """The base tokens in their order, then the other counted tokens.

    The appended tokens are ordered as `tft.vocabulary` orders a frequency
    vocabulary: by count, then by token, both descending.

    Raises:
        ValueError: if the base repeats a token (its indices would be ambiguous).
    """
    known = set(base)
    if len(known) != len(base):
        raise ValueError("the base vocabulary repeats a token")
    new = sorted(((c, t) for t, c in counts.items() if t not in known), reverse=True)
    return [*base, *(token for _, token in new)]


def read_tokens(path: str) -> list[bytes]:
    """The tokens of a GZIP TFRecord vocabulary file, in order."""
    return list(tf.compat.v1.io.tf_record_iterator(path, GZIP))


def write_tokens(path: str, tokens: Iterable[bytes]) -> None:
    """Writes a GZIP TFRecord vocabulary file, one record per token."""
    with tf.io.TFRecordWriter(path, GZIP) as writer:
        for token in tokens:
            writer.write(token)


def base_vocabulary_file(custom_config: Mapping[str, Any] | None, name: str) -> str | None:
    """The vocabulary named `name` in the base transform graph, or None (a first span).

    A base graph without that vocabulary (a feature added since) gives None too:
    the feature's vocabulary then starts with this span.
    """
    base = (custom_config or {}).get(BASE_TRANSFORM_GRAPH_KEY)
    if not base:
        return None
    return tft.TFTransformOutput(base).vocabulary_file_by_name(name)


class _AppendOnly(tft_beam.experimental.PTransformAnalyzer):
    """Counts the tokens of the analysed rows and writes base + the new ones."""

    def __init__(self, base_file: str | None, filename: str) -> None:
        super().__init__()
        self._base_file = base_file
        self._filename = filename

    def _write(self, counts: list[tuple[bytes, int]]) -> np.ndarray:
        base = read_tokens(self._base_file) if self._base_file else []
        tf.io.gfile.makedirs(self.base_temp_dir)
        path = os.path.join(self.base_temp_dir, self._filename)
        write_tokens(path, merge(base, dict(counts)))
        return np.array(path.encode("utf-8"))

    def expand(self, batches: beam.PCollection) -> beam.PCollection:
        return (
            batches
            | "Tokens" >> beam.FlatMap(lambda batch: batch[0].tolist())
            | "Count" >> beam.combiners.Count.PerElement()
            | "Gather" >> beam.combiners.ToList()
            | "Write" >> beam.Map(self._write)
        )


def append_only_vocabulary(tokens: tf.Tensor, name: str, base_file: str | None) -> tf.Tensor:
    """A tf.Transform analyzer: `base_file`'s tokens, then the new tokens of the analysed rows.

    Registered under `name`, so `TFTransformOutput.vocabulary_file_by_name(name)`
    finds it, as it finds a `tft.vocabulary(..., vocab_filename=name)`.

    Args:
        tokens: a string tensor of shape [batch].
        name: the vocabulary's name (the Trainers look it up by it).
        base_file: the previous span's vocabulary file, or None for a first span.

    Returns:
        The path of the vocabulary file (a tf.Transform asset).
    """
    filename = f"{sanitized_vocab_filename(name)}{VOCABULARY_SUFFIX}"
    (path,) = tft.experimental.ptransform_analyzer(
        inputs=[tokens],
        ptransform=_AppendOnly(base_file, filename),
        output_dtypes=[tf.string],
        output_shapes=[[]],
        output_asset_default_values=[b""],
        name=f"append_only_vocabulary_{sanitized_vocab_filename(name)}",
    )
    tft.annotate_asset(name, filename)
    return path
