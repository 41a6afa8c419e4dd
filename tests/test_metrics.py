"""Tests for skrec.metrics: hand-computed cases, a reference loop, implicit parity, scorers."""

from __future__ import annotations

import doctest
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from skrec.metrics import (
    _ranking,
    _scorer,
    catalog_coverage,
    hit_rate_at_k,
    make_ranking_scorer,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from skrec.metrics._scorer import ranking_score

METRICS = {
    "ndcg": ndcg_at_k,
    "recall": recall_at_k,
    "precision": precision_at_k,
    "hit_rate": hit_rate_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
}


def _disc(i):
    return 1.0 / math.log2(i + 2)


# ------------------------------------------------------------ reference loop


def _reference(y_true, y_pred, k):
    """Plain per-user loop over the same definitions (implicit's for ndcg/map/precision-min)."""
    per_user = {name: [] for name in ("ndcg", "recall", "precision", "hit_rate", "map", "mrr")}
    hits_total = denom_min = 0
    for rel, rec in zip(y_true, y_pred):
        rel = set(rel)
        if not rel:
            continue
        seen, hits = set(), []
        for item in list(rec)[:k]:
            hits.append(item in rel and item not in seen)
            seen.add(item)
        hits += [False] * (k - len(hits))
        n_hit = sum(hits)
        cutoff = min(k, len(rel))
        dcg = sum(_disc(i) for i, h in enumerate(hits) if h)
        idcg = sum(_disc(i) for i in range(cutoff))
        ap, found = 0.0, 0
        for i, h in enumerate(hits):
            if h:
                found += 1
                ap += found / (i + 1)
        first = next((i for i, h in enumerate(hits) if h), None)
        per_user["ndcg"].append(dcg / idcg)
        per_user["recall"].append(n_hit / len(rel))
        per_user["precision"].append(n_hit / k)
        per_user["hit_rate"].append(float(n_hit > 0))
        per_user["map"].append(ap / cutoff)
        per_user["mrr"].append(0.0 if first is None else 1.0 / (first + 1))
        hits_total += n_hit
        denom_min += cutoff
    if not per_user["ndcg"]:
        return None
    out = {name: float(np.mean(values)) for name, values in per_user.items()}
    out["precision_min"] = hits_total / denom_min
    return out


ids = st.one_of(st.integers(0, 9), st.sampled_from(["a", "b", "c"]))


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.lists(ids, max_size=5), st.lists(ids, max_size=12)), min_size=1, max_size=8
    ),
    k=st.integers(1, 12),
)
def test_vectorised_matches_reference_loop(data, k):
    y_true = [rel for rel, _ in data]
    y_pred = [rec for _, rec in data]
    expected = _reference(y_true, y_pred, k)
    if expected is None:
        for func in METRICS.values():
            with pytest.raises(ValueError, match="no user has any relevant item"):
                func(y_true, y_pred, k=k)
        return
    for name, func in METRICS.items():
        assert math.isclose(func(y_true, y_pred, k=k), expected[name], rel_tol=1e-12), name
    got = precision_at_k(y_true, y_pred, k=k, normalize="min")
    assert math.isclose(got, expected["precision_min"], rel_tol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 15))
def test_vectorised_matches_reference_on_random_arrays(seed, k):
    rng = np.random.default_rng(seed)
    n_users, n_items = 50, 30
    y_pred = rng.integers(0, n_items, size=(n_users, 10))
    y_true = [rng.choice(n_items, size=rng.integers(0, 8), replace=False) for _ in range(n_users)]
    y_true[0] = np.array([y_pred[0, 0]])
    expected = _reference(y_true, y_pred.tolist(), k)
    for name, func in METRICS.items():
        assert math.isclose(func(y_true, y_pred, k=k), expected[name], rel_tol=1e-12), name


# ----------------------------------------------------- hand-computed cases


def test_ndcg_hand_computed():
    # hits at ranks 0 and 2, two relevant items: (1 + 1/2) / (1 + 1/log2(3))
    assert ndcg_at_k([["a", "b"]], [["a", "c", "b"]], k=3) == pytest.approx(1.5 / (1 + _disc(1)))
    assert ndcg_at_k([["a", "b"]], [["a", "b", "c"]], k=3) == pytest.approx(1.0)


