"""Input validation: the one place where interaction data is checked.

Every public entry point of skrec that receives interaction data (``fit``,
``decision_function``, ``score``, the splitters, the scorers, the samplers and
augmenters) goes through :func:`check_interactions`. Bad input is reported with a
``ValueError`` or ``TypeError`` that names the problem and the offending rows;
nothing deeper in numpy, scipy or torch ever sees unchecked data.

The data contract (DESIGN §2):

* ``X`` is a 2-D table whose column 0 is the user id and column 1 the item id.
  An optional column 2 (or a DataFrame column named ``timestamp``) orders
  interactions in time; without it row order is time order. DataFrames may name
  their columns ``user``, ``item`` and ``timestamp``.
* ids are hashable scalars (ints or strings, mixed allowed).
* ``y`` is ``None`` (every row is a positive of weight 1), a positive strength,
  or a value ``<= 0`` for explicit negative feedback.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.exceptions import DataConversionWarning

__all__ = [
    "item_text_ids",
    "item_texts",
    "Interactions",
    "IdIndex",
    "check_interactions",
    "check_ids",
    "as_id_array",
    "interaction_matrix",
    "signed_weights",
]

_MAX_REPORTED = 5
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT64 = np.iinfo(np.int64)
_MEANING = {
    "y": "feedback strengths, <= 0 for negatives",
    "sample_weight": "a non-negative weight per row",
}


@dataclass(frozen=True)
class Interactions:
    """Validated interaction data, column by column.

    Attributes
    ----------
    users, items : ndarray of shape (n_rows,)
        Raw ids, as given (numeric dtype or object).
    timestamps : ndarray of shape (n_rows,) or None
        Numeric time of each row (datetimes as int64 nanoseconds), or None when
        the input had no time column (row order is time order).
    y : ndarray of shape (n_rows,) or None
        Float64 feedback values, or None (all rows positive with weight 1).
    weight : ndarray of shape (n_rows,) or None
        Float64 non-negative ``sample_weight`` of each row (it multiplies the
        row's strength), or None (every row weighs 1).
    """

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None
    y: np.ndarray | None
    weight: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.users)

    @property
    def positive(self) -> np.ndarray:
        """Boolean mask of positive rows (``y > 0``, or every row when y is None)."""
        if self.y is None:
            return np.ones(len(self.users), dtype=bool)
        return self.y > 0

    def order(self) -> np.ndarray:
        """Row indices in time order (stable: ties keep row order)."""
        if self.timestamps is None:
            return np.arange(len(self.users))
        return np.argsort(self.timestamps, kind="stable")

    def y_or_ones(self) -> np.ndarray:
        """``y``, or ones (every row a positive of weight 1) when y is None."""
        return np.ones(len(self.users)) if self.y is None else self.y

    def to_frame(self) -> pd.DataFrame:
        """The interactions as a DataFrame with columns user, item[, timestamp]."""
        cols = {"user": self.users, "item": self.items}
        if self.timestamps is not None:
            cols["timestamp"] = self.timestamps
        return pd.DataFrame(cols)

    def take(self, rows) -> Interactions:
        """The interactions restricted to ``rows`` (indices or a boolean mask)."""
        return Interactions(
            self.users[rows],
            self.items[rows],
            None if self.timestamps is None else self.timestamps[rows],
            None if self.y is None else self.y[rows],
            None if self.weight is None else self.weight[rows],
        )


def _rows(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i) for i in idx[:_MAX_REPORTED])
    more = f" and {len(idx) - _MAX_REPORTED} more" if len(idx) > _MAX_REPORTED else ""
    return f"rows [{shown}]{more}"


def _as_table(X, name: str) -> tuple[list[np.ndarray], bool]:
    """Split ``X`` into its columns; return (columns, has_named_timestamp)."""
    if X is None:
        raise TypeError(
            f"{name} is None; expected an interaction table of (user, item[, timestamp]) rows"
        )
    if sp.issparse(X):
        raise TypeError(
            f"{name} is a sparse matrix; skrec expects an interaction table with one "
            "(user, item[, timestamp]) row per interaction, not a user x item matrix"
        )
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        if "user" in cols and "item" in cols:
            out = [X["user"].to_numpy(), X["item"].to_numpy()]
            if "timestamp" in cols:
                out.append(X["timestamp"].to_numpy())
            return out, True
        _check_n_columns(X.shape, name)
        return [X.iloc[:, j].to_numpy() for j in range(X.shape[1])], False
    if isinstance(X, pd.Series | str | bytes | dict | set) or np.isscalar(X):
        raise TypeError(
            f"{name} must be a 2-D table of (user, item[, timestamp]) rows, got {type(X).__name__}"
        )
    if isinstance(X, np.ndarray):
        arr = X
    elif hasattr(X, "__array__"):
        arr = np.asarray(X)
    else:
        try:
            rows = list(X)
        except TypeError:
            raise TypeError(
                f"{name} must be a 2-D table of (user, item[, timestamp]) rows"
            ) from None
        if not rows:
            raise ValueError(f"{name} is empty: at least one (user, item) row is required")
        lengths = set()
        for r in rows:
            if isinstance(r, str | bytes) or not hasattr(r, "__len__"):
                raise ValueError(
                    f"{name} must be 2-D: each row a (user, item[, timestamp]) sequence, got {r!r}"
                )
            lengths.add(len(r))
        if len(lengths) > 1:
            raise ValueError(f"{name} is ragged: its rows have different lengths {sorted(lengths)}")
        # object dtype keeps each id as given: numpy would turn [[1, "a"]] into strings.
        arr = np.empty((len(rows), lengths.pop() if lengths else 0), dtype=object)
        for j in range(arr.shape[1]):
            arr[:, j] = [r[j] for r in rows]
    if arr.dtype.kind == "c":
        raise ValueError(
            f"Complex data not supported: {name} must hold (user, item[, timestamp]) ids"
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (one row per interaction), got an array with ndim={arr.ndim}. "
            "Reshape your data to (n_rows, 2): one (user, item) pair per row"
        )
    _check_n_columns(arr.shape, name)
    return [arr[:, j] for j in range(arr.shape[1])], False


def _check_n_columns(shape, name: str) -> None:
    n_cols = shape[1]
    if n_cols < 2:
        raise ValueError(
            f"{name} has {n_cols} feature(s) (shape={tuple(shape)}) while a minimum of 2 is "
            "required: columns (user, item[, timestamp])"
        )
    if n_cols > 3:
        raise ValueError(
            f"{name} has {n_cols} columns; expected 2 (user, item) or 3 (user, item, timestamp)"
            " (a DataFrame may instead name its columns 'user', 'item', 'timestamp')"
        )


def as_id_array(ids) -> np.ndarray:
    """Ids as an ndarray without numpy's coercion of mixed lists to strings."""
    if isinstance(ids, np.ndarray):
        arr = ids
    elif isinstance(ids, pd.Series | pd.Index):
        arr = ids.to_numpy()
    elif np.isscalar(ids):
        raise TypeError(f"expected a 1-D array of ids, got the scalar {ids!r}")
    else:
        ids = list(ids)
        arr = np.empty(len(ids), dtype=object)
        arr[:] = ids
        kind = pd.api.types.infer_dtype(arr, skipna=False)
        if kind == "integer":
            arr = _as_int64(arr, "ids")
        elif kind == "floating":
            arr = arr.astype(np.float64)
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    return arr


def check_ids(ids, name: str) -> np.ndarray:
    """Validate a 1-D column of ids: hashable scalars, no missing values.

    Parameters
    ----------
    ids : array-like of shape (n,)
        User or item ids.
    name : str
        What the ids are, for error messages.

    Returns
    -------
    ndarray of shape (n,)
        The ids, numeric dtype when all are numbers, otherwise object.
    """
    arr = as_id_array(ids)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name} contains NaN or infinite ids at {_rows(bad)}")
    elif arr.dtype.kind in "US":
        arr = arr.astype(object)
    elif arr.dtype.kind == "M":
        raise TypeError(f"{name} are datetimes; ids must be ints or strings")
    elif arr.dtype.kind == "O":
        arr = _check_object_ids(arr, name)
    elif arr.dtype.kind == "u" and len(arr) and arr.max() > _INT64.max:
        _as_int64(arr.astype(object), name)
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"{name} has unsupported dtype {arr.dtype}; ids must be ints or strings")
    return arr


