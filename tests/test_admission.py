"""Level admission by count, accumulated across runs (pure Python)."""

from __future__ import annotations

import pytest

from newlevels.components.trainer.admission import admit


def test_min_count_one_admits_every_new_level_even_unseen_ones():
    decision = admit(["a", "b"], {"a": 1}, {"old": 1}, min_count=1)
    assert decision.admitted == ("a", "b")
    assert decision.deferred == 0
    assert decision.pending == {}


def test_levels_seen_fewer_than_min_count_times_are_deferred_with_their_count():
    decision = admit(["a", "b", "c"], {"a": 5, "b": 2, "c": 3}, {}, min_count=3)
    assert decision.admitted == ("a", "c")
    assert decision.pending == {"b": 2}
    assert decision.deferred == 1


def test_counts_accumulate_across_runs_until_the_level_is_admitted():
    first = admit(["b"], {"b": 2}, {}, min_count=4)
    assert first.pending == {"b": 2}
    second = admit(["b"], {"b": 1}, first.pending, min_count=4)
    assert second.admitted == () and second.pending == {"b": 3}
    third = admit(["b"], {"b": 1}, second.pending, min_count=4)
    assert third.admitted == ("b",) and third.pending == {}


def test_pending_levels_not_seen_again_stay_pending_with_their_count():
    decision = admit(["new"], {"new": 9}, {"quiet": 2}, min_count=3)
    assert decision.admitted == ("new",)
    assert decision.pending == {"quiet": 2}
    assert decision.deferred == 0


def test_min_count_below_one_is_refused():
    with pytest.raises(ValueError, match="min_count"):
        admit([], {}, {}, min_count=0)
