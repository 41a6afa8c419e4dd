"""Augmenters: training-data expansion and perturbation, plus their registry.

An augmenter follows the imbalanced-learn contract ``fit_resample(X, y) ->
(X_new, y_new)`` on interaction tables (see :class:`BaseAugmenter`).
Recommenders take ``augmenter=`` (a name, an instance or None) and apply it in
``fit`` only, so ``GridSearchCV`` can search over augmenters; an augmenter is
also a valid step of :class:`imblearn.pipeline.Pipeline`.

Built-ins:

===================  ==========================================================
``crop``             random contiguous crop of each history (sequence view)
``mask``             random item dropout / masking (sequence view)
``reorder``          shuffle of a random sub-window (sequence view)
``substitute``       swap items for similar ones
``similar_items``    add each positive's nearest neighbours as weak positives
``text_neighbours``  the same with text-embedding neighbours; reaches cold items
``negatives``        sampled non-interactions as ``y = 0`` rows
===================  ==========================================================

Third-party augmenters are found through the entry-point group
``skrec.augmenters`` (see ``docs/plugins.md``).

Examples
--------
>>> import skrec.augmenters
>>> {"crop", "mask", "negatives"} <= set(skrec.augmenters.available())
True
>>> skrec.augmenters.get("crop", eta=0.5)
CropAugmenter(eta=0.5)
"""

from __future__ import annotations

from sklearn.base import clone

from skrec._plugins import PluginConflictError, PluginWarning, Registry
from skrec.augmenters._base import BaseAugmenter, is_pseudo_user, make_frame, pseudo_user_id
from skrec.augmenters._negatives import NegativeSamplingAugmenter
from skrec.augmenters._sequence import CropAugmenter, MaskAugmenter, ReorderAugmenter
from skrec.augmenters._similarity import SimilarItemsAugmenter, SubstituteAugmenter
from skrec.augmenters._text import TextNeighboursAugmenter

__all__ = [
    "BaseAugmenter",
    "CropAugmenter",
    "MaskAugmenter",
    "NegativeSamplingAugmenter",
    "PluginConflictError",
    "PluginWarning",
    "ReorderAugmenter",
    "SimilarItemsAugmenter",
    "SubstituteAugmenter",
    "TextNeighboursAugmenter",
    "available",
    "get",
    "is_pseudo_user",
    "make_frame",
    "pseudo_user_id",
    "refresh",
    "register",
    "registry",
    "resolve",
]

#: The augmenter registry (entry-point group ``skrec.augmenters``).
registry = Registry("skrec.augmenters", BaseAugmenter, required="fit_resample", kind="augmenter")
for _name, _cls in {
    "crop": CropAugmenter,
    "mask": MaskAugmenter,
    "reorder": ReorderAugmenter,
    "substitute": SubstituteAugmenter,
    "similar_items": SimilarItemsAugmenter,
    "text_neighbours": TextNeighboursAugmenter,
    "negatives": NegativeSamplingAugmenter,
}.items():
    registry.add_builtin(_name, _cls)
del _name, _cls


available, get, register, refresh = registry.module_functions(
    __name__,
    params="Constructor parameters.",
    returns="An object with ``fit_resample``.",
    examples={
        "available": """
            >>> import skrec.augmenters
            >>> skrec.augmenters.available()["negatives"]
            'built-in'
        """,
        "get": """
            >>> import skrec.augmenters
            >>> skrec.augmenters.get("negatives", n_per_positive=2)
            NegativeSamplingAugmenter(n_per_positive=2)
        """,
        "register": """
            >>> import skrec.augmenters
            >>> from skrec.augmenters import BaseAugmenter
            >>> @skrec.augmenters.register("doc_identity")
            ... class Identity(BaseAugmenter):
            ...     def _fit_resample(self, data):
            ...         return data.to_frame(), data.y_or_ones().copy()
            >>> skrec.augmenters.get("doc_identity")
            Identity()
        """,
    },
)


def resolve(spec):
    """The augmenter an estimator's ``augmenter=`` parameter stands for.

    Parameters
    ----------
    spec : None, str or object with ``fit_resample``
        None (no augmentation), a registered name, or an augmenter instance.

    Returns
    -------
    augmenter or None
        None for None; a new instance for a name; an unfitted clone of an
        instance (so the estimator's parameter is never modified).

    Raises
    ------
    TypeError
        When ``spec`` is none of these.

    Examples
    --------
    >>> from skrec.augmenters import MaskAugmenter, resolve
    >>> resolve(None) is None, resolve("mask")
    (True, MaskAugmenter())
    >>> resolve(MaskAugmenter(gamma=0.5))
    MaskAugmenter(gamma=0.5)
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        return get(spec)
    if hasattr(spec, "fit_resample") and not isinstance(spec, type):
        return clone(spec, safe=False)
    raise TypeError(
        "augmenter must be None, the name of an installed augmenter "
        f"(one of {sorted(available())}) or an object with fit_resample, "
        f"got {type(spec).__name__}: {spec!r}"
    )
