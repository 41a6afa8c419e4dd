"""Top-k ranking metrics, vectorised over users.

Inputs become a hit matrix ``(n_users, k)`` once (:mod:`._relevance`); each
metric is a kernel over it returning one value per user, and the public
functions average those values (or return them, with ``per_user=True``).
Binary-relevance definitions follow :func:`implicit.evaluation.ranking_metrics_at_k`;
graded NDCG follows Järvelin & Kekäläinen (linear gain, as ``ranx`` and
``trec_eval``) or Burges et al. (exponential gain).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import pandas as pd

from ..utils._sklearn_compat import StrOptions, check_param, validate_params
from ..utils.validation import as_id_array
from ._relevance import K, Relevance, as_rankings, check_k, is_row, relevance

__all__ = ["ndcg_at_k", "recall_at_k", "precision_at_k", "hit_rate_at_k", "map_at_k", "mrr_at_k"]
__all__ += ["catalog_coverage"]


# Kernels: a Relevance of the users with relevant items -> one value per user.
def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


_GAINS = {"linear": lambda g: g, "exponential": lambda g: np.exp2(g) - 1.0}


def _ndcg(rel: Relevance, gain: str = "linear") -> np.ndarray:
    disc = _discounts(rel.k)
    if rel.grades is None:  # binary: both gains give 1 per hit
        idcg = np.cumsum(disc)[np.minimum(rel.n_rel, rel.k) - 1]
        return (rel.hits @ disc) / idcg
    to_gain = _GAINS[gain]
    return (to_gain(rel.grades) @ disc) / (to_gain(rel.ideal) @ disc)


def _recall(rel: Relevance) -> np.ndarray:
    return rel.hits.sum(axis=1) / rel.n_rel


def _precision(rel: Relevance, normalize: str = "k") -> np.ndarray:
    if normalize == "min":
        return rel.hits.sum(axis=1) / np.minimum(rel.n_rel, rel.k)
    return rel.hits.sum(axis=1) / rel.k


def _hit_rate(rel: Relevance) -> np.ndarray:
    return rel.hits.any(axis=1).astype(np.float64)


def _map(rel: Relevance, normalize: str = "min") -> np.ndarray:
    precision_at_i = np.cumsum(rel.hits, axis=1) / np.arange(1, rel.k + 1)
    denominator = np.minimum(rel.n_rel, rel.k) if normalize == "min" else rel.n_rel
    return (precision_at_i * rel.hits).sum(axis=1) / denominator


def _mrr(rel: Relevance) -> np.ndarray:
    return np.where(rel.hits.any(axis=1), 1.0 / (rel.hits.argmax(axis=1) + 1), 0.0)


# name -> (kernel, {keyword parameter: its valid values})
_KERNELS = {
    "ndcg": (_ndcg, {"gain": ("linear", "exponential")}),
    "recall": (_recall, {}),
    "precision": (_precision, {"normalize": ("k", "min")}),
    "hit_rate": (_hit_rate, {}),
    "map": (_map, {"normalize": ("min", "relevant")}),
    "mrr": (_mrr, {}),
}


def _check_metric(metric, params: dict) -> None:
    """``metric`` names a kernel and ``params`` are keyword parameters it accepts."""
    if not isinstance(metric, str) or metric not in _KERNELS:
        raise ValueError(f"unknown ranking metric {metric!r}; valid names are {sorted(_KERNELS)}")
    accepted = _KERNELS[metric][1]
    unexpected = sorted(set(params) - set(accepted))
    if unexpected:
        raise TypeError(
            f"metric {metric!r} got unexpected keyword arguments {unexpected}; it accepts "
            f"{list(accepted) if accepted else 'none'}"
        )
    for name, value in params.items():
        check_param(name, value, [StrOptions(set(accepted[name]))], f"{metric} metric")


def _metric_value(metric: str, rel: Relevance, per_user: bool = False, **params):
    """The mean over users (a float) or, with ``per_user``, the per-user array."""
    values = _KERNELS[metric][0](rel, **params)
    micro = metric == "precision" and params.get("normalize") == "min"
    if per_user:
        if micro:
            raise ValueError(
                "precision with normalize='min' is a micro-average (sum of hits / sum of "
                "min(k, n_relevant)), not a mean of per-user values; use normalize='k' for "
                "per-user precision"
            )
        return values
    if micro:
        return float(rel.hits.sum() / np.minimum(rel.n_rel, rel.k).sum())
    return float(np.mean(values))


def _check_per_user(per_user, caller: str = "the metric") -> bool:
    return bool(check_param("per_user", per_user, ["boolean"], caller))


def _constraints(metric: str) -> dict:
    """The parameter constraints of ``<metric>_at_k``: k, per_user and the kernel's options."""
    options = {name: [StrOptions(set(valid))] for name, valid in _KERNELS[metric][1].items()}
    return {"k": K, "per_user": ["boolean"], **options}


