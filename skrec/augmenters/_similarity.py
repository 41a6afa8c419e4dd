"""Similarity-based augmenters: ``substitute`` and ``similar_items``.

Item similarity is the cosine of item columns of the binary user x item matrix
of positive interactions (item co-occurrence), shrunk toward 0 for pairs few
users share (``shrinkage``), computed by blocks of items so
that memory follows the block, not the catalogue squared. With
``similarity_from=estimator`` it is the cosine of the estimator's
``embed_items`` instead; an unfitted estimator (e.g. after ``clone`` inside a
grid search) is first fitted, as a clone, on the data being augmented.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skrec.augmenters._base import BaseAugmenter, make_frame
from skrec.augmenters._sequence import _generator
from skrec.utils._sklearn_compat import HasMethods, Interval
from skrec.utils.validation import Interactions

__all__ = ["SimilarItemsAugmenter", "SubstituteAugmenter", "item_neighbours"]

# Floats of one dense similarity block.
_BLOCK_FLOATS = 1 << 22


def _encode(data: Interactions):
    """Dense codes of users and items, the item ids, and the positive mask."""
    user_codes, _ = pd.factorize(data.users)
    item_codes, item_ids = pd.factorize(data.items)
    return user_codes.astype(np.int64), item_codes.astype(np.int64), np.asarray(item_ids)


def _embeddings(data: Interactions, item_ids, user_codes, item_codes, similarity_from):
    if similarity_from is None:
        pos = data.y_or_ones() > 0
        m = sp.csr_matrix(
            (np.ones(pos.sum()), (user_codes[pos], item_codes[pos])),
            shape=(user_codes.max() + 1, len(item_ids)),
        )
        m.data[:] = 1.0  # binary: duplicates count once
        return m.T.tocsr()
    est = similarity_from
    try:
        check_is_fitted(est)
    except NotFittedError:
        est = clone(est).fit(data.to_frame(), data.y_or_ones())
    return np.asarray(est.embed_items(item_ids), dtype=np.float64)


def item_neighbours(embeddings, k: int, shrinkage: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar items of every item (itself excluded).

    Parameters
    ----------
    embeddings : ndarray or sparse matrix of shape (n_items, d)
        One row per item (for co-occurrence: the item's column of the user x
        item matrix).
    k : int
        Neighbours per item.
    shrinkage : float, default=0.0
        Sparse (co-occurrence) input only: each cosine is multiplied by
        ``c / (c + shrinkage)``, where ``c`` is the dot product of the two rows
        (for binary rows, the number of users the items share). Without it,
        an item seen once that shares its one user scores a high cosine with
        everything that user did, and rare items crowd out the real
        neighbours (Koren, KDD 2008, shrinks the same way).

    Returns
    -------
    neighbours : ndarray of shape (n_items, k)
        Row indices of the neighbours, most similar first; ``-1`` pads rows
        with fewer than ``k`` items of positive similarity.
    similarity : ndarray of shape (n_items, k)
        Their cosine similarity (0 where padded).

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.augmenters._similarity import item_neighbours
    >>> nbrs, sims = item_neighbours(np.array([[1.0, 0], [0.9, 0.1], [0, 1.0]]), k=1)
    >>> nbrs.ravel().tolist()
    [1, 0, 1]
    """
    n = embeddings.shape[0]
    if sp.issparse(embeddings):
        norms = np.sqrt(np.asarray(embeddings.multiply(embeddings).sum(axis=1)).ravel())
        unit = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ embeddings
        unit = unit.tocsr()
    else:
        norms = np.linalg.norm(embeddings, axis=1)
        unit = embeddings / np.where(norms > 0, norms, 1.0)[:, None]
    k_eff = min(k, max(n - 1, 0))
    nbrs = np.full((n, k), -1, dtype=np.int64)
    sims = np.zeros((n, k), dtype=np.float64)
    if k_eff == 0:
        return nbrs, sims
    block = max(1, _BLOCK_FLOATS // max(n, 1))
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        s = unit[lo:hi] @ unit.T
        s = s.toarray() if sp.issparse(s) else np.asarray(s)
        if shrinkage and sp.issparse(embeddings):
            support = (embeddings[lo:hi] @ embeddings.T).toarray()
            s *= support / (support + shrinkage)
        s[np.arange(hi - lo), np.arange(lo, hi)] = -np.inf
        top = np.argpartition(-s, k_eff - 1, axis=1)[:, :k_eff]
        top_s = np.take_along_axis(s, top, axis=1)
        order = np.argsort(-top_s, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_s = np.take_along_axis(top_s, order, axis=1)
        valid = top_s > 1e-12
        nbrs[lo:hi, :k_eff] = np.where(valid, top, -1)
        sims[lo:hi, :k_eff] = np.where(valid, top_s, 0.0)
    return nbrs, sims


def _pair_keys(user_codes, item_codes, n_items: int) -> np.ndarray:
    return user_codes * np.int64(n_items) + item_codes


class SubstituteAugmenter(BaseAugmenter):
    """Swap a fraction of positive items for similar items (CoSeRec "substitute").

    Each positive row is chosen with probability ``rate``; its item is replaced
    by one of the item's ``k`` most similar items drawn uniformly, skipping
    items the user already has. Rows whose item has no usable neighbour are
    left unchanged. Strengths, timestamps, users and explicit negatives are
    kept; the number of rows does not change. Substitution is the "informative
    item substitution" of Liu et al., "Contrastive Self-supervised Sequential
    Recommendation with Robust Augmentation" (CoSeRec, 2021).

    Parameters
    ----------
    rate : float, default=0.1
        Probability that a positive row is substituted.
    k : int, default=10
        Number of most similar items a substitute is drawn from.
    similarity_from : estimator or None, default=None
        None: co-occurrence cosine. An estimator with ``embed_items``: cosine of
        its item representation (fitted, as a clone, on the data when unfitted).
    shrinkage : float, default=100.0
        Co-occurrence similarity only: the cosine is multiplied by
        ``c / (c + shrinkage)`` where ``c`` is the number of users the two
        items share, so items seen by one or two users stop crowding out the
        real neighbours (see :func:`item_neighbours`). 0 gives the plain cosine.
    random_state : int, RandomState instance or None, default=None
        Seed of the rows and substitutes drawn.

    Examples
    --------
    >>> from skrec.augmenters import SubstituteAugmenter
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=30, n_items=20, n_interactions=200, random_state=0)
    >>> X_new, y_new = SubstituteAugmenter(rate=0.5, random_state=0).fit_resample(data.X, data.y)
    >>> X_new.shape == data.X.shape, bool((X_new["item"] != data.X["item"]).any())
    (True, True)
    """

    _parameter_constraints: dict = {
        "rate": [Interval(Real, 0, 1, closed="both")],
        "k": [Interval(Integral, 1, None, closed="left")],
        "similarity_from": [None, HasMethods(["embed_items"])],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        rate: float = 0.1,
        *,
        k: int = 10,
        similarity_from=None,
        shrinkage: float = 100.0,
        random_state=None,
    ):
        self.rate = rate
        self.k = k
        self.similarity_from = similarity_from
        self.shrinkage = shrinkage
        self.random_state = random_state

    def _fit_resample(self, data: Interactions):
        rng = _generator(self.random_state)
        y = data.y_or_ones()
        ucodes, icodes, item_ids = _encode(data)
        emb = _embeddings(data, item_ids, ucodes, icodes, self.similarity_from)
        nbrs, _ = item_neighbours(emb, self.k, self.shrinkage)
        n_items = len(item_ids)
        chosen = np.flatnonzero((y > 0) & (rng.random(len(y)) < self.rate))
        new_icodes = icodes.copy()
        taken = np.unique(_pair_keys(ucodes, icodes, n_items))
        n_valid = (nbrs[icodes[chosen]] >= 0).sum(axis=1)
        chosen, n_valid = chosen[n_valid > 0], n_valid[n_valid > 0]
        for _ in range(5):  # redraw collisions a few times, then keep the original item
            if len(chosen) == 0:
                break
            pick = nbrs[icodes[chosen], rng.integers(0, n_valid)]
            keys = _pair_keys(ucodes[chosen], pick, n_items)
            _, first = np.unique(keys, return_index=True)
            ok = np.zeros(len(chosen), dtype=bool)
            ok[first] = True
            ok &= ~np.isin(keys, taken)
            new_icodes[chosen[ok]] = pick[ok]
            taken = np.union1d(taken, keys[ok])
            chosen, n_valid = chosen[~ok], n_valid[~ok]
        X_new = make_frame(data.users.copy(), item_ids[new_icodes], _copy(data.timestamps))
        return X_new, y.copy()


class SimilarItemsAugmenter(BaseAugmenter):
    """Add each positive's nearest neighbours as weaker positives (sample expansion).

    For every positive row ``(user, item, y)``, the item's ``k`` most similar
    items that the user has not interacted with are added as rows
    ``(user, neighbour, weight * y)`` with the source row's timestamp. A pair
    reached from several sources is added once, with the largest weight.
    Original rows are kept unchanged. This is neighbourhood-based data
    densification in the spirit of item-based collaborative filtering (Sarwar et
    al., WWW 2001), used as implicit-feedback augmentation.

    Parameters
    ----------
    k : int, default=5
        Neighbours added per positive row.
    weight : float, default=0.3
        Strength of an added row relative to its source row.
    similarity_from : estimator or None, default=None
        None: co-occurrence cosine. An estimator with ``embed_items``: cosine of
        its item representation (fitted, as a clone, on the data when unfitted).
    shrinkage : float, default=100.0
        Co-occurrence similarity only: the cosine is multiplied by
        ``c / (c + shrinkage)`` where ``c`` is the number of users the two
        items share, so items seen by one or two users stop crowding out the
        real neighbours (see :func:`item_neighbours`). 0 gives the plain cosine.

    Notes
    -----
    Deterministic: there is no ``random_state``.

    Examples
    --------
    >>> from skrec.augmenters import SimilarItemsAugmenter
    >>> X = [["a", 1], ["a", 2], ["b", 1], ["b", 2], ["c", 1]]
    >>> X_new, y_new = SimilarItemsAugmenter(k=1, weight=0.5).fit_resample(X)
    >>> X_new.iloc[5:].values.tolist(), y_new[5:].tolist()
    ([['c', 2]], [0.5])
    """

    _parameter_constraints: dict = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "weight": [Interval(Real, 0, None, closed="neither")],
        "similarity_from": [None, HasMethods(["embed_items"])],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        k: int = 5,
        *,
        weight: float = 0.3,
        similarity_from=None,
        shrinkage: float = 100.0,
    ):
        self.k = k
        self.weight = weight
        self.similarity_from = similarity_from
        self.shrinkage = shrinkage

    def _fit_resample(self, data: Interactions):
        y = data.y_or_ones()
        ucodes, icodes, item_ids = _encode(data)
        emb = _embeddings(data, item_ids, ucodes, icodes, self.similarity_from)
        nbrs, _ = item_neighbours(emb, self.k, self.shrinkage)
        n_items = len(item_ids)
        src = np.repeat(np.flatnonzero(y > 0), self.k)
        cand = nbrs[icodes[src], np.tile(np.arange(self.k), len(src) // self.k)]
        src, cand = src[cand >= 0], cand[cand >= 0]
        keys = _pair_keys(ucodes[src], cand, n_items)
        fresh = ~np.isin(keys, _pair_keys(ucodes, icodes, n_items))
        src, cand, keys = src[fresh], cand[fresh], keys[fresh]
        w = self.weight * y[src]
        order = np.lexsort((-w, keys))  # by key, largest weight first
        _, first = np.unique(keys[order], return_index=True)
        keep = np.sort(order[first])  # original order of the sources
        src, cand, w = src[keep], cand[keep], w[keep]
        users = np.concatenate([data.users, data.users[src]])
        items = np.concatenate([data.items, item_ids[cand].astype(data.items.dtype)])
        times = None
        if data.timestamps is not None:
            times = np.concatenate([data.timestamps, data.timestamps[src]])
        return make_frame(users, items, times), np.concatenate([y, w])


def _copy(arr):
    return None if arr is None else arr.copy()
