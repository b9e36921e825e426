"""The timeline's cohorts: which of a span's evaluation rows hold new, cold or only old levels.

Cohorts are defined by the data, never by a model, so every model (served, candidate,
full retrain, parent) and every timeline (another `--init`, another policy) is scored
on the same rows:

- a level is **new** in span N when no row of spans 1..N-1 holds it (training and
  evaluation rows alike: the pipeline trains the next spans on both);
- `new_<feature>`: the row's level of that feature is new;
- `new_level`: the row holds at least one new level; `old_only`: none;
- a new level's **training rows** are the rows of span N that are not evaluation rows
  (`is_eval_row`); a `new_level` row falls in exactly one of, by its new level with
  the fewest training rows: `eval_only` (0: no model has a row learnt for it),
  `cold` (1 to `COLD_MAX_ROWS`) or `warm` (more).

Pure pandas/NumPy: no TensorFlow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from newlevels.pipeline.auc import auc
from newlevels.transforms.features import DataSpec

#: a new level with at most this many training rows is cold.
COLD_MAX_ROWS = 3
ALL, NEW_LEVEL, OLD_ONLY = "all", "new_level", "old_only"
EVAL_ONLY, COLD, WARM = "eval_only", "cold", "warm"

Scores = dict[str, float | int | None]


def new_cohort(feature: str) -> str:
    """The cohort of rows whose level of `feature` is new."""
    return f"new_{feature}"


def read_span(data_root: str, span: int, spec: DataSpec) -> pd.DataFrame:
    """The id, categorical and label columns of one span's CSV files, as strings and 0/1.

    The pipeline has checked these files (a run refuses bad rows); here they are only read.
    """
    # Imported here, as in `span_cohorts`: the ingest modules load TensorFlow and TFX,
    # which rendering the timelines' tables from their JSON (README blocks) never needs.
    from newlevels.components.ingest import csv_rows

    columns = [spec.id_column, *spec.feature_names, spec.label]
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False, usecols=columns)
        for path in csv_rows.span_files(data_root, span)
    ]
    frame = pd.concat(frames, ignore_index=True)[columns]
    frame[spec.label] = frame[spec.label].astype(np.int64)
    return frame


@dataclasses.dataclass(frozen=True)
class SpanCohorts:
    """One span's evaluation rows, their cohorts, and the span's training base rate."""

    eval_rows: pd.DataFrame
    labels: np.ndarray
    masks: dict[str, np.ndarray]
    training_rows: int
    base_rate: float | None


def span_cohorts(
    frame: pd.DataFrame, history: Mapping[str, set[str]], spec: DataSpec
) -> SpanCohorts:
    """Splits a span's rows and marks each evaluation row's cohorts.

    Args:
        frame: the span's rows (`read_span`).
        history: per feature, every level held by a row of the earlier spans.
        spec: the columns.

    Returns:
        the evaluation rows (in file order) with one boolean mask per cohort.
    """
    from newlevels.components.ingest.component import is_eval_row

    held_out = frame[spec.id_column].map(is_eval_row).to_numpy(bool)
    train, evaluation = frame[~held_out], frame[held_out].reset_index(drop=True)
    masks: dict[str, np.ndarray] = {ALL: np.ones(len(evaluation), bool)}
    fewest = np.full(len(evaluation), np.inf)
    for feature in spec.feature_names:
        new = ~evaluation[feature].isin(history.get(feature, set())).to_numpy(bool)
        masks[new_cohort(feature)] = new
        counts = evaluation[feature].map(train[feature].value_counts()).fillna(0).to_numpy()
        fewest = np.where(new, np.minimum(fewest, counts), fewest)
    masks[NEW_LEVEL] = np.isfinite(fewest)
    masks[OLD_ONLY] = ~masks[NEW_LEVEL]
    masks[EVAL_ONLY] = fewest == 0
    masks[COLD] = (fewest >= 1) & (fewest <= COLD_MAX_ROWS)
    masks[WARM] = masks[NEW_LEVEL] & (fewest > COLD_MAX_ROWS)
    labels = evaluation[spec.label].to_numpy(np.int64)
    return SpanCohorts(
        eval_rows=evaluation,
        labels=labels,
        masks=masks,
        training_rows=len(train),
        base_rate=float(train[spec.label].mean()) if len(train) else None,
    )


def add_to_history(history: dict[str, set[str]], frame: pd.DataFrame, spec: DataSpec) -> None:
    """Adds the levels of a span's rows (all of them) to `history`."""
    for feature in spec.feature_names:
        history.setdefault(feature, set()).update(frame[feature])


def cohort_scores(
    labels: np.ndarray, probability: np.ndarray, masks: Mapping[str, np.ndarray]
) -> dict[str, Scores]:
    """AUC and row count of one model's probabilities on each cohort."""
    return {
        name: {"auc": auc(labels[mask], probability[mask]), "rows": int(mask.sum())}
        for name, mask in masks.items()
    }


def rows_within_vocabulary(
    rows: pd.DataFrame, vocabularies: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Rows whose every level is in the model's vocabulary (the rows it serves as before)."""
    inside = np.ones(len(rows), bool)
    for feature, vocabulary in vocabularies.items():
        inside &= rows[feature].isin(set(vocabulary)).to_numpy(bool)
    return inside
