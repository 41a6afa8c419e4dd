"""Beyond accuracy: how novel and how diverse the top-k lists are.

Both metrics read only the lists (no held-out data): novelty against the
training popularity of the items, intra-list diversity against an item
representation (a recommender's ``embed_items``). Like the accuracy metrics
they give one value per list and average over lists.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..utils._sklearn_compat import StrOptions, validate_params
from ..utils.validation import check_ids, check_interactions
from ._ranking import _check_per_user
from ._relevance import K, as_rankings, check_k
from ._scorer import find_recommender

__all__ = ["novelty", "intra_list_diversity"]

_CHUNK = 1 << 22  # floats per block of lists in the pairwise computation


def _distinct_slots(ids: np.ndarray, valid: np.ndarray, k: int):
    """Each list's distinct items: (n_rows, row of each kept slot, its item code, unique ids)."""
    ids, valid = ids[:, :k], valid[:, :k]
    rows = np.nonzero(valid)[0]
    flat = ids[valid]
    codes, uniques = pd.factorize(flat.astype(object) if flat.dtype.kind == "O" else flat)
    keys = rows.astype(np.int64) * max(len(uniques), 1) + codes
    _, first = np.unique(keys, return_index=True)
    first = np.sort(first)  # keeps slots in row-major (rank) order
    return len(ids), rows[first], codes[first], np.asarray(uniques)


def _per_list_counts(n_rows: int, rows: np.ndarray, minimum: int, what: str) -> np.ndarray:
    counts = np.bincount(rows, minlength=n_rows)
    short = np.flatnonzero(counts < minimum)
    if len(short):
        raise ValueError(
            f"{len(short)} of {n_rows} lists (rows {short[:5].tolist()}) have fewer than "
            f"{minimum} distinct items; {what}"
        )
    return counts


# ------------------------------------------------------------------ novelty


def _is_estimator(obj) -> bool:
    if isinstance(obj, pd.DataFrame | pd.Series | Mapping | np.ndarray | list | tuple):
        return False  # data, even with a column named "fit"
    return hasattr(obj, "fit") or hasattr(obj, "recommend")


