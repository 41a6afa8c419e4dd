"""The recommender registry: built-in recommenders by name, and third-party ones by entry point.

A recommender is usable by name wherever skrec takes one (a member of
:class:`~skrec.HybridRecommender` given as a string, for instance). The
built-in names are derived from the exported classes (``ALSRecommender`` ->
``"als"``, ``ItemKNNRecommender`` -> ``"item_knn"``), so a new recommender is
registered as soon as it is exported; plugins register theirs in the
entry-point group ``skrec.recommenders``.
"""

from __future__ import annotations

import importlib
import re

from skrec._plugins import Lazy, Registry
from skrec.recommenders._base import BaseRecommender

__all__ = ["builtin_name", "registry", "resolve_recommender"]

#: The recommender registry (entry-point group ``skrec.recommenders``).
registry = Registry("skrec.recommenders", BaseRecommender, required="recommend", kind="recommender")


def builtin_name(class_name: str) -> str:
    """The registry name of a recommender class: ``"ItemKNNRecommender"`` -> ``"item_knn"``.

    Examples
    --------
    >>> from skrec.recommenders._registry import builtin_name
    >>> builtin_name("ALSRecommender"), builtin_name("SentenceTransformerRecommender")
    ('als', 'sentence_transformer')
    """
    stem = class_name.removesuffix("Recommender")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", stem).lower()


def add_builtins(names) -> None:
    """Register the exported recommender classes ``names`` of :mod:`skrec.recommenders`."""
    for name in names:
        if name.endswith("Recommender") and name != "BaseRecommender":
            registry.add_builtin(builtin_name(name), Lazy(_loader(name)))


def _loader(name: str):
    def load():
        return getattr(importlib.import_module("skrec.recommenders"), name)

    return load


def resolve_recommender(spec, *, owner: str):
    """A recommender from a registry name (a new default instance) or an instance (as is).

    Parameters
    ----------
    spec : str or recommender
        A name of :func:`skrec.recommenders.available`, or a recommender.
    owner : str
        Who asks, for error messages.

    Returns
    -------
    recommender
    """
    if isinstance(spec, str):
        return registry.get(spec)
    if not isinstance(spec, BaseRecommender):
        raise TypeError(
            f"{owner} takes skrec recommenders (subclasses of skrec.BaseRecommender), their "
            f"registry names or 'drop'; got a {type(spec).__name__}"
        )
    return spec
