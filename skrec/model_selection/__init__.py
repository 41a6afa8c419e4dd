"""Cross-validation splitters for interaction data.

Each splitter is a scikit-learn cross-validator: ``split(X, y=None, groups=None)``
yields ``(train, test)`` row indices into the interaction table ``X`` and
``get_n_splits()`` gives their number, so it can be passed as ``cv=`` to
``GridSearchCV``, ``RandomizedSearchCV`` or ``cross_validate``.

- :class:`PerUserKFold`: k-fold within each user, so every test user is known.
- :class:`LeaveLastOut`: the last ``n`` interactions of each user, by time.
- :class:`TemporalSplit`: one global time cut, or expanding windows.
- :class:`ColdItemKFold`: whole items held out (cold-start evaluation).
"""

from ._search import HalvingGridSearchCV, HalvingRandomSearchCV
from ._split import ColdItemKFold, LeaveLastOut, PerUserKFold, TemporalSplit

__all__ = [
    "PerUserKFold",
    "LeaveLastOut",
    "TemporalSplit",
    "ColdItemKFold",
    "HalvingGridSearchCV",
    "HalvingRandomSearchCV",
]
