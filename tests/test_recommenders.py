"""Behaviour shared by every recommender, tested once over all of them."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import skrec.recommenders._base as base_module
from skrec import ALSRecommender, EASERecommender, PopularityRecommender

from .conftest import clustered

ESTIMATORS = [
    ALSRecommender(factors=8, iterations=10, regularization=0.1, random_state=0),
    EASERecommender(l2=10.0),
    PopularityRecommender(),
]
LEARNERS = ESTIMATORS[:2]  # the ones that personalise


def ids(est):
    return type(est).__name__


@pytest.fixture(params=ESTIMATORS, ids=ids)
def fitted(request, X_clustered):
    return clone(request.param).fit(X_clustered[:, :2])


def brute_force_top(est, users, n):
    """Reference top-n: decision_function on every (user, item) pair, seen items removed."""
    X = est.interactions_
    out = []
    for u in users:
        pairs = np.array([[u, i] for i in est.items_], dtype=object)
        s = est.decision_function(pairs)
        seen = X[np.flatnonzero(est.users_ == u)[0]].indices
        s[seen] = -np.inf
        out.append(s)
    return np.array(out)


def test_fitted_attributes(fitted, X_clustered):
    assert set(fitted.users_) == set(X_clustered[:, 0])
    assert set(fitted.items_) == set(X_clustered[:, 1])
    assert fitted.interactions_.shape == (len(fitted.users_), len(fitted.items_))
    assert list(fitted.classes_) == [0, 1]


def test_recommend_matches_brute_force(fitted, monkeypatch):
    monkeypatch.setattr(base_module, "_BLOCK_FLOATS", 3 * len(fitted.items_))  # 3-user blocks
    users = fitted.users_[:7]
    rec_ids, rec_scores = fitted.recommend(users, n=5)
    ref = brute_force_top(fitted, users, 5)
    for row, (r_ids, r_scores) in enumerate(zip(rec_ids, rec_scores)):
        expected = np.sort(ref[row])[::-1][:5]
        np.testing.assert_allclose(r_scores, expected, rtol=1e-5)
        cols = np.searchsorted(fitted.items_, r_ids)
        np.testing.assert_allclose(ref[row][cols], r_scores, rtol=1e-5)


def test_recommend_never_scores_all_users_at_once(fitted, monkeypatch):
    monkeypatch.setattr(base_module, "_BLOCK_FLOATS", 4 * len(fitted.items_))
    sizes = []
    original = type(fitted)._score_users

    def spy(self, user_idx, item_idx=None):
        sizes.append(len(user_idx))
        return original(self, user_idx, item_idx)

    monkeypatch.setattr(type(fitted), "_score_users", spy)
    fitted.recommend(fitted.users_, n=3)
    assert max(sizes) <= 4 and sum(sizes) == len(fitted.users_)


def test_exclude_seen_and_candidates(fitted, X_clustered):
    seen = {(u, i) for u, i in X_clustered[:, :2]}
    users = fitted.users_[:5]
    rec, _ = fitted.recommend(users, n=5)
    assert not any((u, i) in seen for u, row in zip(users, rec) for i in row)
    with_seen, _ = fitted.recommend(users, n=len(fitted.items_), exclude_seen=False)
    assert all(set(row) == set(fitted.items_) for row in with_seen)
    cand = np.array(["i0", "i1", "i2", "i3", "new-item"], dtype=object)
    rec, scores = fitted.recommend(users, n=10, items=cand, exclude_seen=False)
    assert rec.shape == (5, 5) and all(set(row) == set(cand) for row in rec)
    assert (rec[:, -1] == "new-item").all()


def test_too_few_candidates_pad_with_minus_inf(fitted):
    user = fitted.users_[0]
    n_seen = fitted.interactions_[0].nnz
    rec, scores = fitted.recommend([user], n=len(fitted.items_))
    assert rec.shape == (1, len(fitted.items_))
    assert np.isinf(scores[0, -n_seen:]).all() and np.isfinite(scores[0, :-n_seen]).all()


def test_unknown_users_get_popular_items(fitted):
    rec, _ = fitted.recommend(["nobody"], n=3)
    popular = fitted.items_[np.argsort(-fitted.item_popularity_, kind="stable")]
    counts = np.sort(fitted.item_popularity_)[::-1]
    assert set(fitted.item_popularity_[np.searchsorted(fitted.items_, rec[0])]) <= set(counts[:3])
    assert rec.shape == (1, 3) and len(popular) == len(fitted.items_)
    proba = fitted.predict_proba([["nobody", popular[0]], ["nobody", popular[-1]]])[:, 1]
    assert proba[0] >= proba[1]


@pytest.mark.parametrize("est", ESTIMATORS, ids=ids)
def test_users_with_only_negatives_are_ranked_like_unknown_users(est, X_clustered):
    X = X_clustered[:, :2]
    said_no = np.array([["newbie", X[0, 1]], ["newbie", X[1, 1]]], dtype=object)
    model = clone(est).fit(np.vstack([X, said_no]), np.r_[np.ones(len(X)), 0, 0])
    n = len(model.items_)
    ranked, scores = model.recommend(["newbie", "nobody"], n=n)
    # The popularity ranking of an unknown user, minus the two items newbie refused;
    # a factor model alone would give newbie all-zero scores, i.e. an arbitrary order.
    assert ranked[0, : n - 2].tolist() == [i for i in ranked[1] if i not in said_no[:, 1]]
    assert np.isneginf(scores[0, n - 2 :]).all()
    pairs = np.array([["newbie", i] for i in model.items_] + [["nobody", i] for i in model.items_])
    s = model.decision_function(pairs)
    np.testing.assert_allclose(s[:n], s[n:])
    # One positive answer is signal: a personalising model's own scores take over.
    if est in LEARNERS:
        X_one = np.vstack([X, said_no, [["newbie", X[2, 1]]]])
        model = clone(est).fit(X_one, np.r_[np.ones(len(X)), 0, 0, 1])
        ranked, _ = model.recommend(["newbie", "nobody"], n=5)
        assert ranked[0].tolist() != [i for i in ranked[1] if i not in X_one[-3:, 1]][:5]


def test_handle_unknown_error(X_clustered):
    est = clone(ESTIMATORS[0]).set_params(handle_unknown="error").fit(X_clustered[:, :2])
    with pytest.raises(ValueError, match="not seen in fit.*'nobody'"):
        est.recommend(["nobody"])
    with pytest.raises(ValueError, match="items not seen in fit"):
        est.decision_function([["u0", "no-item"]])
    with pytest.raises(ValueError, match="not seen"):
        est.embed_items(["no-item"])


def test_probabilities_are_calibrated_and_consistent(fitted, X_clustered):
    proba = fitted.predict_proba(X_clustered[:, :2])
    assert proba.shape == (len(X_clustered), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    scores = fitted.decision_function(X_clustered[:, :2])
    order = np.argsort(scores)
    assert np.all(np.diff(proba[order, 1]) >= -1e-12), "probability must be monotone in score"
    assert set(np.unique(fitted.predict(X_clustered[:, :2]))) <= {0, 1}


@pytest.mark.parametrize("est", LEARNERS, ids=ids)
def test_learners_separate_positives_from_other_clusters(est):
    X = clustered(seed=1, per_user=6)  # 6 of the 10 items of the user's cluster
    model = clone(est).fit(X[:, :2])
    # users only ever touch items of their own cluster (index mod 4)
    same = np.array([[f"u{u}", f"i{(u % 4) + 4 * k}"] for u in range(60) for k in range(10)])
    other = np.array([[f"u{u}", f"i{((u + 1) % 4) + 4 * k}"] for u in range(60) for k in range(10)])
    p_same = model.predict_proba(same)[:, 1].mean()
    p_other = model.predict_proba(other)[:, 1].mean()
    assert p_same > 2 * p_other
    rec, _ = model.recommend([f"u{u}" for u in range(8)], n=3)
    clusters = np.array([[int(i[1:]) % 4 for i in row] for row in rec])
    assert (clusters == (np.arange(8) % 4)[:, None]).mean() > 0.9


def test_unknown_items_score_lowest(fitted):
    s = fitted.decision_function([["u0", "never-seen"], ["u0", fitted.items_[0]]])
    assert s[0] <= s[1]


def test_explicit_negatives_are_excluded_and_lowered(X_clustered):
    X = X_clustered[:, :2]
    y = np.ones(len(X))
    y[0] = 0  # u0 was shown X[0, 1] and said no
    est = clone(ESTIMATORS[0]).fit(X, y)
    rec, _ = est.recommend(["u0"], n=len(est.items_) - est.interactions_[0].nnz)
    assert X[0, 1] not in rec[0]
    assert est.interactions_[0].min() < 0


@pytest.mark.parametrize("est", ESTIMATORS, ids=ids)
def test_pickle_and_joblib_reproduce_recommendations(est, X_clustered, tmp_path):
    model = clone(est).fit(X_clustered[:, :2])
    users = model.users_[:10]
    expected = model.recommend(users, n=5)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.recommend(users, n=5)[0], expected[0])
    np.testing.assert_array_equal(again.recommend(users, n=5)[1], expected[1])
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.recommend(users, n=5)[0], expected[0])
    np.testing.assert_allclose(
        loaded.predict_proba(X_clustered[:20, :2]), model.predict_proba(X_clustered[:20, :2])
    )


def test_embed_items_shapes(fitted):
    emb = fitted.embed_items(fitted.items_[:3])
    assert emb.ndim == 2 and emb.shape[0] == 3
    zeros = fitted.embed_items(["never-seen"])
    assert not zeros.any()


def test_bad_recommend_arguments(fitted):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        fitted.recommend(fitted.users_[:1], n=0)
    with pytest.raises(ValueError, match="missing ids"):
        fitted.recommend([None])


def test_int_and_str_ids_work_alike():
    X = np.array([[u, (u * 7 + k) % 13] for u in range(30) for k in range(4)])
    est = PopularityRecommender().fit(X)
    rec, scores = est.recommend([0, 1], n=3)
    assert rec.dtype.kind == "i"
    est_s = PopularityRecommender().fit(X.astype(str))
    rec_s, scores_s = est_s.recommend(["0", "1"], n=3)
    assert rec_s.dtype == object and isinstance(rec_s[0, 0], str)
    np.testing.assert_array_equal(scores_s, scores)  # same ranking up to ties


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ALSRecommender().recommend([1])


class AddOneRow:
    """A minimal augmenter: gives user u0 one extra positive, on item i39."""

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit_resample(self, X, y):
        extra = X.iloc[:1].copy()
        extra["user"], extra["item"] = "u0", "i39"
        return pd.concat([X, extra], ignore_index=True), np.append(y, 1.0)


def test_augmented_rows_train_but_are_not_excluded_as_seen(X_clustered):
    X = X_clustered[:, :2]
    assert "i39" not in X[X[:, 0] == "u0", 1]
    est = PopularityRecommender(augmenter=AddOneRow()).fit(X)
    row = np.flatnonzero(est.users_ == "u0")[0]
    col = np.flatnonzero(est.items_ == "i39")[0]
    assert est.interactions_[row, col] == 1.0  # the model trained on it
    rec, _ = est.recommend(["u0"], n=len(est.items_) - 10)
    assert "i39" in rec[0]  # but it is not hidden as something u0 has seen
    plain = PopularityRecommender().fit(X)
    assert plain.item_popularity_.sum() + 1 == est.item_popularity_.sum()


class DropUser:
    """An augmenter that removes every row of user u1."""

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self

    def fit_resample(self, X, y):
        keep = (X["user"] != "u1").to_numpy()
        return X[keep], np.asarray(y)[keep]


def test_augmenter_dropping_all_rows_of_a_user_keeps_the_user_known(X_clustered):
    est = EASERecommender(l2=10.0, augmenter=DropUser()).fit(X_clustered[:, :2])
    assert "u1" in est.users_
    row = np.flatnonzero(est.users_ == "u1")[0]
    assert est.interactions_[row].nnz == 0 and est._seen[row].nnz > 0
    rec, _ = est.recommend(["u1"], n=3)
    seen = set(X_clustered[X_clustered[:, 0] == "u1", 1])
    assert not seen & set(rec[0])
