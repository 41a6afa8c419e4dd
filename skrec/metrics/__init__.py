"""Ranking metrics and scorers for recommendations.

Metrics take per-user relevant items (``y_true``) and ranked recommendations
(``y_pred``) and use binary relevance; their definitions agree with
:mod:`implicit.evaluation`. :func:`make_ranking_scorer` turns any of them into a
``scoring=`` callable for scikit-learn's model selection tools.
"""

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

__all__ = [
    "catalog_coverage",
    "find_recommender",
    "hit_rate_at_k",
    "make_ranking_scorer",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "ranking_score",
    "recall_at_k",
]
