import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import DataConversionWarning

from skrec.utils.validation import (
    IdIndex,
    check_interactions,
    interaction_matrix,
    signed_weights,
)


def test_int_and_str_ids_and_mixed_objects():
    data = check_interactions([[1, "a"], [2, "b"], ["x", 3]])
    assert data.users.dtype == object and data.users.tolist() == [1, 2, "x"]
    assert data.items.tolist() == ["a", "b", 3]
    ints = check_interactions(np.array([[1, 10], [2, 20]]))
    assert ints.users.dtype.kind == "i" and ints.timestamps is None


def test_dataframe_named_columns_and_datetime_timestamps():
    df = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2021-01-02", "2021-01-01"]),
            "item": ["b", "a"],
            "user": [7, 7],
        }
    )
    data = check_interactions(df)
    assert data.users.tolist() == [7, 7] and data.items.tolist() == ["b", "a"]
    assert data.timestamps[0] > data.timestamps[1]
    assert data.order().tolist() == [1, 0]


def test_positional_timestamp_column():
    data = check_interactions(np.array([[1, 2, 30], [1, 3, 10]]))
    assert data.timestamps.tolist() == [30, 10]


@pytest.mark.parametrize(
    "X, match",
    [
        (None, "None"),
        ([], "empty"),
        (np.empty((0, 2)), "empty"),
        ([[1, 2], [3]], "ragged"),
        ([[None, 1]], "missing ids"),
        (np.array([[np.nan, 1.0]]), "NaN or infinite ids"),
        (np.array([[1.0, np.inf]]), "NaN or infinite ids"),
        ([[1, 2, 3, 4]], "4 columns"),
        (np.zeros((3, 1)), "minimum of 2"),
        (np.arange(3), "2-D"),
        ([[[1], 2]], "hashable scalars"),
        (sp.csr_matrix(np.eye(2)), "sparse"),
        ("ab", "2-D table"),
        ([[1, 2, np.nan]], "timestamps"),
        ([[1, 2, "soon"]], "timestamps"),
    ],
)
def test_bad_x_is_named(X, match):
    with pytest.raises((ValueError, TypeError), match=match):
        check_interactions(X)


@pytest.mark.parametrize(
    "y, match",
    [
        ([1.0], "1 values but X has 2 rows"),
        ([1.0, np.nan], "NaN or infinite"),
        ([1.0, np.inf], "NaN or infinite"),
        (["a", "b"], "numeric"),
        (np.ones((2, 2)), "1-D"),
    ],
)
def test_bad_y_is_named(y, match):
    with pytest.raises((ValueError, TypeError), match=match):
        check_interactions([[1, 2], [3, 4]], y)


def test_error_names_offending_rows():
    X = [[1, 2]] * 10 + [[None, 3]] + [[4, 5]]
    with pytest.raises(ValueError, match=r"rows \[10\]"):
        check_interactions(X)


def test_column_vector_y_warns_and_ravels():
    with pytest.warns(DataConversionWarning):
        data = check_interactions([[1, 2], [3, 4]], np.array([[1.0], [0.0]]))
    assert data.y.tolist() == [1.0, 0.0]


def test_y_semantics_and_duplicates_are_aggregated():
    data = check_interactions([[0, 0], [0, 0], [0, 1], [1, 1], [1, 0]], [2.0, 3.0, 0.0, -3.0, 1.0])
    assert data.positive.tolist() == [True, True, False, False, True]
    w = signed_weights(data.y, len(data))
    assert w.tolist() == [2.0, 3.0, -1.0, -3.0, 1.0]
    m = interaction_matrix(data.users, data.items, w, (2, 2)).toarray()
    assert m.tolist() == [[5.0, -1.0], [1.0, -3.0]]


def test_contradicting_feedback_cancels():
    m = interaction_matrix(np.array([0, 0]), np.array([0, 0]), np.array([1.0, -1.0]), (1, 1))
    assert m.nnz == 0


def test_id_index_round_trip_and_unknowns():
    index = IdIndex(np.array(["b", "a", "c", "a"], dtype=object))
    assert index.ids.tolist() == ["a", "b", "c"]
    assert index.get_indexer(["c", "zz", "a"]).tolist() == [2, -1, 0]
    mixed = IdIndex([3, "x", 1])
    assert mixed.get_indexer([1, "x", "1"]).tolist() == [2, 1, -1]
    grown = index.extend(["d", "a"])
    assert grown.ids.tolist() == ["a", "b", "c", "d"] and len(index) == 3


ids = st.one_of(
    st.integers(-(2**40), 2**40),
    st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(ids, min_size=0, max_size=4), min_size=0, max_size=6),
    y=st.one_of(st.none(), st.lists(st.one_of(st.floats(), st.integers(), st.text(max_size=2)))),
)
def test_nothing_but_value_and_type_errors_escape(rows, y):
    try:
        data = check_interactions(rows, y)
    except (ValueError, TypeError):
        return
    assert len(data.users) == len(rows) > 0
    assert data.y is None or np.isfinite(data.y).all()


@settings(max_examples=100, deadline=None)
@given(
    X=hnp.arrays(
        dtype=st.sampled_from([np.float64, np.int64, np.float32]),
        shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5),
    )
)
def test_random_numeric_arrays(X):
    try:
        data = check_interactions(X)
    except (ValueError, TypeError):
        return
    assert X.ndim == 2 and X.shape[1] in (2, 3) and len(X) > 0
    assert np.isfinite(np.asarray(data.users, dtype=float)).all()


@settings(max_examples=100, deadline=None)
@given(
    users=st.lists(st.one_of(st.integers(0, 5), st.text(max_size=2)), min_size=1, max_size=20),
    data=st.data(),
)
def test_encoding_round_trips(users, data):
    items = data.draw(st.lists(st.integers(0, 3), min_size=len(users), max_size=len(users)))
    inter = check_interactions(list(zip(users, items)))
    index = IdIndex(inter.users)
    codes = index.get_indexer(inter.users)
    assert (codes >= 0).all()
    assert [index.ids[c] for c in codes] == list(inter.users)
