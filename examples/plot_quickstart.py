"""
Quickstart: fit, recommend, evaluate
====================================

Fit three recommenders on the same interactions, ask them for top-10 lists and
compare them on held-out interactions with NDCG@10.

The example uses MovieLens-100K when a local copy is found under
``$SKREC_DATA/ml-100k`` (it never downloads), and synthetic data from
:func:`skrec.datasets.make_interactions` otherwise.
"""

# %%
# Load interactions
# -----------------
# Every skrec estimator takes an *interaction table* ``X``: column 0 (or
# ``user``) is the user id, column 1 (or ``item``) the item id, and an optional
# ``timestamp`` orders the rows in time. ``y`` is optional feedback, one value
# per row. On MovieLens, ratings of 4 and 5 are the positive interactions.

import os

import matplotlib.pyplot as plt
import pandas as pd

from skrec import ALSRecommender, EASERecommender, PopularityRecommender
from skrec.datasets import load_movielens, make_interactions
from skrec.model_selection import PerUserKFold

QUICK = os.environ.get("SKREC_DOCS_QUICK") == "1"


def load_data():
    """MovieLens-100K positives when a local copy exists, else synthetic data."""
    if not QUICK:
        try:
            data = load_movielens("100k", download=False)
        except OSError:
            pass
        else:
            return data.X[data.y >= 4], "MovieLens-100K (ratings >= 4)"
    data = make_interactions(n_users=300, n_items=150, n_interactions=6000, random_state=0)
    return data.X, "synthetic"


X, name = load_data()
print(f"{name}: {len(X)} interactions, {X['user'].nunique()} users, {X['item'].nunique()} items")
X.head()

# %%
# Hold out some interactions of every user
# ----------------------------------------
# :class:`~skrec.model_selection.PerUserKFold` spreads each user's interactions
# over the folds, so every test user also has training data. We keep one fold
# of five for testing.

train_idx, test_idx = next(PerUserKFold(n_splits=5, random_state=0).split(X))
X_train, X_test = X.iloc[train_idx], X.iloc[test_idx]

# %%
# Fit and recommend
# -----------------
# ``fit`` learns from the interactions; ``recommend`` returns two arrays of
# shape ``(n_users, n)``: item ids and their scores, best first. Items a user
# already interacted with in ``fit`` are left out (``exclude_seen=True``).

als = ALSRecommender(factors=32, iterations=10, random_state=0).fit(X_train)
users = X_test["user"].unique()[:3]
ids, scores = als.recommend(users, n=5)
pd.DataFrame(ids, index=pd.Index(users, name="user"))

# %%
# Every recommender is also a binary classifier of relevance:
# ``predict_proba`` gives calibrated probabilities for (user, item) rows, which
# is what modAL and scikit-learn's tools build on.

als.predict_proba(X_test.head(3))

# %%
# Compare models
# --------------
# ``score`` is NDCG@10 of the top-10 lists against the positive rows of the
# held-out table. The popularity baseline gives everybody the same list; a
# model is only useful if it beats it.

models = {
    "popularity": PopularityRecommender(),
    "EASE": EASERecommender(l2=100.0 if QUICK else 500.0),
    "ALS": ALSRecommender(factors=32, iterations=10, random_state=0),
}
results = pd.Series({label: est.fit(X_train).score(X_test) for label, est in models.items()})
print(results.round(4).to_string())

fig, ax = plt.subplots(figsize=(5, 3))
results.plot.barh(ax=ax, color="tab:blue")
ax.set_xlabel("NDCG@10 on held-out interactions")
ax.set_title(name)
fig.tight_layout()
