"""Scorers that evaluate a recommender's top-k lists on held-out interactions.

:func:`ranking_score` is the one evaluation path: recommenders' ``score`` and
the scorers built by :func:`make_ranking_scorer` (for ``GridSearchCV``,
``RandomizedSearchCV`` and ``cross_validate``) both call it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..utils._sklearn_compat import StrOptions, validate_params
from ..utils.validation import check_interactions
from ._ranking import _KERNELS, _check_metric, _metric_value
from ._relevance import K, Relevance, as_rankings, check_k, hit_matrix

__all__ = ["find_recommender", "make_ranking_scorer", "ranking_score"]


_SCORER_PARAMS = {"k": K, "metric": [StrOptions(set(_KERNELS))]}


def find_recommender(estimator):
    """The fitted recommender that ranks for ``estimator``, and how held-out X reaches it.

    A recommender ranks for itself; a scikit-learn or imbalanced-learn
    ``Pipeline`` ranks with its last step, held-out rows passing through the
    earlier steps' ``transform`` (imbalanced-learn skips its resamplers there,
    as it does at predict time); a ``FrozenEstimator`` with the estimator it
    freezes; a fitted search (``GridSearchCV`` ...) with its ``best_estimator_``.

    Parameters
    ----------
    estimator : object
        A fitted recommender, or one of the wrappers above around one.

    Returns
    -------
    recommender : object
        The object whose ``recommend`` is called.
    transform : callable
        Maps held-out ``X`` to what the recommender was fitted on.

    Raises
    ------
    TypeError
        When nothing inside ``estimator`` has a ``recommend`` method.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skrec import PopularityRecommender
    >>> from skrec.metrics import find_recommender
    >>> pipe = make_pipeline(FunctionTransformer(), PopularityRecommender())
    >>> pipe.fit([[1, "a"], [2, "a"], [2, "b"]])  # doctest: +ELLIPSIS
    Pipeline(...)
    >>> type(find_recommender(pipe)[0]).__name__
    'PopularityRecommender'
    """
    steps = []
    current = estimator
    for _ in range(32):  # wrappers nest, but never this deep
        if callable(getattr(current, "recommend", None)):
            return current, _chain(steps)
        if hasattr(current, "steps") and isinstance(current.steps, list):
            steps.extend(step for _, step in current.steps[:-1] if _transforms(step))
            current = current.steps[-1][1]
        elif type(current).__name__ == "FrozenEstimator" and hasattr(current, "estimator"):
            current = current.estimator
        elif hasattr(current, "best_estimator_"):
            current = current.best_estimator_
        else:
            break
    name = type(estimator).__name__
    inner = "" if current is estimator else f" (its innermost step is a {type(current).__name__})"
    raise TypeError(
        f"{name} cannot rank{inner}: ranking scorers need a fitted skrec recommender (an "
        "object with a recommend method), alone or as the last step of a Pipeline"
    )


def _transforms(step) -> bool:
    """Whether a pipeline step changes held-out rows (resamplers act only in fit)."""
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return False
    return not (hasattr(step, "fit_resample") and not hasattr(step, "transform"))


def _chain(steps: list):
    def transform(X):
        for step in steps:
            X = step.transform(X)
        return X

    return transform


@validate_params(
    {"k": K, "metric": [StrOptions(set(_KERNELS))]}, prefer_skip_nested_validation=True
)
def ranking_score(estimator, X, y=None, metric: str = "ndcg", k: int = 10, **metric_params):
    """A ranking metric of ``estimator.recommend`` against the positive rows of ``X``.

    Parameters
    ----------
    estimator : object
        A fitted recommender with ``recommend(users, n, exclude_seen)``, or a
        ``Pipeline``, ``FrozenEstimator`` or fitted search around one (see
        :func:`find_recommender`).
    X : array-like of shape (n_rows, 2 or 3) or DataFrame
        Held-out interaction rows ``(user, item[, timestamp])``.
    y : array-like of shape (n_rows,), default=None
        Feedback per row; rows with ``y > 0`` (all rows when None) are relevant.
    metric : {"ndcg", "recall", "precision", "hit_rate", "map", "mrr"}, default="ndcg"
        The metric, as in ``skrec.metrics.<metric>_at_k``.
    k : int, default=10
        Length of the recommendation lists.
    **metric_params
        Extra parameters of the metric (``normalize`` for precision and map,
        ``gain`` for ndcg).

    Returns
    -------
    float
        The metric averaged over users with at least one positive row. Each
        user's top-``k`` list excludes the items seen in ``fit``; slots the
        estimator fills with score ``-inf`` (no candidate left) never count.

    Raises
    ------
    TypeError
        When ``estimator`` cannot rank.
    ValueError
        When ``X`` has no positive row, or the recommender returns lists of
        the wrong shape or NaN scores.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.metrics import ranking_score
    >>> rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"], [3, "b"], [3, "c"]])
    >>> ranking_score(rec, [[1, "b"]], metric="hit_rate", k=1)
    1.0
    """
    _check_metric(metric, metric_params)
    held = rank_held_out(estimator, X, y, k)
    return _metric_value(metric, held.relevance, **metric_params)


class HeldOut(NamedTuple):
    """A recommender's top-``k`` lists for the held-out users, and their judgements."""

    recommender: object  # what ranked (found by find_recommender)
    users: np.ndarray  # (n_users,) ids of the users with a positive held-out row
    pred_ids: np.ndarray  # (n_users, <= k) their ranked ids
    valid: np.ndarray  # (n_users, <= k) False for excluded (-inf) and empty slots
    relevance: Relevance  # hits against the positive rows (every user is kept)