def _evaluate(metric: str, y_true, y_pred, k, per_user, **params):
    _check_metric(metric, params)
    per_user = _check_per_user(per_user)
    return _metric_value(metric, relevance(y_true, y_pred, k), per_user, **params)


_SHARED_DOC = """y_true : sequence of collections of item ids
        One collection (list, set, array; possibly empty) of relevant item ids
        per user. Users with no relevant item are skipped. An entry may also be
        a mapping item -> relevance grade (grades >= 0, 0 = not relevant); for
        metrics other than NDCG, an item is relevant when its grade is > 0.
    y_pred : 2-D array-like or sequence of sequences of item ids
        Ranked recommendations per user, best first, in the order of ``y_true``.
        Rows may be ragged; None/NaN are empty slots; a repeated id counts once.
    k : int, default=10
        Only the first ``k`` recommendations of each row count."""
_PER_USER_DOC = """per_user : bool, default=False
        Return one value per user instead of their mean."""
_RETURNS_DOC = """Returns
    -------
    float or ndarray of shape (n_users_with_relevant,)
        The mean over the users that have at least one relevant item; with
        ``per_user=True``, their values, in the order of ``y_true``, skipping
        the users without a relevant item (the mean of the array is the float)."""


@validate_params(_constraints("ndcg"), prefer_skip_nested_validation=True)
def ndcg_at_k(
    y_true: Sequence, y_pred, k: int = 10, *, gain: str = "linear", per_user: bool = False
) -> float | np.ndarray:
    """Normalised discounted cumulative gain at ``k``, binary or graded relevance.

    ``DCG = sum(gain(rel_i) / log2(i + 2))`` over positions ``i = 0..k-1``, and
    the ideal DCG ranks the user's relevant items by grade (at most ``k`` of
    them). With binary relevance this is :func:`implicit.evaluation.ndcg_at_k`.

    Parameters
    ----------
    {shared}
    gain : {{"linear", "exponential"}}, default="linear"
        How a relevance grade becomes a gain. ``"linear"``: the grade itself
        (Järvelin & Kekäläinen; ``trec_eval``'s and ``ranx``'s ``ndcg``).
        ``"exponential"``: ``2**grade - 1`` (Burges et al.; ``ranx``'s
        ``ndcg_burges``), which rewards the top grades more. Both give the
        same value under binary relevance.
    {per_user}

    {returns}

    See Also
    --------
    evaluate : every metric per user for a fitted recommender; ``y`` can carry grades.

    Examples
    --------
    >>> from skrec.metrics import ndcg_at_k
    >>> round(ndcg_at_k([["a", "b"]], [["a", "c", "b"]], k=3), 4)
    0.9197
    >>> per_user = ndcg_at_k([["a"], [], ["b"]], [["a", "b"]] * 3, k=2, per_user=True)
    >>> per_user.round(4)  # users 0 and 2: user 1 has no relevant item
    array([1.    , 0.6309])

    Graded relevance: a mapping item -> grade per user.

    >>> graded = [{{"a": 1, "b": 3}}]
    >>> round(ndcg_at_k(graded, [["a", "b"]], k=2), 4)
    0.7967
    >>> round(ndcg_at_k(graded, [["a", "b"]], k=2, gain="exponential"), 4)
    0.7098
    """
    return _evaluate("ndcg", y_true, y_pred, k, per_user, gain=gain)


