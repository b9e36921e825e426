"""How embedding rows become 2-D points: as they are for dimension 2, else one PCA."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Projection:
    """A fixed affine map from embedding space to the plane.

    Attributes:
        mean: subtracted before projecting (zeros for dimension 2).
        axes: [dim, 2] projection matrix (identity for dimension 2).
        axis_names: the x and y axis titles.
        statement: what the plane is, for the figure's caption.
    """

    mean: np.ndarray
    axes: np.ndarray
    axis_names: tuple[str, str]
    statement: str

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, np.float64)
        if self.axes.shape == (2, 2) and not self.mean.any():
            return rows  # the identity: plotted points are the exported values themselves
        return (rows - self.mean) @ self.axes


def fit_projection(rows: np.ndarray) -> Projection:
    """The identity for 2-D rows; otherwise PCA fitted on `rows` (use it for every model).

    Args:
        rows: [n, dim] embedding rows, dim >= 1, to fit on.

    Returns:
        The projection, with a label naming it (and the variance each axis explains).
    """
    rows = np.asarray(rows, np.float64)
    dim = rows.shape[1]
    if dim == 2:
        return Projection(
            np.zeros(2), np.eye(2), ("dimension 1", "dimension 2"), "the 2-D rows as exported"
        )
    if dim == 1:
        return Projection(
            np.zeros(1), np.array([[1.0, 0.0]]), ("dimension 1", "(none)"), "1-D rows on a line"
        )
    mean = rows.mean(axis=0)
    _, singular, vt = np.linalg.svd(rows - mean, full_matrices=False)
    share = singular**2 / max(float((singular**2).sum()), 1e-30)
    return Projection(
        mean,
        vt[:2].T,
        (f"PC1 ({share[0]:.0%} of variance)", f"PC2 ({share[1]:.0%} of variance)"),
        f"PCA of the {dim}-D rows, fitted once on this model's rows and applied to every model",
    )
