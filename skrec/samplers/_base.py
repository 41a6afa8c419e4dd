"""The sampler base class and helpers shared by samplers.

A sampler is a modAL query strategy: ``sampler(learner, X_pool, n_instances=1)``
returns the indices of the pool rows to label next. ``learner`` is a modAL
``ActiveLearner`` (``.estimator``), a ``Committee`` (``.learner_list``) or a
bare fitted recommender; :func:`find_recommenders` finds the recommender(s)
inside any of them.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skrec.utils.validation import Interactions, check_interactions

__all__ = ["BaseSampler", "find_recommenders", "select_top"]


def find_recommenders(learner) -> list:
    """The fitted recommender(s) a modAL learner, committee or pipeline wraps.

    Parameters
    ----------
    learner : object
        A modAL ``ActiveLearner`` (has ``estimator``), a modAL ``Committee``
        (has ``learner_list``), a (imblearn or sklearn) ``Pipeline`` whose last
        step is a recommender, or a recommender.

    Returns
    -------
    list
        The recommenders, one per committee member.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from skrec import PopularityRecommender
    >>> from skrec.samplers import find_recommenders
    >>> rec = PopularityRecommender()
    >>> committee = SimpleNamespace(learner_list=[SimpleNamespace(estimator=rec)])
    >>> find_recommenders(committee) == [rec]
    True
    """
    if hasattr(learner, "learner_list"):
        return [r for member in learner.learner_list for r in find_recommenders(member)]
    if hasattr(learner, "estimator") and not hasattr(learner, "recommend"):
        return find_recommenders(learner.estimator)
    if hasattr(learner, "steps"):
        return find_recommenders(learner.steps[-1][1])
    return [learner]


def select_top(scores: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of the ``n`` highest scores, best first; ties broken at random.

    Parameters
    ----------
    scores : ndarray of shape (n_rows,)
        Higher is better; NaN counts as lowest.
    n : int
        How many to pick (at most ``n_rows``).
    rng : numpy.random.Generator
        Breaks ties.

    Returns
    -------
    ndarray of shape (min(n, n_rows),), dtype int64
        Distinct row indices.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.samplers import select_top
    >>> select_top(np.array([0.1, 0.9, 0.5]), 2, np.random.default_rng(0)).tolist()
    [1, 2]
    """
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    order = np.lexsort((rng.random(len(scores)), -scores))
    return order[: min(n, len(scores))].astype(np.int64)


def _n_rows(X_pool) -> int:
    shape = getattr(X_pool, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X_pool)


class BaseSampler(BaseEstimator, metaclass=ABCMeta):
    """Base class of skrec samplers (modAL query strategies).

    Subclasses implement ``_query(self, learner, X_pool, pool, n, rng)`` returning
    ``n`` distinct row indices, where ``pool`` is the validated
    :class:`~skrec.utils.validation.Interactions` of ``X_pool`` and ``rng`` a
    :class:`numpy.random.Generator` seeded from ``random_state`` (when the
    sampler has one). :meth:`__call__` validates the arguments and the result.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.samplers import BaseSampler
    >>> class FirstRows(BaseSampler):
    ...     def _query(self, learner, X_pool, pool, n, rng):
    ...         return np.arange(n)
    >>> FirstRows()(None, [[1, "a"], [1, "b"], [2, "a"]], n_instances=2).tolist()
    [0, 1]
    """

    _parameter_constraints: dict = {}
    #: Whether the sampler reads the learner's model (all but ``random`` do).
    _needs_fitted_learner: bool = True

    def __call__(self, learner, X_pool, n_instances: int = 1) -> np.ndarray:
        """Choose the rows of ``X_pool`` to label next.

        Parameters
        ----------
        learner : object
            modAL ``ActiveLearner`` or ``Committee``, or a fitted recommender.
        X_pool : array-like of shape (n_rows, 2 or 3) or DataFrame
            Candidate ``(user, item[, timestamp])`` rows.
        n_instances : int, default=1
            Number of rows to choose.

        Returns
        -------
        ndarray of shape (min(n_instances, n_rows),), dtype int64
            Distinct indices into ``X_pool``, most informative first.
        """
        self._validate_params()
        if not isinstance(n_instances, Integral) or isinstance(n_instances, bool):
            raise TypeError(f"n_instances must be an int, got {n_instances!r}")
        if n_instances < 1:
            raise ValueError(f"n_instances must be at least 1, got {n_instances}")
        n_rows = _n_rows(X_pool)
        if n_rows == 0:
            return np.empty(0, dtype=np.int64)
        pool = check_interactions(X_pool, name="X_pool")
        if self._needs_fitted_learner:
            for rec in find_recommenders(learner):
                if isinstance(rec, BaseEstimator):
                    check_is_fitted(
                        rec,
                        msg=(
                            f"{type(self).__name__} needs a fitted model, but the learner's "
                            "%(name)s is not fitted yet: teach the learner (or fit the "
                            "estimator) before querying"
                        ),
                    )
        n = min(int(n_instances), n_rows)
        seed = check_random_state(getattr(self, "random_state", 0)).randint(2**31 - 1)
        idx = np.asarray(self._query(learner, X_pool, pool, n, np.random.default_rng(seed)))
        return idx.astype(np.int64, copy=False)

    @abstractmethod
    def _query(self, learner, X_pool, pool: Interactions, n: int, rng) -> np.ndarray:
        """``n`` distinct row indices of ``X_pool``, most informative first."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.string = True
        tags.target_tags.required = False
        return tags


def _proba(learner, X_pool) -> np.ndarray:
    """P(relevant) of each pool row from the learner (a committee averages its members)."""
    proba = np.asarray(learner.predict_proba(X_pool), dtype=np.float64)
    return proba if proba.ndim == 2 else np.column_stack([1 - proba, proba])


def _item_lookup(rec, items: np.ndarray, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``values`` (indexed like ``rec.items_``) at ``items``; ``fill`` for unknown items."""
    idx = pd.Index(rec.items_).get_indexer(items)
    out = np.full(len(items), fill, dtype=np.float64)
    out[idx >= 0] = np.asarray(values, dtype=np.float64)[idx[idx >= 0]]
    return out


def _labelled_by_user(learner, rec, users: np.ndarray) -> list[np.ndarray]:
    """Item ids already labelled by each of ``users`` (training data of the learner).

    Read from the recommender's ``interactions_`` when it has one, else from the
    learner's ``X_training``; users with nothing labelled get an empty array.
    """
    R = getattr(rec, "interactions_", None)
    if R is not None and hasattr(rec, "users_"):
        R = R.tocsr()
        u = pd.Index(rec.users_).get_indexer(users)
        return [
            rec.items_[R.indices[R.indptr[j] : R.indptr[j + 1]]] if j >= 0 else rec.items_[:0]
            for j in u
        ]
    X_train = getattr(learner, "X_training", None)
    if X_train is None:
        return [np.empty(0, dtype=object) for _ in users]
    data = check_interactions(X_train, name="X_training")
    groups = pd.Series(np.arange(len(data))).groupby(data.users).agg(list).to_dict()
    return [data.items[groups.get(u, [])] for u in users]


def _n_labelled(learner, rec) -> int:
    X_train = getattr(learner, "X_training", None)
    if X_train is not None:
        return _n_rows(X_train)
    R = getattr(rec, "interactions_", None)
    return 0 if R is None else int(R.nnz)
