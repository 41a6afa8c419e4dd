"""Tests of the interaction splitters in skrec.model_selection."""

from __future__ import annotations

import pickle
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, cross_validate

from skrec.model_selection import ColdItemKFold, LeaveLastOut, PerUserKFold, TemporalSplit

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Table:
    """An interaction table in some input format, with its raw columns for checking."""

    X: object
    users: list
    items: list
    times: list | None

    @property
    def n(self) -> int:
        return len(self.users)

    def time_key(self, row: int):
        return (self.times[row], row) if self.times is not None else (row,)

    def rows_of(self, ids: list) -> dict:
        out = defaultdict(list)
        for row, u in enumerate(ids):
            out[u].append(row)
        return out


def _build(users, items, times, kind):
    n = len(users)
    if kind == "frame":
        cols = {"user": users, "item": items}
        if times is not None:
            cols["timestamp"] = times
        return pd.DataFrame(cols)
    rows = [[users[i], items[i]] + ([] if times is None else [times[i]]) for i in range(n)]
    if kind == "list":
        return rows
    arr = np.empty((n, len(rows[0])), dtype=object)
    arr[:] = rows
    if all(isinstance(v, int) for row in rows for v in row):
        arr = arr.astype(np.int64)
    return arr


@st.composite
def tables(draw, max_rows=60, timestamps=None):
    n = draw(st.integers(1, max_rows))
    n_users = draw(st.integers(1, 8))
    n_items = draw(st.integers(1, 12))
    users = draw(st.lists(st.integers(0, n_users - 1), min_size=n, max_size=n))
    items = draw(st.lists(st.integers(0, n_items - 1), min_size=n, max_size=n))
    if draw(st.booleans()):
        users = [f"user-{u}" for u in users]
        items = [f"item-{i}" for i in items]
    has_time = draw(st.booleans()) if timestamps is None else timestamps
    # Few distinct values: ties and timestamps out of row order are common.
    times = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n)) if has_time else None
    kind = draw(st.sampled_from(["list", "array", "frame"]))
    return Table(_build(users, items, times, kind), users, items, times)


def _check_partition(train, test, n):
    assert train.dtype.kind == "i" and test.dtype.kind == "i"
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    assert len(np.intersect1d(train, test)) == 0


def _test_sets(cv, X):
    splits = list(cv.split(X))
    assert len(splits) == cv.get_n_splits(X)
    return splits


# --- PerUserKFold -------------------------------------------------------------------


@SETTINGS
@given(
    table=tables(),
    n_splits=st.integers(2, 5),
    min_train=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    shuffle=st.booleans(),
)
def test_per_user_kfold_invariants(table, n_splits, min_train, seed, shuffle):
    counts = Counter(table.users)
    held = {
        u: min(c, n_splits * (c - min_train)) if c > min_train else 0 for u, c in counts.items()
    }
    cv = PerUserKFold(
        n_splits, shuffle=shuffle, random_state=seed if shuffle else None, min_train=min_train
    )
    if sum(held.values()) < n_splits:
        with pytest.raises(ValueError, match="Cannot have number of splits"):
            cv.split(table.X)
        return
    splits = _test_sets(cv, table.X)
    tested = np.concatenate([test for _, test in splits])
    assert len(tested) == len(set(tested.tolist())), "test folds overlap"
    # Complete over the rows that enter test: each user holds out exactly held[u] rows.
    assert Counter(table.users[i] for i in tested) == +Counter(held)
    sizes = [len(test) for _, test in splits]
    assert max(sizes) - min(sizes) <= 1
    for train, test in splits:
        _check_partition(train, test, table.n)
        assert len(train) + len(test) == table.n
        train_counts = Counter(table.users[i] for i in train)
        test_counts = Counter(table.users[i] for i in test)
        for user, n_test in test_counts.items():
            assert train_counts[user] >= min_train
            # Round-robin: a user's test rows differ by at most one between folds.
            assert abs(n_test - held[user] / n_splits) < 1


