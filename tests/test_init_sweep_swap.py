"""The swapped-rows bench: old levels scored by one model's rows, new levels by the other's."""

from __future__ import annotations

import numpy as np

from newlevels.bench.init_sweep_swap import logits


def test_the_swap_takes_old_levels_and_oov_from_one_model_and_new_levels_from_the_other():
    sources = {
        "stale": {
            "user": {"u_old": 1.0, "u_new": 10.0, None: 100.0},
            "item": {"i_old": 2.0, None: 200.0},
        },
        "fresh": {
            "user": {"u_old": 3.0, "u_new": 30.0, None: 300.0},
            "item": {"i_old": 4.0, None: 400.0},
        },
    }
    known = {"user": {"u_old"}, "item": {"i_old"}}
    tokens = {
        "user": np.array(["u_old", "u_new", "u_unseen"]),
        "item": np.array(["i_old", "i_old", "i_old"]),
    }
    # old levels and the OOV row from `fresh`, the new level from `stale`
    np.testing.assert_array_equal(
        logits(sources, "fresh", "stale", known, tokens), [3.0 + 4.0, 10.0 + 4.0, 300.0 + 4.0]
    )
    np.testing.assert_array_equal(
        logits(sources, "stale", "stale", known, tokens), [1.0 + 2.0, 10.0 + 2.0, 100.0 + 2.0]
    )
