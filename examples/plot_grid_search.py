"""
Grid search with a ranking scorer
=================================

Tune :class:`~skrec.ALSRecommender` with scikit-learn's own
:class:`~sklearn.model_selection.GridSearchCV`: a skrec splitter as ``cv=``
and ranking scorers from :func:`~skrec.metrics.make_ranking_scorer` as
``scoring=``. Nothing else is needed: a skrec recommender is a scikit-learn
estimator.
"""

# %%
# Data
# ----
# MovieLens-100K positives when a local copy exists under ``$SKREC_DATA``,
# synthetic data otherwise.

import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV

from skrec import ALSRecommender
from skrec.datasets import load_movielens, make_interactions
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold

QUICK = os.environ.get("SKREC_DOCS_QUICK") == "1"


def load_data():
    if not QUICK:
        try:
            data = load_movielens("100k", download=False)
        except OSError:
            pass
        else:
            return data.X[data.y >= 4][["user", "item"]]
    data = make_interactions(n_users=300, n_items=150, n_interactions=6000, random_state=0)
    return data.X[["user", "item"]]


X = load_data()

# %%
# Search
# ------
# :class:`~skrec.model_selection.PerUserKFold` puts part of every user's
# interactions in each test fold, so that every test user is known to the
# model. Each scorer ranks all items for the test users (leaving out what they
# saw in training) and compares the top-k with their held-out interactions.
# With several scorers, ``refit`` names the one that picks the best model.

scoring = {
    "ndcg@10": make_ranking_scorer("ndcg", k=10),
    "recall@20": make_ranking_scorer("recall", k=20),
}
search = GridSearchCV(
    ALSRecommender(iterations=8, random_state=0),
    param_grid={"factors": [16, 64], "regularization": [0.01, 1.0]},
    cv=PerUserKFold(n_splits=3, random_state=0),
    scoring=scoring,
    refit="ndcg@10",
)
search.fit(X)
print("best parameters:", search.best_params_)
print(f"best NDCG@10: {search.best_score_:.4f}")

# %%
# ``cv_results_`` holds every candidate's mean and spread per scorer.

results = pd.DataFrame(search.cv_results_)
columns = [
    "param_factors",
    "param_regularization",
    "mean_test_ndcg@10",
    "std_test_ndcg@10",
    "mean_test_recall@20",
    "rank_test_ndcg@10",
]
results[columns].sort_values("rank_test_ndcg@10")

# %%
# Plot the mean NDCG@10 of each candidate with one standard deviation over the
# folds.

fig, ax = plt.subplots(figsize=(5, 3))
for reg, group in results.groupby("param_regularization"):
    ax.errorbar(
        group["param_factors"].astype(int),
        group["mean_test_ndcg@10"],
        yerr=group["std_test_ndcg@10"],
        marker="o",
        capsize=3,
        label=f"regularization={reg}",
    )
ax.set_xlabel("factors")
ax.set_ylabel("NDCG@10 (3-fold mean)")
ax.legend()
fig.tight_layout()

# %%
# The refitted best model is an ordinary fitted recommender.

ids, scores = search.best_estimator_.recommend(X["user"].unique()[:2], n=5)
ids
