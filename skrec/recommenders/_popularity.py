"""Most-popular baseline."""

from __future__ import annotations

import numpy as np

from skrec.recommenders._base import BaseRecommender

__all__ = ["PopularityRecommender"]


class PopularityRecommender(BaseRecommender):
    """Recommend the items most users interacted with positively.

    The baseline every benchmark reports: the same ranking for everybody,
    minus the items each user has already seen.

    Parameters
    ----------
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.
    n_jobs : int or None, default=None
        Threads of ``recommend`` (see :func:`skrec.utils.effective_n_jobs`).

    Attributes
    ----------
    item_popularity_ : ndarray of shape (n_items,)
        Number of users with a positive interaction with each item.
    users_, items_ : ndarray
        Ids known from ``fit``.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> X = [[1, "a"], [2, "a"], [2, "b"], [3, "c"], [3, "a"], [1, "c"]]
    >>> rec = PopularityRecommender().fit(X)
    >>> rec.recommend([2], n=1)[0].tolist()
    [['c']]
    """

    def __init__(self, *, augmenter=None, handle_unknown: str = "popular", n_jobs=None):
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs

    def _fit_model(self, R, data, previous) -> None:
        self.scores_ = np.log1p(self.item_popularity_)

    def _score_users(self, user_idx, item_idx=None):
        scores = self.scores_ if item_idx is None else self.scores_[item_idx]
        return np.tile(scores, (len(user_idx), 1))

    def _score_pairs(self, user_idx, item_idx):
        return self.scores_[item_idx]

    def _embed_items(self, item_idx):
        return self.scores_[item_idx, None]
