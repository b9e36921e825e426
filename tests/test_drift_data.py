"""`newlevels data drift` and `newlevels data movielens --spans yearly`: the timeline's data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from newlevels import cli
from newlevels.pipeline.data.drift import (
    ITEM,
    LABEL,
    MAX_NEW_ITEM_ROWS,
    USER,
    DriftSettings,
    generate,
    write_drift,
)


@pytest.fixture(scope="module")
def spans() -> list[pd.DataFrame]:
    return list(generate(DriftSettings()))


def new_levels(frames: list[pd.DataFrame], column: str) -> list[np.ndarray]:
    """Per span, which rows hold a level of `column` that no earlier span holds."""
    seen: set = set()
    marks = []
    for frame in frames:
        marks.append(~frame[column].isin(seen).to_numpy())
        seen |= set(frame[column])
    return marks


def read_bytes(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path):
    settings = DriftSettings(spans=3, rows=4000, users=50, items=200, new_items=20, new_users=5)
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_drift(str(tmp_path / name), DriftSettings(**{**settings.__dict__, "seed": seed}))
    first = read_bytes(tmp_path / "a")
    assert list(first) == [f"span-{k}/rows.csv" for k in (1, 2, 3)]
    assert first == read_bytes(tmp_path / "b")
    assert first != read_bytes(tmp_path / "c")


def test_defaults_are_a_timeline_the_size_of_the_yearly_movielens_one(spans):
    assert len(spans) == 9
    assert sum(len(frame) for frame in spans) == 99_000
    ids = pd.concat([frame["id"] for frame in spans])
    assert ids.is_unique


def test_later_spans_mix_old_and_new_levels_within_rows(spans):
    new_user, new_item = new_levels(spans, USER), new_levels(spans, ITEM)
    for k in range(1, len(spans)):
        user, item = new_user[k], new_item[k]
        assert (user & ~item).sum() > 0 and (~user & item).sum() > 0 and (user & item).sum() > 0
        mixed = (user ^ item).mean()
        old_only = (~user & ~item).mean()
        assert mixed > 0.1, f"span {k + 1}: {mixed:.2f} of rows mix an old and a new level"
        assert old_only > 0.5, f"span {k + 1}: {old_only:.2f} of rows hold only old levels"


def test_new_items_arrive_with_1_to_50_rows_cold_ones_included(spans):
    first_rows = [
        frame.loc[new, ITEM].value_counts()
        for frame, new in zip(spans[1:], new_levels(spans, ITEM)[1:], strict=True)
    ]
    counts = pd.concat(first_rows)
    assert counts.min() == 1 and counts.max() == MAX_NEW_ITEM_ROWS
    assert len(counts) == 8 * DriftSettings().new_items
    assert 0.2 < (counts <= 3).mean() < 0.5, "a good share of new items is cold"
    assert set(range(1, MAX_NEW_ITEM_ROWS + 1)) <= set(counts), "every count from 1 to 50 occurs"


def test_the_base_rate_drifts_from_start_to_end(spans):
    rates = np.array([frame[LABEL].mean() for frame in spans])
    settings = DriftSettings()
    assert abs(rates[0] - settings.base_rate_start) < 0.02
    assert abs(rates[-1] - settings.base_rate_end) < 0.02
    assert np.all(np.diff(rates) > -0.02), f"the rate moves one way (noise aside): {rates}"


def test_item_popularity_drifts_away_from_an_early_span(spans):
    items = sorted(set(spans[0][ITEM]))

    def counts(k: int) -> np.ndarray:
        return spans[k][ITEM].value_counts().reindex(items, fill_value=0).to_numpy()

    near = np.corrcoef(counts(1), counts(2))[0, 1]
    far = np.corrcoef(counts(1), counts(8))[0, 1]
    assert near - far > 0.3, f"popularity of span 2 vs span 3: r={near:.2f}, vs span 9: {far:.2f}"


def test_the_drift_command_writes_spans_and_says_which_flags_read_them(tmp_path, capsys):
    argv = ["data", "drift", "--out", str(tmp_path), "--spans", "2", "--rows", "3000"]
    assert (
        cli.main(
            [*argv, "--users", "40", "--items", "100", "--new-users", "5", "--new-items", "10"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "span 1: 3000 rows, span 2: 3000 rows" in out
    assert "--categorical userId,itemId --label label --item-col itemId" in out


@pytest.mark.reliability("`newlevels data` / `newlevels timeline` options")
@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["drift", "--rows", "100"], "--rows 100"),
        (["drift", "--spans", "yearly"], "--spans yearly"),
        (["drift", "--base-rate-end", "1.5"], "--base-rate-end"),
        (["movielens", "--rows", "5"], "--rows"),
        (["movielens", "--spans", "4"], "--spans 4"),
        (["toy", "--spans", "3"], "--spans"),
    ],
)
def test_data_options_out_of_place_are_refused_in_one_line(tmp_path, capsys, argv, named):
    assert cli.main(["data", argv[0], "--out", str(tmp_path / "d"), *argv[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("newlevels: error: ") and named in err[0]
    assert not (tmp_path / "d").exists()


def test_data_movielens_writes_the_nine_yearly_spans(tmp_path, capsys):
    assert cli.main(["data", "movielens", "--out", str(tmp_path), "--spans", "yearly"]) == 0
    rows = (17262, 13869, 8596, 9120, 7161, 7493, 8658, 10817, 17028)
    expected = ", ".join(f"span {k}: {n} rows" for k, n in enumerate(rows, start=1))
    assert expected in capsys.readouterr().out
    years = [
        pd.to_datetime(pd.read_csv(tmp_path / f"span-{k}" / "ratings.csv")["timestamp"], unit="s")
        for k in (1, 7, 9)
    ]
    assert years[0].max().year == 1999
    assert (years[1].min().year, years[1].max().year) == (2007, 2009)
    assert (years[2].min().year, years[2].max().year) == (2013, 2016)
