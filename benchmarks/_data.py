"""Data sets the benchmarks share: MovieLens-100K and the Amazon sequences from
$SKREC_DATA (never downloaded here), or synthetic data."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from skrec.datasets import load_movielens, load_sequences, make_interactions
from skrec.metrics import hit_rate_at_k, ndcg_at_k
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


def amazon_sequences(
    name: str, data_home=None, max_users: int | None = None, seed: int = 0
) -> pd.DataFrame | None:
    """Amazon Beauty or Toys (``load_sequences`` names) as (user, item, timestamp) rows, or None.

    ``max_users`` keeps a random subsample of users (seeded by ``seed``).
    """
    try:  # checked against the known file; never downloaded here
        X = load_sequences(name, data_home=data_home, download=False).X
    except FileNotFoundError as exc:
        print(f"skipping {name}: {exc}", file=sys.stderr)
        return None
    if max_users:
        users = X["user"].unique()
        keep = np.random.default_rng(seed).choice(
            users, size=min(max_users, len(users)), replace=False
        )
        X = X[X["user"].isin(keep)]
    return X.reset_index(drop=True)


def leave_one_out_metrics(est, test: pd.DataFrame, ks=(5, 10, 20)) -> dict:
    """HR@k and NDCG@k of each test user's one held-out item, ranked against all items
    except the user's training history (``exclude_seen=True``)."""
    users = test["user"].to_numpy()
    truth = [[item] for item in test["item"].to_numpy()]
    ids, _ = est.recommend(users, n=max(ks), exclude_seen=True)
    out = {}
    for k in ks:
        out[f"HR@{k}"] = hit_rate_at_k(truth, ids, k=k)
        out[f"NDCG@{k}"] = ndcg_at_k(truth, ids, k=k)
    return out
