"""The one source of truth for the columns a run reads.

Every other module derives keys, schema entries and names from a `DataSpec`.
It travels between pipeline components as a plain dict (`to_dict`/`from_dict`),
so the same spec reaches ExampleGen, Transform and both Trainers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tensorflow_metadata.proto.v0 import schema_pb2


@dataclasses.dataclass(frozen=True)
class CategoricalFeature:
    """A categorical column whose levels get one embedding row each.

    The width of its rows is a model option (`TrainingOptions.embedding_dim`),
    not part of the data: no component before the Trainer reads it.

    Attributes:
        name: the CSV column, also the feature key everywhere downstream.
    """

    name: str

    @property
    def vocabulary_name(self) -> str:
        """Name of the tf.Transform vocabulary computed for this feature."""
        return self.name


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """The columns of one data set: categorical features, a 0/1 label and a row id.

    Attributes:
        categorical: the categorical features, in model order.
        label: the 0/1 label column.
        id_column: a column unique per row (hashed to pick the eval rows).
    """

    categorical: tuple[CategoricalFeature, ...]
    label: str
    id_column: str

    def __post_init__(self) -> None:
        names = [f.name for f in self.categorical]
        if not names:
            raise ValueError("at least one categorical column is needed")
        for name in names:
            # Each feature's rows live in a folder named after it (embeddings/<name>/).
            if name in (".", "..") or "/" in name or "\\" in name:
                raise ValueError(f"categorical column {name!r} cannot name a folder")
        clash = {self.label, self.id_column} & set(names)
        if len(set(names)) != len(names) or clash or self.label == self.id_column:
            raise ValueError(
                f"columns must be distinct: categorical={names}, label={self.label!r}, "
                f"id={self.id_column!r}"
            )

    @classmethod
    def build(
        cls,
        categorical: Sequence[str],
        label: str,
        id_column: str,
    ) -> DataSpec:
        """Builds a spec from column names."""
        return cls(
            categorical=tuple(CategoricalFeature(name) for name in categorical),
            label=label,
            id_column=id_column,
        )

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.categorical)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Every column a CSV file must have (extra columns are ignored)."""
        return (self.id_column, *self.feature_names, self.label)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataSpec:
        """Reads `to_dict`'s dict, or one written when the spec carried embedding widths."""
        return cls(
            categorical=tuple(CategoricalFeature(f["name"]) for f in data["categorical"]),
            label=data["label"],
            id_column=data["id_column"],
        )

    def raw_schema(self) -> schema_pb2.Schema:
        """The schema of the examples ExampleGen writes.

        Categorical features carry no string domain, so a new level is never an
        anomaly: the set of levels is open by design.
        """
        schema = schema_pb2.Schema()
        for name, kind in (
            (self.id_column, schema_pb2.BYTES),
            *((name, schema_pb2.BYTES) for name in self.feature_names),
            (self.label, schema_pb2.INT),
        ):
            feature = schema.feature.add(name=name, type=kind)
            feature.presence.min_fraction = 1.0
            feature.presence.min_count = 1
            feature.shape.dim.add(size=1)
        return schema
