"""The benchmark targets: the one home of every threshold RESULTS.md and the README judge by."""

from __future__ import annotations

#: B1: the incremental Trainer's wall time over the full retrain's, at most.
B1_MAX_RATIO = 0.15
#: B2: a step's time at the largest V over the smallest, at most, for the ratios below.
B2_MAX_RATIO = 1.2
#: B2: the strategy/optimizer pairs the ratio target applies to (any sparse updates).
B2_TARGETED = ("split/rmsprop", "masked/rmsprop")
#: B3: wall seconds of one `newlevels run` process, at most.
B3_MAX_WALL_S = 120.0
#: B3: a component's time on 1 % of the rows over its time on all rows, at most.
B3_MAX_FIXED_SHARE = 0.5
#: B4: peak RSS of one `newlevels run` process, in GiB, at most.
B4_MAX_GIB = 4.0


def b2_targeted(key: str) -> bool:
    """Whether a B2 ratio key (`strategy/optimizer/updates`) has the ratio target."""
    return key.startswith(tuple(f"{pair}/" for pair in B2_TARGETED))
