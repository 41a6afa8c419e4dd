"""Preference-elicitation samplers: ``popularity`` and ``popularity_entropy``.

Both score a pool row by its item only, from what the (first) recommender saw
in ``fit``: ``item_popularity_`` (number of users with a positive interaction)
and ``interactions_`` (signed: explicit negatives are < 0). They suit the
new-user problem of Rashid et al., "Getting to know you: learning new user
preferences in recommender systems" (IUI 2002): which items to show a newcomer
first so that the answers are likely (the user knows the item) and informative.
"""

from __future__ import annotations

import numpy as np

from skrec.samplers._base import BaseSampler, _item_lookup, find_recommenders

__all__ = ["PopularityEntropySampler", "PopularitySampler"]


def _feedback_counts(rec) -> tuple[np.ndarray, np.ndarray]:
    """Per item: number of users with positive and with negative feedback."""
    R = rec.interactions_.tocsc()
    n_pos = np.diff((R > 0).tocsc().indptr).astype(np.float64)
    n_neg = np.diff((R < 0).tocsc().indptr).astype(np.float64)
    return n_pos, n_neg


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of a Bernoulli(p), 0 at p in {0, 1}."""
    q = np.clip(p, 1e-12, 1 - 1e-12)
    h = -(q * np.log2(q) + (1 - q) * np.log2(1 - q))
    return np.where((p <= 0) | (p >= 1), 0.0, h)


class PopularitySampler(BaseSampler):
    """Most popular items first (Rashid et al., IUI 2002, "Popularity").

    Pool rows are ranked by their item's ``item_popularity_`` in the (first)
    recommender; unknown items count as never seen. A newcomer is most likely to
    know, and so to be able to rate, popular items.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Breaks ties between equally popular items.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.samplers import PopularitySampler
    >>> rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"], [3, "a"], [3, "c"]])
    >>> PopularitySampler(random_state=0)(rec, [[9, "c"], [9, "a"], [9, "z"]]).tolist()
    [1]
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        rec = find_recommenders(learner)[0]
        pop = _item_lookup(rec, pool.items, rec.item_popularity_)
        return np.lexsort((rng.random(len(pop)), -pop))[:n]


class PopularityEntropySampler(BaseSampler):
    """Items both well known and divisive first: ``log(popularity) * entropy`` (Rashid et al.).

    The "Pop*Ent" strategy of Rashid et al., "Getting to know you: learning new
    user preferences in recommender systems" (IUI 2002), for new-user
    elicitation. ``popularity`` is the number of users with any feedback on the
    item in the recommender's ``interactions_`` and ``entropy`` the binary
    entropy (bits) of the item's positive / negative feedback split. Ties
    (including every item on purely positive data, where the entropy is zero)
    are broken by popularity, then at random.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Breaks the remaining ties.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.samplers import PopularityEntropySampler
    >>> X = [[1, "a"], [2, "a"], [3, "a"], [1, "b"], [2, "b"], [3, "b"]]
    >>> rec = PopularityRecommender().fit(X, y=[1, 1, 1, 1, 0, 0])
    >>> PopularityEntropySampler(random_state=0)(rec, [[9, "a"], [9, "b"]]).tolist()
    [1]
    """

    _parameter_constraints: dict = {"random_state": ["random_state"]}

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        rec = find_recommenders(learner)[0]
        n_pos, n_neg = _feedback_counts(rec)
        total = n_pos + n_neg
        share = np.divide(n_pos, total, out=np.zeros_like(total), where=total > 0)
        score = np.log1p(total) * _binary_entropy(share)
        row_score = _item_lookup(rec, pool.items, score)
        row_pop = _item_lookup(rec, pool.items, total)
        return np.lexsort((rng.random(len(pool)), -row_pop, -row_score))[:n]
