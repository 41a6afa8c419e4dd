"""Acceptance on MovieLens-100K (runs when $SKREC_DATA holds it)."""

import numpy as np
import pytest
from implicit.evaluation import ndcg_at_k as implicit_ndcg
from sklearn.model_selection import GridSearchCV, cross_validate

from skrec import ALSRecommender, EASERecommender
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold
from skrec.utils.validation import interaction_matrix, signed_weights

pytestmark = pytest.mark.slow


def test_newcomer_grid_search_reaches_target(ml100k):
    X = ml100k.X[ml100k.y >= 4][["user", "item"]]
    cv = PerUserKFold(n_splits=3, random_state=0)
    search = GridSearchCV(
        ALSRecommender(random_state=0),
        {"factors": [32], "regularization": [0.1, 1.0], "alpha": [5.0]},
        cv=cv,
        scoring=make_ranking_scorer("ndcg", k=10),
        n_jobs=2,
    ).fit(X)
    assert search.best_score_ >= 0.30
    ease = cross_validate(EASERecommender(l2=500.0), X, cv=cv, scoring=make_ranking_scorer())
    assert ease["test_score"].mean() >= 0.32


def test_als_ndcg_equals_raw_implicit_on_the_same_split(ml100k):
    X = ml100k.X[ml100k.y >= 4][["user", "item"]].to_numpy()
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(X))
    est = ALSRecommender(factors=32, regularization=1.0, alpha=5.0, random_state=0).fit(X[train])
    u = est._user_index.get_indexer(X[test, 0])
    i = est._item_index.get_indexer(X[test, 1])
    keep = (u >= 0) & (i >= 0)
    T = interaction_matrix(
        u[keep], i[keep], signed_weights(None, int(keep.sum())), est.interactions_.shape
    )
    theirs = implicit_ndcg(est.model_, est.interactions_, T, K=10, show_progress=False)
    assert est.score(X[test][keep]) == pytest.approx(theirs, rel=1e-12)
    assert np.isfinite(theirs) and theirs > 0.2
