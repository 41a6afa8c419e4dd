"""Cross-validation splitters for interaction tables.

Every splitter reads ``X`` through :func:`skrec.utils.validation.check_interactions`
and yields ``(train, test)`` arrays of row indices into ``X``, sorted ascending, as
the splitters of :mod:`sklearn.model_selection` do; so each one is accepted as
``cv=`` by ``GridSearchCV``, ``cross_validate`` and friends. Only index arrays are
built: the rows of ``X`` are never copied. Users and items are encoded with
:func:`pandas.factorize` and every assignment is vectorised (no Python loop over
users or items), so tables of tens of millions of rows split in seconds.
"""

from __future__ import annotations

import datetime
import math
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Iterator
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from ..utils._sklearn_compat import Interval, check_init_params
from ..utils.validation import Interactions, check_interactions

__all__ = ["PerUserKFold", "LeaveLastOut", "TemporalSplit", "ColdItemKFold"]

Splits = Iterator[tuple[np.ndarray, np.ndarray]]


def _check_shuffle(splitter) -> None:
    # The message of sklearn.model_selection._BaseKFold, so users see what they know.
    if not splitter.shuffle and splitter.random_state is not None:
        raise ValueError(
            "Setting a random_state has no effect since shuffle is False. You should "
            "leave random_state to its default (None), or set shuffle=True."
        )


