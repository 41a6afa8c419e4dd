"""Sparse top-k item-item similarities, one block of items at a time.

The similarity of two items is computed from their user vectors (one entry
per user) as a sparse product ``W[block] @ W.T``: only pairs of items with a
common user are ever formed, and each block of rows is cut to its ``k`` best
entries at once (a lexicographic sort of the block's entries by row, value and
column), so memory follows the block, never ``n_items ** 2``. Blocks are cut
so that each forms at most :data:`BLOCK_ENTRIES` products and run in a thread
pool (numpy's sorts and scipy's sparse products release the GIL).

The weightings (TF-IDF, BM25, L2 normalisation) are implicit's
(``implicit.nearest_neighbours``), so that with ``shrinkage=0`` the kept
neighbours and their values equal implicit's ``CosineRecommender``,
``TFIDFRecommender`` and ``BM25Recommender`` (tested).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

__all__ = ["BLOCK_ENTRIES", "SIMILARITIES", "item_vectors", "top_k_similarities"]

SIMILARITIES = ("cosine", "tfidf", "bm25", "jaccard")

#: Item pairs (products) formed per block at most.
BLOCK_ENTRIES = 1 << 21


def _idf(Wt: sp.csr_matrix) -> np.ndarray:
    """``log(n_items) - log(1 + n_items(u))`` per user (the columns of the items x users ``Wt``)."""
    per_user = np.bincount(Wt.indices, minlength=Wt.shape[1])
    return np.log(float(Wt.shape[0])) - np.log1p(per_user)


def _normalize_rows(W: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(W.multiply(W).sum(axis=1)).ravel())
    rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
    with np.errstate(divide="ignore", invalid="ignore"):
        W.data = W.data / norms[rows]
    return W


def item_vectors(X: sp.csr_matrix, similarity: str, bm25_k1: float, bm25_b: float):
    """The items x users matrix whose row dot products are the (unshrunk) similarities.

    For ``"jaccard"`` it is the 0/1 incidence matrix (dot products are the
    numbers of common users).
    """
    W = sp.csr_matrix(X.T, dtype=np.float64)
    W.sort_indices()
    if similarity == "jaccard":
        W.data[:] = 1.0
    elif similarity == "cosine":
        W = _normalize_rows(W)
    elif similarity == "tfidf":
        W.data = np.sqrt(W.data) * _idf(W)[W.indices]
        W = _normalize_rows(W)
    elif similarity == "bm25":
        idf = _idf(W)
        length = np.asarray(W.sum(axis=1)).ravel()
        length_norm = (1.0 - bm25_b) + bm25_b * length / length.mean()
        rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
        W.data = W.data * (bm25_k1 + 1.0) / (bm25_k1 * length_norm[rows] + W.data)
        W.data *= idf[W.indices]
    else:  # parameter validation rules this out
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    return W


def _blocks(W: sp.csr_matrix) -> list[tuple[int, int]]:
    """Consecutive row ranges of ``W`` whose products with ``W.T`` form few enough entries."""
    B = W.copy()
    B.data = np.ones_like(B.data)
    per_user = np.bincount(W.indices, minlength=W.shape[1]).astype(np.float64)
    cost = np.minimum(B @ per_user, W.shape[0]) + 1.0  # entries of each row of the product
    # A new block starts each time the running cost passes a multiple of BLOCK_ENTRIES.
    block_of = (np.cumsum(cost) - cost) // BLOCK_ENTRIES
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(block_of)) + 1, [W.shape[0]]])
    bounds = bounds.astype(int).tolist()
    return list(zip(bounds[:-1], bounds[1:]))


def _block_top_k(W, Wt, counts_of, sizes, start, stop, k, similarity, shrinkage):
    """The top-``k`` similarities of items ``start:stop``, as (rows, cols, values)."""
    P = W[start:stop] @ Wt
    P.sort_indices()
    rows = np.repeat(np.arange(start, stop), np.diff(P.indptr))
    cols = P.indices.astype(np.int64, copy=False)
    vals = P.data.astype(np.float64, copy=False)
    if similarity == "jaccard":
        common = vals
        with np.errstate(divide="ignore", invalid="ignore"):
            vals = common / (sizes[rows] + sizes[cols] - common)
    elif shrinkage > 0:
        common = counts_of(start, stop, rows, cols)
    if shrinkage > 0:
        vals = vals * (common / (common + shrinkage))
    keep = (rows != cols) & (vals != 0) & np.isfinite(vals)
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    order = np.lexsort((cols, -vals, rows))  # by row, best first, lower column on ties
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, rows, side="left")
    best = (np.arange(len(rows)) - first) < k
    return rows[best], cols[best], vals[best]


def top_k_similarities(
    X: sp.csr_matrix,
    *,
    k: int,
    similarity: str = "cosine",
    shrinkage: float = 0.0,
    bm25_k1: float = 1.2,
    bm25_b: float = 0.75,
    n_jobs: int = 1,
    verbose: bool = False,
) -> sp.csr_matrix:
    """The ``n_items x n_items`` matrix of each item's ``k`` most similar other items.

    Parameters
    ----------
    X : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Positive interaction strengths.
    k : int
        Neighbours per item.
    similarity : {"cosine", "tfidf", "bm25", "jaccard"}, default="cosine"
        See :class:`skrec.recommenders.ItemKNNRecommender`.
    shrinkage : float, default=0.0
        Similarities are multiplied by ``n_ij / (n_ij + shrinkage)``.
    bm25_k1, bm25_b : float
        BM25's parameters.
    n_jobs : int, default=1
        Threads (the result does not depend on it).
    verbose : bool, default=False
        A progress bar over the blocks.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_items, n_items)
        float32, zero diagonal, at most ``k`` entries per row, sorted indices.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from skrec.recommenders._knn_similarity import top_k_similarities
    >>> X = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1]], dtype=np.float32))
    >>> top_k_similarities(X, k=1, similarity="jaccard").toarray().round(3)
    array([[0.   , 0.667, 0.   ],
           [0.667, 0.   , 0.   ],
           [0.333, 0.   , 0.   ]], dtype=float32)
    """
    n_items = X.shape[1]
    W = item_vectors(X, similarity, bm25_k1, bm25_b)
    Wt = W.T.tocsr()
    sizes = np.diff(W.indptr).astype(np.float64)
    B = W.copy()
    B.data = np.ones_like(B.data)
    Bt = B.T.tocsr()

    def counts_of(start, stop, rows, cols):
        # Common users at the entries (rows, cols) of the block's product, a subset of
        # the entries of the 0/1 product (a weighted dot product can cancel, a count cannot).
        C = B[start:stop] @ Bt
        C.sort_indices()
        c_rows = np.repeat(np.arange(start, stop), np.diff(C.indptr))
        keys = c_rows.astype(np.int64) * n_items + C.indices
        at = np.searchsorted(keys, rows.astype(np.int64) * n_items + cols)
        return C.data[at]

    blocks = _blocks(W)

    def work(bounds):
        return _block_top_k(W, Wt, counts_of, sizes, *bounds, k, similarity, shrinkage)

    bar = tqdm(total=len(blocks), disable=not verbose, desc="item similarities")
    parts = []
    workers = max(1, min(int(n_jobs), len(blocks)))
    with bar:
        if workers == 1:
            for bounds in blocks:
                parts.append(work(bounds))
                bar.update(1)
        else:
            with ThreadPoolExecutor(workers) as pool:
                for part in pool.map(work, blocks):
                    parts.append(part)
                    bar.update(1)
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    vals = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    S = sp.csr_matrix((vals.astype(np.float32), (rows, cols)), shape=(n_items, n_items))
    S.sort_indices()
    return S
