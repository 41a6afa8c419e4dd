"""Find every recommender skrec exports, as :func:`sklearn.utils.discovery.all_estimators` does.

The test suite runs the conformance suite over :func:`all_recommenders`, so a
new recommender is checked as soon as it is exported: it cannot be forgotten
in a hand-kept list.
"""

from __future__ import annotations

import importlib
import inspect

__all__ = ["all_recommenders"]


def all_recommenders(*, plugins: bool = False) -> list[tuple[str, type]]:
    """``(name, class)`` of every concrete recommender in ``skrec.recommenders.__all__``.

    Lazily exported recommenders (those that need an optional dependency)
    are imported; one whose dependency is missing raises the ImportError that
    names the extra to install, rather than being left out silently.

    Parameters
    ----------
    plugins : bool, default=False
        Also list the recommender classes that installed plugins register in
        the entry-point group ``skrec.recommenders`` (named by their registry
        name).

    Returns
    -------
    list of (str, type)
        Built-ins sorted by name, then plugins; abstract classes
        (``BaseRecommender``) are left out.

    Examples
    --------
    >>> from skrec.utils.discovery import all_recommenders
    >>> names = [name for name, _ in all_recommenders()]
    >>> "EASERecommender" in names and "BaseRecommender" not in names
    True
    """
    package = importlib.import_module("skrec.recommenders")
    base = package.BaseRecommender
    found = []
    for name in sorted(package.__all__):
        obj = getattr(package, name)
        if inspect.isclass(obj) and issubclass(obj, base) and not inspect.isabstract(obj):
            found.append((name, obj))
    if plugins:
        known = {cls for _, cls in found}
        for name, source in package.available().items():
            if source == "built-in" or source.startswith("registered"):
                continue
            obj = package.registry.load(name)
            if inspect.isclass(obj) and issubclass(obj, base) and obj not in known:
                found.append((name, obj))
    return found
