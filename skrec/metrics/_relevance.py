"""From user input to a hit matrix: the one representation every ranking metric reads.

Ids are encoded once with :func:`pandas.factorize`, each (user, item) pair
becomes one int64 key, and sorted keys give a boolean hit matrix ``(n_users, k)``:
no Python loop runs over users once the input is in array form. With relevance
grades, the same pass also yields each hit's grade and each user's ideal
(best-first) grades.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from itertools import chain, islice
from numbers import Integral
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..utils._sklearn_compat import Interval, check_param
from ..utils.validation import as_id_array

__all__: list[str] = []


class Relevance(NamedTuple):
    """What the metric kernels read, for the users that have a relevant item.

    ``users`` holds the row (in ``y_true`` / ``y_pred`` order) of each kept user;
    ``grades`` and ``ideal`` are None under binary relevance.
    """

    hits: np.ndarray  # (n_kept, k) bool: slot i holds a relevant item (first occurrence)
    n_rel: np.ndarray  # (n_kept,) number of relevant items
    k: int
    users: np.ndarray  # (n_kept,) int row indices
    grades: np.ndarray | None = None  # (n_kept, k) the grade of each hit, 0 elsewhere
    ideal: np.ndarray | None = None  # (n_kept, k) the user's k best grades, descending, 0-padded

    def truncate(self, k: int) -> Relevance:
        """The same judgements at a cut-off ``k <= self.k`` (rankings are prefixes)."""
        return Relevance(
            self.hits[:, :k],
            self.n_rel,
            k,
            self.users,
            None if self.grades is None else self.grades[:, :k],
            None if self.ideal is None else self.ideal[:, :k],
        )


#: The constraint of every cut-off ``k``.
K = [Interval(Integral, 1, None, closed="left")]


def check_k(k, caller: str = "the ranking metric") -> int:
    """``k`` as an int, or scikit-learn's ``InvalidParameterError`` naming ``caller``."""
    return int(check_param("k", k, K, caller))


def is_row(obj) -> bool:
    """Whether ``obj`` can be one user's ids: an iterable that is not text or a mapping."""
    return hasattr(obj, "__iter__") and not isinstance(obj, str | bytes | Mapping)