def test_per_user_kfold_random_state():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 30, 500), rng.integers(0, 50, 500)])

    def folds(cv):
        return [test.tolist() for _, test in cv.split(X)]

    assert folds(PerUserKFold(random_state=1)) == folds(PerUserKFold(random_state=1))
    assert folds(PerUserKFold(random_state=1)) != folds(PerUserKFold(random_state=2))
    assert folds(PerUserKFold(shuffle=False)) == folds(PerUserKFold(shuffle=False))
    # A RandomState instance is consumed, like sklearn's KFold.
    cv = PerUserKFold(random_state=np.random.RandomState(0))
    assert folds(cv) != folds(cv)


def test_per_user_kfold_spreads_small_users():
    # 100 users with 2 rows each: their first rows must not all land in fold 0.
    X = [[u, i] for u in range(100) for i in range(2)]
    splits = list(PerUserKFold(5, random_state=0).split(X))
    assert [len(test) for _, test in splits] == [40] * 5


# --- LeaveLastOut -------------------------------------------------------------------


def _expected_last(table, n, min_train):
    expected = []
    for rows in table.rows_of(table.users).values():
        if len(rows) >= n + min_train:
            expected += sorted(rows, key=table.time_key)[-n:]
    return sorted(expected)


@SETTINGS
@given(table=tables(), n=st.integers(1, 3), min_train=st.integers(0, 3))
def test_leave_last_out_takes_latest_rows(table, n, min_train):
    expected = _expected_last(table, n, min_train)
    cv = LeaveLastOut(n, min_train=min_train)
    if not expected or len(expected) == table.n:
        with pytest.raises(ValueError, match="empty"):
            cv.split(table.X)
        return
    ((train, test),) = _test_sets(cv, table.X)
    assert cv.get_n_splits() == 1
    _check_partition(train, test, table.n)
    assert test.tolist() == expected
    assert sorted(train.tolist() + test.tolist()) == list(range(table.n))
    if table.times is not None:
        last_train = defaultdict(lambda: (-1,))
        for i in train:
            last_train[table.users[i]] = max(last_train[table.users[i]], table.time_key(i))
        assert all(table.time_key(i) > last_train[table.users[i]] for i in test)


def test_leave_last_out_timestamps_out_of_row_order():
    X = pd.DataFrame(
        {"user": ["a", "a", "a", "b", "b"], "item": [1, 2, 3, 1, 2], "timestamp": [9, 1, 5, 0, 0]}
    )
    ((train, test),) = LeaveLastOut().split(X)
    # a's latest is row 0 (t=9); b's rows tie at t=0, so the later row wins.
    assert test.tolist() == [0, 4]
    ((train, test),) = LeaveLastOut(n=2).split(X.drop(columns="timestamp"))
    assert test.tolist() == [1, 2]


# --- TemporalSplit ------------------------------------------------------------------


@SETTINGS
@given(
    table=tables(),
    n_splits=st.integers(1, 3),
    test_size=st.none() | st.floats(0.05, 0.45) | st.integers(1, 10),
    drop_cold=st.booleans(),
)
def test_temporal_split_train_before_test(table, n_splits, test_size, drop_cold):
    cv = TemporalSplit(n_splits, test_size=test_size, drop_cold_users=drop_cold)
    try:
        splits = _test_sets(cv, table.X)
    except ValueError as exc:
        assert "split" in str(exc).lower()
        return
    previous = None
    for train, test in splits:
        _check_partition(train, test, table.n)
        assert len(train) > 0 and len(test) > 0
        if table.times is None:
            assert train.max() < test.min()
        else:
            assert max(table.times[i] for i in train) < min(table.times[i] for i in test)
        if drop_cold:
            assert {table.users[i] for i in test} <= {table.users[i] for i in train}
        if previous is not None:  # expanding window
            assert set(previous[0].tolist()) < set(train.tolist())
        previous = (train, test)


def test_temporal_split_sizes_and_cut():
    X = np.column_stack([np.arange(10) % 3, np.arange(10), np.arange(10)[::-1]])
    ((train, test),) = TemporalSplit().split(X)  # default: latest 20% of rows
    assert test.tolist() == [0, 1]
    ((train, test),) = TemporalSplit(cut=7).split(X)
    assert test.tolist() == [0, 1, 2] and len(train) == 7
    splits = list(TemporalSplit(n_splits=4).split(X))  # TimeSeriesSplit sizes: 10 // 5 rows
    assert [(len(a), len(b)) for a, b in splits] == [(2, 2), (4, 2), (6, 2), (8, 2)]
    ties = [[0, 0, 1], [0, 1, 2], [1, 2, 2], [1, 3, 3]]
    ((train, test),) = TemporalSplit(test_size=2).split(ties)
    assert train.tolist() == [0] and test.tolist() == [1, 2, 3]  # t=2 ties stay together


