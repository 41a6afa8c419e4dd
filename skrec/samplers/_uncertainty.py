"""Random and uncertainty samplers: ``random``, ``uncertainty``, ``margin``, ``entropy``.

The uncertainty samplers rank pool rows by the learner's ``predict_proba``
(a modAL ``Committee`` averages its members). For a binary relevance model the
three measures order rows alike; they differ for learners with more classes and
are kept separate to match modAL's vocabulary.
"""

from __future__ import annotations

import numpy as np

from skrec.samplers._base import BaseSampler, _proba, select_top

__all__ = ["EntropySampler", "MarginSampler", "RandomSampler", "UncertaintySampler"]

_SEED_DOC = """random_state : int, RandomState instance or None, default=None
        Breaks ties between equally scored rows."""


class RandomSampler(BaseSampler):
    """Rows drawn uniformly at random without replacement (the passive-learning baseline).

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seed of the draw.

    Examples
    --------
    >>> from skrec.samplers import RandomSampler
    >>> idx = RandomSampler(random_state=0)(None, [[1, "a"], [1, "b"], [2, "c"]], n_instances=2)
    >>> len(set(idx.tolist()))
    2
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    _needs_fitted_learner = False  # a passive baseline: no model is read

    def _query(self, learner, X_pool, pool, n, rng):
        return rng.choice(len(pool), size=n, replace=False)


class UncertaintySampler(BaseSampler):
    """Least-confident rows first: ``1 - max_k P(k | row)`` (Lewis & Gale, SIGIR 1994).

    Parameters
    ----------
    {seed}

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.samplers import UncertaintySampler
    >>> rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"], [3, "c"]])
    >>> UncertaintySampler(random_state=0)(rec, [[4, "a"], [4, "b"]]).shape
    (1,)
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        proba = _proba(learner, X_pool)
        return select_top(1.0 - proba.max(axis=1), n, rng)


class MarginSampler(BaseSampler):
    """Smallest margin between the two most probable classes first (Scheffer et al., IDA 2001).

    Parameters
    ----------
    {seed}

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.samplers import MarginSampler
    >>> rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"], [3, "c"]])
    >>> MarginSampler(random_state=0)(rec, [[4, "a"], [4, "b"], [4, "c"]], n_instances=3).shape
    (3,)
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        proba = np.sort(_proba(learner, X_pool), axis=1)
        return select_top(-(proba[:, -1] - proba[:, -2]), n, rng)


class EntropySampler(BaseSampler):
    """Highest Shannon entropy of ``predict_proba`` first (Settles, AL survey 2009, §3.1).

    Parameters
    ----------
    {seed}

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.samplers import EntropySampler
    >>> rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"], [3, "c"]])
    >>> EntropySampler(random_state=0)(rec, [[4, "a"], [4, "b"]]).dtype
    dtype('int64')
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        p = np.clip(_proba(learner, X_pool), 1e-12, 1.0)
        return select_top(-(p * np.log(p)).sum(axis=1), n, rng)


for _cls in (UncertaintySampler, MarginSampler, EntropySampler):
    _cls.__doc__ = _cls.__doc__.replace("{seed}", _SEED_DOC)
del _cls
