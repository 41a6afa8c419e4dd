"""
Active learning: which questions to ask new users
=================================================

A new user arrives; we may ask them about a few items ("have you seen it, did
you like it?") before recommending. Which items should we ask about? This
example runs that *preference elicitation* loop against an oracle that answers
from known ratings, with three query strategies, and compares their learning
curves.

A skrec recommender is a binary classifier of relevance, so modAL's
:class:`~modAL.models.ActiveLearner` takes it as its estimator with no glue, and
the samplers of :mod:`skrec.samplers` are modAL query strategies.
:func:`skrec.active.simulate` runs the query/teach rounds and returns a
:class:`~skrec.active.LearningCurve`.
"""

# %%
# Labelled interactions
# ---------------------
# The oracle answers 1 (relevant) for a rating of 4 or 5 and 0 (an explicit
# "no") otherwise. The synthetic fallback has explicit negatives too.

import copy
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from modAL.models import ActiveLearner

import skrec.samplers
from skrec import ALSRecommender
from skrec.active import simulate, warm_refits
from skrec.datasets import load_movielens, make_interactions

QUICK = os.environ.get("SKREC_DOCS_QUICK") == "1"


def load_data():
    if not QUICK:
        try:
            data = load_movielens("100k", download=False)
        except OSError:
            pass
        else:
            return data.X[["user", "item"]].to_numpy(), (data.y >= 4).astype(int)
    data = make_interactions(
        n_users=300, n_items=150, n_interactions=8000, negative_fraction=0.3, random_state=0
    )
    return data.X[["user", "item"]].to_numpy(), (data.y > 0).astype(int)


X, y = load_data()
print(f"{len(X)} labelled rows, {y.mean():.0%} relevant")

# %%
# New users, their pools and their test items
# -------------------------------------------
# We hold out some users with many ratings: the model is trained on everybody
# else. Each held-out user's rated items are split in two: half is the pool we
# may ask them about, the other half is kept aside to measure NDCG@10 of their
# recommendations after every round. ``groups`` makes every round ask *each*
# new user one question, then refit once.
#
# (``X_test="pool"`` instead measures against the relevant pool items not
# asked about yet. That protocol penalises a strategy for asking about the
# items the model would recommend, since each answer removes an easy hit from
# the test set; a fixed test set compares strategies on equal terms.)

n_rounds = 5 if QUICK else 10
users, counts = np.unique(X[:, 0], return_counts=True)
rng = np.random.default_rng(0)
eligible = users[counts >= 2 * n_rounds + 20]
new_users = rng.choice(eligible, size=20 if QUICK else 40, replace=False)
is_new = np.isin(X[:, 0], new_users)
X_train, y_train = X[~is_new], y[~is_new]
new_rows = np.flatnonzero(is_new)
in_test = rng.random(len(new_rows)) < 0.5
X_pool, y_pool = X[new_rows[~in_test]], y[new_rows[~in_test]]
X_test, y_test = X[new_rows[in_test]], y[new_rows[in_test]]

# %%
# One learner, three strategies
# -----------------------------
# The first fit is a full ALS fit. :func:`~skrec.active.warm_refits` then makes
# each later refit start from the current factors and run only two sweeps, so
# a round costs a fraction of a fit. ``simulate`` calls ``make(seed)`` for each
# seed: every run starts from a copy of the same fitted model, with the
# sampler seeded by the run's seed.
#
# * ``random``: ask about random rated items (the passive baseline);
# * ``uncertainty``: ask where the model is least sure (probability near 0.5);
# * ``popularity_entropy``: ask about items that are both popular (the user
#   probably knows them) and divisive (the answer tells something), the
#   classic elicitation heuristic of Rashid et al. (2002).

base = ActiveLearner(
    estimator=ALSRecommender(factors=32, iterations=10, random_state=0),
    query_strategy=skrec.samplers.get("random"),
    X_training=X_train,
    y_training=y_train,
)
warm_refits(base, iterations=2)


def learner_factory(strategy):
    def make(seed):
        learner = copy.deepcopy(base)
        learner.query_strategy = skrec.samplers.get(strategy, random_state=seed)
        return learner

    return make


curves = {}
for strategy in ["random", "uncertainty", "popularity_entropy"]:
    curves[strategy] = simulate(
        learner_factory(strategy),
        X_pool,
        y_pool,
        X_test=X_test,
        y_test=y_test,
        groups=X_pool[:, 0],
        n_queries=n_rounds,
        batch_size=1,
        seeds=(0, 1) if QUICK else (0, 1, 2),
        name=strategy,
        verbose=False,
    )

# %%
# The learning curves
# -------------------
# ``LearningCurve.plot`` draws the mean over seeds with a band of one standard
# deviation. The point at 0 labels is the model before any question: for an
# unknown user that is the popularity fallback, so a curve may dip after the
# first answer (a one-item profile is noisier than "most popular") before it
# climbs.

fig, ax = plt.subplots(figsize=(6, 4))
for strategy, curve in curves.items():
    curve.plot(ax=ax, label=strategy, marker="o", ms=3)
ax.set_xlabel("questions answered per new user")
ax.set_title("Preference elicitation: NDCG@10 of new users")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()

# %%
# Reading the curves with numbers
# -------------------------------
# ``auc()`` is the mean metric over the budget (it rewards curves that rise
# early); ``labels_to_reach(v)`` is the first number of labels at which the
# mean curve reaches ``v``. Comparing with random sampling's final value tells
# how many questions a strategy saves. Differences inside the bands are noise:
# run more seeds and more users before concluding.
#
# Mind what the simulation leaves out: every pool item is one the user has
# rated, so every question gets an answer. That removes the main reason to ask
# about popular items (people can answer them); with real users, questions
# about obscure items often go unanswered, which favours ``popularity`` and
# ``popularity_entropy`` more than this oracle does.

target = curves["random"].mean[-1]
pd.DataFrame(
    {
        "AUC": {s: c.auc() for s, c in curves.items()},
        "final NDCG@10": {s: c.mean[-1] for s, c in curves.items()},
        "questions to reach random's final": {
            s: c.labels_to_reach(target) for s, c in curves.items()
        },
        "median round (s)": {s: np.median(c.round_times) for s, c in curves.items()},
    }
).round(4)

# %%
# ``to_frame`` gives every point of every seed in long format, to plot or save.

curves["random"].to_frame().head()
