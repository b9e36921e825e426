"""A batched ridge-logistic fit: one small logistic regression per level (pure NumPy).

Each level's coefficients theta (K of them) explain its rows' labels as
sigmoid(offset + x . theta), with a Gaussian prior theta ~ N(mean, diag(var)):
the maximum a posteriori fit, found by a few Newton (IRLS) steps. The prior
makes every level's problem strictly convex, so a level with one row, or rows
all of one label, still gets a finite answer between its data and the prior; a
level with no row keeps the prior mean.

How strongly to shrink (the prior's variance) is chosen by empirical Bayes:
`fit_shrunk` scales a base variance by powers of 4 and keeps the fit whose rows
are most probable under its prior (the Laplace approximation of the marginal
likelihood, summed over the levels).
"""

from __future__ import annotations

import dataclasses

import numpy as np

#: the most Newton steps; the objective is smooth and strictly convex, and a
#: handful of steps from the prior mean reach it to float32 precision on MovieLens.
STEPS = 8
#: Newton stops once no coefficient moves more than this in a step.
TOLERANCE = 1e-6
#: logits are clipped here before the sigmoid (no overflow in a bad early step).
LOGIT_CLIP = 30.0
#: the prior variances `fit_shrunk` may pick: the base variance times 4**power.
MIN_POWER, MAX_POWER = -2, 4


def sigmoid(logit: np.ndarray) -> np.ndarray:
    """The logistic function, on logits clipped to +-LOGIT_CLIP."""
    return 1.0 / (1.0 + np.exp(-np.clip(logit, -LOGIT_CLIP, LOGIT_CLIP)))


def _per_level(
    starts: np.ndarray, present: np.ndarray, values: np.ndarray, count: int
) -> np.ndarray:
    """Sums `values` ([N, ...], rows sorted by level) over each level: [count, ...].

    Args:
        starts: the first row of each level in `present`.
        present: the levels that have rows, ascending.
        values: one value per row, rows sorted by level.
        count: number of levels.
    """
    sums = np.zeros((count, *values.shape[1:]))
    if len(present):
        sums[present] = np.add.reduceat(values, starts, axis=0)
    return sums


