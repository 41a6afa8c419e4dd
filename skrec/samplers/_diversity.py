"""Samplers that spread a batch in the recommender's item space.

``diversity`` (k-center greedy) and ``uncertainty_diversity`` (ranked batch
mode) both measure distances between pool rows as Euclidean distances between
the unit-length ``embed_items`` vectors of their items (of the first member of
a committee); unit length because a vector's norm mostly reflects popularity,
which is not diversity. "Already labelled" is per user: a pool row ``(u, i)`` is far from
the labelled set when ``i`` is far from every item ``u`` has in the training
data (the recommender's ``interactions_``, else the learner's
``X_training``). Rows chosen earlier in the batch count as labelled for every
user, so a batch does not repeat similar items.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd

from skrec.samplers._base import (
    BaseSampler,
    _labelled_by_user,
    _n_labelled,
    _proba,
    find_recommenders,
)
from skrec.utils._sklearn_compat import Interval

__all__ = ["DiversitySampler", "UncertaintyDiversitySampler"]


def _pool_geometry(learner, pool):
    """Item embeddings of the pool rows and each row's distance to its user's labelled items."""
    rec = find_recommenders(learner)[0]
    user_codes, distinct = pd.factorize(pool.users)
    history = _labelled_by_user(learner, rec, np.asarray(distinct))
    lengths = np.array([len(h) for h in history], dtype=np.int64)
    parts = [pool.items, *history]
    if len({p.dtype for p in parts}) > 1:
        parts = [p.astype(object) for p in parts]
    codes, uniques = pd.factorize(np.concatenate(parts))
    emb = np.asarray(rec.embed_items(np.asarray(uniques)), dtype=np.float64)
    # Unit length: an item's popularity (its vector's length) is not diversity.
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    emb = emb / np.where(norms > 0, norms, 1.0)
    pool_emb = emb[codes[: len(pool)]]
    hist_codes = np.split(codes[len(pool) :], np.cumsum(lengths)[:-1])
    dist = np.full(len(pool), np.inf)
    order = np.argsort(user_codes, kind="stable")
    bounds = np.searchsorted(user_codes[order], np.arange(len(history) + 1))
    for code, idx in enumerate(hist_codes):
        rows = order[bounds[code] : bounds[code + 1]]
        if len(idx) and len(rows):
            dist[rows] = np.sqrt(_sq_distances(pool_emb[rows], emb[idx]).min(axis=1))
    return pool_emb, dist


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and ``b`` (clipped at 0)."""
    d = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def _argmax_random(values: np.ndarray, rng: np.random.Generator) -> int:
    best = np.max(values)
    ties = np.flatnonzero(values == best)
    return int(ties[0] if len(ties) == 1 else rng.choice(ties))


def _greedy_batch(emb, dist, n: int, rng: np.random.Generator, score) -> np.ndarray:
    """``n`` rows picked one at a time, each the best by ``score(dist)`` among those not picked.

    ``dist`` is each row's distance to the labelled set; a picked row counts as
    labelled from then on, so every row's ``dist`` shrinks to its distance to it.
    ``score`` returns a new array (higher is better); ties are broken at random.
    """
    picked = np.empty(n, dtype=np.int64)
    for t in range(n):
        values = score(dist)
        values[picked[:t]] = -np.inf
        j = _argmax_random(values, rng)
        picked[t] = j
        dist = np.minimum(dist, np.sqrt(((emb - emb[j]) ** 2).sum(axis=1)))
    return picked


class DiversitySampler(BaseSampler):
    """k-center greedy in ``embed_items`` space (Sener & Savarese, ICLR 2018, "Core-set").

    Repeatedly picks the pool row farthest from everything labelled or already
    picked, so a batch covers the item space. A new user (nothing labelled)
    starts with a random row; later picks are far from the first.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Breaks ties (e.g. the first pick for users without history).

    Examples
    --------
    >>> from skrec import EASERecommender
    >>> from skrec.datasets import make_interactions
    >>> from skrec.samplers import DiversitySampler
    >>> data = make_interactions(n_users=40, n_items=20, n_interactions=300, random_state=0)
    >>> rec = EASERecommender(l2=10.0).fit(data.X)
    >>> pool = [[99, i] for i in range(20)]
    >>> DiversitySampler(random_state=0)(rec, pool, n_instances=3).shape
    (3,)
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        emb, dist = _pool_geometry(learner, pool)
        return _greedy_batch(emb, dist, n, rng, lambda d: d.copy())


class UncertaintyDiversitySampler(BaseSampler):
    """Ranked batch-mode sampling: uncertainty traded against similarity (Cardoso et al. 2017).

    Each step picks the row maximising ``alpha * (1 - sim) + (1 - alpha) * u``
    where ``u = 1 - max P`` is the row's uncertainty and ``sim = 1 / (1 + d)``
    its similarity to the nearest labelled or already picked item (``d`` a
    Euclidean distance in ``embed_items`` space). Cardoso, Marques, Rodrigues
    and Figueiredo, "Ranked batch-mode active learning", Information Sciences
    379 (2017).

    Parameters
    ----------
    alpha : float or None, default=None
        Weight of diversity. None: the paper's ``n_pool / (n_pool + n_labelled)``,
        which favours diversity while little is labelled.
    random_state : int, RandomState instance or None, default=None
        Breaks ties.

    Examples
    --------
    >>> from skrec import EASERecommender
    >>> from skrec.datasets import make_interactions
    >>> from skrec.samplers import UncertaintyDiversitySampler
    >>> data = make_interactions(n_users=40, n_items=20, n_interactions=300, random_state=0)
    >>> rec = EASERecommender(l2=10.0).fit(data.X)
    >>> idx = UncertaintyDiversitySampler(random_state=0)(rec, [[3, i] for i in range(20)], 4)
    >>> len(set(idx.tolist()))
    4
    """

    _parameter_constraints: dict = {
        "alpha": [None, Interval(Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, alpha: float | None = None, random_state=None):
        self.alpha = alpha
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        uncertainty = 1.0 - _proba(learner, X_pool).max(axis=1)
        emb, dist = _pool_geometry(learner, pool)
        alpha = self.alpha
        if alpha is None:
            n_lab = _n_labelled(learner, find_recommenders(learner)[0])
            alpha = len(pool) / (len(pool) + n_lab)

        def score(d):
            return alpha * (1.0 - 1.0 / (1.0 + d)) + (1.0 - alpha) * uncertainty

        return _greedy_batch(emb, dist, n, rng, score)