def test_fewer_relevant_items_than_k():
    y_true, y_pred = [[1]], [[2, 1, 3]]
    assert ndcg_at_k(y_true, y_pred, k=3) == pytest.approx(_disc(1))  # idcg over min(k, 1)
    assert recall_at_k(y_true, y_pred, k=3) == 1.0
    assert precision_at_k(y_true, y_pred, k=3) == pytest.approx(1 / 3)
    assert precision_at_k(y_true, y_pred, k=3, normalize="min") == 1.0
    assert map_at_k(y_true, y_pred, k=3) == 0.5
    assert mrr_at_k(y_true, y_pred, k=3) == 0.5
    assert hit_rate_at_k(y_true, y_pred, k=3) == 1.0


def test_more_relevant_items_than_k():
    y_true, y_pred = [[1, 2, 3, 4]], [[1, 2, 9]]
    assert ndcg_at_k(y_true, y_pred, k=2) == pytest.approx(1.0)
    assert map_at_k(y_true, y_pred, k=2) == pytest.approx(1.0)
    assert precision_at_k(y_true, y_pred, k=2) == 1.0
    assert recall_at_k(y_true, y_pred, k=2) == 0.5  # divides by n_relevant, not min(k, n_rel)


def test_users_without_relevant_items_are_skipped():
    y_true, y_pred = [[1], [], set()], [[1, 2], [3, 4], [5, 6]]
    for func in METRICS.values():
        assert func(y_true, y_pred, k=2) == func([[1]], [[1, 2]], k=2)
    assert precision_at_k(y_true, y_pred, k=2) == 0.5
    assert hit_rate_at_k(y_true, y_pred, k=2) == 1.0


def test_no_relevant_items_at_all_raises():
    for func in METRICS.values():
        with pytest.raises(ValueError, match="no user has any relevant item"):
            func([[], []], [[1], [2]], k=1)


def test_duplicates_in_a_row_count_once():
    y_true, y_pred = [[1, 2]], [[1, 1, 2]]
    assert precision_at_k(y_true, y_pred, k=3) == pytest.approx(2 / 3)
    assert recall_at_k(y_true, y_pred, k=3) == 1.0
    assert ndcg_at_k(y_true, y_pred, k=3) == pytest.approx((1 + _disc(2)) / (1 + _disc(1)))
    assert map_at_k(y_true, y_pred, k=3) == pytest.approx((1 + 2 / 3) / 2)
    # duplicates in y_true are one relevant item
    assert recall_at_k([[1, 1]], [[1]], k=1) == 1.0


def test_k_larger_than_list():
    y_true, y_pred = [[1, 2]], [[2]]
    assert precision_at_k(y_true, y_pred, k=5) == pytest.approx(1 / 5)
    assert precision_at_k(y_true, y_pred, k=5, normalize="min") == pytest.approx(1 / 2)
    assert recall_at_k(y_true, y_pred, k=5) == 0.5
    assert ndcg_at_k(y_true, y_pred, k=5) == pytest.approx(1 / (1 + _disc(1)))
    assert map_at_k(y_true, y_pred, k=5) == pytest.approx(1 / 2)


def test_only_first_k_count():
    y_true, y_pred = [[3]], [[1, 2, 3]]
    for func in METRICS.values():
        assert func(y_true, y_pred, k=2) == 0.0
        assert func(y_true, y_pred, k=3) > 0.0
    assert mrr_at_k(y_true, y_pred, k=3) == pytest.approx(1 / 3)


def test_mrr_and_hit_rate_over_users():
    y_true = [[3], [7], [1]]
    y_pred = [[1, 2, 3], [4, 5, 6], [1, 9, 9]]
    assert mrr_at_k(y_true, y_pred, k=3) == pytest.approx((1 / 3 + 0 + 1) / 3)
    assert hit_rate_at_k(y_true, y_pred, k=3) == pytest.approx(2 / 3)


