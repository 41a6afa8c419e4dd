"""Ranking metrics, per-user evaluation, significance tests and scorers.

Metrics take per-user relevant items (``y_true``) and ranked recommendations
(``y_pred``); relevance is binary, or graded when ``y_true`` maps items to
grades. Their binary definitions agree with :mod:`implicit.evaluation` and,
with the options documented on each, with ``ranx``. Every ``*_at_k`` metric
returns per-user values with ``per_user=True``; :func:`evaluate` computes all
of them for a fitted recommender, with bootstrap confidence intervals
(:func:`bootstrap_ci`), and :func:`paired_test` compares models on the same
users. :func:`novelty`, :func:`intra_list_diversity` and
:func:`catalog_coverage` look beyond accuracy. :func:`make_ranking_scorer`
turns a metric into a ``scoring=`` callable for scikit-learn's model
selection tools.
"""

from ._beyond import intra_list_diversity, novelty
from ._evaluate import evaluate
from ._ranking import (
    catalog_coverage,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from ._scorer import find_recommender, make_ranking_scorer, ranking_score
from ._stats import bootstrap_ci, paired_test

__all__ = [
    "bootstrap_ci",
    "catalog_coverage",
    "evaluate",
    "find_recommender",
    "hit_rate_at_k",
    "intra_list_diversity",
    "make_ranking_scorer",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "paired_test",
    "precision_at_k",
    "ranking_score",
    "recall_at_k",
]
