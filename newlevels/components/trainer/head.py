"""The adaptation head (`--adapt head`): a global bias and a scale per feature (pure Python).

Frozen rows cannot follow drift: when the base rate or the weight of a feature
moves between spans, an extension keeps serving its old levels as the parent
did. The head is the smallest thing that can follow it without touching a row:
every feature's rows are multiplied by that feature's scale, and one bias is
added to the logit. It is shared weights (`embeddings/head_bias.npy`,
`embeddings/head_scale_<feature>.npy`, scalars), so it trains beside the new
rows while every table's old rows stay bit-identical; old-level predictions
change with it, which the manifest records (`head_adapted`).

A model has a head when its run asks for one (`--adapt head`) or its parent has
one (a child keeps the parent's head, frozen, so that old-level predictions stay
the parent's unless the child adapts it). Without a head, a model computes
exactly what it computed before heads existed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

NONE = "none"
HEAD = "head"
#: the `--adapt` choices.
ADAPTS = (NONE, HEAD)
DEFAULT = NONE

BIAS = "head_bias"
SCALE_PREFIX = "head_scale_"


def scale_name(feature: str) -> str:
    """The shared-weight name of `feature`'s scale."""
    return f"{SCALE_PREFIX}{feature}"


def names(features: Sequence[str]) -> tuple[str, ...]:
    """Every shared-weight name of the head of a model on `features`."""
    return (BIAS, *(scale_name(f) for f in features))


@dataclasses.dataclass(frozen=True)
class Head:
    """The head's values: logit = bias + the family's logit on rows scaled per feature."""

    bias: float
    scales: Mapping[str, float]

    @classmethod
    def identity(cls, features: Sequence[str]) -> Head:
        """The head that changes nothing (bias 0, every scale 1)."""
        return cls(0.0, {f: 1.0 for f in features})

    @classmethod
    def from_shared(
        cls, shared: Mapping[str, object] | None, features: Sequence[str]
    ) -> Head | None:
        """The head held in a model's shared weights, or None if it has none."""
        if not shared or BIAS not in shared:
            return None
        return cls(float(shared[BIAS]), {f: float(shared[scale_name(f)]) for f in features})

    def to_shared(self) -> dict[str, float]:
        """The head as shared weights, by name."""
        return {BIAS: self.bias, **{scale_name(f): s for f, s in self.scales.items()}}
