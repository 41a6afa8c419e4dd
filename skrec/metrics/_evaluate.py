"""``evaluate``: every metric, per user, for a fitted recommender on held-out data.

The lists come from the same path as ``score`` and the ranking scorers
(:func:`~skrec.metrics._scorer.rank_held_out`), so a column's mean is exactly
what ``make_ranking_scorer`` reports for that metric and ``k``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ..utils._sklearn_compat import Interval, StrOptions, validate_params
from ._beyond import _diversity_values, _novelty_values
from ._ranking import _KERNELS, _check_metric, _metric_value
from ._relevance import check_k
from ._scorer import rank_held_out
from ._stats import RESAMPLING, bootstrap_ci

__all__ = ["evaluate"]

ACCURACY = tuple(_KERNELS)
BEYOND = ("novelty", "diversity")
_BEYOND_PARAMS = {"novelty": {}, "diversity": {"metric": ("cosine", "euclidean")}}


def _check_metrics(metrics) -> list[str]:
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    valid = ACCURACY + BEYOND
    unknown = [m for m in names if not isinstance(m, str) or m not in valid]
    if unknown or not names:
        raise ValueError(f"unknown metrics {unknown}; valid names are {list(valid)}")
    if len(set(names)) != len(names):
        raise ValueError(f"metrics lists a name more than once: {names}")
    return names


def _check_ks(k) -> list[int]:
    if isinstance(k, Integral):
        ks = [k]
    else:
        ks = list(k) if isinstance(k, Sequence | np.ndarray) and not isinstance(k, str) else None
    if not ks:
        raise ValueError(f"k must be a positive integer or a non-empty sequence of them, got {k!r}")
    ks = [check_k(v) for v in ks]
    if len(set(ks)) != len(ks):
        raise ValueError(f"k lists a cut-off more than once: {ks}")
    return ks


def _check_metric_params(metric_params, metrics: list[str]) -> dict:
    if metric_params is None:
        return {}
    if not isinstance(metric_params, Mapping):
        raise TypeError(
            "metric_params must be a mapping metric name -> dict of its parameters, "
            f"got {type(metric_params).__name__}"
        )
    out = {}
    for name, params in metric_params.items():
        if name not in metrics:
            raise ValueError(f"metric_params names {name!r}, which is not in metrics {metrics}")
        if not isinstance(params, Mapping):
            raise TypeError(f"metric_params[{name!r}] must be a dict, got {params!r}")
        params = dict(params)
        if name in ACCURACY:
            _check_metric(name, params)
        else:
            accepted = _BEYOND_PARAMS[name]
            for key, value in params.items():
                if key not in accepted:
                    raise TypeError(f"{name} got an unexpected parameter {key!r}")
                if value not in accepted[key]:
                    raise ValueError(f"{name} {key} must be one of {accepted[key]}, got {value!r}")
        out[name] = params
    return out


@validate_params(
    {
        **RESAMPLING,
        "k": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "relevance": [StrOptions({"binary", "graded"})],
        "n_bootstrap": [Interval(Integral, 0, None, closed="left")],
        "metric_params": [None, Mapping],
    },
    prefer_skip_nested_validation=True,
)
def evaluate(
    estimator,
    X,
    y=None,
    *,
    metrics: str | Sequence[str] = ACCURACY,
    k: int | Sequence[int] = (10, 20),
    relevance: str = "binary",
    metric_params: Mapping | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    random_state=None,
) -> Bunch:
    """Per-user metrics of a fitted recommender on held-out interactions, and their summary.

    Every user with a positive row in ``X`` is ranked once, with
    ``recommend(users, n=max(k), exclude_seen=True)`` as in
    :func:`make_ranking_scorer` and ``score``, and every metric is computed
    for every user at every cut-off ``k``: a column's mean equals
    ``make_ranking_scorer(metric, k=...)(estimator, X, y)``.

    Parameters
    ----------
    estimator : object
        A fitted recommender, or a ``Pipeline``, ``FrozenEstimator`` or fitted
        search around one (see :func:`find_recommender`).
    X : array-like of shape (n_rows, 2 or 3) or DataFrame
        Held-out interaction rows ``(user, item[, timestamp])``.
    y : array-like of shape (n_rows,), default=None
        Feedback per row; rows with ``y > 0`` (all rows when None) are relevant.
    metrics : str or sequence of str, default=("ndcg", "recall", "precision", "hit_rate", \
"map", "mrr")
        Accuracy metrics (as ``skrec.metrics.<name>_at_k``) and beyond-accuracy
        ones: ``"novelty"`` (:func:`novelty`, against the recommender's
        training popularity) and ``"diversity"`` (:func:`intra_list_diversity`
        on its ``embed_items``).
    k : int or sequence of int, default=(10, 20)
        Cut-offs; each metric gets one column per cut-off, named ``"ndcg@10"``.
    relevance : {"binary", "graded"}, default="binary"
        ``"graded"``: NDCG uses the positive ``y`` values as relevance grades
        (summed over repeated rows; ``gain`` chooses linear or exponential
        gain, see :func:`ndcg_at_k`). The other metrics stay binary (``y > 0``).
    metric_params : dict, default=None
        Parameters per metric, e.g. ``{"ndcg": {"gain": "exponential"},
        "map": {"normalize": "relevant"}, "diversity": {"metric": "euclidean"}}``.
    n_bootstrap : int, default=1000
        Resamples of users for the confidence intervals (:func:`bootstrap_ci`);
        0 leaves the interval columns out of the summary.
    confidence : float, default=0.95
        Coverage of the intervals.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap.

    Returns
    -------
    Bunch
        ``per_user``: DataFrame, one row per held-out user with a positive
        row (indexed by user id, in order of first appearance in ``X``), one
        column per ``metric@k``. ``summary``: DataFrame, one row per column
        of ``per_user``, with ``mean``, ``std`` (over users, ``ddof=1``),
        ``ci_low`` and ``ci_high``. ``recommendations``: DataFrame of the
        ranked ids (columns 1..max(k); None where ``recommend`` had no
        candidate left). ``confidence`` and ``n_bootstrap``, as given.

    Raises
    ------
    TypeError
        When ``estimator`` cannot rank.
    ValueError
        For an unknown metric or parameter, ``relevance="graded"`` without
        ``y``, fewer than two users with a positive row, or the errors of
        :func:`ranking_score`.

    See Also
    --------
    paired_test : compare two models' ``per_user`` results on the same users.
    bootstrap_ci : the interval used in ``summary``.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.metrics import evaluate
    >>> train = [[1, "a"], [2, "a"], [2, "b"], [3, "b"], [3, "c"], [4, "a"]]
    >>> test = [[1, "b"], [1, "c"], [4, "c"], [5, "a"]]
    >>> rec = PopularityRecommender().fit(train)
    >>> result = evaluate(rec, test, metrics=["ndcg", "hit_rate"], k=1, random_state=0)
    >>> result.per_user  # doctest: +NORMALIZE_WHITESPACE
          ndcg@1  hit_rate@1
    user
    1        1.0         1.0
    4        0.0         0.0
    5        1.0         1.0
    >>> result.summary.round(3)
                 mean    std  ci_low  ci_high
    ndcg@1      0.667  0.577     0.0      1.0
    hit_rate@1  0.667  0.577     0.0      1.0
    """
    names = _check_metrics(metrics)
    ks = _check_ks(k)
    if relevance == "graded" and y is None:
        raise ValueError("relevance='graded' takes the relevance grades from y, but y is None")
    params = _check_metric_params(metric_params, names)
    n_bootstrap, confidence = int(n_bootstrap), float(confidence)

    held = rank_held_out(estimator, X, y, max(ks), graded=relevance == "graded")
    n_users = len(held.users)
    if n_users < 2:
        raise ValueError(
            f"X has {n_users} user with a positive row; evaluate reports spread and intervals "
            "over users and needs at least 2 (ranking_score gives a single user's metric)"
        )
    columns = {}
    for name in names:
        for cut in ks:
            if name in ACCURACY:
                rel = held.relevance.truncate(cut)
                value = _metric_value(name, rel, per_user=True, **params.get(name, {}))
            elif name == "novelty":
                value = _novelty_values(held.pred_ids, held.valid, cut, held.recommender)
            else:
                metric = params.get(name, {}).get("metric", "cosine")
                value = _diversity_values(held.pred_ids, held.valid, cut, held.recommender, metric)
            columns[f"{name}@{cut}"] = value
    per_user = pd.DataFrame(columns, index=pd.Index(held.users, name="user"))
    summary = pd.DataFrame(
        {"mean": per_user.mean(), "std": per_user.std(ddof=1)}, index=per_user.columns
    )
    if n_bootstrap:
        low, high = bootstrap_ci(
            per_user, n_bootstrap=n_bootstrap, confidence=confidence, random_state=random_state
        )
        summary["ci_low"], summary["ci_high"] = low, high
    ids = held.pred_ids.astype(object)
    ids[~held.valid] = None
    recommendations = pd.DataFrame(
        ids, index=per_user.index, columns=pd.RangeIndex(1, ids.shape[1] + 1, name="rank")
    )
    return Bunch(
        per_user=per_user,
        summary=summary,
        recommendations=recommendations,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
    )