def test_temporal_split_datetime_cut():
    X = pd.DataFrame(
        {
            "user": [1, 2, 1, 2],
            "item": [1, 1, 2, 2],
            "timestamp": pd.to_datetime(["2024-01-03", "2024-01-01", "2024-02-01", "2023-12-01"]),
        }
    )
    ((train, test),) = TemporalSplit(cut="2024-01-02").split(X)
    assert train.tolist() == [1, 3] and test.tolist() == [0, 2]
    ((_, test),) = TemporalSplit(cut=pd.Timestamp("2024-01-15")).split(X)
    assert test.tolist() == [2]
    with pytest.raises(ValueError, match="no timestamp column"):
        TemporalSplit(cut="2024-01-02").split(X[["user", "item"]])


# --- ColdItemKFold ------------------------------------------------------------------


@SETTINGS
@given(table=tables(), n_splits=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_cold_item_kfold_invariants(table, n_splits, seed):
    cv = ColdItemKFold(n_splits, random_state=seed)
    n_items = len(set(table.items))
    if n_splits > n_items:
        with pytest.raises(ValueError, match="greater than the number of items"):
            cv.split(table.X)
        return
    splits = _test_sets(cv, table.X)
    tested_items = Counter()
    for train, test in splits:
        _check_partition(train, test, table.n)
        assert len(train) + len(test) == table.n
        held_out = {table.items[i] for i in test}
        assert held_out.isdisjoint(table.items[i] for i in train)
        tested_items.update(held_out)
    assert set(tested_items) == set(table.items)
    assert set(tested_items.values()) == {1}
    per_fold = [len({table.items[i] for i in test}) for _, test in splits]
    assert max(per_fold) - min(per_fold) <= 1


def test_cold_item_kfold_random_state():
    X = [[u % 7, i] for u, i in enumerate(range(40))]

    def folds(cv):
        return [test.tolist() for _, test in cv.split(X)]

    assert folds(ColdItemKFold(4, random_state=3)) == folds(ColdItemKFold(4, random_state=3))
    assert folds(ColdItemKFold(4, random_state=3)) != folds(ColdItemKFold(4, random_state=4))


# --- parameters, input, sklearn integration -----------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (
            lambda: PerUserKFold(1),
            ValueError,
            "'n_splits' parameter of PerUserKFold must be an int in the range \\[2, inf\\)",
        ),
        (lambda: PerUserKFold(2.5), ValueError, "'n_splits' parameter .* Got 2.5"),
        (
            lambda: PerUserKFold(shuffle="yes"),
            TypeError,
            "'shuffle' parameter .* must be an instance of 'bool'",
        ),
        (lambda: PerUserKFold(shuffle=False, random_state=0), ValueError, "no effect"),
        (
            lambda: PerUserKFold(min_train=0),
            ValueError,
            "'min_train' parameter .* range \\[1, inf\\)",
        ),
        (lambda: ColdItemKFold(0), ValueError, "'n_splits' parameter of ColdItemKFold"),
        (lambda: ColdItemKFold(shuffle=False, random_state=1), ValueError, "no effect"),
        (lambda: LeaveLastOut(0), ValueError, "'n' parameter of LeaveLastOut .* \\[1, inf\\)"),
        (lambda: LeaveLastOut(min_train=-1), ValueError, "'min_train' parameter .* \\[0, inf\\)"),
        (lambda: TemporalSplit(0), ValueError, "'n_splits' parameter of TemporalSplit"),
        (lambda: TemporalSplit(test_size=1.5), ValueError, r"'test_size' .*\(0.0, 1.0\)"),
        (lambda: TemporalSplit(test_size=0), ValueError, "'test_size' parameter .* Got 0"),
        (lambda: TemporalSplit(test_size="big"), ValueError, "'test_size' parameter"),
        (lambda: TemporalSplit(test_size=0.1, cut=5), ValueError, "not both"),
        (lambda: TemporalSplit(3, cut=5), ValueError, "single split"),
        (lambda: TemporalSplit(cut=[1, 2]), TypeError, "'cut' parameter"),
        (lambda: TemporalSplit(drop_cold_users=1), TypeError, "drop_cold_users"),
    ],
)
def test_bad_parameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    ("cv", "match"),
    [
        (PerUserKFold(3), "greater than the number of rows that can be held out: 2"),
        (ColdItemKFold(4), "greater than the number of items: 3"),
        (LeaveLastOut(3), "test set empty"),
        (TemporalSplit(5), "Too many splits=5"),
        (TemporalSplit(cut=0), "no training rows"),
        (TemporalSplit(cut=99), "no test rows"),
    ],
)
def test_impossible_splits(cv, match):
    X = [[1, "a"], [1, "b"], [2, "c"]]
    with pytest.raises(ValueError, match=match):
        list(cv.split(X))


