"""Behaviour of the recommender base class and of particular models that the suite does not cover.

The contract every recommender shares is checked once, over all of them, by the
conformance suite (``tests/test_common.py``); what is here is either specific
to some models or about the base class's machinery (blocks, augmenters).
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone

import skrec.recommenders._topn as topn_module
from skrec import ALSRecommender, EASERecommender, PopularityRecommender
from skrec.recommenders._calibration import calibration_pairs
from skrec.utils._recommender_checks import _same_recommendations

from .conftest import clustered

LEARNERS = [
    ALSRecommender(factors=8, iterations=10, regularization=0.1, random_state=0),
    EASERecommender(l2=10.0),
]


def ids(est):
    return type(est).__name__


@pytest.fixture(params=LEARNERS + [PopularityRecommender()], ids=ids)
def fitted(request, X_clustered):
    return clone(request.param).fit(X_clustered[:, :2])


def test_recommend_never_scores_all_users_at_once(fitted, monkeypatch):
    monkeypatch.setattr(topn_module, "BLOCK_FLOATS", 4 * len(fitted.items_))
    sizes = []
    original = type(fitted)._score_users

    def spy(self, user_idx, item_idx=None):
        sizes.append(len(user_idx))
        return original(self, user_idx, item_idx)

    monkeypatch.setattr(type(fitted), "_score_users", spy)
    expected = fitted.recommend(fitted.users_, n=3)
    monkeypatch.setattr(topn_module, "BLOCK_FLOATS", 1 << 24)
    assert max(sizes) <= 4 and sum(sizes) == len(fitted.users_)
    together = fitted.recommend(fitted.users_, n=3)
    # Equal up to near-ties: float32 products of 4-user and 60-user blocks differ in the
    # last bit (BLAS kernels depend on the shape), and clustered items nearly tie.
    _same_recommendations("blocks", expected, together, "4-user blocks vs one block")


def test_blocks_run_in_n_jobs_threads(monkeypatch, X_clustered):
    est = PopularityRecommender(n_jobs=2).fit(X_clustered[:, :2])
    monkeypatch.setattr(topn_module, "BLOCK_FLOATS", 2 * len(est.items_))
    workers = []
    real = topn_module.ThreadPoolExecutor

    def spy(n):
        workers.append(n)
        return real(n)

    monkeypatch.setattr(topn_module, "ThreadPoolExecutor", spy)
    est.recommend(est.users_, n=3)
    est.set_params(n_jobs=1).recommend(est.users_, n=3)
    assert workers == [2]  # n_jobs=1 starts no pool


def test_top_n_breaks_ties_by_position_at_the_boundary():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0, 5.0, 0.0]])
    idx, vals = topn_module.top_n(scores, 3)
    assert idx.tolist() == [[1, 2, 4], [4, 0, 1]]
    assert vals.tolist() == [[3.0, 3.0, 3.0], [5.0, 0.0, 0.0]]
    ref = np.argsort(-scores, axis=1, kind="stable")[:, :3]
    np.testing.assert_array_equal(idx, ref)


@pytest.mark.parametrize("est", LEARNERS, ids=ids)
def test_one_positive_answer_makes_a_user_personal(est, X_clustered):
    X = X_clustered[:, :2]
    said_no = np.array([["newbie", X[0, 1]], ["newbie", X[1, 1]]], dtype=object)
    X_one = np.vstack([X, said_no, [["newbie", X[2, 1]]]])
    model = clone(est).fit(X_one, np.r_[np.ones(len(X)), 0, 0, 1])
    ranked, _ = model.recommend(["newbie", "nobody"], n=5)
    assert ranked[0].tolist() != [i for i in ranked[1] if i not in X_one[-3:, 1]][:5]


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


def test_int_and_str_ids_work_alike():
    X = np.array([[u, (u * 7 + k) % 13] for u in range(30) for k in range(4)])
    est = PopularityRecommender().fit(X)
    rec, scores = est.recommend([0, 1], n=3)
    assert rec.dtype.kind == "i"
    est_s = PopularityRecommender().fit(X.astype(str))
    rec_s, scores_s = est_s.recommend(["0", "1"], n=3)
    assert rec_s.dtype == object and type(rec_s[0, 0]) is str  # not numpy's np.str_
    # The same raw scores (the calibration samples differ with the index order).
    raw = est.score_samples([[u, i] for u, row in zip([0, 1], rec) for i in row])
    raw_s = est_s.score_samples([[u, i] for u, row in zip(["0", "1"], rec_s) for i in row])
    np.testing.assert_array_equal(raw_s, raw)


def test_fit_without_any_positive_warns(X_clustered):
    X = X_clustered[:, :2]
    with pytest.warns(UserWarning, match="no positive interaction"):
        PopularityRecommender().fit(X, np.zeros(len(X)))
    with pytest.warns(UserWarning, match="no positive interaction") as record:
        PopularityRecommender().fit(X, sample_weight=np.zeros(len(X)))
    assert record[0].filename == __file__  # points at the caller of fit, not at skrec


def test_sample_weight_with_an_augmenter_is_refused(X_clustered):
    with pytest.raises(ValueError, match="sample_weight cannot be combined with an augmenter"):
        PopularityRecommender(augmenter="crop").fit(
            X_clustered, sample_weight=np.ones(len(X_clustered))
        )


def test_nan_scores_are_an_error_not_a_ranking(X_clustered):
    est = ALSRecommender(factors=4, iterations=2, random_state=0).fit(X_clustered[:, :2])
    est.item_factors_ = est.item_factors_.copy()
    est.item_factors_[3] = np.nan
    with pytest.raises(ValueError, match="NaN scores"):
        est.recommend(est.users_[:3])
    with pytest.raises(ValueError, match="NaN scores"):
        est.decision_function([[est.users_[0], est.items_[3]]])


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


# ---------------------------------------------------------------- calibration
@pytest.mark.parametrize("density", [0.1, 0.6, 0.97])
def test_calibration_draws_as_many_unseen_cells_as_positives(density):
    rng = np.random.RandomState(0)
    R = sp.random(40, 30, density=density, format="csr", random_state=rng, dtype=np.float32)
    R.data[:] = 1.0
    users, items, labels = calibration_pairs(R, np.random.RandomState(1))
    unseen = labels == 0
    assert (np.asarray(R[users[unseen], items[unseen]]).ravel() == 0).all()
    n_unseen = R.shape[0] * R.shape[1] - R.nnz
    # Balanced whatever the density; where fewer cells are free, each of them once.
    assert unseen.sum() == min(R.nnz, n_unseen)
    if n_unseen < R.nnz:
        assert len({(u, i) for u, i in zip(users[unseen], items[unseen])}) == n_unseen


def test_an_unknown_pair_is_not_relevant_whatever_the_seed():
    # scikit-learn's check_classifiers_one_label data: ten one-off interactions. Before
    # the unseen draws were redrawn, some seeds (158, 440) drew fewer negatives than
    # positives, and P(relevant) of an unknown pair came out at 0.5 or above.
    rng = np.random.RandomState(0)
    X_train, X_test = rng.uniform(size=(10, 3)), rng.uniform(size=(10, 3))
    for seed in range(500):
        model = ALSRecommender(factors=4, iterations=3, random_state=seed).fit(X_train)
        assert (model.predict_proba(X_test)[:, 1] < 0.5).all(), seed