def test_precision_normalisations_differ():
    y_true, y_pred = [[1], [2, 3, 4]], [[1, 5], [2, 6]]
    assert precision_at_k(y_true, y_pred, k=2) == 0.5  # mean of 1/2 and 1/2
    assert precision_at_k(y_true, y_pred, k=2, normalize="min") == pytest.approx(2 / 3)  # 2 / (1+2)


def test_returns_python_float():
    assert type(ndcg_at_k([[1]], np.array([[1, 2]]), k=2)) is float
    assert type(catalog_coverage([[1]], catalog=2)) is float


# ---------------------------------------------------------- input handling


def test_input_forms_agree():
    expected = ndcg_at_k([[1, 3], [2]], [[1, 2, 3], [3, 2, 1]], k=3)
    forms = [
        ([{1, 3}, (2,)], np.array([[1, 2, 3], [3, 2, 1]])),
        ((np.array([1, 3]), np.array([2])), pd.DataFrame([[1, 2, 3], [3, 2, 1]])),
        (pd.Series([[1, 3], [2]]), [np.array([1, 2, 3]), (3, 2, 1)]),
        ([iter([1, 3]), [np.int32(2)]], [[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]),
        ([[1, 3], [2]], (iter(row) for row in [[1, 2, 3], [3, 2, 1]])),
        (np.array([[1, 3], [2, 2]]), [[1, 2, 3], [3, 2, 1]]),
    ]
    for y_true, y_pred in forms:
        assert ndcg_at_k(y_true, y_pred, k=3) == pytest.approx(expected)


def test_string_and_mixed_ids():
    y_pred = np.array([["a", "b"], ["c", "d"]])  # numpy unicode dtype
    assert recall_at_k([["b"], ["c", "z"]], y_pred, k=2) == pytest.approx(0.75)
    # mixed ints and strings are not coerced to one type: 1 is not "1"
    assert hit_rate_at_k([[1], ["1"]], [["1", 2], [1, "2"]], k=2) == 0.0
    assert hit_rate_at_k([[1], ["1"]], [[1, "x"], ["1"]], k=2) == 1.0


def test_ragged_rows_and_missing_slots():
    y_true = [[1, 2], [3]]
    ragged = [[9, 1], [3, 8, 7, 6]]
    padded = np.array([[9, 1, np.nan, np.nan], [3, 8, 7, 6]])
    with_none = [[9, 1, None], [3, 8, 7, 6]]
    expected = ndcg_at_k(y_true, ragged, k=4)
    assert ndcg_at_k(y_true, padded, k=4) == pytest.approx(expected)
    assert ndcg_at_k(y_true, with_none, k=4) == pytest.approx(expected)
    assert precision_at_k(y_true, padded, k=4) == pytest.approx((1 / 4 + 1 / 4) / 2)


def test_empty_rows_in_y_pred():
    assert ndcg_at_k([[1], [2]], [[], [2]], k=3) == 0.5


@pytest.mark.parametrize("k", [0, -1, 1.5, "3", None])
def test_bad_k(k):
    with pytest.raises(ValueError, match="'k' parameter"):
        ndcg_at_k([[1]], [[1]], k=k)
    with pytest.raises(ValueError, match="'k' parameter"):
        catalog_coverage([[1]], catalog=3, k=k)


def test_k_accepts_numpy_integers():
    assert ndcg_at_k([[1]], [[1]], k=np.int64(3)) == 1.0


@pytest.mark.parametrize(
    "y_true, y_pred, exc, match",
    [
        ([[1]], [[1], [2]], ValueError, "y_true has 1 users but y_pred has 2"),
        ([[1]], np.array([1, 2]), ValueError, "must be 2-D"),
        ([[1]], np.zeros((1, 2, 2)), ValueError, "must be 2-D"),
        ([[1]], [1, 2], ValueError, "row 0 is int"),
        ([[1]], ["ab"], ValueError, "row 0 is str"),
        ([[1]], [{1, 2}], ValueError, "ordered sequence"),
        ([[1]], 5, TypeError, "2-D array-like"),
        ([[1]], "abc", TypeError, "2-D array-like"),
        ([[1]], {"u": [1]}, TypeError, "2-D array-like"),
        ([1], [[1]], TypeError, r"y_true\[0\] must be a collection"),
        (["a"], [["a"]], TypeError, r"y_true\[0\] must be a collection"),
        ("a", [["a"]], TypeError, "y_true must be a sequence"),
        ([np.array(1)], [[1]], TypeError, r"y_true\[0\] must be a collection"),
        ([[1]], [np.array(1)], ValueError, "row 0 is ndarray"),
        ([[None]], [[1]], ValueError, "missing item ids"),
        ([[np.nan]], [[1]], ValueError, "missing item ids"),
        ([[1]], np.array([["2020-01-01"]], dtype="datetime64[D]"), TypeError, "unsupported"),
    ],
)
def test_invalid_input(y_true, y_pred, exc, match):
    with pytest.raises(exc, match=match):
        ndcg_at_k(y_true, y_pred, k=2)


def test_bad_normalize():
    with pytest.raises(ValueError, match="'normalize' parameter"):
        precision_at_k([[1]], [[1]], normalize="micro")


def test_large_input_array_and_list_forms_agree():
    rng = np.random.default_rng(0)
    n_users = 100_000
    y_pred = rng.integers(0, 2_000, size=(n_users, 10))
    lengths = rng.integers(0, 6, size=n_users)
    y_true = np.split(rng.integers(0, 2_000, size=lengths.sum()), np.cumsum(lengths)[:-1])
    from_arrays = ndcg_at_k(y_true, y_pred)
    from_lists = ndcg_at_k([t.tolist() for t in y_true], y_pred.tolist())
    assert from_arrays == pytest.approx(from_lists)
    small = _reference(y_true[:500], y_pred[:500].tolist(), 10)["ndcg"]
    assert ndcg_at_k(y_true[:500], y_pred[:500]) == pytest.approx(small)


# ------------------------------------------------------------ coverage


def test_catalog_coverage():
    y_pred = [["a", "b", "x"], ["a", "c"]]
    catalog = ["a", "b", "c", "d", "d"]
    assert catalog_coverage(y_pred, catalog, k=2) == 0.75  # "x" is outside the catalogue
    assert catalog_coverage(y_pred, catalog, k=1) == 0.25
    assert catalog_coverage(y_pred, catalog=np.array(catalog)) == 0.75
    assert catalog_coverage([[1, 2], [2, None]], catalog=10) == 0.2
    assert catalog_coverage(np.array([[1, 2], [3, 4]]), catalog=range(8), k=2) == 0.5


def test_catalog_coverage_errors():
    with pytest.raises(ValueError, match="positive integer"):
        catalog_coverage([[1]], catalog=0)
    with pytest.raises(ValueError, match="3 distinct items, more than catalog=2"):
        catalog_coverage([[1, 2, 3]], catalog=2)
    with pytest.raises(TypeError, match="catalog must be an int"):
        catalog_coverage([[1]], catalog=None)
    with pytest.raises(ValueError, match="catalog is empty"):
        catalog_coverage([[1]], catalog=[])
    with pytest.raises(TypeError):
        catalog_coverage([[1]])  # the catalogue is required


# ------------------------------------------------------- implicit parity


def test_agrees_with_implicit_evaluation():
    pytest.importorskip("implicit")
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from implicit.evaluation import ranking_metrics_at_k
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(42)
    n_users, n_items = 300, 200
    matrix = sp.random(
        n_users, n_items, density=0.08, format="csr", dtype=np.float32, random_state=rng
    )
    matrix.data[:] = 1.0
    coo = matrix.tocoo()
    in_test = rng.random(coo.nnz) < 0.3
    train = sp.csr_matrix(
        (coo.data[~in_test], (coo.row[~in_test], coo.col[~in_test])), shape=matrix.shape
    )
    test = sp.csr_matrix(
        (coo.data[in_test], (coo.row[in_test], coo.col[in_test])), shape=matrix.shape
    )
    assert train.multiply(test).nnz == 0

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=16, iterations=5, random_state=0, use_gpu=False)
        model.fit(train, show_progress=False)
        expected = ranking_metrics_at_k(model, train, test, K=10, show_progress=False)
        # the same call implicit makes: users with test items, their train rows, N=K
        userids = np.flatnonzero(np.diff(test.indptr) > 0).astype(np.int32)
        ids, _ = model.recommend(userids, train[userids], N=10, filter_already_liked_items=True)
    y_true = [test[u].indices for u in userids]

    assert expected["ndcg"] > 0
    assert np.isclose(ndcg_at_k(y_true, ids, k=10), expected["ndcg"], rtol=1e-9)
    assert np.isclose(map_at_k(y_true, ids, k=10), expected["map"], rtol=1e-9)
    got = precision_at_k(y_true, ids, k=10, normalize="min")
    assert np.isclose(got, expected["precision"], rtol=1e-9)


