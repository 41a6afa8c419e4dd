"""Recommender estimators.

``TransformerRecommender``, ``SentenceTransformerRecommender`` and
``SparkALSRecommender`` load lazily: importing this package never imports
torch, sentence-transformers or pyspark.
"""

import importlib

from skrec.recommenders._als import ALSRecommender
from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._ease import EASERecommender
from skrec.recommenders._popularity import PopularityRecommender

_LAZY = {
    "TransformerRecommender": "skrec.recommenders._transformer",
    "SentenceTransformerRecommender": "skrec.recommenders._sentence",
    "HybridRecommender": "skrec.recommenders._hybrid",
    "SparkALSRecommender": "skrec.recommenders._spark_als",
}

__all__ = [
    "ALSRecommender",
    "BaseRecommender",
    "EASERecommender",
    "HybridRecommender",
    "PopularityRecommender",
    "SentenceTransformerRecommender",
    "SparkALSRecommender",
    "TransformerRecommender",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
