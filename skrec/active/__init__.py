"""Active learning with modAL: compatibility fix, oracle simulation, learning curves.

Every skrec recommender is a binary classifier of relevance (``predict_proba``
of shape (n, 2), ``classes_ == [0, 1]``), so modAL's ``ActiveLearner`` and
``Committee`` take it as their estimator with no glue, and a pool is a table of
``(user, item)`` rows (numpy array or DataFrame).

Importing this module arranges a narrow, version-gated fix of the installed
modAL 0.4, applied as soon as modAL is imported (before or after this module;
see :func:`modal_compat_applied` and ``docs/active.md``). Neither this module
nor :mod:`skrec` imports modAL.

* :func:`simulate` -- run a query/teach loop against an oracle, over seeds.
* :class:`LearningCurve` -- its result: ``auc``, ``labels_to_reach``, ``plot``,
  ``to_frame``.
* :func:`warm_refits` -- make later rounds continue from the current model.
"""

from skrec.active._compat import apply_modal_compat, install_modal_compat, modal_compat_applied
from skrec.active._curve import LearningCurve
from skrec.active._simulate import simulate, warm_refits

__all__ = [
    "LearningCurve",
    "apply_modal_compat",
    "modal_compat_applied",
    "simulate",
    "warm_refits",
]

install_modal_compat()
