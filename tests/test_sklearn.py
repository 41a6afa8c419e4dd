"""skrec recommenders inside scikit-learn's model selection and pipelines."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skrec import ALSRecommender, EASERecommender, PopularityRecommender
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer, ndcg_at_k
from skrec.model_selection import PerUserKFold

SCORING = {
    "ndcg": make_ranking_scorer("ndcg", k=10),
    "recall": make_ranking_scorer("recall", k=20),
}


@pytest.fixture(scope="module")
def data():
    return make_interactions(n_users=150, n_items=80, n_interactions=3000, random_state=0)


def test_grid_search_multi_metric_with_refit(data):
    search = GridSearchCV(
        ALSRecommender(iterations=5, random_state=0),
        {"factors": [4, 16], "regularization": [0.01, 1.0]},
        cv=PerUserKFold(n_splits=3, random_state=0),
        scoring=SCORING,
        refit="ndcg",
        n_jobs=2,
    ).fit(data.X)
    assert len(search.cv_results_["params"]) == 4
    assert {"mean_test_ndcg", "mean_test_recall"} <= set(search.cv_results_)
    best = np.argmax(search.cv_results_["mean_test_ndcg"])
    assert search.best_params_ == search.cv_results_["params"][best]
    assert search.best_estimator_.factors == search.best_params_["factors"]
    assert 0 < search.best_score_ <= 1


def test_grid_search_scores_equal_manual_loop(data):
    cv = PerUserKFold(n_splits=2, random_state=1)
    scorer = make_ranking_scorer("ndcg", k=10)
    search = GridSearchCV(EASERecommender(), {"l2": [5.0, 50.0]}, cv=cv, scoring=scorer).fit(data.X)
    X = data.X.to_numpy()
    for c, params in enumerate(search.cv_results_["params"]):
        for f, (train, test) in enumerate(cv.split(X)):
            est = EASERecommender(**params).fit(X[train])
            test_rows = X[test]
            users = np.unique(test_rows[:, 0])
            rec, _ = est.recommend(users, n=10)
            truth = [test_rows[test_rows[:, 0] == u, 1] for u in users]
            manual = ndcg_at_k(truth, rec, k=10)
            assert search.cv_results_[f"split{f}_test_score"][c] == pytest.approx(manual)


def test_randomized_search_in_parallel(data):
    search = RandomizedSearchCV(
        ALSRecommender(iterations=3, random_state=0),
        {"factors": [4, 8, 16], "regularization": loguniform(1e-3, 1.0)},
        n_iter=3,
        cv=PerUserKFold(n_splits=2, random_state=0),
        scoring=make_ranking_scorer("ndcg", k=10),
        n_jobs=2,
        random_state=0,
    ).fit(data.X)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_cross_validate_default_score_is_ndcg(data):
    cv = PerUserKFold(n_splits=3, random_state=0)
    default = cross_validate(PopularityRecommender(), data.X, cv=cv)
    explicit = cross_validate(PopularityRecommender(), data.X, cv=cv, scoring=make_ranking_scorer())
    np.testing.assert_allclose(default["test_score"], explicit["test_score"])


def test_personalised_models_beat_popularity(data):
    cv = PerUserKFold(n_splits=3, random_state=0)
    pop = cross_validate(PopularityRecommender(), data.X, cv=cv)["test_score"].mean()
    ease = cross_validate(EASERecommender(l2=20.0), data.X, cv=cv)["test_score"].mean()
    als = cross_validate(
        ALSRecommender(factors=16, regularization=0.1, random_state=0), data.X, cv=cv
    )["test_score"].mean()
    assert ease > pop and als > pop


def test_pipeline_with_recommender_last(data):
    frame = data.X.rename(columns={"user": "customer", "item": "product"})
    to_table = FunctionTransformer(lambda df: df[["customer", "product"]].to_numpy())
    pipe = Pipeline([("select", to_table), ("rec", EASERecommender(l2=20.0))])
    pipe.fit(frame)
    proba = pipe.predict_proba(frame.head(5))
    assert proba.shape == (5, 2)
    direct = EASERecommender(l2=20.0).fit(frame[["customer", "product"]].to_numpy())
    np.testing.assert_allclose(
        proba, direct.predict_proba(frame.head(5)[["customer", "product"]].to_numpy())
    )
    search = GridSearchCV(
        pipe, {"rec__l2": [5.0, 50.0]}, cv=PerUserKFold(n_splits=2, random_state=0)
    ).fit(frame)
    assert search.best_params_["rec__l2"] in (5.0, 50.0)


def test_clone_keeps_params_and_drops_state(data):
    est = ALSRecommender(factors=3, alpha=2.0, random_state=5).fit(data.X)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "user_factors_")


def test_dataframe_and_array_inputs_agree(data):
    a = EASERecommender(l2=20.0).fit(data.X)
    b = EASERecommender(l2=20.0).fit(data.X.to_numpy())
    users = data.X["user"].unique()[:5]
    np.testing.assert_array_equal(a.recommend(users)[0], b.recommend(users)[0])
    assert isinstance(data.X, pd.DataFrame)
