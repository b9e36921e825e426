"""The init sweep's cohorts of a span's evaluation rows, and the AUC of two models on each.

A level is new when the parent's vocabulary (the previous span's) lacks it;
cold when it is new and the span holds at most `COLD_ROWS` training rows of it
(0 for a level seen only in evaluation rows, which both models serve from
their OOV row).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from newlevels.bench.yearly import FEATURES, Span

COLD_ROWS = 3
USER, ITEM = FEATURES
COHORTS = ("overall", "new_item", "new_user", "old_only", "cold", "warm")


def masks(span: Span, previous: Span) -> dict[str, np.ndarray]:
    """Each cohort's rows among `span`'s evaluation rows (the parent trained on `previous`)."""
    known = {f: set(previous.vocabulary[f]) for f in FEATURES}
    new = {f: ~np.isin(span.eval.tokens[f], list(known[f])) for f in FEATURES}
    counts = {f: Counter(span.train.tokens[f].tolist()) for f in FEATURES}
    cold_level = {
        f: new[f] & np.array([counts[f][t] <= COLD_ROWS for t in span.eval.tokens[f]])
        for f in FEATURES
    }
    any_new = new[USER] | new[ITEM]
    cold = cold_level[USER] | cold_level[ITEM]
    return {
        "overall": np.ones(len(span.eval), bool),
        "new_item": new[ITEM],
        "new_user": new[USER],
        "old_only": ~any_new,
        "cold": cold,
        "warm": any_new & ~cold,
    }


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC, or None when the rows hold one class only."""
    if len(set(labels.tolist())) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 4)


def describe(span: Span, previous: Span) -> dict[str, Any]:
    """A span's sizes: rows per cohort, training rows, base rate."""
    return {
        "train_rows": len(span.train),
        "eval_rows": len(span.eval),
        "base_rate": round(float(span.train.labels.mean()), 4),
        "cohort_rows": {name: int(m.sum()) for name, m in masks(span, previous).items()},
    }


def score(
    span: Span, previous: Span, extension: np.ndarray, full: np.ndarray
) -> dict[str, dict[str, float | None]]:
    """Per cohort, the extension's and the full retrain's AUC on `span`'s evaluation rows."""
    labels = span.eval.labels
    return {
        name: {"extension": auc(labels[m], extension[m]), "full": auc(labels[m], full[m])}
        for name, m in masks(span, previous).items()
    }
