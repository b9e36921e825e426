from __future__ import annotations

import pytest

from newlevels.components.trainer.levels import FIRST_TOKEN_ROW, OOV_ROW, diff_levels


def test_new_tokens_are_appended_after_previous_ones_in_current_order():
    diff = diff_levels("movie", previous=["a", "b", "c"], current=["z", "b", "y", "a", "c"])
    assert diff.new == ("z", "y")
    assert diff.merged == ("a", "b", "c", "z", "y")
    assert (diff.old_levels, diff.new_levels, diff.vocab_size) == (3, 2, 5)


def test_diff_is_by_token_when_frequency_order_moves_every_index():
    # tft orders by frequency: the same tokens come back in another order.
    diff = diff_levels("movie", previous=["a", "b", "c"], current=["c", "b", "a"])
    assert diff.new == ()
    assert diff.merged == ("a", "b", "c")


def test_vanished_levels_keep_their_rows():
    diff = diff_levels("user", previous=["u1", "u2", "u3"], current=["u3", "u9"])
    assert diff.vanished == ("u1", "u2")
    assert diff.merged.index("u1") == 0 and diff.merged.index("u2") == 1
    assert diff.merged[-1] == "u9"


def test_first_run_has_only_new_levels_and_the_oov_row_is_the_only_frozen_row():
    diff = diff_levels("user", previous=[], current=["x", "y"])
    assert diff.new == ("x", "y") and diff.old_levels == 0
    assert diff.frozen_rows == 1 and OOV_ROW == 0 and FIRST_TOKEN_ROW == 1
    assert diff.table_rows == 3


def test_odd_tokens_are_plain_tokens():
    diff = diff_levels("t", previous=["", "a,b"], current=['q"uote', "", "émoji 🎬"])
    assert diff.new == ('q"uote', "émoji 🎬")


@pytest.mark.parametrize("previous,current", [(["a", "a"], ["a"]), (["a"], ["b", "b"])])
def test_repeated_tokens_are_refused(previous, current):
    with pytest.raises(ValueError, match="repeats a token"):
        diff_levels("f", previous, current)
