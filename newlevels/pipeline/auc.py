"""ROC AUC from ranks: the one implementation shared by the seed experiment and the timeline."""

from __future__ import annotations

import numpy as np


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC from average ranks (Mann-Whitney U); ties count one half.

    Args:
        labels: 0/1 per row.
        scores: the model's score per row (any monotone scale).

    Returns:
        the AUC, or None when the rows hold a single class (or none).
    """
    labels = np.asarray(labels)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = average_rank[inverse]
    return float(
        (ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives)
    )