def _probabilities(popularity, items: np.ndarray) -> np.ndarray:
    """p(i) for each id of ``items`` (0 for items the source has never seen)."""
    if _is_estimator(popularity):
        rec = find_recommender(popularity)[0]
        if not hasattr(rec, "item_popularity_") or not hasattr(rec, "interactions_"):
            raise TypeError(
                f"{type(rec).__name__} has no item_popularity_ / interactions_ (is it fitted?); "
                "pass the training interactions instead"
            )
        R = rec.interactions_
        n_users = int(np.count_nonzero((R > 0).getnnz(axis=1)))
        counts = pd.Series(np.asarray(rec.item_popularity_, dtype=np.float64), index=rec.items_)
        return counts.reindex(items).fillna(0.0).to_numpy() / max(n_users, 1)
    if isinstance(popularity, Mapping | pd.Series):
        p = pd.Series(popularity) if isinstance(popularity, Mapping) else popularity
        values = pd.to_numeric(p, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~(np.isfinite(values) & (values > 0) & (values <= 1))
        if bad.any():
            raise ValueError(
                "popularity given as a mapping must hold probabilities p(i) in (0, 1]; items "
                f"{p.index[bad][:5].tolist()} have {values[bad][:5].tolist()}"
            )
        if not p.index.is_unique:
            raise ValueError("popularity lists an item more than once")
        return pd.Series(values, index=p.index).reindex(items).fillna(0.0).to_numpy()
    data = check_interactions(popularity, name="popularity")
    pairs = pd.DataFrame({"user": data.users, "item": data.items}).drop_duplicates()
    counts = pairs["item"].value_counts()
    n_users = pairs["user"].nunique()
    return counts.reindex(items).fillna(0.0).to_numpy(dtype=np.float64) / n_users


@validate_params({"k": K, "per_user": ["boolean"]}, prefer_skip_nested_validation=True)
def novelty(y_pred, popularity, k: int = 10, *, per_user: bool = False) -> float | np.ndarray:
    """Mean self-information of the recommended items, in bits.

    An item's self-information is ``-log2 p(i)`` where ``p(i)`` is the share
    of training users who interacted with it (Zhou et al., 2010; Vargas &
    Castells, 2011): an item every user knows scores 0, an item one user in
    1,024 knows scores 10. A list's novelty is the mean over its distinct
    items; the result is the mean over lists.

    Parameters
    ----------
    y_pred : 2-D array-like or sequence of sequences of item ids
        Ranked recommendations per user, best first. Rows may be ragged;
        None/NaN are empty slots; a repeated id counts once.
    popularity : fitted recommender, interaction table, or mapping item -> p(i)
        Where ``p(i)`` comes from. A fitted recommender (or a Pipeline or
        search around one): its ``item_popularity_`` (users with a positive
        training interaction per item) over the users of ``interactions_``
        with a positive one. An interaction table ``(user, item[, timestamp])``:
        the distinct users of each item over all distinct users (every row
        counts: leave explicit negatives out). A mapping or Series: ``p(i)``
        itself, each in (0, 1].
    k : int, default=10
        Only the first ``k`` recommendations of each row count.
    per_user : bool, default=False
        Return one value per row of ``y_pred`` instead of their mean.

    Returns
    -------
    float or ndarray of shape (n_rows,)
        The mean novelty over lists, or each list's.

    Raises
    ------
    ValueError
        When a recommended item has ``p(i) = 0`` (it never occurs in the
        training data, so its self-information is infinite), or a list is empty.

    See Also
    --------
    catalog_coverage : how much of the catalogue the lists use.
    intra_list_diversity : how different the items of a list are.

    Examples
    --------
    >>> from skrec.metrics import novelty
    >>> train = [[1, "a"], [2, "a"], [3, "a"], [4, "a"], [1, "b"], [2, "b"], [3, "c"]]
    >>> novelty([["a", "b"], ["a", "c"]], train, k=2, per_user=True)  # p = 1, 1/2, 1/4
    array([0.5, 1. ])
    >>> novelty([["a", "b"], ["a", "c"]], {"a": 0.5, "b": 0.25, "c": 0.125}, k=2)
    1.75
    """
    k = check_k(k)
    per_user = _check_per_user(per_user)
    values = _novelty_values(*as_rankings(y_pred, k), k, popularity)
    return values if per_user else float(values.mean())


def _novelty_values(ids: np.ndarray, valid: np.ndarray, k: int, popularity) -> np.ndarray:
    n_rows, rows, codes, uniques = _distinct_slots(ids, valid, k)
    counts = _per_list_counts(n_rows, rows, 1, "their novelty is undefined")
    p = _probabilities(popularity, uniques)
    unseen = p <= 0
    if unseen.any():
        raise ValueError(
            f"{int(unseen.sum())} recommended items never occur in the popularity data (e.g. "
            f"{uniques[unseen][:5].tolist()}): p(i) = 0 and their self-information is "
            "infinite; give p(i) for them as a mapping, or leave them out of y_pred"
        )
    info = -np.log2(np.minimum(p, 1.0))
    return np.bincount(rows, weights=info[codes], minlength=n_rows) / counts


# ------------------------------------------------------- intra-list diversity


def _vectors(embeddings, items: np.ndarray) -> np.ndarray:
    if callable(getattr(embeddings, "embed_items", None)):
        vectors = embeddings.embed_items(items)
    elif _is_estimator(embeddings):
        vectors = find_recommender(embeddings)[0].embed_items(items)
    elif isinstance(embeddings, pd.DataFrame | Mapping):
        table = embeddings if isinstance(embeddings, pd.DataFrame) else None
        if table is None:
            keys = list(embeddings)
            table = pd.DataFrame(
                np.asarray([np.asarray(embeddings[key], dtype=np.float64) for key in keys]),
                index=check_ids(np.asarray(keys, dtype=object), "embeddings items"),
            )
        missing = ~pd.Index(items).isin(table.index)
        if missing.any():
            raise ValueError(
                f"{int(missing.sum())} recommended items have no embedding (e.g. "
                f"{items[missing][:5].tolist()})"
            )
        if not table.index.is_unique:
            raise ValueError("embeddings lists an item more than once")
        vectors = table.loc[items].to_numpy()
    else:
        raise TypeError(
            "embeddings must be a fitted recommender (anything with embed_items), a DataFrame "
            f"indexed by item id, or a mapping item -> vector; got {type(embeddings).__name__}"
        )
    try:
        vectors = np.asarray(vectors, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("item embeddings must be numeric vectors") from None
    if vectors.ndim != 2 or len(vectors) != len(items):
        raise ValueError(
            f"item embeddings must be one vector per item, got shape {vectors.shape} for "
            f"{len(items)} items"
        )
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise ValueError(f"item embeddings contain NaN or infinite values for {items[bad][:5]}")
    return vectors


def _padded(n_rows: int, rows: np.ndarray, codes: np.ndarray, width: int) -> np.ndarray:
    """(n_rows, width) item codes of each list, -1 past its end."""
    slot = np.arange(len(rows)) - np.searchsorted(rows, rows)
    out = np.full((n_rows, width), -1, dtype=np.int64)
    out[rows, slot] = codes
    return out


@validate_params(
    {"k": K, "per_user": ["boolean"], "metric": [StrOptions({"cosine", "euclidean"})]},
    prefer_skip_nested_validation=True,
)
def intra_list_diversity(
    y_pred, embeddings, k: int = 10, *, metric: str = "cosine", per_user: bool = False
) -> float | np.ndarray:
    """Mean pairwise distance between the items of each list (intra-list diversity).

    For a list of ``m`` distinct items ``i_1..i_m`` with vectors ``e``,
    ``ILD = sum_{a < b} d(e_a, e_b) / (m (m - 1) / 2)`` (Smyth & McClave,
    2001; Ziegler et al., 2005); the result is the mean over lists. Higher is
    more diverse.

    Parameters
    ----------
    y_pred : 2-D array-like or sequence of sequences of item ids
        Ranked recommendations per user, best first. Rows may be ragged;
        None/NaN are empty slots; a repeated id counts once.
    embeddings : fitted recommender, DataFrame or mapping item -> vector
        The item representation: an estimator with ``embed_items`` (or a
        Pipeline or search around a recommender), a DataFrame indexed by item
        id (one row per item), or a mapping item -> 1-D vector.
    k : int, default=10
        Only the first ``k`` recommendations of each row count.
    metric : {"cosine", "euclidean"}, default="cosine"
        ``"cosine"``: ``1 - cos(e_a, e_b)``, in [0, 2]; a zero vector (an
        item a model has no representation for) is at distance 1 from every
        item, as in :func:`sklearn.metrics.pairwise.cosine_distances`.
        ``"euclidean"``: ``||e_a - e_b||``.
    per_user : bool, default=False
        Return one value per row of ``y_pred`` instead of their mean.

    Returns
    -------
    float or ndarray of shape (n_rows,)
        The mean diversity over lists, or each list's.

    Raises
    ------
    ValueError
        When a list has fewer than 2 distinct items, or an item has no
        (or a non-finite) embedding.

    See Also
    --------
    novelty, catalog_coverage

    Examples
    --------
    >>> from skrec.metrics import intra_list_diversity
    >>> vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 1.0]}
    >>> intra_list_diversity([["a", "b"], ["a", "c"]], vectors, k=2, per_user=True).round(4)
    array([1.    , 0.2929])
    >>> round(intra_list_diversity([["a", "b", "c"]], vectors, k=3, metric="euclidean"), 4)
    1.1381
    """
    k = check_k(k)
    per_user = _check_per_user(per_user)
    values = _diversity_values(*as_rankings(y_pred, k), k, embeddings, metric)
    return values if per_user else float(values.mean())


def _diversity_values(ids, valid, k: int, embeddings, metric: str) -> np.ndarray:
    n_rows, rows, codes, uniques = _distinct_slots(ids, valid, k)
    counts = _per_list_counts(n_rows, rows, 2, "intra-list diversity needs a pair of items")
    vectors = _vectors(embeddings, uniques)
    n_pairs = counts * (counts - 1) / 2
    if metric == "cosine":
        norms = np.linalg.norm(vectors, axis=1)
        unit = vectors / np.where(norms > 0, norms, 1.0)[:, None]
        starts = np.r_[0, np.cumsum(counts)[:-1]]  # rows are sorted and none is empty
        total = np.add.reduceat(unit[codes], starts, axis=0)
        self_dots = np.bincount(rows, weights=(norms > 0)[codes].astype(float), minlength=n_rows)
        similarity = ((total**2).sum(axis=1) - self_dots) / 2
        values = 1.0 - similarity / n_pairs
    else:
        width = int(counts.max())
        padded = _padded(n_rows, rows, codes, width)
        values = np.empty(n_rows)
        step = max(1, _CHUNK // (width * width * max(vectors.shape[1], 1)))
        upper = np.triu(np.ones((width, width), dtype=bool), 1)
        for start in range(0, n_rows, step):
            block = padded[start : start + step]
            present = block >= 0
            v = vectors[np.where(present, block, 0)]
            dist = np.sqrt(((v[:, :, None, :] - v[:, None, :, :]) ** 2).sum(axis=-1))
            pair = present[:, :, None] & present[:, None, :] & upper
            values[start : start + step] = (dist * pair).sum(axis=(1, 2))
        values /= n_pairs
    return values
