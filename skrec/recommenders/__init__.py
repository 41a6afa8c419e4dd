"""Recommender estimators."""

from skrec.recommenders._als import ALSRecommender
from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._ease import EASERecommender
from skrec.recommenders._popularity import PopularityRecommender

__all__ = [
    "ALSRecommender",
    "BaseRecommender",
    "EASERecommender",
    "PopularityRecommender",
]