def cholesky_solve(matrices: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solves a batch of small symmetric positive definite systems, with their log determinants.

    Written out over the K columns instead of calling LAPACK per matrix:
    `np.linalg.solve` on thousands of 17 x 17 systems ran 30x slower on a
    loaded 2-core machine (OpenBLAS threads fighting TensorFlow's), and K is
    small, so K vectorised steps are cheap.

    Args:
        matrices: [B, K, K] symmetric positive definite.
        vectors: [B, K] right-hand sides.

    Returns:
        The [B, K] solutions and the [B] log determinants.
    """
    size = matrices.shape[-1]
    lower = np.zeros_like(matrices)
    for j in range(size):
        pivot = np.sqrt(matrices[:, j, j] - np.einsum("bk,bk->b", lower[:, j, :j], lower[:, j, :j]))
        lower[:, j, j] = pivot
        below = matrices[:, j + 1 :, j] - np.einsum(
            "bik,bk->bi", lower[:, j + 1 :, :j], lower[:, j, :j]
        )
        lower[:, j + 1 :, j] = below / pivot[:, None]
    forward = np.zeros_like(vectors)
    for j in range(size):
        done = np.einsum("bk,bk->b", lower[:, j, :j], forward[:, :j])
        forward[:, j] = (vectors[:, j] - done) / lower[:, j, j]
    solution = np.zeros_like(vectors)
    for j in reversed(range(size)):
        done = np.einsum("bk,bk->b", lower[:, j + 1 :, j], solution[:, j + 1 :])
        solution[:, j] = (forward[:, j] - done) / lower[:, j, j]
    diagonal = np.diagonal(lower, axis1=1, axis2=2)
    return solution, 2.0 * np.log(diagonal).sum(axis=-1)


@dataclasses.dataclass(frozen=True)
class Fit:
    """Every level's coefficients ([count, K]) and the log evidence of all the rows."""

    theta: np.ndarray
    log_evidence: float


@dataclasses.dataclass(frozen=True)
class Levels:
    """One feature's fitting problem: the rows of its new levels.

    Attributes:
        levels: [N] int, the level (0..count-1) each row belongs to.
        x: [N, K] each row's inputs.
        offset: [N] each row's fixed part of the logit.
        labels: [N] 0/1.
        count: number of levels.
    """

    levels: np.ndarray
    x: np.ndarray
    offset: np.ndarray
    labels: np.ndarray
    count: int


def fit(
    problem: Levels,
    prior_mean: np.ndarray,
    prior_var: np.ndarray,
    start: np.ndarray | None = None,
    steps: int = STEPS,
) -> Fit:
    """Fits every level's coefficients by Newton steps on the penalised log-likelihood.

    Args:
        problem: the rows of every level.
        prior_mean: [K] the prior's mean.
        prior_var: [K] the prior's variance per coefficient (positive).
        start: [count, K] where the steps start (default: the prior mean).
        steps: Newton steps.

    Returns:
        The coefficients (float64) and the Laplace log evidence.

    Raises:
        ValueError: if a prior variance is not positive.
    """
    prior_var = np.asarray(prior_var, np.float64)
    if np.any(prior_var <= 0):
        raise ValueError(f"prior variances must be positive, got {prior_var}")
    count = problem.count
    order = np.argsort(problem.levels, kind="stable")
    levels, labels = problem.levels[order], problem.labels[order]
    offset, x = problem.offset[order], np.asarray(problem.x, np.float64)[order]
    present, starts = np.unique(levels, return_index=True)
    mean = np.asarray(prior_mean, np.float64)
    precision = 1.0 / prior_var
    theta = np.tile(mean, (count, 1)) if start is None else np.array(start, np.float64)
    # The curvature is symmetric: sum the upper triangle of x x^T only, then mirror it.
    upper = np.triu_indices(x.shape[1])
    outer = x[:, upper[0]] * x[:, upper[1]]

    def curvature(p: np.ndarray) -> np.ndarray:
        sums = _per_level(starts, present, (p * (1.0 - p))[:, None] * outer, count)
        matrices = np.zeros((count, x.shape[1], x.shape[1]))
        matrices[:, upper[0], upper[1]] = sums
        matrices[:, upper[1], upper[0]] = sums
        return matrices + np.diag(precision)

    for _ in range(steps):
        p = sigmoid(offset + np.einsum("nk,nk->n", x, theta[levels]))
        gradient = _per_level(starts, present, (p - labels)[:, None] * x, count)
        gradient += (theta - mean) * precision
        step = cholesky_solve(curvature(p), gradient)[0]
        theta = theta - step
        if np.max(np.abs(step), initial=0.0) < TOLERANCE:
            break
    p = sigmoid(offset + np.einsum("nk,nk->n", x, theta[levels]))
    likelihood = np.sum(labels * np.log(p) + (1 - labels) * np.log1p(-p))
    penalty = 0.5 * np.sum((theta - mean) ** 2 * precision)
    log_det = cholesky_solve(curvature(p), np.zeros_like(theta))[1]
    evidence = likelihood - penalty + 0.5 * (count * np.log(precision).sum() - log_det.sum())
    return Fit(theta, float(evidence))


def fit_shrunk(
    problem: Levels,
    prior_mean: np.ndarray,
    base_var: np.ndarray,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """`fit` under the prior variance that makes the rows most probable (empirical Bayes).

    The variance is `base_var` times a power of 4 from 4**MIN_POWER to
    4**MAX_POWER: starting at 1, it climbs toward the larger log evidence
    until the evidence drops (the evidence is unimodal in the variance in every
    case we have seen, and this fits 3 or 4 variances instead of all 7). Each
    fit starts from its neighbour's coefficients.

    Returns:
        The chosen fit's coefficients, [count, K].
    """
    fits = {0: fit(problem, prior_mean, base_var, start)}

    def at(power: int, near: int) -> Fit:
        if power not in fits:
            fits[power] = fit(problem, prior_mean, base_var * 4.0**power, fits[near].theta)
        return fits[power]

    direction = 1 if at(1, 0).log_evidence > fits[0].log_evidence else -1
    power = 0
    while (
        MIN_POWER <= power + direction <= MAX_POWER
        and at(power + direction, power).log_evidence > fits[power].log_evidence
    ):
        power += direction
    return fits[power].theta
