"""Level admission: a new level gets a row only once it has been seen `min_count` times.

Pure logic, no TensorFlow. A level not admitted yet serves through the OOV row
and stays pending: its count is recorded with the model and added to the
counts of the next run, so a level seen twice in each of two runs is admitted
by `min_count=4` in the second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping


@dataclasses.dataclass(frozen=True)
class Admission:
    """One feature's admission decision.

    Attributes:
        admitted: the new levels that get a row, in the order given.
        pending: levels still waiting for a row -> their accumulated count
            (those deferred now and those pending before that were not seen again).
        deferred: how many of this run's new levels were not admitted.
    """

    admitted: tuple[str, ...]
    pending: dict[str, int]
    deferred: int


def admit(
    new_levels: Iterable[str],
    counts: Mapping[str, int],
    pending: Mapping[str, int],
    min_count: int,
) -> Admission:
    """Admits the new levels seen at least `min_count` times, counting earlier runs.

    Args:
        new_levels: levels this run would add (not in the parent's vocabulary).
        counts: how often each level appears in this run's training rows.
        pending: the parent's pending levels -> their accumulated counts.
        min_count: the count a level needs to get a row (1 admits every level).

    Returns:
        The admitted levels and what stays pending.

    Raises:
        ValueError: if `min_count` is below 1.
    """
    if min_count < 1:
        raise ValueError(f"min_count must be 1 or more, got {min_count}")
    new_levels = tuple(new_levels)
    if min_count == 1:
        # Every new level is admitted, even one seen only outside the training rows.
        return Admission(admitted=new_levels, pending={}, deferred=0)
    waiting = dict(pending)
    admitted = []
    deferred = 0
    for level in new_levels:
        total = waiting.pop(level, 0) + int(counts.get(level, 0))
        if total >= min_count:
            admitted.append(level)
        else:
            waiting[level] = total
            deferred += 1
    return Admission(admitted=tuple(admitted), pending=waiting, deferred=deferred)
