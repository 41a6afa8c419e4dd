"""Successive-halving searches that accept ``y=None``, as every skrec estimator does.

scikit-learn's ``HalvingGridSearchCV`` and ``HalvingRandomSearchCV`` size their
first round (``min_resources="exhaust"`` or ``"smallest"``) from the number of
classes of ``y`` when the estimator is a classifier, and fail when ``y`` is
None. For a recommender, ``y=None`` means that every row is a positive
interaction of weight 1, i.e. one class: these subclasses count it so, and are
otherwise scikit-learn's searches unchanged (``y=None`` still reaches ``fit``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import is_classifier

from skrec.utils._sklearn_compat import SklearnHalvingGridSearchCV, SklearnHalvingRandomSearchCV

__all__ = ["HalvingGridSearchCV", "HalvingRandomSearchCV"]


def _n_rows(X) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None else len(X)


class _ImplicitFeedback:
    def _check_input_parameters(self, X, y, split_params):
        if y is None and is_classifier(self.estimator):
            # y=None is implicit feedback: every row is a positive, one class.
            y = np.ones(_n_rows(X))
        return super()._check_input_parameters(X, y, split_params)


class HalvingGridSearchCV(_ImplicitFeedback, SklearnHalvingGridSearchCV):
    """:class:`sklearn.model_selection.HalvingGridSearchCV` that also runs with ``y=None``.

    The parameters, attributes and behaviour are scikit-learn's (see its
    documentation); only the count of classes used to size the first round
    treats ``y=None`` as all-positive feedback. No ``enable_halving_search_cv``
    import is needed.

    Examples
    --------
    >>> from skrec import EASERecommender
    >>> from skrec.datasets import make_interactions
    >>> from skrec.metrics import make_ranking_scorer
    >>> from skrec.model_selection import HalvingGridSearchCV, PerUserKFold
    >>> data = make_interactions(n_users=100, n_items=40, n_interactions=1500, random_state=0)
    >>> search = HalvingGridSearchCV(
    ...     EASERecommender(), {"l2": [1.0, 10.0, 100.0]},
    ...     cv=PerUserKFold(n_splits=3, random_state=0), scoring=make_ranking_scorer(),
    ...     random_state=0,
    ... ).fit(data.X)
    >>> sorted(search.best_params_)
    ['l2']
    """


class HalvingRandomSearchCV(_ImplicitFeedback, SklearnHalvingRandomSearchCV):
    """:class:`sklearn.model_selection.HalvingRandomSearchCV` that also runs with ``y=None``.

    The parameters, attributes and behaviour are scikit-learn's; only the
    count of classes used to size the first round treats ``y=None`` as
    all-positive feedback.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from skrec import EASERecommender
    >>> from skrec.datasets import make_interactions
    >>> from skrec.metrics import make_ranking_scorer
    >>> from skrec.model_selection import HalvingRandomSearchCV, PerUserKFold
    >>> data = make_interactions(n_users=100, n_items=40, n_interactions=1500, random_state=0)
    >>> search = HalvingRandomSearchCV(
    ...     EASERecommender(), {"l2": loguniform(1.0, 1000.0)}, n_candidates=4,
    ...     cv=PerUserKFold(n_splits=3, random_state=0), scoring=make_ranking_scorer(),
    ...     random_state=0,
    ... ).fit(data.X)
    >>> len(search.cv_results_["params"]) >= 4
    True
    """
