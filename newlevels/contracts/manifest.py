"""The manifest of a Model artifact's `embeddings/` folder (`embeddings/manifest.json`).

The manifest is an on-disk format that other tools read, so its JSON keys never
change; this record is the one place that writes and reads them. A manifest
written by an earlier release lacks the keys added since (model families,
tables, admission, replay, `--init`, early stopping, the head, the parent's OOV
rows): those read as what that release did. Keys this release does not know (written by a later
one) are ignored, so an older reader still reads a newer manifest.

No TensorFlow here: lineage, the summary and the report may import it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

FILE = "manifest.json"
#: the model family of a manifest written before model families existed.
LEGACY_FAMILY: Mapping[str, Any] = {"name": "additive"}
#: how a model without a parent (or one written before `--init`) started its rows.
RANDOM_INIT = "random"


class ManifestError(ValueError):
    """A manifest that lacks a required key or holds a value of the wrong kind."""


@dataclasses.dataclass(frozen=True)
class FeatureCounts:
    """One feature's levels in a model, and the width of its rows."""

    old_levels: int
    new_levels: int
    vocab_size: int
    vanished_levels: int
    embedding_dim: int

    def levels(self) -> dict[str, int]:
        """The counts that `summary.json` and MLMD's `newlevels_levels` show."""
        return {
            "old_levels": self.old_levels,
            "new_levels": self.new_levels,
            "vocab_size": self.vocab_size,
        }


@dataclasses.dataclass(frozen=True)
class AdmissionCounts:
    """What `--min-count` did to one feature's new levels (see `admission.py`)."""

    admitted: int
    deferred: int
    pending: int
    min_count: int


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a model is and what the run that trained it did.

    Attributes:
        role: the Trainer's role (`incremental` or `full`).
        strategy: the embedding strategy that trained it.
        data_spec: the run's data spec (`DataSpec.to_dict`).
        features: per feature, its level counts and row width.
        rows_trained: training rows the run fitted on.
        rows_total: training rows in the span.
        parent_model_uri: the model whose rows it froze, or None.
        model_family: the family's description (`ModelFamily.describe`).
        tables: each table (`embeddings/<table>/`) -> its feature.
        shared: names of the shared weights (`embeddings/<name>.npy`).
        admission: per feature, what `--min-count` admitted.
        rows_replayed: rows without a new level mixed into the training.
        epochs: passes over the training rows (None if the writer did not count them).
        init: how the new rows started (`--init`).
        early_stopping: what early stopping did (`Convergence.to_manifest`), or None.
        head_adapted: whether a head trained over the parent's rows.
        parent_oov_rows: per table, the parent's OOV row (float32 values; empty
            without a parent). A child fits its own OOV row, so the freeze
            certificate hashes the child's old token rows under this one to get
            the parent's table digest (`contracts.digest.old_rows_digest`).
    """

    role: str
    strategy: str
    data_spec: Mapping[str, Any]
    features: Mapping[str, FeatureCounts]
    rows_trained: int
    rows_total: int
    parent_model_uri: str | None
    model_family: Mapping[str, Any] = dataclasses.field(default_factory=lambda: LEGACY_FAMILY)
    tables: Mapping[str, str] = dataclasses.field(default_factory=dict)
    shared: tuple[str, ...] = ()
    admission: Mapping[str, AdmissionCounts] = dataclasses.field(default_factory=dict)
    rows_replayed: int = 0
    epochs: int | None = None
    init: str = RANDOM_INIT
    early_stopping: Mapping[str, Any] | None = None
    head_adapted: bool = False
    parent_oov_rows: Mapping[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # Before model families every table was a feature's, named after it.
        if not self.tables:
            object.__setattr__(self, "tables", {name: name for name in self.features})

    @property
    def new_levels(self) -> int:
        """New levels over every feature (0: the model added nothing)."""
        return sum(counts.new_levels for counts in self.features.values())

    @property
    def embedding_dim(self) -> int:
        """The widest feature's row width (every feature's, when they agree)."""
        return max(counts.embedding_dim for counts in self.features.values())

    def to_dict(self) -> dict[str, Any]:
        """The manifest's JSON object (its keys are the on-disk format)."""
        return dataclasses.asdict(self) | {"shared": sorted(self.shared)}

    def to_json(self) -> str:
        """The text of `manifest.json`."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], source: str = FILE) -> Manifest:
        """Reads a manifest's JSON object, from this release or an earlier one.

        Args:
            values: the parsed `manifest.json`.
            source: where it came from, for the error message.

        Returns:
            The manifest, with newer keys an older release did not write at their defaults.

        Raises:
            ManifestError: naming `source` and the missing key or wrong value.
        """
        if not isinstance(values, Mapping):
            raise ManifestError(f"{source}: a manifest is a JSON object, not {type(values)}")
        known = {field.name for field in dataclasses.fields(cls)}
        fields = {key: value for key, value in values.items() if key in known}
        try:
            fields["features"] = _records(FeatureCounts, fields["features"], "features")
            fields["admission"] = _records(
                AdmissionCounts, fields.get("admission", {}), "admission"
            )
            fields["shared"] = tuple(fields.get("shared", ()))
            fields["parent_oov_rows"] = {
                name: tuple(float(v) for v in row)
                for name, row in fields.get("parent_oov_rows", {}).items()
            }
            return cls(**fields)
        except KeyError as error:
            raise ManifestError(f"{source}: manifest has no {error.args[0]!r}") from None
        except (TypeError, AttributeError) as error:
            raise ManifestError(f"{source}: manifest does not read: {error}") from None

    @classmethod
    def from_json(cls, text: str, source: str = FILE) -> Manifest:
        """Reads the text of a `manifest.json` (see `from_dict`).

        Raises:
            ManifestError: naming `source`, for text that is not JSON or not a manifest.
        """
        try:
            values = json.loads(text)
        except json.JSONDecodeError as error:
            raise ManifestError(f"{source}: not JSON ({error})") from None
        return cls.from_dict(values, source)


def _records(record: type, values: Mapping[str, Mapping[str, Any]], key: str) -> dict[str, Any]:
    """Per name, `values[name]` as a `record`.

    Raises:
        KeyError: naming the first missing field as `key.name.field`.
    """
    fields = [field.name for field in dataclasses.fields(record)]
    records = {}
    for name, counts in values.items():
        missing = [field for field in fields if field not in counts]
        if missing:
            raise KeyError(f"{key}.{name}.{missing[0]}")
        records[name] = record(**{field: counts[field] for field in fields})
    return records