@validate_params(_constraints("recall"), prefer_skip_nested_validation=True)
def recall_at_k(
    y_true: Sequence, y_pred, k: int = 10, *, per_user: bool = False
) -> float | np.ndarray:
    """Recall at ``k``: the fraction of each user's relevant items found in the top ``k``.

    The denominator is the user's number of relevant items, so a user with more
    than ``k`` relevant items cannot reach 1 (as in ``ranx`` and ``trec_eval``).
    Some libraries divide by ``min(k, n_relevant)`` instead (then a full
    top-``k`` of hits scores 1).

    Parameters
    ----------
    {shared}
    {per_user}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import recall_at_k
    >>> recall_at_k([[1, 2, 3, 4], [5]], [[1, 9], [5, 1]], k=2)
    0.625
    >>> recall_at_k([[1, 2, 3, 4], [5]], [[1, 9], [5, 1]], k=2, per_user=True)
    array([0.25, 1.  ])
    """
    return _evaluate("recall", y_true, y_pred, k, per_user)


@validate_params(_constraints("precision"), prefer_skip_nested_validation=True)
def precision_at_k(
    y_true: Sequence, y_pred, k: int = 10, *, normalize: str = "k", per_user: bool = False
) -> float | np.ndarray:
    """Precision at ``k``: the share of recommendations that are relevant.

    Parameters
    ----------
    {shared}
    normalize : {{"k", "min"}}, default="k"
        ``"k"``: the conventional per-user ``hits / k``, averaged over users
        (RecBole, LensKit, ``ranx``); rows shorter than ``k`` still divide by ``k``.
        ``"min"``: implicit's definition, micro-averaged
        ``sum(hits) / sum(min(k, n_relevant))`` over users, so a user with
        fewer than ``k`` relevant items can still reach 1. Use it to reproduce
        :func:`implicit.evaluation.precision_at_k`. Being a micro-average it
        has no per-user values: ``per_user=True`` raises with it.
    {per_user}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import precision_at_k
    >>> y_true, y_pred = [[1], [2, 3, 4]], [[1, 5], [2, 6]]
    >>> precision_at_k(y_true, y_pred, k=2)
    0.5
    >>> round(precision_at_k(y_true, y_pred, k=2, normalize="min"), 4)
    0.6667
    """
    return _evaluate("precision", y_true, y_pred, k, per_user, normalize=normalize)


@validate_params(_constraints("hit_rate"), prefer_skip_nested_validation=True)
def hit_rate_at_k(
    y_true: Sequence, y_pred, k: int = 10, *, per_user: bool = False
) -> float | np.ndarray:
    """Hit rate at ``k``: the fraction of users with at least one relevant item in the top ``k``.

    Parameters
    ----------
    {shared}
    {per_user}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import hit_rate_at_k
    >>> hit_rate_at_k([[1], [2], []], [[1, 3], [3, 4], [1, 2]], k=2)
    0.5
    >>> hit_rate_at_k([[1], [2], []], [[1, 3], [3, 4], [1, 2]], k=2, per_user=True)
    array([1., 0.])
    """
    return _evaluate("hit_rate", y_true, y_pred, k, per_user)