def _flatten(entries: list, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Lengths of id collections and their ids concatenated (ints/strings checked)."""
    lengths = np.fromiter(map(len, entries), dtype=np.int64, count=len(entries))
    kinds = {e.dtype.kind if isinstance(e, np.ndarray) and e.ndim == 1 else "" for e in entries}
    if entries and len(kinds) == 1 and kinds <= set("iufOUS"):  # arrays of one kind: no boxing
        ids = as_id_array(np.concatenate(entries))
    else:
        ids = as_id_array(list(chain.from_iterable(entries)))
    if ids.dtype.kind not in "iufbO":
        raise TypeError(f"{name} has unsupported id dtype {ids.dtype}; ids must be ints or strings")
    return lengths, ids


def as_rankings(y_pred, k: int, name: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` ids of each ranking, as ``(ids, valid)`` of shape (n_users, <= k).

    ``valid`` is False for the padding of short rows and for missing ids (None, NaN).
    """
    if isinstance(y_pred, pd.DataFrame):
        y_pred = y_pred.to_numpy()
    if not is_row(y_pred) or isinstance(y_pred, Set):
        raise TypeError(
            f"{name} must be a 2-D array-like of ranked item ids (one row per user), "
            f"got {type(y_pred).__name__}"
        )
    arrayish = hasattr(y_pred, "__array__") and not isinstance(y_pred, list | tuple)
    arr = np.asarray(y_pred) if arrayish else y_pred
    if isinstance(arr, np.ndarray) and not (arr.ndim == 2 or arr.ndim == 1 and arr.dtype == object):
        raise ValueError(f"{name} must be 2-D (item ids, a row per user), got ndim={arr.ndim}")
    if isinstance(arr, np.ndarray) and arr.ndim == 2:
        ids = arr[:, :k]
        if ids.dtype.kind not in "iufbOUS":
            raise TypeError(f"{name} has unsupported dtype {ids.dtype}; ids must be int or str")
        ids = ids.astype(object) if ids.dtype.kind in "US" else ids
        valid = np.ones(ids.shape, dtype=bool)
    else:
        rows = list(y_pred)
        for i, row in enumerate(rows):
            if type(row) in (list, tuple) or type(row) is np.ndarray and row.ndim == 1:
                if len(row) > k:  # slicing only when needed: no allocation in the common case
                    rows[i] = row[:k]
            elif not is_row(row) or isinstance(row, Set) or getattr(row, "ndim", 1) != 1:
                raise ValueError(
                    f"{name} must be 2-D: each row an ordered sequence of item ids, but "
                    f"row {i} is {type(row).__name__} {row!r:.50}"
                )
            else:
                rows[i] = list(islice(row, k))
        lengths, flat = _flatten(rows, name)
        valid = np.arange(lengths.max() if len(rows) else 0) < lengths[:, None]
        ids = np.zeros(valid.shape, dtype=flat.dtype if flat.dtype.kind in "iufb" else object)
        ids[valid] = flat
    if ids.dtype.kind in "fO":
        valid &= ~pd.isna(ids)
    return ids, valid


def _check_grades(values: list, lengths: np.ndarray) -> np.ndarray:
    """Relevance grades as float64: finite and >= 0, else an error naming the user."""
    grades = np.asarray(values) if values else np.zeros(0)
    if grades.ndim != 1 or grades.dtype.kind not in "iufb":
        raise TypeError(
            "y_true relevance grades (the values of its mappings) must be numbers, got "
            f"{grades.dtype if grades.ndim == 1 else 'nested values'}"
        )
    grades = grades.astype(np.float64)
    bad = ~np.isfinite(grades) | (grades < 0)
    if bad.any():
        user = int(np.searchsorted(np.cumsum(lengths), np.flatnonzero(bad)[0], side="right"))
        raise ValueError(
            f"y_true[{user}] has a relevance grade that is negative, NaN or infinite "
            f"({grades[bad][0]!r}); grades must be finite and >= 0 (0: not relevant)"
        )
    return grades


def as_relevant(y_true, n_users: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Flatten ``y_true`` into (user row, item id, grade or None) triples.

    Entries are collections of relevant ids (grade 1 each) or mappings item -> grade;
    grades are None when no entry is a mapping. Items of grade 0 are dropped here.
    """
    if not is_row(y_true):
        raise TypeError(
            "y_true must be a sequence with one collection of relevant item ids per user, "
            f"got {type(y_true).__name__}"
        )
    entries = list(y_true)
    graded = False
    for i, rel in enumerate(entries):
        if type(rel) in (list, tuple, set, frozenset) or type(rel) is np.ndarray and rel.ndim == 1:
            continue  # the common cases, checked cheaply
        if isinstance(rel, Mapping):
            graded = True
            continue
        if not is_row(rel) or getattr(rel, "ndim", 1) != 1:
            raise TypeError(
                f"y_true[{i}] must be a collection of relevant item ids (list, set, array) "
                f"or a mapping item -> relevance grade, got {type(rel).__name__} {rel!r:.50}"
            )
        entries[i] = rel if hasattr(rel, "__len__") else list(rel)
    if len(entries) != n_users:
        raise ValueError(
            f"y_true has {len(entries)} users but y_pred has {n_users}; both must list the "
            "same users in the same order"
        )
    grades = None
    if graded:
        values = [rel.values() if isinstance(rel, Mapping) else [1.0] * len(rel) for rel in entries]
        entries = [list(rel) if isinstance(rel, Mapping) else rel for rel in entries]
        lengths = np.fromiter(map(len, entries), dtype=np.int64, count=len(entries))
        grades = _check_grades(list(chain.from_iterable(values)), lengths)
    lengths, ids = _flatten(entries, "y_true")
    rows = np.repeat(np.arange(n_users, dtype=np.int64), lengths)
    if ids.dtype.kind in "fO" and pd.isna(ids).any():
        users = np.unique(rows[pd.isna(ids)])[:5].tolist()
        raise ValueError(f"y_true contains missing item ids (None/NaN) for users at {users}")
    if grades is not None:
        relevant = grades > 0
        rows, ids, grades = rows[relevant], ids[relevant], grades[relevant]
    return rows, ids, grades


def _first_of_groups(sorted_keys: np.ndarray) -> np.ndarray:
    return np.r_[True, sorted_keys[1:] != sorted_keys[:-1]][: len(sorted_keys)]


def hit_matrix(true_rows, true_ids, pred_ids, pred_valid, k: int, true_grades=None) -> Relevance:
    """Hits of the users with a relevant item; a repeated id hits only once, first.

    With ``true_grades`` (one positive grade per relevant pair; a pair given twice
    sums its grades), also each hit's grade and each user's ideal grades.
    """
    n_users, width = pred_ids.shape
    both = [true_ids, pred_ids[pred_valid]]
    if not all(a.dtype.kind in "iufb" for a in both):
        both = [a.astype(object) for a in both]  # numpy would turn mixed ints/str into str
    codes, uniques = pd.factorize(np.concatenate(both))
    n_codes, n_true = max(len(uniques), 1), len(true_ids)
    # Sorting beats numpy's hash-based unique/isin on these wide int64 keys.
    raw_keys = true_rows.astype(np.int64) * n_codes + codes[:n_true]
    if true_grades is None:
        true_keys = np.sort(raw_keys)
        true_keys = true_keys[_first_of_groups(true_keys)]
    else:
        by_key = np.argsort(raw_keys, kind="stable")
        first = _first_of_groups(raw_keys[by_key])
        true_keys = raw_keys[by_key][first]
        key_grades = np.add.reduceat(true_grades[by_key], np.flatnonzero(first)) if n_true else None
    n_rel = np.bincount(true_keys // n_codes, minlength=n_users)
    keep = n_rel > 0
    if not keep.any():
        raise ValueError(
            "no user has any relevant item in y_true; ranking metrics are undefined "
            "(users with no relevant items are skipped)"
        )
    pred_keys = np.nonzero(pred_valid)[0].astype(np.int64) * n_codes + codes[n_true:]
    order = np.argsort(pred_keys, kind="stable")
    sorted_keys = pred_keys[order]
    pos = np.minimum(np.searchsorted(true_keys, sorted_keys), len(true_keys) - 1)
    is_hit = _first_of_groups(sorted_keys) & (true_keys[pos] == sorted_keys)
    hit = np.empty(len(pred_keys), dtype=bool)
    hit[order] = is_hit
    hits = np.zeros((n_users, k), dtype=bool)
    hits[:, :width][pred_valid] = hit
    if true_grades is None:
        return Relevance(hits[keep], n_rel[keep], k, np.flatnonzero(keep))
    hit_grade = np.empty(len(pred_keys))
    hit_grade[order] = np.where(is_hit, key_grades[pos], 0.0)
    grades = np.zeros((n_users, k))
    grades[:, :width][pred_valid] = hit_grade
    return Relevance(
        hits[keep],
        n_rel[keep],
        k,
        np.flatnonzero(keep),
        grades[keep],
        _ideal_grades(true_keys // n_codes, key_grades, n_users, k)[keep],
    )


def _ideal_grades(rows: np.ndarray, grades: np.ndarray, n_users: int, k: int) -> np.ndarray:
    """(n_users, k): each user's ``k`` largest grades, descending, 0-padded."""
    order = np.lexsort((-grades, rows))
    rows, grades = rows[order], grades[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
    top = rank < k
    ideal = np.zeros((n_users, k))
    ideal[rows[top], rank[top]] = grades[top]
    return ideal


def relevance(y_true, y_pred, k) -> Relevance:
    """Parse the public metrics' inputs into a :class:`Relevance`."""
    k = check_k(k)
    pred_ids, pred_valid = as_rankings(y_pred, k)
    true_rows, true_ids, grades = as_relevant(y_true, pred_ids.shape[0])
    return hit_matrix(true_rows, true_ids, pred_ids, pred_valid, k, grades)
