"""
Writing a sampler and an augmenter plugin
=========================================

skrec finds *samplers* (which rows to label next) and *augmenters* (how to
expand the training data) by name, in two registries. A package publishes its
own through the entry-point groups ``skrec.samplers`` and ``skrec.augmenters``
(see the plugin guide); inside one process, the decorators
:func:`skrec.samplers.register` and :func:`skrec.augmenters.register` do the
same. This example writes one of each, checks them with the checks every
built-in passes, and uses them by name.
"""

# %%
# A sampler: least-known items first
# ----------------------------------
# Derive from :class:`~skrec.samplers.BaseSampler` and implement ``_query``. It
# receives the learner, the pool as given, the validated pool (``pool.items``,
# ``pool.users``), how many rows to return and a seeded random generator, and
# returns pool row indices, most informative first.
# :func:`~skrec.samplers.find_recommenders` digs the fitted recommender out of
# a modAL learner, a committee or a pipeline.

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV

import skrec.augmenters
import skrec.samplers
from skrec import ALSRecommender
from skrec.augmenters import BaseAugmenter
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold
from skrec.samplers import BaseSampler, find_recommenders, select_top
from skrec.utils.estimator_checks import check_augmenter, check_sampler

QUICK = os.environ.get("SKREC_DOCS_QUICK") == "1"


@skrec.samplers.register("least_known")
class LeastKnownSampler(BaseSampler):
    """Ask about the items the model has seen least often."""

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        rec = find_recommenders(learner)[0]
        idx = pd.Index(rec.items_).get_indexer(pool.items)
        counts = np.where(idx >= 0, rec.item_popularity_[np.maximum(idx, 0)], 0.0)
        return select_top(-counts, n, rng)  # random tie-breaking


# %%
# An augmenter: give recent interactions more weight
# --------------------------------------------------
# Derive from :class:`~skrec.augmenters.BaseAugmenter` and implement
# ``_fit_resample``. It receives the validated interactions (``data.users``,
# ``data.items``, ``data.timestamps``, ``data.y_or_ones()``, ``data.to_frame()``)
# and returns a new table and its feedback: the imbalanced-learn
# ``fit_resample`` contract. This one repeats each user's latest positive rows;
# recommenders sum duplicate rows, so those interactions weigh more.


@skrec.augmenters.register("boost_recent")
class BoostRecentAugmenter(BaseAugmenter):
    """Repeat each user's ``n`` latest positive rows with strength ``weight``."""

    def __init__(self, n=1, weight=1.0):
        self.n = n
        self.weight = weight

    def _fit_resample(self, data):
        frame, y = data.to_frame(), data.y_or_ones()
        # Rows in time order: by timestamp when there is one, else row order.
        order = np.arange(len(y))
        if data.timestamps is not None:
            order = np.argsort(data.timestamps, kind="stable")
        positives = order[y[order] > 0]
        latest = pd.Series(positives).groupby(data.users[positives]).tail(self.n).to_numpy()
        X_new = pd.concat([frame, frame.iloc[latest]], ignore_index=True)
        y_new = np.concatenate([y, np.full(len(latest), float(self.weight))])
        return X_new, y_new


# %%
# Check them
# ----------
# :mod:`skrec.utils.estimator_checks` runs the rules every built-in follows
# (clonable, inputs untouched, right shapes and ids, reproducible with a seed)
# and raises an ``AssertionError`` naming the first one broken. Put these two
# calls in your plugin's tests.

check_sampler(LeastKnownSampler())
check_augmenter(BoostRecentAugmenter())
print("both plugins pass the checks")

# %%
# The registries now list them next to the built-ins, with where they come
# from.

pd.Series(skrec.samplers.available(), name="source").to_frame()

# %%
# Use them by name
# ----------------
# A registered name works wherever a built-in name does. The sampler is a modAL
# query strategy; here we call it directly on a fitted recommender.

data = make_interactions(
    n_users=150 if QUICK else 400,
    n_items=80 if QUICK else 200,
    n_interactions=3000 if QUICK else 12000,
    random_state=0,
)
X = data.X  # user, item, timestamp
rec = ALSRecommender(factors=16, iterations=5, random_state=0).fit(X)
pool = X.sample(200, random_state=0)
chosen = skrec.samplers.get("least_known", random_state=0)(rec, pool, n_instances=5)
pool.iloc[chosen]

# %%
# An augmenter name is a value of every recommender's ``augmenter``
# parameter, so a grid search can ask whether it helps.

search = GridSearchCV(
    ALSRecommender(factors=16, iterations=5, random_state=0),
    {"augmenter": [None, "boost_recent", BoostRecentAugmenter(n=3, weight=2.0)]},
    cv=PerUserKFold(n_splits=3, random_state=0),
    scoring=make_ranking_scorer("ndcg", k=10),
)
search.fit(X)
scores = pd.Series(
    search.cv_results_["mean_test_score"],
    index=[repr(p) for p in search.cv_results_["param_augmenter"]],
)
fig, ax = plt.subplots(figsize=(6, 2.5))
scores.plot.barh(ax=ax)
ax.set_xlabel("NDCG@10 (3-fold mean)")
ax.set_title("augmenter=")
fig.tight_layout()
