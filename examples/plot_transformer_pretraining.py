"""
A sequential transformer with self-supervised pretraining
=========================================================

:class:`~skrec.TransformerRecommender` reads each user's history *in order*
and predicts the next item (the SASRec family of models). It is a torch module
trained through skorch, and still an ordinary scikit-learn estimator.

Self-supervision adds a second training signal from the same histories:
``pretrain="contrastive"`` (CL4SRec) makes two augmented views of a sequence
agree, ``pretrain="mlm"`` (BERT4Rec-style) first learns to fill in masked
items. This example fits the three variants for a few epochs and compares
their validation curves and held-out accuracy. The training runs on the GPU
when there is one (``device="auto"``).
"""

# %%
# Sequential data
# ---------------
# :func:`~skrec.datasets.make_interactions` with ``sequential=True`` (the
# default) draws each user's items with an order to them, and a ``timestamp``
# column. :class:`~skrec.model_selection.LeaveLastOut` holds out each user's
# last interaction: the model must predict what comes next.

import os

import matplotlib.pyplot as plt
import pandas as pd

from skrec import ALSRecommender, PopularityRecommender, TransformerRecommender
from skrec.datasets import make_interactions
from skrec.model_selection import LeaveLastOut

QUICK = os.environ.get("SKREC_DOCS_QUICK") == "1"

data = make_interactions(
    n_users=200 if QUICK else 400,
    n_items=100 if QUICK else 150,
    n_interactions=3000 if QUICK else 8000,
    random_state=0,
)
X = data.X
train_idx, test_idx = next(LeaveLastOut(n=1).split(X))
X_train, X_test = X.iloc[train_idx], X.iloc[test_idx]
X_train.head()

# %%
# Fit three variants
# ------------------
# A small model (one attention block of width 32, the 20 most recent items)
# trained for a few epochs. While training, the estimator holds out the last
# training item of each user and records NDCG@10 on them after every epoch
# (``valid_ndcg``); ``patience`` stops training when it stalls and keeps the
# best epoch's weights. Set ``verbose=True`` to see skorch's epoch table.

common = dict(
    embedding_dim=32,
    n_layers=1,
    max_len=20,
    lr=3e-3,
    max_epochs=3 if QUICK else 10,
    patience=5,
    random_state=0,
)
variants = {
    "next-item only": TransformerRecommender(**common),
    "contrastive": TransformerRecommender(pretrain="contrastive", **common),
    "masked items": TransformerRecommender(pretrain="mlm", pretrain_epochs=2, **common),
}
for est in variants.values():
    est.fit(X_train)

# %%
# Validation curves
# -----------------
# ``net_`` is the fitted :class:`skorch.NeuralNet`; its ``history`` holds
# the per-epoch training loss and validation NDCG@10. For ``pretrain="mlm"``
# the masked-item epochs are in ``pretrain_history_``.

fig, ax = plt.subplots(figsize=(6, 3.5))
for label, est in variants.items():
    ax.plot(
        est.net_.history[:, "epoch"], est.net_.history[:, "valid_ndcg"], marker="o", label=label
    )
ax.set_xlabel("epoch of next-item training")
ax.set_ylabel("validation NDCG@10")
ax.legend()
ax.grid(alpha=0.3)
fig.tight_layout()

# %%
# Held-out accuracy
# -----------------
# ``score`` is NDCG@10 of each user's held-out last item, ranked against every
# item the user has not seen. Popularity and ALS (which ignores order) are the
# baselines. With this few epochs the ranking of the variants can change from
# one data set to the next: measure on yours (``benchmarks/bench_transformer.py``
# reproduces the published SASRec/CL4SRec protocol on Amazon data).

baselines = {
    "popularity": PopularityRecommender(),
    "ALS": ALSRecommender(factors=32, random_state=0),
}
scores = {label: est.fit(X_train).score(X_test) for label, est in baselines.items()}
scores.update({label: est.score(X_test) for label, est in variants.items()})
scores = pd.Series(scores, name="NDCG@10")
best_epoch = pd.Series(
    {label: est.best_epoch_ for label, est in variants.items()}, name="best epoch", dtype="Int64"
)
pd.concat([scores, best_epoch], axis=1).round(4)

# %%
# The estimator is a scikit-learn estimator
# -----------------------------------------
# Parameters are plain constructor arguments, so ``clone``, ``GridSearchCV``
# (e.g. over ``pretrain`` or ``contrastive_weight``) and pickling work as for
# every skrec recommender; ``embed_items`` returns the learned item table.

est = variants["contrastive"]
print(est.embed_items(est.items_[:3]).shape)
ids, _ = est.recommend(X_test["user"].iloc[:3], n=5)
ids
