"""The span history a transform graph records: which spans it covers and where their data is.

Span N's Transform writes `span_history.json` into its TransformGraph artifact:
one entry per span 1..N with the span's Examples, its transformed Examples and
the transform graph written for it. The next run resolves that graph through
MLMD (the latest TransformGraph of this pipeline's Transform), extends its
vocabularies and copies its entries for the spans before its own; the full
retrain reads the earlier spans' transformed examples from the entries. No raw
file of an earlier span is read again, and no earlier span is re-analysed.

Pure Python over `tf.io.gfile` (no TFX), so the CLI, the executors and the tests
share it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

RECORD_FILE = "span_history.json"
#: the splits of every span's Examples (as `components/ingest/executor.py` writes them).
ALL_SPLITS = ("span_train", "span_eval")


class SpanHistoryError(ValueError):
    """The spans before this one cannot be resolved (a gap, a foreign or unreadable record)."""


@dataclasses.dataclass(frozen=True)
class SpanEntry:
    """One ingested span: its Examples, transformed Examples and transform graph (URIs)."""

    span: int
    version: int | None
    examples: str
    transformed_examples: str
    transform_graph: str
    splits: tuple[str, ...] = ALL_SPLITS

    def patterns(self, splits: Sequence[str] | None = None) -> list[str]:
        """File patterns of the transformed examples of `splits` (all when None)."""
        chosen = self.splits if splits is None else splits
        return [os.path.join(self.transformed_examples, f"Split-{s}", "*") for s in chosen]


@dataclasses.dataclass(frozen=True)
class SpanHistory:
    """Spans 1..N of one pipeline, in span order."""

    pipeline: str
    entries: tuple[SpanEntry, ...]

    @property
    def span(self) -> int:
        """The last span covered (0 when empty)."""
        return self.entries[-1].span if self.entries else 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanHistory:
        entries = tuple(
            SpanEntry(**{**entry, "splits": tuple(entry["splits"])}) for entry in data["entries"]
        )
        return cls(pipeline=data["pipeline"], entries=entries)


def write_history(graph_uri: str, history: SpanHistory) -> None:
    """Writes `history` into a TransformGraph artifact's folder."""
    with tf.io.gfile.GFile(os.path.join(graph_uri, RECORD_FILE), "w") as handle:
        json.dump(history.to_dict(), handle, sort_keys=True, indent=1)


def read_history(graph_uri: str) -> SpanHistory:
    """Reads the span history of a TransformGraph artifact.

    Raises:
        SpanHistoryError: if the graph holds no readable record (it was written
            before span histories, or by another pipeline's Transform).
    """
    path = os.path.join(graph_uri, RECORD_FILE)
    try:
        with tf.io.gfile.GFile(path) as handle:
            return SpanHistory.from_dict(json.load(handle))
    except (tf.errors.NotFoundError, ValueError, KeyError, TypeError) as error:
        raise SpanHistoryError(
            f"transform graph {graph_uri} holds no readable span history ({type(error).__name__}):"
            " it was not written by a newlevels Transform of this version; start a new workdir"
        ) from None


def earlier_entries(base: SpanHistory | None, span: int, pipeline: str) -> tuple[SpanEntry, ...]:
    """The entries of spans 1..span-1 that span `span` builds on.

    `base` is the record of the latest transform graph of the pipeline: normally
    the previous span's; after a failed or repeated run it may cover `span` or
    later spans too, whose entries are then left out (the run replaces them).

    Raises:
        SpanHistoryError: if `base` belongs to another pipeline, or spans
            1..span-1 were not all ingested (each run ingests one span, in order).
    """
    if base is not None and base.pipeline != pipeline:
        raise SpanHistoryError(
            f"the latest transform graph belongs to pipeline {base.pipeline!r}, not {pipeline!r}"
        )
    kept = tuple(e for e in (base.entries if base else ()) if e.span < span)
    missing = sorted(set(range(1, span)) - {e.span for e in kept})
    if missing:
        found = [e.span for e in kept]
        raise SpanHistoryError(
            f"--span {span}: pipeline {pipeline!r} has not ingested span(s) {missing} "
            f"(ingested: {found or 'none'}); run span {missing[0]} first: "
            "each run ingests one span and resolves the earlier ones from MLMD"
        )
    return kept


def earlier_patterns(graph_uri: str) -> list[str]:
    """Every split of the spans before the graph's own span: what a full retrain adds."""
    history = read_history(graph_uri)
    return [p for entry in history.entries if entry.span < history.span for p in entry.patterns()]
