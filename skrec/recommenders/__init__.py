"""Recommender estimators.

``TransformerRecommender`` and ``SentenceTransformerRecommender`` load lazily:
importing this package never imports torch or sentence-transformers.
"""

import importlib

from skrec.recommenders._als import ALSRecommender
from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._bpr import BPRRecommender
from skrec.recommenders._ease import EASERecommender
from skrec.recommenders._ids import PreviousFit
from skrec.recommenders._item_knn import ItemKNNRecommender
from skrec.recommenders._lmf import LMFRecommender
from skrec.recommenders._multvae import MultVAERecommender
from skrec.recommenders._popularity import PopularityRecommender

_LAZY = {
    "TransformerRecommender": "skrec.recommenders._transformer",
    "SentenceTransformerRecommender": "skrec.recommenders._sentence",
    "HybridRecommender": "skrec.recommenders._hybrid",
}

__all__ = [
    "ALSRecommender",
    "BPRRecommender",
    "BaseRecommender",
    "EASERecommender",
    "HybridRecommender",
    "ItemKNNRecommender",
    "LMFRecommender",
    "MultVAERecommender",
    "PopularityRecommender",
    "PreviousFit",
    "SentenceTransformerRecommender",
    "TransformerRecommender",
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
