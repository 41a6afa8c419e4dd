"""Recommender estimators, and the registry that finds them by name.

``TransformerRecommender``, ``SentenceTransformerRecommender`` and
``SparkALSRecommender`` load lazily: importing this package never imports
torch, sentence-transformers or pyspark.

Every recommender is also available by name through :func:`get` (the exported
classes as ``"als"``, ``"ease"``, ``"popularity"``, ``"transformer"``, ...,
and third-party recommenders registered in the entry-point group
``skrec.recommenders``), so a :class:`HybridRecommender` member may be given
as a string.
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
from skrec.recommenders._registry import add_builtins, registry

_LAZY = {
    "TransformerRecommender": "skrec.recommenders._transformer",
    "SentenceTransformerRecommender": "skrec.recommenders._sentence",
    "HybridRecommender": "skrec.recommenders._hybrid",
    "SparkALSRecommender": "skrec.recommenders._spark_als",
}

__all__ = [
    "available",
    "get",
    "refresh",
    "register",
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
    "SparkALSRecommender",
    "TransformerRecommender",
]


add_builtins(name for name in __all__ if name[:1].isupper())
available, get, register, refresh = registry.module_functions(
    __name__,
    params="Constructor parameters of the recommender.",
    returns="An unfitted recommender.",
    examples={
        "available": """
            >>> import skrec.recommenders
            >>> skrec.recommenders.available()["als"]
            'built-in'
        """,
        "get": """
            >>> import skrec.recommenders
            >>> skrec.recommenders.get("ease", l2=10.0)
            EASERecommender(l2=10.0)
        """,
        "register": """
            >>> import skrec.recommenders
            >>> from skrec import PopularityRecommender
            >>> @skrec.recommenders.register("doc_popular")
            ... class DocPopular(PopularityRecommender):
            ...     pass
            >>> skrec.recommenders.get("doc_popular")
            DocPopular()
        """,
    },
)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