def _as_int64(arr: np.ndarray, name: str) -> np.ndarray:
    """Integer ids as int64, or a ValueError naming the ids outside its range."""
    try:
        return arr.astype(np.int64)
    except OverflowError:
        big = np.fromiter(
            (not _INT64.min <= int(v) <= _INT64.max for v in arr), dtype=bool, count=len(arr)
        )
        raise ValueError(
            f"{name} has integers outside the int64 range at {_rows(big)} (e.g. "
            f"{arr[np.flatnonzero(big)[0]]}); use ids that fit in int64, or strings"
        ) from None


def _check_object_ids(arr: np.ndarray, name: str) -> np.ndarray:
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(f"{name} contains missing ids (None/NaN) at {_rows(missing)}")
    kinds = pd.api.types.infer_dtype(arr, skipna=False)
    if kinds in ("string", "integer", "mixed-integer", "bytes"):
        if kinds == "integer":
            return _as_int64(arr, name)
        return arr
    bad = np.fromiter(
        (
            not isinstance(v, str | bytes | Integral | Real)
            or isinstance(v, Real)
            and not np.isfinite(v)
            for v in arr
        ),
        dtype=bool,
        count=len(arr),
    )
    if bad.any():
        first = arr[np.flatnonzero(bad)[0]]
        raise TypeError(
            f"{name} must be hashable scalars (int or str); got {type(first).__name__} "
            f"{first!r} at {_rows(bad)}"
        )
    return arr


