"""skrec: recommender systems that are real scikit-learn estimators.

Importing :mod:`skrec` is cheap: the optional back-ends (implicit's compiled
code paths, torch, sentence-transformers, modAL) are imported only when an
estimator that needs them is fitted.
"""

from skrec._version import __version__
from skrec.recommenders import (
    ALSRecommender,
    BaseRecommender,
    EASERecommender,
    PopularityRecommender,
)

__all__ = [
    "ALSRecommender",
    "BaseRecommender",
    "EASERecommender",
    "PopularityRecommender",
    "__version__",
]
