"""Data sets the benchmarks share (MovieLens-100K from $SKREC_DATA, or synthetic)."""

from __future__ import annotations

import numpy as np

from skrec.datasets import load_movielens, make_interactions
from skrec.model_selection import PerUserKFold


def movielens_positives():
    """MovieLens-100K ratings >= 4 as positive (user, item) rows, or None when absent."""
    try:
        data = load_movielens("100k", download=False)
    except OSError:
        return None
    X = data.X[data.y >= 4][["user", "item"]].to_numpy()
    return X, data


def synthetic(n_interactions: int, seed: int = 0):
    n_users = max(100, n_interactions // 50)
    n_items = max(50, n_interactions // 250)
    data = make_interactions(
        n_users=n_users, n_items=n_items, n_interactions=n_interactions, random_state=seed
    )
    return data.X[["user", "item"]].to_numpy(), data


def holdout(X: np.ndarray, seed: int = 0):
    """One fold of a 5-fold PerUserKFold: (train rows, test rows)."""
    train, test = next(PerUserKFold(n_splits=5, random_state=seed).split(X))
    return X[train], X[test]
