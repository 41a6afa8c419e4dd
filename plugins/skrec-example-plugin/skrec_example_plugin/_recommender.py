"""The ``cooccurrence`` recommender: items liked by the users who liked yours.

A complete third-party recommender in about forty lines: it derives from
:class:`skrec.BaseRecommender`, implements the three hooks, and inherits
everything else (validation, ids, unknown users, calibration, top-n, score).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import scipy.sparse as sp

from skrec import BaseRecommender

__all__ = ["CooccurrenceRecommender"]


class CooccurrenceRecommender(BaseRecommender):
    """Item-item co-occurrence: a user's score of an item sums its cosine to their items.

    Parameters
    ----------
    k : int, default=20
        Neighbours kept per item (the ``k`` most similar).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit``.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of shape (n_items, n_items)
        Cosine similarity of the items' user sets, ``k`` largest per row.

    Examples
    --------
    >>> from skrec_example_plugin import CooccurrenceRecommender
    >>> X = [[1, "a"], [1, "b"], [2, "a"], [2, "b"], [3, "a"], [3, "c"]]
    >>> CooccurrenceRecommender(k=2).fit(X).recommend([3], n=1)[0].tolist()
    [['b']]
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "k": [Integral],
    }

    def __init__(self, k: int = 20, *, handle_unknown: str = "popular"):
        self.k = k
        self.handle_unknown = handle_unknown

    def _fit_model(self, R, data, previous) -> None:
        X = (R > 0).astype(np.float32).tocsc()  # positives only, as 0/1
        norms = np.sqrt(np.asarray(X.sum(axis=0)).ravel())
        X = X @ sp.diags(1.0 / np.maximum(norms, 1e-12))
        S = (X.T @ X).tolil()
        S.setdiag(0)
        self.similarity_ = _top_k_per_row(S.tocsr(), max(1, self.k))
        self._history = (R > 0).astype(np.float32).tocsr()

    def _score_users(self, user_idx, item_idx=None):
        scores = (self._history[user_idx] @ self.similarity_).toarray()
        return scores if item_idx is None else scores[:, item_idx]

    def _embed_items(self, item_idx):
        return self.similarity_[item_idx].toarray()


def _top_k_per_row(S: sp.csr_matrix, k: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for r in range(S.shape[0]):
        start, end = S.indptr[r], S.indptr[r + 1]
        keep = np.argsort(-S.data[start:end], kind="stable")[:k]
        rows.append(np.full(len(keep), r))
        cols.append(S.indices[start:end][keep])
        vals.append(S.data[start:end][keep])
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=S.shape
    )