@pytest.mark.parametrize("cv", [PerUserKFold(2), LeaveLastOut(), TemporalSplit(), ColdItemKFold(2)])
def test_bad_input_is_reported_by_validation(cv):
    with pytest.raises(ValueError, match="missing ids"):
        cv.split([[1, "a"], [None, "b"]])
    with pytest.raises(TypeError, match="sparse"):
        cv.split(sp.csr_matrix(np.eye(3)))


def test_groups_are_ignored_with_a_warning():
    X = [[1, 1], [1, 2], [2, 1], [2, 2]]
    with pytest.warns(UserWarning, match="groups parameter is ignored by ColdItemKFold"):
        ColdItemKFold(2).split(X, groups=[0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(ColdItemKFold(2).split(X))


class _RowCounter(BaseEstimator):
    """Fits nothing; its score is the number of rows it is given."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y=None):
        self.n_train_ = len(X)
        return self

    def score(self, X, y=None):
        return float(len(X))


def _interactions(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user": rng.integers(0, 20, n).astype(str),
            "item": rng.integers(0, 30, n),
            "timestamp": rng.permutation(n),
        }
    )


SPLITTERS = [
    PerUserKFold(3, random_state=0),
    LeaveLastOut(2),
    TemporalSplit(2, test_size=0.2),
    TemporalSplit(cut=200, drop_cold_users=True),
    ColdItemKFold(3, random_state=0),
]


@pytest.mark.parametrize("cv", SPLITTERS, ids=repr)
def test_sklearn_accepts_splitters(cv):
    X = _interactions()
    y = np.ones(len(X))
    expected = [len(test) for _, test in cv.split(X, y)]
    result = cross_validate(_RowCounter(), X, y, cv=cv, return_train_score=True)
    assert result["test_score"].tolist() == expected
    search = GridSearchCV(_RowCounter(), {"alpha": [0.1, 1.0]}, cv=cv).fit(X, y)
    assert search.n_splits_ == cv.get_n_splits()


def test_cross_validate_in_parallel():
    X = _interactions()
    cv = PerUserKFold(3, random_state=0)
    serial = cross_validate(_RowCounter(), X, cv=cv)["test_score"]
    parallel = cross_validate(_RowCounter(), X, cv=cv, n_jobs=2)["test_score"]
    assert serial.tolist() == parallel.tolist()


@pytest.mark.parametrize("cv", SPLITTERS, ids=repr)
def test_pickle_round_trip(cv):
    X = _interactions()
    clone = pickle.loads(pickle.dumps(cv))
    assert repr(clone) == repr(cv)
    for (a_train, a_test), (b_train, b_test) in zip(cv.split(X), clone.split(X)):
        np.testing.assert_array_equal(a_train, b_train)
        np.testing.assert_array_equal(a_test, b_test)


def test_repr_lists_parameters():
    assert repr(PerUserKFold(3, random_state=0)) == (
        "PerUserKFold(min_train=1, n_splits=3, random_state=0, shuffle=True)"
    )
    assert repr(LeaveLastOut()) == "LeaveLastOut(min_train=1, n=1)"


def test_read_only_input():
    X = np.column_stack([np.repeat(np.arange(50), 4), np.tile(np.arange(4), 50)])
    X.setflags(write=False)
    for train, test in PerUserKFold(4, random_state=0).split(X):
        assert len(train) == 150 and len(test) == 50
