"""Level diff and append-only vocabulary merge, by token (pure Python).

tf.Transform orders a vocabulary by frequency, so a token's index moves between
runs. Nothing here aligns by index: the previous model's vocabulary keeps its
row order, and tokens it has never seen are appended after it.

Row layout of every embedding table: row 0 is the dedicated OOV row, row i + 1
holds vocabulary token i. Appending tokens never moves an old token's row (the OOV
row keeps its place; its value is refitted by every model, see `fitting.py`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

OOV_ROW = 0
FIRST_TOKEN_ROW = 1


@dataclasses.dataclass(frozen=True)
class LevelDiff:
    """How one feature's levels changed between the parent model and this run.

    Attributes:
        feature: the feature name.
        previous: the parent model's vocabulary, in its row order (empty on a first run).
        new: tokens of the current vocabulary the parent never saw, in the current
            vocabulary's order (most frequent first).
        vanished: parent tokens absent from the current vocabulary; they keep their rows.
    """

    feature: str
    previous: tuple[str, ...]
    new: tuple[str, ...]
    vanished: tuple[str, ...]

    @property
    def merged(self) -> tuple[str, ...]:
        """The model's vocabulary: parent tokens in their rows, then the new ones."""
        return self.previous + self.new

    @property
    def old_levels(self) -> int:
        return len(self.previous)

    @property
    def new_levels(self) -> int:
        return len(self.new)

    @property
    def vocab_size(self) -> int:
        return len(self.previous) + len(self.new)

    @property
    def frozen_rows(self) -> int:
        """Rows held fixed while training: the OOV row and every old token's row.

        The old tokens' rows are the parent's, bit for bit; the OOV row starts as the
        parent's and is fitted after training (`fitting.set_average_oov_rows`).
        """
        return FIRST_TOKEN_ROW + len(self.previous)

    @property
    def table_rows(self) -> int:
        return FIRST_TOKEN_ROW + self.vocab_size


def diff_levels(feature: str, previous: Sequence[str], current: Iterable[str]) -> LevelDiff:
    """Diffs a feature's current vocabulary against the parent model's, by token.

    Args:
        feature: the feature name (carried into the result and error messages).
        previous: the parent model's vocabulary in row order; empty on a first run.
        current: this run's vocabulary, in any order.

    Returns:
        The diff; `merged` is the append-only vocabulary of the new model.

    Raises:
        ValueError: if either vocabulary repeats a token.
    """
    previous = tuple(previous)
    current = tuple(current)
    for name, vocabulary in (("previous", previous), ("current", current)):
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError(f"{name} vocabulary of feature {feature!r} repeats a token")
    known = set(previous)
    present = set(current)
    return LevelDiff(
        feature=feature,
        previous=previous,
        new=tuple(token for token in current if token not in known),
        vanished=tuple(token for token in previous if token not in present),
    )