@validate_params(_constraints("map"), prefer_skip_nested_validation=True)
def map_at_k(
    y_true: Sequence, y_pred, k: int = 10, *, normalize: str = "min", per_user: bool = False
) -> float | np.ndarray:
    """Mean average precision at ``k``.

    Per user, ``AP = sum(hit_i * precision@(i + 1)) / denominator`` over
    positions ``i = 0..k-1``; the mean over users is returned.

    Parameters
    ----------
    {shared}
    normalize : {{"min", "relevant"}}, default="min"
        The denominator. ``"min"``: ``min(k, n_relevant)``, so a top-``k`` full
        of hits scores 1, as in :func:`implicit.evaluation.mean_average_precision_at_k`.
        ``"relevant"``: ``n_relevant``, the TREC definition (``trec_eval``,
        ``ranx``'s ``map@k``), which cannot reach 1 for a user with more than
        ``k`` relevant items.
    {per_user}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import map_at_k
    >>> map_at_k([["a", "b"]], [["a", "c", "b"]], k=3)
    0.8333333333333333
    >>> map_at_k([["a", "b", "d"]], [["a", "c"]], k=2), map_at_k(
    ...     [["a", "b", "d"]], [["a", "c"]], k=2, normalize="relevant")
    (0.5, 0.3333333333333333)
    """
    return _evaluate("map", y_true, y_pred, k, per_user, normalize=normalize)


@validate_params(_constraints("mrr"), prefer_skip_nested_validation=True)
def mrr_at_k(
    y_true: Sequence, y_pred, k: int = 10, *, per_user: bool = False
) -> float | np.ndarray:
    """Mean reciprocal rank at ``k``: ``1 / rank`` of the first hit, 0 without a hit.

    Parameters
    ----------
    {shared}
    {per_user}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import mrr_at_k
    >>> mrr_at_k([[3], [7]], [[1, 2, 3], [4, 5, 6]], k=3)
    0.16666666666666666
    """
    return _evaluate("mrr", y_true, y_pred, k, per_user)


@validate_params({"k": K}, prefer_skip_nested_validation=True)
def catalog_coverage(y_pred, catalog, k: int = 10) -> float:
    """Fraction of the catalogue that appears in at least one top-``k`` list.

    Parameters
    ----------
    y_pred : 2-D array-like or sequence of sequences of item ids
        Ranked recommendations per user (rows may differ in length).
    catalog : int or collection of item ids
        The catalogue: its size, or its item ids (for example an estimator's
        ``items_``). It is required because coverage relative to the
        recommended items alone would always be 1. With ids, recommended items
        outside the catalogue are ignored; with a size, every distinct
        recommended item counts.
    k : int, default=10
        Only the first ``k`` recommendations of each row count.

    Returns
    -------
    float
        Distinct recommended catalogue items divided by the catalogue size.

    Examples
    --------
    >>> from skrec.metrics import catalog_coverage
    >>> catalog_coverage([["a", "b"], ["a", "c"]], catalog=["a", "b", "c", "d"], k=2)
    0.75
    >>> catalog_coverage([[1, 2], [1, 3]], catalog=10, k=1)
    0.1
    """
    k = check_k(k)
    ids, valid = as_rankings(y_pred, k)
    recommended = pd.unique(ids[valid])
    if isinstance(catalog, Integral) and not isinstance(catalog, bool):
        if catalog < 1:
            raise ValueError(f"catalog size must be a positive integer, got {catalog}")
        if len(recommended) > catalog:
            raise ValueError(f"y_pred has {len(recommended)} distinct items, more than {catalog=}")
        return len(recommended) / int(catalog)
    if not is_row(catalog):
        raise TypeError(f"catalog must be an int or a collection of item ids, got {catalog!r:.50}")
    items = pd.unique(as_id_array(catalog))
    if len(items) == 0:
        raise ValueError("catalog is empty")
    return float(np.count_nonzero(pd.Index(items).isin(recommended)) / len(items))


for _func in (ndcg_at_k, recall_at_k, precision_at_k, hit_rate_at_k, map_at_k, mrr_at_k):
    if _func.__doc__:  # None under python -OO
        _func.__doc__ = _func.__doc__.format(
            shared=_SHARED_DOC, per_user=_PER_USER_DOC, returns=_RETURNS_DOC
        )
del _func