# --------------------------------------------------------------- scorers


class _FixedRecommender:
    """Returns a fixed ranking per user and records how it was called."""

    def __init__(self, rankings, scores=None):
        self.rankings = rankings
        self.scores = scores or {}
        self.calls = []

    def recommend(self, users, n=10, exclude_seen=True, items=None):
        self.calls.append((users, n, exclude_seen))
        ids = np.array([self.rankings[u][:n] for u in users], dtype=object)
        default = [0.0] * ids.shape[1]
        scores = np.array([self.scores.get(u, default)[:n] for u in users], dtype=float)
        return ids, scores


def test_ranking_score_on_fake_estimator():
    est = _FixedRecommender({"u1": ["a", "b", "c"], "u2": ["c", "d", "e"], "u3": ["x", "y", "z"]})
    X = [["u1", "b"], ["u2", "c"], ["u2", "a"], ["u1", "e"], ["u3", "x"]]
    y = [1, 1, 1, 1, 0]  # u3's only row is a negative: u3 is not evaluated
    got = ranking_score(est, X, y, metric="ndcg", k=3)
    expected = ndcg_at_k([["b", "e"], ["c", "a"]], [["a", "b", "c"], ["c", "d", "e"]], k=3)
    assert got == pytest.approx(expected)
    (users, n, exclude_seen), *others = est.calls
    assert not others and n == 3 and exclude_seen is True
    assert sorted(users.tolist()) == ["u1", "u2"]
    assert make_ranking_scorer("ndcg", k=3)(est, X, y) == pytest.approx(expected)
    assert make_ranking_scorer("recall", k=3)(est, X, y) == pytest.approx(0.5)


