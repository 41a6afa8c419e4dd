"""The augmenter base class and the table format augmenters exchange."""

from __future__ import annotations

import re
from abc import ABCMeta, abstractmethod

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from skrec.utils.validation import Interactions, check_interactions

__all__ = ["BaseAugmenter", "is_pseudo_user", "make_frame", "pseudo_user_id"]

_PSEUDO = re.compile(r"^(?P<user>.*)#view-(?P<k>[0-9]+)$", re.DOTALL)


def pseudo_user_id(user, k: int) -> str:
    """The id of the ``k``-th augmented view of ``user``'s history: ``"<user>#view-<k>"``.

    Augmenters that add views of a history as extra training sequences (``crop``,
    ``mask``, ``reorder`` with ``mode="append"``) file them under such ids, so a
    recommender learns from them like from any user and real users are untouched.

    Parameters
    ----------
    user : int or str
        The real user id.
    k : int
        View number, from 1.

    Returns
    -------
    str
        The pseudo-user id.

    Examples
    --------
    >>> from skrec.augmenters import pseudo_user_id
    >>> pseudo_user_id(42, 1)
    '42#view-1'
    """
    return f"{user}#view-{int(k)}"


def is_pseudo_user(user_id, users=None) -> bool:
    """Whether ``user_id`` is a :func:`pseudo_user_id` (of one of ``users`` when given).

    Parameters
    ----------
    user_id : object
        An id from an augmented table.
    users : array-like, default=None
        Real user ids; when given, the view must belong to one of them.

    Returns
    -------
    bool

    Examples
    --------
    >>> from skrec.augmenters import is_pseudo_user
    >>> is_pseudo_user("42#view-1", users=[42, 7]), is_pseudo_user("42", users=[42])
    (True, False)
    """
    if not isinstance(user_id, str):
        return False
    match = _PSEUDO.match(user_id)
    if match is None:
        return False
    return users is None or match["user"] in {str(u) for u in users}


def make_frame(users, items, timestamps=None) -> pd.DataFrame:
    """The interaction DataFrame augmenters return: columns user, item[, timestamp].

    Parameters
    ----------
    users, items : array-like of shape (n_rows,)
        Ids of each row.
    timestamps : array-like of shape (n_rows,), default=None
        Time of each row; None gives a frame without a ``timestamp`` column.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> from skrec.augmenters import make_frame
    >>> list(make_frame([1, 2], ["a", "b"], [10, 20]).columns)
    ['user', 'item', 'timestamp']
    """
    cols = {"user": users, "item": items}
    if timestamps is not None:
        cols["timestamp"] = timestamps
    return pd.DataFrame(cols)


class BaseAugmenter(BaseEstimator, metaclass=ABCMeta):
    """Base class of skrec augmenters: ``fit_resample(X, y) -> (X_new, y_new)``.

    The imbalanced-learn contract, applied to interaction tables. ``X`` is
    anything :func:`~skrec.utils.validation.check_interactions` accepts (skrec
    passes a DataFrame with columns ``user``, ``item`` and, when the data has
    time, ``timestamp``); ``y`` holds one float per row (> 0: positive strength,
    <= 0: explicit negative), None meaning all ones. The result is a new
    DataFrame with the same columns and a float64 array ``y_new``; the inputs are
    never modified. Recommenders apply their ``augmenter`` in ``fit`` only, and
    :class:`imblearn.pipeline.Pipeline` does the same with an augmenter step.

    Subclasses implement ``_fit_resample(self, data)`` where ``data`` is the
    validated :class:`~skrec.utils.validation.Interactions`, and return
    ``(DataFrame, y)``; see :func:`make_frame`. Item ids in the output must exist
    in the input; user ids too, except documented pseudo-users
    (:func:`pseudo_user_id`).

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.augmenters import BaseAugmenter
    >>> class Identity(BaseAugmenter):
    ...     def _fit_resample(self, data):
    ...         return data.to_frame(), data.y_or_ones().copy()
    >>> X_new, y_new = Identity().fit_resample([[1, "a"], [2, "b"]])
    >>> list(X_new.columns), y_new.tolist()
    (['user', 'item'], [1.0, 1.0])
    """

    _parameter_constraints: dict = {}

    def fit(self, X, y=None):
        """Validate the parameters and ``X``; augmenters learn nothing of their own.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.
        y : array-like of shape (n_rows,), default=None
            Feedback per row.

        Returns
        -------
        self : object
        """
        self._validate_params()
        check_interactions(X, y)
        return self

    def fit_resample(self, X, y=None):
        """Return an augmented copy of the interactions.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.
        y : array-like of shape (n_rows,), default=None
            Feedback per row; None means every row is a positive of weight 1.

        Returns
        -------
        X_new : DataFrame
            Columns ``user``, ``item`` and, when ``X`` has time, ``timestamp``.
        y_new : ndarray of shape (n_new_rows,)
            Float64 feedback of each output row.
        """
        self._validate_params()
        data = check_interactions(X, y)
        X_new, y_new = self._fit_resample(data)
        return X_new, np.asarray(y_new, dtype=np.float64)

    @abstractmethod
    def _fit_resample(self, data: Interactions):
        """``(X_new, y_new)`` of the validated interactions ``data``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = True
        tags.target_tags.required = False
        tags.requires_fit = False
        return tags