def _check_timestamps(col: np.ndarray, name: str) -> np.ndarray:
    if col.dtype.kind == "M":
        if np.isnat(col).any():
            raise ValueError(f"{name} timestamps contain NaT at {_rows(np.isnat(col))}")
        return col.astype("datetime64[ns]").astype(np.int64)
    if col.dtype.kind == "O":
        try:
            col = pd.to_numeric(pd.Series(col), errors="raise").to_numpy()
        except (ValueError, TypeError):
            try:
                col = pd.to_datetime(pd.Series(col)).to_numpy()
            except (ValueError, TypeError):
                raise TypeError(
                    f"{name} timestamps (column 2) must be numbers or datetimes"
                ) from None
            return _check_timestamps(col, name)
    if col.dtype.kind not in "iufb":
        raise TypeError(
            f"{name} timestamps (column 2) must be numbers or datetimes, got dtype {col.dtype}"
        )
    # copy=False: a column that already has the right dtype is used as is, not copied.
    col = col.astype(np.float64 if col.dtype.kind == "f" else np.int64, copy=False)
    if col.dtype.kind == "f":
        bad = ~np.isfinite(col)
        if bad.any():
            raise ValueError(f"{name} timestamps contain NaN or infinite values at {_rows(bad)}")
    return col


def _check_y(y, n: int, name: str = "y") -> np.ndarray:
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(f"{name} must be 1-D, got a DataFrame with {y.shape[1]} columns")
        y = y.iloc[:, 0]
    try:
        arr = np.asarray(y)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as a 1-D array: {exc}") from None
    if arr.ndim == 2 and arr.shape[1] == 1:
        warnings.warn(
            f"A column-vector {name} was passed when a 1d array was expected; it was raveled.",
            DataConversionWarning,
            stacklevel=3,
        )
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per row of X), got shape {arr.shape}")
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} values but X has {n} rows")
    if arr.dtype.kind == "O":
        try:
            arr = pd.to_numeric(pd.Series(arr), errors="raise").to_numpy()
        except (ValueError, TypeError):
            raise TypeError(f"{name} must be numeric ({_MEANING[name]})") from None
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be numeric ({_MEANING[name]}), got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} contains NaN or infinite values at {_rows(bad)}")
    huge = np.abs(arr) > _FLOAT32_MAX
    if huge.any():
        raise ValueError(
            f"{name} has values beyond the float32 range (|{name}| > {_FLOAT32_MAX:.3g}) at "
            f"{_rows(huge)}; models store feedback as float32, where these become infinite. "
            f"Rescale {name}"
        )
    return arr


def check_interactions(X, y=None, *, sample_weight=None, name: str = "X") -> Interactions:
    """Validate an interaction table, its optional feedback and its optional row weights.

    Parameters
    ----------
    X : array-like of shape (n_rows, 2 or 3) or DataFrame
        Interaction rows ``(user, item[, timestamp])``.
    y : array-like of shape (n_rows,), default=None
        Feedback per row; None means every row is a positive of weight 1.
    sample_weight : array-like of shape (n_rows,), default=None
        Non-negative weight of each row; it multiplies the row's strength (a
        weight of 0 is a row that counts for nothing).
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    Interactions
        The validated columns.

    Raises
    ------
    TypeError
        For input of the wrong type (sparse matrices, non-scalar ids, text ``y``).
    ValueError
        For input of the wrong shape or with missing or non-finite values; the
        message names the offending rows.

    Examples
    --------
    >>> from skrec.utils.validation import check_interactions
    >>> data = check_interactions([["alice", "matrix"], ["bob", "alien"]], y=[1, 0])
    >>> data.users.tolist(), data.positive.tolist()
    (['alice', 'bob'], [True, False])
    """
    if isinstance(X, Interactions):
        data = X
        if y is not None:
            y_arr = _check_y(y, len(data))
            data = Interactions(data.users, data.items, data.timestamps, y_arr, data.weight)
    else:
        cols, _ = _as_table(X, name)
        n = len(cols[0])
        if n == 0:
            raise ValueError(f"{name} is empty: at least one (user, item) row is required")
        users = check_ids(cols[0], f"{name} user ids (column 0)")
        items = check_ids(cols[1], f"{name} item ids (column 1)")
        timestamps = _check_timestamps(cols[2], name) if len(cols) > 2 else None
        y_arr = None if y is None else _check_y(y, n)
        data = Interactions(users, items, timestamps, y_arr)
    if sample_weight is None:
        return data
    weight = _check_y(sample_weight, len(data), name="sample_weight")
    negative = weight < 0
    if negative.any():
        raise ValueError(f"sample_weight must be non-negative; negative at {_rows(negative)}")
    return Interactions(data.users, data.items, data.timestamps, data.y, weight)


