"""Probability calibration of raw recommender scores (Platt scaling).

A recommender's ``decision_function`` is ``a * raw + b``: the logit of a
one-feature logistic regression of relevance on the model's raw score, fitted
after the model on the training positives, as many sampled never-interacted
pairs and the explicit negatives. ``a`` is kept strictly positive, so the
calibrated scores rank exactly as the raw ones, ``predict_proba`` is
``sigmoid(decision_function)`` and ``predict`` is ``decision_function > 0``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["calibration_pairs", "fit_platt", "logit", "sigmoid"]

# Cap on the positives (and on the explicit negatives) used to fit the calibration:
# a two-parameter logistic fit needs no more.
CALIBRATION_PAIRS = 5_000
# The smallest slope kept, per standard deviation of the raw scores: a model whose
# scores do not separate its training positives (or separate them backwards) still
# ranks by its own scores, with probabilities that barely move.
_MIN_SLOPE = 1e-3
_RIDGE = 1e-3


def sigmoid(z):
    """The logistic function, computed without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def logit(p):
    """The inverse of :func:`sigmoid`, with ``p`` clipped away from 0 and 1."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def fit_platt(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``, with ``a > 0``.

    A one-feature logistic regression fitted by Newton's method on
    standardised scores, with a tiny ridge on the slope so that separable
    data gives a steep but finite one. A slope below ``1e-3`` per standard
    deviation (no signal, or inverted signal) is raised to that floor and the
    intercept refitted, so the map stays strictly increasing.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Raw scores.
    labels : ndarray of shape (n,)
        1 for relevant pairs, 0 for the others.

    Returns
    -------
    (float, float)
        The slope ``a > 0`` and the intercept ``b``.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.recommenders._calibration import fit_platt
    >>> a, b = fit_platt(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 0, 1, 1]))
    >>> a > 0
    True
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    pos = float(y.mean()) if len(y) else 0.5
    prior = float(logit(np.clip(pos, 0.01, 0.99)))
    mu = float(s.mean()) if len(s) else 0.0
    sd = float(s.std()) if len(s) else 0.0
    if not np.isfinite(sd) or sd < 1e-12:
        # Constant scores: any increasing map; the intercept gives the base rate.
        return 1.0, prior - mu
    z = (s - mu) / sd
    a, b = 0.0, prior
    if 0.0 < pos < 1.0:
        for _ in range(50):
            p = sigmoid(a * z + b)
            w = p * (1 - p) + 1e-12
            r = p - y
            # np.dot, not @: numpy's matmul of two 1-D arrays is ~100x slower here.
            ga, gb = np.dot(z, r) + _RIDGE * a, r.sum()
            haa, hab, hbb = np.dot(z * w, z) + _RIDGE, np.dot(z, w), w.sum()
            det = haa * hbb - hab * hab
            step_a, step_b = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
            a, b = a - step_a, b - step_b
            if max(abs(step_a), abs(step_b)) < 1e-8:
                break
    if not a > _MIN_SLOPE:
        a = _MIN_SLOPE
        b = _intercept(a * z, y, prior) if 0.0 < pos < 1.0 else prior
    return float(a / sd), float(b - a * mu / sd)


def _intercept(offset: np.ndarray, y: np.ndarray, start: float) -> float:
    """The intercept of a logistic fit with a fixed ``offset`` (Newton in one dimension)."""
    b = start
    for _ in range(50):
        p = sigmoid(offset + b)
        step = (p - y).sum() / ((p * (1 - p)).sum() + 1e-12)
        b -= step
        if abs(step) < 1e-10:
            break
    return float(b)


def calibration_pairs(R: sp.csr_matrix, rng: np.random.RandomState):
    """Sampled ``(users, items, labels)`` to calibrate a model fitted on ``R``.

    Up to :data:`CALIBRATION_PAIRS` positive entries of ``R`` (label 1), as many
    uniformly drawn user-item cells with no interaction (label 0; a draw that
    hits an interaction is redrawn) and up to as many explicit negatives
    (label 0). Rows come from ``R.indptr``, so ``R`` is not copied.
    """
    pos = _sample_entries(R.data > 0, CALIBRATION_PAIRS, rng)
    neg = _sample_entries(R.data < 0, CALIBRATION_PAIRS, rng)
    su, si = _unseen_cells(R, max(len(pos), 1), rng)
    rows = np.searchsorted(R.indptr, np.concatenate([pos, neg]), side="right") - 1
    users = np.concatenate([rows, su])
    items = np.concatenate([R.indices[pos], R.indices[neg], si])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(su))])
    return users, items, labels


def _unseen_cells(R: sp.csr_matrix, size: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``size`` uniform draws of cells with no interaction (fewer only when fewer exist).

    Cells that hold an interaction are redrawn, so that the calibration sample
    is balanced whatever the density: a shortfall of negatives would raise the
    fitted base rate, and with it every calibrated probability.
    """
    n_users, n_items = R.shape
    stored = R.data != 0
    n_unseen = n_users * n_items - int(np.count_nonzero(stored))
    if n_unseen <= size:  # every unseen cell, once (tiny or nearly full matrices)
        rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(R.indptr))
        free = np.ones(n_users * n_items, dtype=bool)
        free[rows[stored] * n_items + R.indices[stored]] = False
        return np.divmod(np.flatnonzero(free), n_items)
    share = n_unseen / (n_users * n_items)
    found_u, found_i, missing = [], [], size
    while missing > 0:
        # Enough draws that one round usually suffices, however dense R is.
        draws = min(int(missing / share * 1.2) + 16, 1 << 22)
        su = rng.randint(n_users, size=draws)
        si = rng.randint(n_items, size=draws)
        keep = np.flatnonzero(np.asarray(R[su, si]).ravel() == 0)[:missing]
        found_u.append(su[keep])
        found_i.append(si[keep])
        missing -= len(keep)
    return np.concatenate(found_u), np.concatenate(found_i)


def _sample_entries(mask: np.ndarray, size: int, rng) -> np.ndarray:
    """Positions where ``mask`` is set; ``size`` of them drawn at random when there are more.

    Draws exactly ``rng.choice(np.flatnonzero(mask), size, replace=False)`` (the same
    random numbers), without building the positions when every entry is set.
    """
    n = int(np.count_nonzero(mask))
    if n <= size:
        return np.flatnonzero(mask)
    picked = rng.choice(n, size, replace=False)
    return picked if n == len(mask) else np.flatnonzero(mask)[picked]
