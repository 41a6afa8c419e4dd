"""Scorers that evaluate a recommender's top-k lists on held-out interactions.

:func:`ranking_score` is the one evaluation path: recommenders' ``score`` and
the scorers built by :func:`make_ranking_scorer` (for ``GridSearchCV``,
``RandomizedSearchCV`` and ``cross_validate``) both call it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..utils.validation import check_interactions
from ._ranking import _KERNELS, _as_rankings, _check_k, _check_normalize, _hit_matrix

__all__ = ["make_ranking_scorer", "ranking_score"]


def _check_metric(metric, params: dict) -> None:
    if not isinstance(metric, str) or metric not in _KERNELS:
        raise ValueError(f"unknown ranking metric {metric!r}; valid names are {sorted(_KERNELS)}")
    accepted = _KERNELS[metric][1]
    unexpected = sorted(set(params) - set(accepted))
    if unexpected:
        raise TypeError(
            f"metric {metric!r} got unexpected keyword arguments {unexpected}; it accepts "
            f"{list(accepted) if accepted else 'none'}"
        )
    if "normalize" in params:
        _check_normalize(params["normalize"])


def ranking_score(estimator, X, y=None, metric: str = "ndcg", k: int = 10, **metric_params):
    """A ranking metric of ``estimator.recommend`` against the positive rows of ``X``.

    Parameters
    ----------
    estimator : object
        A fitted recommender with ``recommend(users, n, exclude_seen)``.
    X : array-like of shape (n_rows, 2 or 3) or DataFrame
        Held-out interaction rows ``(user, item[, timestamp])``.
    y : array-like of shape (n_rows,), default=None
        Feedback per row; rows with ``y > 0`` (all rows when None) are relevant.
    metric : {"ndcg", "recall", "precision", "hit_rate", "map", "mrr"}, default="ndcg"
        The metric, as in ``skrec.metrics.<metric>_at_k``.
    k : int, default=10
        Length of the recommendation lists.
    **metric_params
        Extra parameters of the metric (``normalize`` for precision).

    Returns
    -------
    float
        The metric averaged over users with at least one positive row. Each
        user's top-``k`` list excludes the items seen in ``fit``; slots the
        estimator fills with score ``-inf`` (no candidate left) never count.
    """
    _check_metric(metric, metric_params)
    k = _check_k(k)
    data = check_interactions(X, y)
    positive = data.positive
    if not positive.any():
        raise ValueError(
            "X has no positive rows (y > 0); ranking metrics need at least one relevant "
            "(user, item) pair"
        )
    data = data.take(positive)
    user_rows, users = pd.factorize(data.users)
    recommend = getattr(estimator, "recommend", None)
    if not callable(recommend):
        raise TypeError(
            f"{type(estimator).__name__} has no recommend method; ranking scorers need a "
            "skrec recommender"
        )
    ids, scores = recommend(np.asarray(users), n=k, exclude_seen=True)
    pred_ids, valid = _as_rankings(ids, k, name=f"{type(estimator).__name__}.recommend ids")
    scores = np.asarray(scores)
    if pred_ids.shape[0] != len(users) or scores.shape[:1] != (len(users),):
        raise ValueError(
            f"{type(estimator).__name__}.recommend returned {pred_ids.shape[0]} rows of ids "
            f"and {scores.shape[:1]} of scores for {len(users)} users"
        )
    if scores.ndim == 2 and scores.shape[1] >= pred_ids.shape[1]:
        valid &= scores[:, : pred_ids.shape[1]] > -np.inf
    hits, n_rel = _hit_matrix(user_rows, data.items, pred_ids, valid, k)
    return _KERNELS[metric][0](hits, n_rel, k, **metric_params)


class _RankingScorer:
    """A ``scoring=`` callable computing a ranking metric; built by :func:`make_ranking_scorer`."""

    def __init__(self, metric: str, k: int, metric_params: dict):
        self.metric = metric
        self.k = k
        self.metric_params = metric_params

    def __call__(self, estimator, X, y=None) -> float:
        return ranking_score(estimator, X, y, metric=self.metric, k=self.k, **self.metric_params)

    def __repr__(self) -> str:
        extra = "".join(f", {key}={value!r}" for key, value in self.metric_params.items())
        return f"make_ranking_scorer({self.metric!r}, k={self.k}{extra})"


def make_ranking_scorer(metric: str = "ndcg", k: int = 10, **kwargs) -> _RankingScorer:
    """Make a scorer for ``GridSearchCV``, ``RandomizedSearchCV`` and ``cross_validate``.

    The scorer is called as ``scorer(estimator, X, y=None)``: it asks the
    fitted estimator for its top-``k`` items (excluding items seen in ``fit``)
    for every user with a positive row in the held-out ``X`` and scores them
    against those rows. Greater is better for every metric. Scorers pickle,
    so they work with ``n_jobs > 1`` and inside a multi-metric ``scoring``
    dict.

    Parameters
    ----------
    metric : {"ndcg", "recall", "precision", "hit_rate", "map", "mrr"}, default="ndcg"
        The metric, as in ``skrec.metrics.<metric>_at_k``.
    k : int, default=10
        Length of the recommendation lists.
    **kwargs
        Extra parameters of the metric, e.g. ``normalize="min"`` for precision.

    Returns
    -------
    callable
        ``scorer(estimator, X, y=None) -> float``.

    See Also
    --------
    ndcg_at_k, recall_at_k, precision_at_k, hit_rate_at_k, map_at_k, mrr_at_k

    Examples
    --------
    >>> from skrec.metrics import make_ranking_scorer
    >>> make_ranking_scorer("recall", k=20)
    make_ranking_scorer('recall', k=20)
    >>> scoring = {"ndcg": make_ranking_scorer(), "p@5": make_ranking_scorer("precision", k=5)}
    """
    _check_metric(metric, kwargs)
    return _RankingScorer(metric, _check_k(k), dict(kwargs))