def item_text_ids(item_text, owner: str) -> np.ndarray | None:
    """Ids of the items an ``item_text`` mapping or Series knows (None for a function).

    Parameters
    ----------
    item_text : mapping, pandas.Series or callable
        Item id -> text, or a function of the id.
    owner : str
        The estimator or augmenter that takes it, for error messages.

    Returns
    -------
    ndarray or None
        Validated ids (the cold-start items among them have no interaction).

    Examples
    --------
    >>> from skrec.utils.validation import item_text_ids
    >>> item_text_ids({"a": "space", "b": "food"}, "doc").tolist()
    ['a', 'b']
    """
    if callable(item_text) and not isinstance(item_text, Mapping | pd.Series):
        return None
    return _item_text_table(item_text, owner)[0]


def item_texts(item_text, items, owner: str) -> list[str]:
    """The text of each of ``items``, from a mapping, a Series or a function of the id.

    Parameters
    ----------
    item_text : mapping, pandas.Series or callable
        Item id -> text, or a function of the id.
    items : array-like of shape (n_items,)
        The ids whose texts are wanted.
    owner : str
        The estimator or augmenter that takes it, for error messages.

    Returns
    -------
    list of str
        One text per item, in order.

    Raises
    ------
    ValueError
        When an item has no text (the message names them).
    TypeError
        When a text is not a str.

    Examples
    --------
    >>> from skrec.utils.validation import item_texts
    >>> item_texts({"a": "space", "b": "food"}, ["b", "a"], "doc")
    ['food', 'space']
    >>> item_texts(lambda item: f"item {item}", [3], "doc")
    ['item 3']
    """
    items = as_id_array(items)
    if callable(item_text) and not isinstance(item_text, Mapping | pd.Series):
        texts = [item_text(i) for i in items.tolist()]
        bad = [i for i, t in zip(items.tolist(), texts, strict=True) if not isinstance(t, str)]
        if bad:
            raise TypeError(
                f"{owner}'s item_text function must return a str for every item; it did not "
                f"for {len(bad)} item(s): {bad[:_MAX_REPORTED]}"
            )
        return texts
    ids, texts = _item_text_table(item_text, owner)
    position = pd.Index(ids).get_indexer(items) if len(items) else np.empty(0, dtype=np.int64)
    missing = position < 0
    if missing.any():
        shown = ", ".join(repr(v) for v in items[missing][:_MAX_REPORTED])
        more = f" and {missing.sum() - _MAX_REPORTED} more" if missing.sum() > _MAX_REPORTED else ""
        raise ValueError(
            f"item_text has no text for {int(missing.sum())} item(s) seen in fit: "
            f"[{shown}]{more}; every item of X needs a text"
        )
    return [texts[p] for p in position]


def _item_text_table(item_text, owner: str) -> tuple[np.ndarray, list[str]]:
    """Validated ``(ids, texts)`` of an ``item_text`` mapping or Series."""
    if item_text is None:
        raise ValueError(
            f"{owner} needs item_text: a mapping or pandas Series from item id to text, or a "
            "function of the item id"
        )
    if isinstance(item_text, pd.Series):
        keys, values = item_text.index.to_numpy(), item_text.to_numpy()
        if item_text.index.has_duplicates:
            dup = item_text.index[item_text.index.duplicated()].unique()[:_MAX_REPORTED]
            raise ValueError(f"item_text has duplicate item ids: {list(dup)}")
    elif isinstance(item_text, Mapping):
        keys, values = list(item_text.keys()), list(item_text.values())
    else:
        raise TypeError(
            f"item_text must be a mapping or pandas Series from item id to text, or a function "
            f"of the item id, got {type(item_text).__name__}"
        )
    if len(keys) == 0:
        raise ValueError("item_text is empty: it must give a text for every item")
    ids = check_ids(keys, "item_text ids")
    bad = [k for k, v in zip(ids.tolist(), values, strict=True) if not isinstance(v, str)]
    if bad:
        raise TypeError(
            f"item_text values must be str; {len(bad)} item(s) have other values (missing "
            f"text?): {bad[:_MAX_REPORTED]}"
        )
    return ids, list(values)


