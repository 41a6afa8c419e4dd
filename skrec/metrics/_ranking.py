"""Top-k ranking metrics with binary relevance, vectorised over users.

Ids are encoded once with :func:`pandas.factorize`, each (user, item) pair
becomes one int64 key, and sorted keys give a boolean hit matrix ``(n_users, k)``:
no Python loop runs over users once the input is in array form. Definitions
follow :func:`implicit.evaluation.ranking_metrics_at_k`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from itertools import chain, islice
from numbers import Integral

import numpy as np
import pandas as pd

from ..utils.validation import as_id_array

__all__ = ["ndcg_at_k", "recall_at_k", "precision_at_k", "hit_rate_at_k", "map_at_k", "mrr_at_k"]
__all__ += ["catalog_coverage"]


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _is_row(obj) -> bool:
    """Whether ``obj`` can be one user's ids: an iterable that is not text or a mapping."""
    return hasattr(obj, "__iter__") and not isinstance(obj, str | bytes | Mapping)


def _flatten(entries: list, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Lengths of id collections and their ids concatenated (ints/strings checked)."""
    lengths = np.fromiter(map(len, entries), dtype=np.int64, count=len(entries))
    kinds = {e.dtype.kind if isinstance(e, np.ndarray) and e.ndim == 1 else "" for e in entries}
    if entries and len(kinds) == 1 and kinds <= set("iufOUS"):  # arrays of one kind: no boxing
        ids = as_id_array(np.concatenate(entries))
    else:
        ids = as_id_array(list(chain.from_iterable(entries)))
    if ids.dtype.kind not in "iufbO":
        raise TypeError(f"{name} has unsupported id dtype {ids.dtype}; ids must be ints or strings")
    return lengths, ids


def _as_rankings(y_pred, k: int, name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` ids of each ranking, as ``(ids, valid)`` of shape (n_users, <= k).

    ``valid`` is False for the padding of short rows and for missing ids (None, NaN).
    """
    if isinstance(y_pred, pd.DataFrame):
        y_pred = y_pred.to_numpy()
    if not _is_row(y_pred) or isinstance(y_pred, Set):
        raise TypeError(
            f"{name} must be a 2-D array-like of ranked item ids (one row per user), "
            f"got {type(y_pred).__name__}"
        )
    arrayish = hasattr(y_pred, "__array__") and not isinstance(y_pred, list | tuple)
    arr = np.asarray(y_pred) if arrayish else y_pred
    if isinstance(arr, np.ndarray) and not (arr.ndim == 2 or arr.ndim == 1 and arr.dtype == object):
        raise ValueError(f"{name} must be 2-D (item ids, a row per user), got ndim={arr.ndim}")
    if isinstance(arr, np.ndarray) and arr.ndim == 2:
        ids = arr[:, :k]
        if ids.dtype.kind not in "iufbOUS":
            raise TypeError(f"{name} has unsupported dtype {ids.dtype}; ids must be int or str")
        ids = ids.astype(object) if ids.dtype.kind in "US" else ids
        valid = np.ones(ids.shape, dtype=bool)
    else:
        rows = list(y_pred)
        for i, row in enumerate(rows):
            if type(row) in (list, tuple) or type(row) is np.ndarray and row.ndim == 1:
                if len(row) > k:  # slicing only when needed: no allocation in the common case
                    rows[i] = row[:k]
            elif not _is_row(row) or isinstance(row, Set) or getattr(row, "ndim", 1) != 1:
                raise ValueError(
                    f"{name} must be 2-D: each row an ordered sequence of item ids, but "
                    f"row {i} is {type(row).__name__} {row!r:.50}"
                )
            else:
                rows[i] = list(islice(row, k))
        lengths, flat = _flatten(rows, name)
        valid = np.arange(lengths.max() if len(rows) else 0) < lengths[:, None]
        ids = np.zeros(valid.shape, dtype=flat.dtype if flat.dtype.kind in "iufb" else object)
        ids[valid] = flat
    if ids.dtype.kind in "fO":
        valid &= ~pd.isna(ids)
    return ids, valid


def _as_relevant(y_true, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Flatten ``y_true`` into (user row, item id) pairs."""
    if not _is_row(y_true):
        raise TypeError(
            "y_true must be a sequence with one collection of relevant item ids per user, "
            f"got {type(y_true).__name__}"
        )
    entries = list(y_true)
    for i, rel in enumerate(entries):
        if type(rel) in (list, tuple, set, frozenset) or type(rel) is np.ndarray and rel.ndim == 1:
            continue  # the common cases, checked cheaply
        if not _is_row(rel) or getattr(rel, "ndim", 1) != 1:
            raise TypeError(
                f"y_true[{i}] must be a collection of relevant item ids (list, set, array), "
                f"got {type(rel).__name__} {rel!r:.50}"
            )
        entries[i] = rel if hasattr(rel, "__len__") else list(rel)
    if len(entries) != n_users:
        raise ValueError(
            f"y_true has {len(entries)} users but y_pred has {n_users}; both must list the "
            "same users in the same order"
        )
    lengths, ids = _flatten(entries, "y_true")
    rows = np.repeat(np.arange(n_users, dtype=np.int64), lengths)
    if ids.dtype.kind in "fO" and pd.isna(ids).any():
        users = np.unique(rows[pd.isna(ids)])[:5].tolist()
        raise ValueError(f"y_true contains missing item ids (None/NaN) for users at {users}")
    return rows, ids


def _hit_matrix(true_rows, true_ids, pred_ids, pred_valid, k: int):
    """Hits (n_kept, k) and relevant counts (n_kept,); a repeated id hits only once, first."""
    n_users, width = pred_ids.shape
    both = [true_ids, pred_ids[pred_valid]]
    if not all(a.dtype.kind in "iufb" for a in both):
        both = [a.astype(object) for a in both]  # numpy would turn mixed ints/str into str
    codes, uniques = pd.factorize(np.concatenate(both))
    n_codes, n_true = max(len(uniques), 1), len(true_ids)
    # Sorting beats numpy's hash-based unique/isin on these wide int64 keys.
    true_keys = np.sort(true_rows.astype(np.int64) * n_codes + codes[:n_true])
    true_keys = true_keys[np.r_[True, true_keys[1:] != true_keys[:-1]][: len(true_keys)]]
    n_rel = np.bincount(true_keys // n_codes, minlength=n_users)
    keep = n_rel > 0
    if not keep.any():
        raise ValueError(
            "no user has any relevant item in y_true; ranking metrics are undefined "
            "(users with no relevant items are skipped)"
        )
    pred_keys = np.nonzero(pred_valid)[0].astype(np.int64) * n_codes + codes[n_true:]
    order = np.argsort(pred_keys, kind="stable")
    sorted_keys = pred_keys[order]
    first = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]][: len(pred_keys)]
    pos = np.minimum(np.searchsorted(true_keys, sorted_keys), len(true_keys) - 1)
    hit = np.empty(len(pred_keys), dtype=bool)
    hit[order] = first & (true_keys[pos] == sorted_keys)
    hits = np.zeros((n_users, k), dtype=bool)
    hits[:, :width][pred_valid] = hit
    return hits[keep], n_rel[keep]


def _relevance(y_true, y_pred, k):
    k = _check_k(k)
    pred_ids, pred_valid = _as_rankings(y_pred, k)
    true_rows, true_ids = _as_relevant(y_true, pred_ids.shape[0])
    return (*_hit_matrix(true_rows, true_ids, pred_ids, pred_valid, k), k)


# Kernels: (hits, n_rel, k) of the users with relevant items -> the metric.
def _ndcg(hits, n_rel, k):
    disc = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))
    idcg = np.cumsum(disc)[np.minimum(n_rel, k) - 1]
    return float(np.mean((hits @ disc) / idcg))


def _recall(hits, n_rel, k):
    return float(np.mean(hits.sum(axis=1) / n_rel))


def _check_normalize(normalize) -> str:
    if normalize not in ("k", "min"):
        raise ValueError(f"normalize must be 'k' or 'min', got {normalize!r}")
    return normalize


def _precision(hits, n_rel, k, normalize="k"):
    if _check_normalize(normalize) == "min":
        return float(hits.sum() / np.minimum(n_rel, k).sum())
    return float(np.mean(hits.sum(axis=1) / k))


def _hit_rate(hits, n_rel, k):
    return float(np.mean(hits.any(axis=1)))


def _map(hits, n_rel, k):
    precision_at_i = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    return float(np.mean((precision_at_i * hits).sum(axis=1) / np.minimum(n_rel, k)))


def _mrr(hits, n_rel, k):
    return float(np.mean(np.where(hits.any(axis=1), 1.0 / (hits.argmax(axis=1) + 1), 0.0)))


# name -> (kernel, extra keyword parameters it accepts)
_KERNELS = {
    "ndcg": (_ndcg, ()),
    "recall": (_recall, ()),
    "precision": (_precision, ("normalize",)),
    "hit_rate": (_hit_rate, ()),
    "map": (_map, ()),
    "mrr": (_mrr, ()),
}

_SHARED_DOC = """y_true : sequence of collections of item ids
        One collection (list, set, array; possibly empty) of relevant item ids
        per user. Users with no relevant item are skipped.
    y_pred : 2-D array-like or sequence of sequences of item ids
        Ranked recommendations per user, best first, in the order of ``y_true``.
        Rows may be ragged; None/NaN are empty slots; a repeated id counts once.
    k : int, default=10
        Only the first ``k`` recommendations of each row count."""
_RETURNS_DOC = """Returns
    -------
    float
        The metric over the users that have at least one relevant item."""


def ndcg_at_k(y_true: Sequence, y_pred, k: int = 10) -> float:
    """Normalised discounted cumulative gain at ``k``, binary relevance.

    ``DCG = sum(hit_i / log2(i + 2))`` over positions ``i = 0..k-1`` and the
    ideal DCG places ``min(k, n_relevant)`` hits first, as in
    :func:`implicit.evaluation.ndcg_at_k`.

    Parameters
    ----------
    {shared}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import ndcg_at_k
    >>> round(ndcg_at_k([["a", "b"]], [["a", "c", "b"]], k=3), 4)
    0.9197
    """
    return _ndcg(*_relevance(y_true, y_pred, k))


def recall_at_k(y_true: Sequence, y_pred, k: int = 10) -> float:
    """Recall at ``k``: the fraction of each user's relevant items found in the top ``k``.

    The denominator is the user's number of relevant items, so a user with more
    than ``k`` relevant items cannot reach 1. Some libraries divide by
    ``min(k, n_relevant)`` instead (then a full top-``k`` of hits scores 1).

    Parameters
    ----------
    {shared}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import recall_at_k
    >>> recall_at_k([[1, 2, 3, 4], [5]], [[1, 9], [5, 1]], k=2)
    0.625
    """
    return _recall(*_relevance(y_true, y_pred, k))


def precision_at_k(y_true: Sequence, y_pred, k: int = 10, *, normalize: str = "k") -> float:
    """Precision at ``k``: the share of recommendations that are relevant.

    Parameters
    ----------
    {shared}
    normalize : {{"k", "min"}}, default="k"
        ``"k"``: the conventional per-user ``hits / k``, averaged over users
        (RecBole, LensKit); rows shorter than ``k`` still divide by ``k``.
        ``"min"``: implicit's definition, micro-averaged
        ``sum(hits) / sum(min(k, n_relevant))`` over users, so a user with
        fewer than ``k`` relevant items can still reach 1. Use it to reproduce
        :func:`implicit.evaluation.precision_at_k`.

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
    return _precision(*_relevance(y_true, y_pred, k), normalize=_check_normalize(normalize))


def hit_rate_at_k(y_true: Sequence, y_pred, k: int = 10) -> float:
    """Hit rate at ``k``: the fraction of users with at least one relevant item in the top ``k``.

    Parameters
    ----------
    {shared}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import hit_rate_at_k
    >>> hit_rate_at_k([[1], [2], []], [[1, 3], [3, 4], [1, 2]], k=2)
    0.5
    """
    return _hit_rate(*_relevance(y_true, y_pred, k))


def map_at_k(y_true: Sequence, y_pred, k: int = 10) -> float:
    """Mean average precision at ``k``.

    Per user, ``AP = sum(hit_i * precision@(i + 1)) / min(k, n_relevant)``
    over positions ``i = 0..k-1``; the mean over users is returned, as in
    :func:`implicit.evaluation.mean_average_precision_at_k`.

    Parameters
    ----------
    {shared}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import map_at_k
    >>> map_at_k([["a", "b"]], [["a", "c", "b"]], k=3)
    0.8333333333333333
    """
    return _map(*_relevance(y_true, y_pred, k))


def mrr_at_k(y_true: Sequence, y_pred, k: int = 10) -> float:
    """Mean reciprocal rank at ``k``: ``1 / rank`` of the first hit, 0 without a hit.

    Parameters
    ----------
    {shared}

    {returns}

    Examples
    --------
    >>> from skrec.metrics import mrr_at_k
    >>> mrr_at_k([[3], [7]], [[1, 2, 3], [4, 5, 6]], k=3)
    0.16666666666666666
    """
    return _mrr(*_relevance(y_true, y_pred, k))


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
    k = _check_k(k)
    ids, valid = _as_rankings(y_pred, k)
    recommended = pd.unique(ids[valid])
    if isinstance(catalog, Integral) and not isinstance(catalog, bool):
        if catalog < 1:
            raise ValueError(f"catalog size must be a positive integer, got {catalog}")
        if len(recommended) > catalog:
            raise ValueError(f"y_pred has {len(recommended)} distinct items, more than {catalog=}")
        return len(recommended) / int(catalog)
    if not _is_row(catalog):
        raise TypeError(f"catalog must be an int or a collection of item ids, got {catalog!r:.50}")
    items = pd.unique(as_id_array(catalog))
    if len(items) == 0:
        raise ValueError("catalog is empty")
    return float(np.count_nonzero(pd.Index(items).isin(recommended)) / len(items))


for _func in (ndcg_at_k, recall_at_k, precision_at_k, hit_rate_at_k, map_at_k, mrr_at_k):
    if _func.__doc__:  # None under python -OO
        _func.__doc__ = _func.__doc__.format(shared=_SHARED_DOC, returns=_RETURNS_DOC)
del _func
