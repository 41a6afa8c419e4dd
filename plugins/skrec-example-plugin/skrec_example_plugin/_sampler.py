"""The ``coldness`` sampler: rows whose items the model knows least about first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skrec.samplers import BaseSampler, find_recommenders, select_top

__all__ = ["ColdnessSampler"]


class ColdnessSampler(BaseSampler):
    """Least-known items first: ranks pool rows by ``-log1p(n_interactions(item))``.

    Exploration for the item cold-start problem: labels on items with little
    data change the model most. Items the recommender never saw come first.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equally cold items.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec_example_plugin import ColdnessSampler
    >>> rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"]])
    >>> ColdnessSampler(random_state=0)(rec, [[3, "a"], [3, "b"], [3, "new"]]).tolist()
    [2]
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        # The first recommender of an ActiveLearner, a Committee or a bare recommender.
        rec = find_recommenders(learner)[0]
        counts = np.zeros(len(pool))
        idx = pd.Index(rec.items_).get_indexer(pool.items)
        known = idx >= 0
        counts[known] = rec.item_popularity_[idx[known]]
        return select_top(-np.log1p(counts), n, rng)
