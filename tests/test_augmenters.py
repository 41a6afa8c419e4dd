"""Built-in augmenters: contracts, sequence views, similarity, negatives, pipelines."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import skrec.augmenters as A
from skrec import EASERecommender
from skrec.augmenters import (
    BaseAugmenter,
    CropAugmenter,
    MaskAugmenter,
    NegativeSamplingAugmenter,
    ReorderAugmenter,
    SimilarItemsAugmenter,
    SubstituteAugmenter,
    is_pseudo_user,
    pseudo_user_id,
)
from skrec.augmenters._similarity import item_neighbours
from skrec.datasets import make_interactions
from skrec.utils.estimator_checks import check_augmenter

BUILTINS = ["crop", "mask", "reorder", "substitute", "similar_items", "negatives"]


@pytest.fixture(scope="module")
def data():
    return make_interactions(
        n_users=40,
        n_items=30,
        n_interactions=400,
        n_clusters=3,
        negative_fraction=0.1,
        random_state=0,
    )


@pytest.mark.parametrize("name", BUILTINS)
def test_builtins_pass_check_augmenter(name):
    assert A.available()[name] == "built-in"
    check_augmenter(A.get(name))


# ------------------------------------------------------------------ views
SEQ = np.arange(1, 21, dtype=np.int64)


@pytest.mark.parametrize("cls", [CropAugmenter, MaskAugmenter, ReorderAugmenter])
def test_view_is_a_new_int_array_and_seeded(cls):
    seq = SEQ.copy()
    a = cls().view(seq, np.random.default_rng(3), 99)
    b = cls().view(seq, np.random.default_rng(3), 99)
    assert np.array_equal(seq, SEQ) and a is not seq
    assert a.dtype == np.int64 and a.ndim == 1 and np.array_equal(a, b)
    assert len(cls().view(np.array([], dtype=np.int64), np.random.default_rng(0), 99)) == 0


def test_view_through_registry_matches_cl4srec_defaults():
    assert A.get("crop").eta == 0.6 and A.get("mask").gamma == 0.3 and A.get("reorder").beta == 0.6
    crop = A.get("crop").view(SEQ, np.random.default_rng(0), 0)
    assert len(crop) == 12 and np.all(np.diff(crop) == 1) and set(crop) <= set(SEQ)


def test_mask_view_masks_floor_gamma_n():
    out = MaskAugmenter(gamma=0.3).view(SEQ, np.random.default_rng(0), 0)
    assert len(out) == 20 and (out == 0).sum() == 6
    assert np.array_equal(out[out != 0], SEQ[out != 0])


def test_reorder_view_shuffles_one_window_only():
    for seed in range(5):
        out = ReorderAugmenter(beta=0.5).view(SEQ, np.random.default_rng(seed), 0)
        assert sorted(out) == list(SEQ)
        changed = np.flatnonzero(out != SEQ)
        if len(changed):
            assert changed.max() - changed.min() < 10


def test_view_rejects_2d():
    with pytest.raises(ValueError, match="1-D"):
        CropAugmenter().view(np.zeros((2, 2), dtype=np.int64), np.random.default_rng(0), 0)


# ------------------------------------------------------- sequence tables
def test_append_mode_adds_pseudo_users_and_keeps_originals(data):
    X_new, y_new = CropAugmenter(n_views=2, random_state=0).fit_resample(data.X, data.y)
    original = X_new.iloc[: len(data.X)]
    assert original["user"].astype(int).tolist() == data.X["user"].tolist()
    extra = X_new.iloc[len(data.X) :]
    assert all(is_pseudo_user(u, data.X["user"]) for u in extra["user"])
    assert {u.rsplit("-", 1)[1] for u in extra["user"]} == {"1", "2"}
    assert (y_new[len(data.X) :] > 0).all()  # negatives never enter views


def test_views_keep_the_users_items_and_time_slots(data):
    X_new, _ = ReorderAugmenter(beta=1.0, random_state=0).fit_resample(data.X, data.y)
    X, pos = data.X, data.y > 0
    counts = X[pos]["user"].value_counts()
    for user in counts.index[counts >= 2][:3]:
        view = X_new[X_new["user"] == pseudo_user_id(user, 1)]
        own = X[(X["user"] == user) & pos]
        assert sorted(view["item"]) == sorted(own["item"])
        assert view["timestamp"].tolist() == sorted(own["timestamp"])


def test_mask_in_the_table_is_item_dropout(data):
    X_new, _ = MaskAugmenter(gamma=0.5, random_state=0).fit_resample(data.X, data.y)
    user = data.X[data.y > 0]["user"].value_counts().index[0]
    view = X_new[X_new["user"] == pseudo_user_id(user, 1)]
    own = data.X[(data.X["user"] == user) & (data.y > 0)]
    assert set(view["item"]) < set(own["item"])
    assert len(view) == len(own) - len(own) // 2


def test_replace_mode_keeps_ids_and_negatives(data):
    X_new, y_new = CropAugmenter(mode="replace", random_state=0).fit_resample(data.X, data.y)
    assert set(X_new["user"]) == set(data.X["user"])
    assert (y_new <= 0).sum() == (data.y <= 0).sum()
    assert len(X_new) < len(data.X)
    with pytest.raises(ValueError, match="n_views"):
        CropAugmenter(mode="replace", n_views=2).fit_resample(data.X, data.y)


def test_sequence_without_timestamps_uses_row_order():
    X = [["u", "a"], ["u", "b"], ["u", "c"], ["u", "d"], ["v", "a"]]
    X_new, y_new = CropAugmenter(eta=0.5, random_state=0).fit_resample(X, np.ones(5))
    view = X_new[X_new["user"] == "u#view-1"]["item"].tolist()
    assert view in (["a", "b"], ["b", "c"], ["c", "d"])
    assert list(X_new.columns) == ["user", "item"]
    assert "v#view-1" not in set(X_new["user"])  # a single positive gets no view


def test_sequence_augmenter_in_recommender(data):
    rec = EASERecommender(l2=10.0, augmenter="crop").fit(data.X, data.y)
    assert len(rec.users_) > data.X["user"].nunique()
    ids, _ = rec.recommend([0, 1], n=3)
    assert ids.shape == (2, 3)


# ------------------------------------------------------------- similarity
def test_item_neighbours_cosine_and_padding():
    emb = np.array([[1.0, 0.0], [0.8, 0.2], [0.0, 1.0], [0.0, 0.0]])
    nbrs, sims = item_neighbours(emb, k=3)
    assert nbrs[0, 0] == 1 and nbrs[2, 0] == 1
    assert (nbrs[3] == -1).all() and (sims[3] == 0).all()  # a zero vector has no neighbour
    assert nbrs[0].tolist() == [1, -1, -1]  # orthogonal items are not neighbours
    assert nbrs[1].tolist() == [0, 2, -1] and sims[1, 0] > sims[1, 1] > 0


def rare_versus_shared():
    """Item 1: users u0-u4. Item 2: shares u0-u2 with it, plus 9 users of its own.
    Item 3: seen once, by u3. Plain cosine: cos(1, 3) = 1/sqrt(5) > cos(1, 2) = 3/sqrt(60)."""
    rows = [[f"u{u}", 1] for u in range(5)] + [["u3", 3]]
    rows += [[f"u{u}", 2] for u in [0, 1, 2, *range(10, 19)]]
    return rows


def test_shrinkage_prefers_neighbours_shared_by_many_users():
    X = rare_versus_shared()
    users, items = pd.factorize(np.array([r[0] for r in X]))[0], np.array([r[1] for r in X]) - 1
    item_user = sp.csr_matrix((np.ones(len(X)), (items, users)))
    plain, plain_sims = item_neighbours(item_user, k=1)
    shrunk, shrunk_sims = item_neighbours(item_user, k=1, shrinkage=100.0)
    assert plain[0, 0] == 2 and np.isclose(plain_sims[0, 0], 1 / np.sqrt(5))  # rare item wins
    assert shrunk[0, 0] == 1  # three shared users beat one
    assert np.isclose(shrunk_sims[0, 0], 3 / np.sqrt(60) * 3 / 103)
    # Dense embeddings have no co-occurrence count: shrinkage leaves them alone.
    emb = np.array([[1.0, 0.0], [0.8, 0.2], [0.0, 1.0]])
    assert np.array_equal(item_neighbours(emb, 2, shrinkage=100.0)[1], item_neighbours(emb, 2)[1])


def test_similar_items_shrinkage_is_used():
    X = rare_versus_shared()
    added = lambda aug: aug.fit_resample(X)[0].iloc[len(X) :]  # noqa: E731
    # u4 has only item 1: it gets the rare item 3 without shrinkage, item 2 with it.
    plain = added(SimilarItemsAugmenter(k=1, shrinkage=0.0))
    shrunk = added(SimilarItemsAugmenter(k=1))
    assert plain[plain["user"] == "u4"]["item"].tolist() == [3]
    assert shrunk[shrunk["user"] == "u4"]["item"].tolist() == [2]


def test_substitute_swaps_only_items_of_positive_rows(data):
    X_new, y_new = SubstituteAugmenter(rate=0.5, random_state=0).fit_resample(data.X, data.y)
    assert X_new.shape == data.X.shape and np.array_equal(y_new, data.y)
    assert X_new["user"].equals(data.X["user"]) and X_new["timestamp"].equals(data.X["timestamp"])
    changed = (X_new["item"] != data.X["item"]).to_numpy()
    assert changed.any() and (data.y[changed] > 0).all()
    assert not X_new.duplicated(["user", "item"]).any()


def test_substitute_from_estimator_embeddings(data):
    fitted = EASERecommender(l2=10.0).fit(data.X, data.y)
    unfitted = EASERecommender(l2=10.0)
    a = SubstituteAugmenter(rate=0.5, similarity_from=fitted, random_state=0)
    b = SubstituteAugmenter(rate=0.5, similarity_from=unfitted, random_state=0)
    Xa, _ = a.fit_resample(data.X, data.y)
    Xb, _ = b.fit_resample(data.X, data.y)
    assert Xa.equals(Xb)  # the unfitted one is fitted (as a clone) on the same data
    assert not hasattr(unfitted, "coef_")
    assert clone(b).similarity_from is not unfitted


def test_similar_items_adds_weighted_unseen_neighbours(data):
    aug = SimilarItemsAugmenter(k=2, weight=0.3)
    X_new, y_new = aug.fit_resample(data.X, data.y)
    n = len(data.X)
    assert X_new.iloc[:n].equals(data.X) and np.array_equal(y_new[:n], data.y)
    added = X_new.iloc[n:]
    assert len(added) > 0 and np.allclose(y_new[n:], 0.3)
    assert not X_new.duplicated(["user", "item"]).any()
    assert len(added) <= 2 * (data.y > 0).sum()


def test_similar_items_keeps_the_largest_weight():
    X = [["a", 1], ["a", 2], ["b", 1], ["b", 2], ["c", 1], ["c", 3]]
    X_new, y_new = SimilarItemsAugmenter(k=2, weight=0.5).fit_resample(X, [1, 1, 1, 1, 2, 1])
    added = X_new.iloc[6:].assign(y=y_new[6:])
    row = added[(added["user"] == "c") & (added["item"] == 2)]
    assert row["y"].tolist() == [1.0]  # reached from item 1 (y=2) and item 3 (y=1)


def test_negatives_are_unseen_zero_rows():
    data = make_interactions(n_users=20, n_items=300, n_interactions=200, random_state=0)
    aug = NegativeSamplingAugmenter(n_per_positive=2, random_state=0)
    X_new, y_new = aug.fit_resample(data.X, data.y)
    n = len(data.X)
    assert (y_new[n:] == 0).all()
    assert len(X_new) - n == 2 * (data.y > 0).sum()
    assert not X_new.duplicated(["user", "item"]).any()


def test_negatives_stop_when_a_user_has_every_item():
    X = [["a", 1], ["a", 2], ["b", 1]]
    X_new, y_new = NegativeSamplingAugmenter(n_per_positive=3, random_state=0).fit_resample(X)
    assert X_new.iloc[3:].values.tolist() == [["b", 2]] and y_new[3:].tolist() == [0.0]


def test_popularity_negatives_come_from_positive_items():
    X = [["a", 1], ["b", 1], ["c", 2], ["d", 1], ["d", 3]]
    y = [1, 1, 1, 1, 0]  # item 3 has only a negative: never drawn by popularity
    X_new, _ = NegativeSamplingAugmenter(strategy="popularity", random_state=0).fit_resample(X, y)
    assert set(X_new.iloc[5:]["item"]) <= {1, 2}


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (CropAugmenter, {"eta": 0.0}),
        (MaskAugmenter, {"mode": "both"}),
        (NegativeSamplingAugmenter, {"strategy": "hard"}),
        (SimilarItemsAugmenter, {"k": 0}),
        (SubstituteAugmenter, {"similarity_from": "ease"}),
    ],
)
def test_invalid_parameters(cls, params, data):
    with pytest.raises(InvalidParameterError):
        cls(**params).fit_resample(data.X, data.y)


# ------------------------------------------------------------- resolve
def test_resolve():
    assert A.resolve(None) is None
    assert isinstance(A.resolve("negatives"), NegativeSamplingAugmenter)
    inst = MaskAugmenter(gamma=0.4)
    out = A.resolve(inst)
    assert out is not inst and out.gamma == 0.4
    with pytest.raises(TypeError, match="fit_resample"):
        A.resolve(3)
    with pytest.raises(TypeError):
        A.resolve(MaskAugmenter)
    with pytest.raises(ValueError, match="installed augmenters"):
        A.resolve("nope")


def test_augmenter_applies_at_fit_only(data):
    class Counting(BaseAugmenter):
        calls = 0

        def _fit_resample(self, d):
            type(self).calls += 1
            return d.to_frame(), d.y_or_ones().copy()

    rec = EASERecommender(l2=10.0, augmenter=Counting()).fit(data.X, data.y)
    rec.predict_proba(data.X.iloc[:5])
    rec.score(data.X.iloc[:50])
    assert Counting.calls == 1


def test_imblearn_pipeline(data):
    from imblearn.pipeline import Pipeline

    pipe = Pipeline([("aug", SimilarItemsAugmenter(k=3)), ("rec", EASERecommender(l2=10.0))])
    pipe.fit(data.X, data.y)
    plain = EASERecommender(l2=10.0).fit(data.X, data.y)
    assert pipe[-1].interactions_.nnz > plain.interactions_.nnz
    proba = pipe.predict_proba(data.X.iloc[:7])
    assert proba.shape == (7, 2)
    assert np.isfinite(pipe.score(data.X.iloc[:100], data.y[:100]))


def test_augmenter_is_searchable(data):
    from sklearn.model_selection import GridSearchCV

    from skrec.metrics import make_ranking_scorer
    from skrec.model_selection import PerUserKFold

    search = GridSearchCV(
        EASERecommender(l2=10.0),
        {"augmenter": [None, "similar_items", NegativeSamplingAugmenter(random_state=0)]},
        cv=PerUserKFold(2, random_state=0),
        scoring=make_ranking_scorer(),
    ).fit(data.X, data.y)
    assert len(search.cv_results_["params"]) == 3
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_inputs_not_mutated_with_views_of_memory():
    X = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [1, 2, 3, 1, 3], "timestamp": range(5)})
    before = X.copy()
    for name in BUILTINS:
        A.get(name).fit_resample(X, np.ones(5))
    assert X.equals(before)
