"""Sparse top-k item-item similarities, never an items x items dense matrix.

Where the similarity is a plain dot product of weighted item vectors (cosine,
TF-IDF and BM25 without shrinkage), implicit's threaded ``all_pairs_knn``
computes the top k. Otherwise (Jaccard, any shrinkage) the similarities are
formed one block of items at a time as a sparse product ``W[block] @ W.T``
(only pairs of items with a common user are formed), written into a dense
block of at most :data:`BLOCK_ENTRIES` floats and cut to its top ``k`` at
once (or, when few pairs are formed, by sorting the pairs of the block),
so memory follows the block, never ``n_items ** 2``. Blocks run in a
thread pool (numpy's partitions release the GIL).

The weightings (TF-IDF, BM25, L2 normalisation) are implicit's
(``implicit.nearest_neighbours``), so that with ``shrinkage=0`` the kept
neighbours and their values equal implicit's ``CosineRecommender``,
``TFIDFRecommender`` and ``BM25Recommender`` (tested), and the blocks give
the same matrix as implicit's path (tested).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from skrec.recommenders._topn import top_n
from skrec.utils._optional import import_optional

__all__ = ["BLOCK_ENTRIES", "SIMILARITIES", "item_vectors", "top_k_similarities"]

SIMILARITIES = ("cosine", "tfidf", "bm25", "jaccard")

#: Floats of one dense block of similarities (rows x n_items) at most.
BLOCK_ENTRIES = 1 << 22
# Below this share of formed pairs per block, the top k is selected by sorting the pairs.
_SPARSE_SELECT = 0.05


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


def _blocks(n_items: int) -> list[tuple[int, int]]:
    """Consecutive row ranges of at most :data:`BLOCK_ENTRIES` // ``n_items`` rows each."""
    rows = max(1, BLOCK_ENTRIES // max(1, n_items))
    return [(a, min(a + rows, n_items)) for a in range(0, n_items, rows)]


def _block_top_k(W, Wt, counts_of, sizes, start, stop, k, similarity, shrinkage):
    """The top-``k`` similarities of items ``start:stop``, as (rows, cols, values)."""
    n_items = W.shape[0]
    P = W[start:stop] @ Wt
    P.sort_indices()
    local = np.repeat(np.arange(stop - start), np.diff(P.indptr))
    cols = P.indices
    vals = P.data.astype(np.float64, copy=False)
    if similarity == "jaccard":
        common = vals
        with np.errstate(divide="ignore", invalid="ignore"):
            vals = common / (sizes[local + start] + sizes[cols] - common)
    elif shrinkage > 0:
        common = counts_of(start, stop, P)
    if shrinkage > 0:
        vals = vals * (common / (common + shrinkage))
    ok = (vals != 0) & np.isfinite(vals) & (local + start != cols)  # not its own neighbour
    if P.nnz < _SPARSE_SELECT * (stop - start) * n_items:
        # Few pairs per row: sort the entries by row, then value (stable: lower column on ties).
        rows, cols, vals = local[ok] + start, cols[ok], vals[ok]
        order = np.lexsort((-vals, rows))
        rows, cols, vals = rows[order], cols[order], vals[order]
        best = (np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")) < k
        return rows[best], cols[best], vals[best]
    dense = np.full((stop - start, n_items), -np.inf)
    dense[local[ok], cols[ok]] = vals[ok]
    idx, best = top_n(dense, min(k, n_items))  # ties: the lower column first
    keep = np.isfinite(best)
    rows = np.broadcast_to(np.arange(start, stop)[:, None], best.shape)
    return rows[keep], idx[keep], best[keep]


def _top_k_of_rows(S: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """``S`` without its diagonal, cut to the ``k`` largest entries per row (lower column first)."""
    S = S.tocoo()
    off = S.row != S.col
    rows, cols, vals = S.row[off], S.col[off], S.data[off]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    best = (np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")) < k
    return sp.csr_matrix((vals[best], (rows[best], cols[best])), shape=S.shape)


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
    method: str = "auto",
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
        A progress bar.
    method : {"auto", "blocks"}, default="auto"
        ``"auto"`` uses implicit's ``all_pairs_knn`` where the similarity is a
        plain dot product of the weighted vectors (``shrinkage=0``, not
        ``"jaccard"``), the blocks of this module otherwise; ``"blocks"`` always
        uses the blocks (the two agree, tested).

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
    if method == "auto" and shrinkage == 0 and similarity != "jaccard":
        # Plain dot products of the weighted vectors: implicit's threaded all-pairs k-NN
        # (10x faster than the blocks here) computes exactly these. It counts an item
        # among its own neighbours, so ask for one more and drop the diagonal.
        knn = import_optional("implicit._nearest_neighbours", "ItemKNNRecommender")
        S = knn.all_pairs_knn(Wt, k + 1, num_threads=int(n_jobs), show_progress=verbose)
        S = _top_k_of_rows(S.tocsr(), k).astype(np.float32)
        S.sort_indices()
        return S
    sizes = np.diff(W.indptr).astype(np.float64)
    B = W.copy()
    B.data = np.ones_like(B.data)
    Bt = B.T.tocsr()

    def counts_of(start, stop, P):
        # Common users at the entries of the block's product P, a subset of the entries
        # of the 0/1 product (a weighted dot product can cancel to 0, a count cannot).
        C = B[start:stop] @ Bt
        C.sort_indices()
        if C.nnz == P.nnz:  # same pattern, both sorted
            return C.data
        keys = np.repeat(np.arange(C.shape[0], dtype=np.int64), np.diff(C.indptr))
        keys = keys * n_items + C.indices
        p_keys = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
        return C.data[np.searchsorted(keys, p_keys * n_items + P.indices)]

    blocks = _blocks(n_items)

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