def rank_held_out(estimator, X, y=None, k: int = 10, *, graded: bool = False) -> HeldOut:
    """The one evaluation path: rank every user with a positive row of ``X``, judge the lists.

    Behind :func:`ranking_score` (so recommenders' ``score`` and the scorers)
    and :func:`skrec.metrics.evaluate`. With ``graded``, the positive ``y``
    values (summed over repeated rows) are the relevance grades.
    """
    k = check_k(k)
    recommender, transform = find_recommender(estimator)
    name = type(recommender).__name__
    n_rows = _n_rows(X)
    X = transform(X)
    if n_rows is not None and _n_rows(X) != n_rows:
        raise ValueError(
            f"the steps before {name} turned {n_rows} held-out rows into {_n_rows(X)}; "
            "ranking scorers need one transformed row per held-out row"
        )
    data = check_interactions(X, y)
    positive = data.positive
    if not positive.any():
        raise ValueError(
            "X has no positive rows (y > 0); ranking metrics need at least one relevant "
            "(user, item) pair"
        )
    data = data.take(positive)
    user_rows, users = pd.factorize(data.users)
    ids, scores = recommender.recommend(np.asarray(users), n=k, exclude_seen=True)
    pred_ids, valid = as_rankings(ids, k, name=f"{name}.recommend ids")
    scores = np.asarray(scores)
    if pred_ids.shape[0] != len(users) or scores.shape[:1] != (len(users),):
        raise ValueError(
            f"{name}.recommend returned {pred_ids.shape[0]} rows of ids "
            f"and {scores.shape[:1]} of scores for {len(users)} users"
        )
    if scores.dtype.kind == "f" and np.isnan(scores).any():
        bad = np.flatnonzero(np.isnan(scores).any(axis=tuple(range(1, scores.ndim))))
        raise ValueError(
            f"{name}.recommend returned NaN scores for {len(bad)} of {len(users)} users "
            f"(e.g. user {users[bad[0]]!r}); a NaN is neither a score nor an excluded slot "
            "(-inf), so the metric is undefined. Did the model diverge?"
        )
    if scores.ndim == 2 and scores.shape[1] >= pred_ids.shape[1]:
        valid &= scores[:, : pred_ids.shape[1]] > -np.inf
    grades = data.y_or_ones() if graded else None
    rel = hit_matrix(user_rows, data.items, pred_ids, valid, k, grades)
    return HeldOut(recommender, np.asarray(users), pred_ids, valid, rel)


def _n_rows(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape):
        return int(shape[0])
    try:
        return len(X)
    except TypeError:
        return None


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


@validate_params(
    {"k": K, "metric": [StrOptions(set(_KERNELS))]}, prefer_skip_nested_validation=True
)
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
    return _RankingScorer(metric, check_k(k), dict(kwargs))
