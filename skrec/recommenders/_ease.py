"""EASE: a closed-form item-item linear autoencoder (Steck, 2019)."""

from __future__ import annotations

import os
from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval

from skrec.recommenders._base import BaseRecommender

__all__ = ["EASERecommender"]

# Dense item x item float64 matrices held at once while solving (Gram, inverse, B).
_DENSE_COPIES = 3


def _available_memory() -> int:
    """Bytes of memory available now (MemAvailable), or physical memory as a fallback."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 34


class EASERecommender(BaseRecommender):
    """Embarrassingly shallow autoencoder: ``B = argmin ||X - XB||² + l2 ||B||²``, ``diag(B) = 0``.

    A strong, hyperparameter-light baseline (Steck, "Embarrassingly Shallow
    Autoencoders for Sparse Data", WWW 2019). Solving needs a dense
    ``n_items x n_items`` matrix, so it suits catalogues up to a few tens of
    thousands of items; ``fit`` refuses a catalogue that would not fit in the
    memory available and says what to use instead.

    Parameters
    ----------
    l2 : float, default=500.0
        L2 regularisation (the paper's lambda).
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    coef_ : ndarray of shape (n_items, n_items)
        The item-item weight matrix ``B`` (float32, zero diagonal).
    users_, items_ : ndarray
        Ids known from ``fit``.

    Notes
    -----
    Only positive interactions enter ``X`` (with their strengths); explicit
    negatives are excluded from the rankings of their user (``exclude_seen``)
    but carry no weight in ``B``.

    Examples
    --------
    >>> from skrec import EASERecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> rec = EASERecommender(l2=50.0).fit(data.X)
    >>> rec.coef_.shape
    (50, 50)
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "l2": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, l2: float = 500.0, *, augmenter=None, handle_unknown: str = "popular"):
        self.l2 = l2
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    def _fit_model(self, R, data, previous) -> None:
        n_items = R.shape[1]
        need = _DENSE_COPIES * n_items * n_items * 8
        available = _available_memory()
        if need > available:
            raise ValueError(
                f"EASERecommender needs about {need / 2**30:.1f} GiB for its dense "
                f"{n_items:,} x {n_items:,} item matrix but only {available / 2**30:.1f} GiB "
                "is available; use ALSRecommender for large catalogues, or restrict the "
                "catalogue to the most popular items"
            )
        X = R.maximum(0).tocsr()
        gram = (X.T @ X).toarray().astype(np.float64)
        gram[np.diag_indices(n_items)] += self.l2
        P = np.linalg.inv(gram)
        del gram
        B = P / -np.diag(P)
        B[np.diag_indices(n_items)] = 0.0
        self.coef_ = B.astype(np.float32)
        self._X = X

    def _score_users(self, user_idx, item_idx=None):
        B = self.coef_ if item_idx is None else self.coef_[:, item_idx]
        return np.asarray(self._X[user_idx] @ B)

    def _embed_items(self, item_idx):
        return self.coef_[item_idx]
