"""skrec: recommender systems that are real scikit-learn estimators.

Importing :mod:`skrec` is cheap: the optional back-ends (torch,
sentence-transformers, modAL, pyspark, implicit's compiled code) are imported only when
an estimator that needs them is used.
"""

from skrec import recommenders as _recommenders
from skrec._version import __version__
from skrec.recommenders import (
    ALSRecommender,
    BaseRecommender,
    BPRRecommender,
    EASERecommender,
    ItemKNNRecommender,
    LMFRecommender,
    MultVAERecommender,
    PopularityRecommender,
)

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
    "SentenceTransformerRecommender",
    "SparkALSRecommender",
    "TransformerRecommender",
    "__version__",
]


def __getattr__(name):
    if name in _recommenders._LAZY:
        return getattr(_recommenders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
