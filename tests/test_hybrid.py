"""HybridRecommender: a VotingClassifier-like blend of skrec recommenders."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skrec import (
    ALSRecommender,
    EASERecommender,
    HybridRecommender,
    PopularityRecommender,
    SentenceTransformerRecommender,
)
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold
from skrec.recommenders._hybrid import _blend, _holdout_latest, _normalize
from skrec.utils.validation import check_interactions
from tests._text_model import topic_texts
from tests.conftest import clustered

pytestmark = pytest.mark.usefixtures("hf_offline")


def _hybrid(tiny_model, text=None, **params):
    return HybridRecommender(
        [
            ("als", ALSRecommender(factors=8, iterations=5, random_state=0)),
            ("text", SentenceTransformerRecommender(tiny_model, item_text=text or topic_texts())),
        ],
        random_state=0,
        **params,
    )


def test_nested_params_and_grid_search(tiny_model):
    hybrid = _hybrid(tiny_model)
    params = hybrid.get_params()
    assert {"als", "text", "als__factors", "text__user_profile", "weights"} <= set(params)
    hybrid.set_params(als__factors=4, text__user_profile="logistic", weights=[1, 2])
    assert hybrid.named_estimators.als.factors == 4
    assert hybrid.named_estimators.text.user_profile == "logistic"
    assert "als__factors" not in hybrid.get_params(deep=False)
    grid = GridSearchCV(
        _hybrid(tiny_model),
        {"als__factors": [4, 8], "weights": [[1, 1], [1, 3]], "text__user_profile": ["mean"]},
        cv=PerUserKFold(n_splits=2, shuffle=True, random_state=0),
        scoring=make_ranking_scorer("ndcg", k=5),
    ).fit(clustered())
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_.named_estimators_.als.factors in (4, 8)


def test_fitted_members_and_union_of_items(tiny_model):
    text = {**topic_texts(), "cold": "rocket astronaut orbit"}
    X = clustered()
    hybrid = _hybrid(tiny_model, text).fit(X)
    assert [type(e).__name__ for e in hybrid.estimators_] == [
        "ALSRecommender",
        "SentenceTransformerRecommender",
    ]
    assert hybrid.named_estimators_.als is hybrid.estimators_[0]
    assert hybrid.named_estimators.als is not hybrid.estimators_[0]  # clones are fitted
    assert "cold" in hybrid.items_ and "cold" not in hybrid.named_estimators_.als.items_
    assert np.array_equal(hybrid.weights_, [1.0, 1.0])
    proba = hybrid.predict_proba(X[:10])
    assert proba.shape == (10, 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(hybrid.predict(X[:10])) <= {0, 1}
    ids, scores = hybrid.recommend(["u0", "u1"], n=5)
    assert ids.shape == scores.shape == (2, 5)
    seen = {tuple(r) for r in X[:, :2].tolist()}
    assert not any((u, i) in seen for u, row in zip(["u0", "u1"], ids) for i in row)
    assert 0.0 <= hybrid.score(X[:50]) <= 1.0
    emb = hybrid.embed_items(["cold", "i1"])
    assert emb.shape == (2, 8 + 16)
    assert np.allclose(emb[0, :8], 0) and not np.allclose(emb[1, :8], 0)


def test_cold_item_is_not_dragged_down_by_members_that_never_saw_it(tiny_model):
    text = {**topic_texts(), "cold": "rocket astronaut orbit comet"}
    hybrid = _hybrid(tiny_model, text, weights=[3, 1]).fit(clustered())
    # u2 and u6 like space (topic 2); the text member ranks the cold item first.
    ids, _ = hybrid.recommend(["u2", "u6"], n=3)
    assert (ids == "cold").any(axis=1).all()
    scores = hybrid.decision_function([["u2", "cold"], ["u0", "cold"]])
    assert scores[0] > scores[1]


def test_blend_renormalises_weights_over_members_that_know_the_item():
    a = np.array([[0.2, np.nan, 0.9]])
    b = np.array([[0.6, 0.8, np.nan]])
    out = _blend([a, b], np.array([1.0, 3.0]))
    assert np.allclose(out, [[(0.2 + 3 * 0.6) / 4, 0.8, 0.9]])
    unknown = _blend([np.array([[0.5, np.nan]])], np.array([1.0]))
    assert unknown[0, 1] < unknown[0, 0]


def test_blend_orders_items_only_zero_weight_members_know_below_the_rest():
    # "als" (weight 1) knows items 0-1; "text" (learned weight 0) knows all four.
    als = np.array([[0.3, -0.4, np.nan, np.nan, np.nan]])
    text = np.array([[5.0, 4.0, -1.0, 2.0, np.nan]])
    out = _blend([als, text], np.array([1.0, 0.0]))[0]
    assert out[0] == 0.3 and out[1] == -0.4  # weighted members decide where they can
    # Items 2 and 3: below every scored item, in the text member's order; item 4
    # (nobody knows it) last. Before, 2, 3 and 4 tied: cold items came out random.
    assert out[1] > out[3] > out[2] > out[4]


def test_normalisations():
    S = np.array([[3.0, 1.0, np.nan, 2.0, 2.0]])
    rank = _normalize(S, "rank")
    # reciprocal rank fusion: ranks 1, 4, 2.5, 2.5 (ties share the mean rank)
    assert np.allclose(rank[0, [0, 1, 3, 4]], [61 / 61, 61 / 64, 61 / 62.5, 61 / 62.5])
    known = rank[~np.isnan(rank)]
    assert np.isnan(rank[0, 2]) and ((known > 0) & (known <= 1)).all()
    z = _normalize(S, "zscore")
    assert np.isclose(np.nanmean(z), 0) and np.isclose(np.nanstd(z), 1)
    assert np.array_equal(_normalize(S, "none"), S, equal_nan=True)


@pytest.mark.parametrize("normalize", ["rank", "zscore", "none"])
def test_scores_are_the_weighted_blend_of_normalised_member_scores(normalize):
    X = clustered()
    hybrid = HybridRecommender(
        [("ease", EASERecommender()), ("pop", PopularityRecommender())],
        weights=[2, 1],
        normalize=normalize,
    ).fit(X)
    users = np.array([0, 1, 2])
    parts = [_normalize(est._score_users(users), normalize) for est in hybrid.estimators_]
    expected = (2 * parts[0] + parts[1]) / 3
    assert np.allclose(hybrid._score_users(users), expected)


def test_weights_learn_prefers_the_better_member():
    X = clustered(n_users=80, per_user=10)
    hybrid = HybridRecommender(
        [("ease", EASERecommender()), ("pop", PopularityRecommender())],
        weights="learn",
        random_state=0,
    ).fit(X)
    assert np.isclose(hybrid.weights_.sum(), 1) and (hybrid.weights_ >= 0).all()
    assert hybrid.weights_[0] > hybrid.weights_[1]
    search = hybrid.weight_search_
    assert search["weights"].shape == (len(search["ndcg"]), 2)
    assert np.isclose(search["ndcg"].max(), search["ndcg"][np.argmax(search["ndcg"])])
    # Members are refitted on every row, not on the training slice.
    assert hybrid.estimators_[0].interactions_.nnz == len(X)


def test_holdout_latest_takes_ten_percent_of_each_users_latest_positives():
    rows = [["a", f"i{t}", t] for t in range(20)] + [["b", "i0", 0], ["b", "i1", 5]]
    rows += [["c", "i0", 0]]
    held = _holdout_latest(check_interactions(rows), 0.1)
    assert np.flatnonzero(held).tolist() == [18, 19, 21]


def test_weight_errors_and_drop():
    X = clustered()
    members = [("ease", EASERecommender()), ("pop", PopularityRecommender())]
    with pytest.raises(ValueError, match="weights must be equal"):
        HybridRecommender(members, weights=[1, 2, 3]).fit(X)
    with pytest.raises(ValueError, match="non-negative"):
        HybridRecommender(members, weights=[1, -1]).fit(X)
    with pytest.raises(ValueError, match="All estimators are dropped"):
        HybridRecommender([("ease", "drop")]).fit(X)
    with pytest.raises(TypeError, match="skrec recommenders"):
        HybridRecommender([("ease", EASERecommender()), ("lr", object())]).fit(X)
    with pytest.raises(ValueError, match="not unique"):
        HybridRecommender([("a", EASERecommender()), ("a", PopularityRecommender())]).fit(X)
    dropped = HybridRecommender([*members, ("als", "drop")], weights=[1, 1, 5]).fit(X)
    assert len(dropped.estimators_) == 2 and "als" not in dropped.named_estimators_


def test_clone_and_pickle(tiny_model):
    hybrid = _hybrid(tiny_model).fit(clustered())
    again = pickle.loads(pickle.dumps(hybrid))
    users = ["u0", "u3"]
    assert np.array_equal(again.recommend(users, n=5)[0], hybrid.recommend(users, n=5)[0])
    fresh = clone(hybrid)
    assert not hasattr(fresh, "estimators_")
    assert fresh.get_params()["als__factors"] == 8


def test_html_repr_shows_the_members_side_by_side():
    from sklearn.utils import estimator_html_repr

    hybrid = HybridRecommender(
        [("ease", EASERecommender(l2=10.0)), ("pop", PopularityRecommender())]
    )
    html = estimator_html_repr(hybrid)
    body = html[html.index('class="sk-parallel"') :]  # VotingClassifier's layout
    assert body.index(">ease<") < body.index(">EASERecommender<") < body.index(">pop<")
    assert body.index(">pop<") < body.index(">PopularityRecommender<")