_KFOLD = {
    "n_splits": [Interval(Integral, 2, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
}


def _codes(ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes ``0..n_unique-1`` in first-appearance order, and their number."""
    codes, uniques = pd.factorize(ids)
    if len(uniques) < np.iinfo(np.int32).max:  # half the memory of every array indexed by code
        codes = codes.astype(np.int32)
    return codes, len(uniques)


def _rank_in_group(sorted_codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Position of each row inside its run of equal codes (rows grouped by code)."""
    group_counts = counts[sorted_codes[np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]]]
    starts = np.cumsum(group_counts) - group_counts
    return np.arange(len(sorted_codes)) - np.repeat(starts, group_counts)


def _folds_from_labels(fold: np.ndarray, n_splits: int) -> Splits:
    """Split ``f`` tests the rows labelled ``f`` and trains on every other row."""
    for f in range(n_splits):
        test = fold == f
        yield np.flatnonzero(~test), np.flatnonzero(test)


class _InteractionSplitter(BaseCrossValidator, metaclass=ABCMeta):
    """Shared ``split``: validate ``X``, then let the subclass assign rows."""

    def split(self, X, y=None, groups=None) -> Splits:
        """Generate indices to split an interaction table into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.
        y : array-like of shape (n_rows,), default=None
            Always ignored, exists for API compatibility.
        groups : array-like of shape (n_rows,), default=None
            Always ignored, exists for API compatibility.

        Yields
        ------
        train : ndarray
            The training set row indices for that split.
        test : ndarray
            The test set row indices for that split.
        """
        if groups is not None:
            warnings.warn(
                f"The groups parameter is ignored by {type(self).__name__}",
                UserWarning,
                stacklevel=2,
            )
        # Validation and assignment run now, so bad input fails at the call.
        return self._split(check_interactions(X))

    @abstractmethod
    def _split(self, data: Interactions) -> Splits:
        """``(train, test)`` row indices of the validated interactions ``data``."""


class PerUserKFold(_InteractionSplitter):
    """K-fold over each user's interactions: every test user is known in training.

    Each user's rows are dealt round-robin over the folds, so a user with ``c``
    rows has about ``c / n_splits`` rows in each test fold and the rest in
    training. Users are visited in random order and each continues the deal where
    the previous one stopped, so users with few rows do not all land in fold 0
    and the folds differ in size by at most one row. A user only enters a test
    fold while it keeps at least ``min_train`` rows in that fold's training set:
    users with ``min_train`` rows or fewer are always in training, and a user
    with ``c`` rows holds out at most ``n_splits * (c - min_train)`` of them (the
    others are always in training).

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds. Must be at least 2.
    shuffle : bool, default=True
        Whether to shuffle the order of users and of each user's rows before
        dealing. If False, users are taken in order of first appearance and each
        user's rows in row order.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling when ``shuffle`` is True. Pass an int for
        reproducible output across calls.
    min_train : int, default=1
        Number of training rows every test user keeps in each fold. At least 1.

    See Also
    --------
    LeaveLastOut : Hold out the latest interactions of each user.
    ColdItemKFold : Hold out whole items.

    Notes
    -----
    Rows of one user are the rows with equal user ids; duplicated
    ``(user, item)`` rows are dealt independently, so the same item may appear
    in a user's training and test sets.

    Examples
    --------
    >>> from skrec.model_selection import PerUserKFold
    >>> X = [["ann", "a"], ["ann", "b"], ["ann", "c"], ["bob", "a"], ["bob", "c"], ["cat", "b"]]
    >>> cv = PerUserKFold(n_splits=2, random_state=0)
    >>> for train, test in cv.split(X):
    ...     print(train, test)
    [1 3 5] [0 2 4]
    [0 2 4 5] [1 3]
    """

    _parameter_constraints: dict = {
        **_KFOLD,
        "min_train": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None, min_train=1):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        self.min_train = min_train
        check_init_params(self)
        _check_shuffle(self)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits: ``n_splits``. All arguments are ignored."""
        return self.n_splits

    def _split(self, data: Interactions) -> Splits:
        k, n = self.n_splits, len(data)
        codes, n_users = _codes(data.users)
        counts = np.bincount(codes, minlength=n_users)
        held = np.where(
            counts > self.min_train, np.minimum(counts, k * (counts - self.min_train)), 0
        )
        n_held = int(held.sum())
        if n_held < k:
            raise ValueError(
                f"Cannot have number of splits n_splits={k} greater than the number of rows "
                f"that can be held out: {n_held} (rows of users with more than "
                f"min_train={self.min_train} interactions)."
            )
        if self.shuffle:
            rng = check_random_state(self.random_state)
            user_key = rng.permutation(n_users).astype(codes.dtype)
            perm = rng.permutation(n)
            order = perm[np.argsort(user_key[codes[perm]], kind="stable")]
            del perm
        else:
            user_key = np.arange(n_users)
            order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        rank = _rank_in_group(sorted_codes, counts)
        enters = rank < held[sorted_codes]
        del rank, sorted_codes
        # Consecutive held-out rows (grouped by user) go to consecutive folds.
        fold = np.full(n, -1, dtype=np.int32 if k > 127 else np.int8)
        fold[order[enters]] = np.arange(n_held) % k
        return _folds_from_labels(fold, k)


class LeaveLastOut(_InteractionSplitter):
    """One split that holds out the last ``n`` interactions of each user.

    Time is the timestamp column when ``X`` has one and row order otherwise;
    rows with equal timestamps are ordered by row position. Users with fewer than
    ``n + min_train`` interactions are kept entirely in training, so every test
    user has exactly ``n`` test rows and at least ``min_train`` training rows.

    Parameters
    ----------
    n : int, default=1
        Number of latest interactions of each user to hold out. At least 1.
    min_train : int, default=1
        Number of training rows a user must keep to enter the test set. With
        ``min_train=0``, users with exactly ``n`` rows are tested as cold users.

    See Also
    --------
    TemporalSplit : One global time cut for all users.
    PerUserKFold : Random k-fold within each user.

    Examples
    --------
    >>> from skrec.model_selection import LeaveLastOut
    >>> X = [["ann", "a", 3], ["ann", "b", 1], ["ann", "c", 2], ["bob", "a", 5], ["cat", "b", 4]]
    >>> train, test = next(LeaveLastOut().split(X))
    >>> train, test
    (array([1, 2, 3, 4]), array([0]))
    """

    _parameter_constraints: dict = {
        "n": [Interval(Integral, 1, None, closed="left")],
        "min_train": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, n=1, *, min_train=1):
        self.n = n
        self.min_train = min_train
        check_init_params(self)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits: always 1. All arguments are ignored."""
        return 1

    def _split(self, data: Interactions) -> Splits:
        codes, n_users = _codes(data.users)
        counts = np.bincount(codes, minlength=n_users)
        by_time = data.order()
        order = by_time[np.argsort(codes[by_time], kind="stable")]
        del by_time
        sorted_codes = codes[order]
        user_counts = counts[sorted_codes]
        from_end = user_counts - 1 - _rank_in_group(sorted_codes, counts)
        is_test = np.zeros(len(data), dtype=bool)
        is_test[order] = (from_end < self.n) & (user_counts >= self.n + self.min_train)
        if not is_test.any():
            raise ValueError(
                f"No user has at least n + min_train = {self.n + self.min_train} interactions; "
                f"{self!r} would leave the test set empty."
            )
        if is_test.all():
            raise ValueError(f"{self!r} would leave the training set empty.")
        return iter([(np.flatnonzero(~is_test), np.flatnonzero(is_test))])


_DATE_TYPES = (str, datetime.date, np.datetime64, pd.Timestamp)


class TemporalSplit(_InteractionSplitter):
    """Global time cut: train on the past, test on the future.

    Rows are ordered by time (the timestamp column, or row order when ``X`` has
    none). With ``n_splits=1`` the latest ``test_size`` of the rows form the test
    set, or the rows at or after ``cut``. With ``n_splits > 1`` the splits expand
    like :class:`sklearn.model_selection.TimeSeriesSplit`: the last
    ``n_splits * test_size`` rows are cut into ``n_splits`` consecutive test
    blocks, and each split trains on every row before its block.

    A boundary never separates rows with equal timestamps: it moves back to the
    first row of that timestamp, so every training timestamp is strictly smaller
    than every test timestamp (a test block may grow a little).

    Parameters
    ----------
    n_splits : int, default=1
        Number of splits. At least 1.
    test_size : float or int, default=None
        Size of each test block: a fraction of all rows in (0, 1) (rounded up),
        or a number of rows. None means 0.2 when ``n_splits=1`` and
        ``n_rows // (n_splits + 1)`` rows otherwise (as ``TimeSeriesSplit``).
        Cannot be combined with ``cut``.
    cut : number, str, date or datetime, default=None
        Absolute time of a single cut: rows with timestamp ``>= cut`` form the
        test set. A number is compared with the timestamp column as is (or with
        row positions when ``X`` has no timestamp column); a string, date or
        datetime is converted with :class:`pandas.Timestamp` and requires
        datetime timestamps. Only valid with ``n_splits=1``.
    drop_cold_users : bool, default=False
        If True, test rows of users who have no row in that split's training set
        are left out of the test set (they are in neither set), so that only
        known users are evaluated.

    See Also
    --------
    LeaveLastOut : Hold out the latest interactions of each user.
    sklearn.model_selection.TimeSeriesSplit : The same expanding window for
        ordinary samples.

    Examples
    --------
    >>> from skrec.model_selection import TemporalSplit
    >>> X = [["ann", "a", 10], ["bob", "b", 40], ["ann", "c", 20],
    ...      ["cat", "a", 30], ["ann", "b", 50]]
    >>> for train, test in TemporalSplit(test_size=0.4).split(X):
    ...     print(train, test)
    [0 2 3] [1 4]
    >>> for train, test in TemporalSplit(cut=30, drop_cold_users=True).split(X):
    ...     print(train, test)
    [0 2] [4]
    >>> for train, test in TemporalSplit(n_splits=2, test_size=1).split(X):
    ...     print(train, test)
    [0 2 3] [1]
    [0 1 2 3] [4]
    """

    _parameter_constraints: dict = {
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "test_size": [
            None,
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
        ],
        "cut": [None, Real, *_DATE_TYPES],
        "drop_cold_users": ["boolean"],
    }

    def __init__(self, n_splits=1, *, test_size=None, cut=None, drop_cold_users=False):
        self.n_splits = n_splits
        self.test_size = test_size
        self.cut = cut
        self.drop_cold_users = drop_cold_users
        check_init_params(self)
        if cut is not None:
            if test_size is not None:
                raise ValueError("Give either test_size or cut, not both.")
            if self.n_splits != 1:
                raise ValueError(
                    f"cut defines a single split; got n_splits={n_splits}. Use test_size "
                    "for expanding-window splits."
                )
            if isinstance(cut, bool):
                raise TypeError(f"cut must be a number or a date, got {type(cut).__name__}")

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits: ``n_splits``. All arguments are ignored."""
        return self.n_splits

    def _bounds(self, times: np.ndarray, has_timestamps: bool) -> list[int]:
        """Start of each test block (and the end) in time-sorted positions."""
        n, k = len(times), self.n_splits
        if self.cut is not None:
            cut = self.cut
            if isinstance(cut, _DATE_TYPES):
                if not has_timestamps:
                    raise ValueError(
                        f"cut={cut!r} is a date but X has no timestamp column (time is row order)"
                    )
                cut = pd.Timestamp(cut).value  # datetime timestamps are int64 nanoseconds
            return [int(np.searchsorted(times, cut, side="left")), n]
        size = self.test_size
        if size is None:
            size = 0.2 if k == 1 else n // (k + 1)
        n_test = math.ceil(size * n) if isinstance(size, float) else int(size)
        if n_test < 1 or k * n_test >= n:
            raise ValueError(
                f"Too many splits={k} for number of samples={n} with test_size={self.test_size}: "
                "each split needs at least one training row and one test row."
            )
        starts = [n - (k - i) * n_test for i in range(k)]
        # Move each boundary back to the first row of its timestamp (ties stay together).
        return [int(b) for b in np.searchsorted(times, times[starts], side="left")] + [n]

    def _split(self, data: Interactions) -> Splits:
        n = len(data)
        order = data.order()
        times = np.arange(n) if data.timestamps is None else data.timestamps[order]
        bounds = self._bounds(times, data.timestamps is not None)
        for i in range(len(bounds) - 1):
            if bounds[i] == 0:
                raise ValueError(
                    f"Split {i} has no training rows: no row is before its time cut {times[0]!r}."
                )
            if bounds[i + 1] == bounds[i]:
                raise ValueError(
                    f"Split {i} has no test rows: no row is at or after its time cut, or its "
                    "rows share a timestamp with an earlier block; use fewer splits or a "
                    "larger test_size."
                )
        codes = _codes(data.users) if self.drop_cold_users else None
        return self._iter_splits(order, bounds, codes)

    @staticmethod
    def _iter_splits(order: np.ndarray, bounds: list[int], codes) -> Splits:
        for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
            train, test = np.sort(order[:start]), np.sort(order[start:stop])
            if codes is not None:
                known = np.zeros(codes[1], dtype=bool)
                known[codes[0][train]] = True
                test = test[known[codes[0][test]]]
                if len(test) == 0:
                    raise ValueError(
                        f"Split {i} has no test rows of users seen in training; "
                        "drop_cold_users=True left its test set empty."
                    )
            yield train, test


class ColdItemKFold(_InteractionSplitter):
    """K-fold over items: each test fold holds out whole items (cold start).

    The distinct items are dealt over the folds (in random order when
    ``shuffle``), so folds have equal numbers of items, give or take one, but
    not necessarily equal numbers of rows. Each split tests all rows of one
    fold's items and trains on all other rows: no held-out item appears in
    training, and every item is tested in exactly one split.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds. Must be at least 2 and at most the number of items.
    shuffle : bool, default=True
        Whether to shuffle the items before dealing them to folds. If False,
        items are dealt in order of first appearance.
    random_state : int, RandomState instance or None, default=None
        Controls the shuffling when ``shuffle`` is True. Pass an int for
        reproducible output across calls.

    See Also
    --------
    sklearn.model_selection.GroupKFold : The same idea with arbitrary groups.
    PerUserKFold : Hold out interactions of known users.

    Examples
    --------
    >>> from skrec.model_selection import ColdItemKFold
    >>> X = [["ann", "a"], ["ann", "b"], ["bob", "a"], ["bob", "c"], ["cat", "b"]]
    >>> for train, test in ColdItemKFold(n_splits=3, shuffle=False).split(X):
    ...     print(train, test)
    [1 3 4] [0 2]
    [0 2 3] [1 4]
    [0 1 2 4] [3]
    """

    _parameter_constraints: dict = dict(_KFOLD)

    def __init__(self, n_splits=5, *, shuffle=True, random_state=None):
        self.n_splits = n_splits
        self.shuffle = shuffle
        self.random_state = random_state
        check_init_params(self)
        _check_shuffle(self)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits: ``n_splits``. All arguments are ignored."""
        return self.n_splits

    def _split(self, data: Interactions) -> Splits:
        k = self.n_splits
        codes, n_items = _codes(data.items)
        if k > n_items:
            raise ValueError(
                f"Cannot have number of splits n_splits={k} greater than the number of "
                f"items: {n_items}."
            )
        if self.shuffle:
            item_order = check_random_state(self.random_state).permutation(n_items)
        else:
            item_order = np.arange(n_items)
        item_fold = np.empty(n_items, dtype=np.int32)
        item_fold[item_order] = np.arange(n_items) % k
        return _folds_from_labels(item_fold[codes], k)