def test_ranking_score_keeps_integer_user_ids():
    est = _FixedRecommender({10: [1, 2], 20: [2, 3]})
    score = make_ranking_scorer("hit_rate", k=2)(est, np.array([[10, 1], [20, 5]]))
    assert score == 0.5
    users = est.calls[0][0]
    assert users.dtype.kind == "i" and sorted(users.tolist()) == [10, 20]


def test_ranking_score_ignores_minus_inf_slots():
    # the trailing slot is an excluded item padded with score -inf: never a hit
    est = _FixedRecommender({"u": ["a", "b"]}, scores={"u": [1.0, -np.inf]})
    assert ranking_score(est, [["u", "b"]], metric="hit_rate", k=2) == 0.0
    assert ranking_score(est, [["u", "a"]], metric="hit_rate", k=2) == 1.0


def test_ranking_score_errors():
    est = _FixedRecommender({"u": ["a"]})
    with pytest.raises(ValueError, match="no positive rows"):
        ranking_score(est, [["u", "a"]], y=[0])
    with pytest.raises(TypeError, match="cannot rank"):
        ranking_score(object(), [["u", "a"]])
    with pytest.raises(ValueError, match="'metric' parameter"):
        ranking_score(est, [["u", "a"]], metric="auc")
    with pytest.raises(ValueError, match="NaN"):
        ranking_score(est, [["u", "a"]], y=[np.nan])