class IdIndex:
    """A fitted mapping between raw ids and dense indices ``0..n-1``.

    Sorted order when the ids are mutually comparable, first-appearance order
    otherwise (mixed ints and strings). Unknown ids map to ``-1``.

    Parameters
    ----------
    ids : array-like of shape (n,)
        Ids to index (duplicates allowed; each id gets one index).

    Examples
    --------
    >>> from skrec.utils.validation import IdIndex
    >>> index = IdIndex(["b", "a", "b"])
    >>> index.ids.tolist(), index.get_indexer(["a", "z"]).tolist()
    (['a', 'b'], [0, -1])
    """

    def __init__(self, ids):
        uniques = np.asarray(pd.unique(as_id_array(ids)))
        try:
            uniques = np.sort(uniques, kind="stable")
        except TypeError:
            pass
        self.ids = uniques
        self._index = pd.Index(uniques)

    def __len__(self) -> int:
        return len(self.ids)

    def get_indexer(self, ids) -> np.ndarray:
        """Dense index of each id, ``-1`` for ids not in the index."""
        ids = as_id_array(ids)
        if len(ids) == 0:
            return np.empty(0, dtype=np.int64)
        return self._index.get_indexer(ids).astype(np.int64, copy=False)

    def extend(self, ids) -> IdIndex:
        """A new index with ``ids`` appended (ids already present keep their index)."""
        ids = as_id_array(ids)
        new = ids[self.get_indexer(ids) < 0]
        if len(new) == 0:
            return self
        out = IdIndex.__new__(IdIndex)
        extra = np.asarray(pd.unique(new))
        try:
            out.ids = np.concatenate([self.ids, extra])
        except TypeError:
            out.ids = np.concatenate([self.ids.astype(object), extra.astype(object)])
        if out.ids.dtype.kind in "US":
            out.ids = out.ids.astype(object)
        out._index = pd.Index(out.ids)
        return out

    def __getstate__(self):
        return {"ids": self.ids}

    def __setstate__(self, state):
        self.ids = state["ids"]
        self._index = pd.Index(self.ids)


def signed_weights(y: np.ndarray | None, n: int, weight: np.ndarray | None = None) -> np.ndarray:
    """Matrix weight of each row: strength for positives, ``-max(|y|, 1)`` for negatives.

    An explicit negative (``y <= 0``) keeps at least unit magnitude so that
    ``y = 0`` ("shown and rejected") is not lost as an empty cell. ``weight``
    (a ``sample_weight``) multiplies the result.
    """
    if y is None:
        w = np.ones(n, dtype=np.float32)
    else:
        # Computed in place in float32 (and float64 only for the negatives): no
        # full-size float64 temporaries.
        w = y.astype(np.float32)
        negative = ~(y > 0)
        if negative.any():
            w[negative] = -np.maximum(-y[negative], 1.0)
    if weight is not None:
        w *= weight.astype(np.float32)
    return w


def interaction_matrix(user_idx, item_idx, weights, shape) -> sp.csr_matrix:
    """The user x item CSR matrix of summed weights (duplicates aggregated).

    Cells whose weights cancel to exactly zero are removed.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.utils.validation import interaction_matrix
    >>> m = interaction_matrix(np.array([0, 0, 1]), np.array([1, 1, 0]), np.ones(3), (2, 2))
    >>> m.toarray().tolist()
    [[0.0, 2.0], [1.0, 0.0]]
    """
    m = sp.csr_matrix(
        (np.asarray(weights, dtype=np.float32), (user_idx, item_idx)), shape=shape, dtype=np.float32
    )
    m.sum_duplicates()
    bad = ~np.isfinite(m.data)
    if bad.any():
        raise ValueError(
            f"the summed feedback of {int(bad.sum())} (user, item) cells overflows float32 "
            "(duplicate rows are summed); rescale y or sample_weight"
        )
    m.eliminate_zeros()
    m.sort_indices()
    return m