def test_make_ranking_scorer_repr_and_pickle():
    scorer = make_ranking_scorer()
    assert repr(scorer) == "make_ranking_scorer('ndcg', k=10)"
    scorer = make_ranking_scorer("precision", k=5, normalize="min")
    assert repr(scorer) == "make_ranking_scorer('precision', k=5, normalize='min')"
    again = pickle.loads(pickle.dumps(scorer))
    assert repr(again) == repr(scorer)
    est = _FixedRecommender({"u": ["a", "b"], "v": ["b", "a"]})
    X = [["u", "a"], ["v", "c"], ["v", "d"]]
    assert again(est, X) == scorer(est, X) == pytest.approx(1 / 3)


def test_make_ranking_scorer_validates():
    with pytest.raises(ValueError, match=r"'metric' parameter of make_ranking_scorer .*Got 'auc'"):
        make_ranking_scorer("auc")
    with pytest.raises(ValueError, match="'metric' parameter"):
        make_ranking_scorer(ndcg_at_k)
    with pytest.raises(ValueError, match="'k' parameter"):
        make_ranking_scorer("ndcg", k=0)
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        make_ranking_scorer("ndcg", normalize="min")
    with pytest.raises(ValueError, match="'normalize' parameter"):
        make_ranking_scorer("precision", normalize="micro")


class MostPopular(BaseEstimator):
    """A minimal sklearn-compatible recommender for scorer tests (skrec-independent)."""

    def __init__(self, shift=0):
        self.shift = shift

    def fit(self, X, y=None):
        X = np.asarray(X)
        self.seen_ = {(u, i) for u, i in X[:, :2].tolist()}
        items, counts = np.unique(X[:, 1], return_counts=True)
        order = np.argsort(-counts, kind="stable")
        self.ranking_ = np.roll(items[order], -self.shift)
        return self

    def recommend(self, users, n=10, exclude_seen=True, items=None):
        ids = np.empty((len(users), n), dtype=self.ranking_.dtype)
        scores = np.full((len(users), n), -np.inf)
        for row, user in enumerate(users):
            ranked = [i for i in self.ranking_.tolist() if (user, i) not in self.seen_][:n]
            ids[row, : len(ranked)] = ranked
            scores[row, : len(ranked)] = np.arange(len(ranked), 0, -1)
        return ids, scores


def _interactions(seed=0, n_users=40, n_items=25, n_rows=400):
    rng = np.random.default_rng(seed)
    pairs = {
        (int(u), int(i))
        for u, i in zip(rng.integers(0, n_users, n_rows), rng.zipf(1.5, n_rows) % n_items)
    }
    return np.array(sorted(pairs))


def test_scorers_in_cross_validate_and_grid_search():
    X = _interactions()
    scoring = {
        "ndcg": make_ranking_scorer(),
        "p@5": make_ranking_scorer("precision", k=5, normalize="min"),
        "mrr": make_ranking_scorer("mrr", k=5),
    }
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    result = cross_validate(MostPopular(), X, scoring=scoring, cv=cv, n_jobs=2)
    for name in scoring:
        values = result[f"test_{name}"]
        assert values.shape == (3,) and np.all((values >= 0) & (values <= 1)), name
    search = GridSearchCV(
        MostPopular(), {"shift": [0, 5]}, scoring=make_ranking_scorer("ndcg", k=5), cv=cv, n_jobs=2
    )
    search.fit(X)
    assert search.best_params_ == {"shift": 0}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_scorer_with_skrec_recommender():
    skrec = pytest.importorskip("skrec")
    if not hasattr(skrec, "PopularityRecommender"):
        pytest.skip("skrec.PopularityRecommender is not available")
    X = _interactions(seed=1)
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    scoring = {"ndcg": make_ranking_scorer(), "recall": make_ranking_scorer("recall", k=5)}
    result = cross_validate(skrec.PopularityRecommender(), X, scoring=scoring, cv=cv, n_jobs=2)
    assert np.all((result["test_ndcg"] >= 0) & (result["test_ndcg"] <= 1))
    est = skrec.PopularityRecommender().fit(X[::2])
    assert est.score(X[1::2]) == pytest.approx(make_ranking_scorer()(est, X[1::2]))


@pytest.mark.parametrize("module", [_ranking, _scorer])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
