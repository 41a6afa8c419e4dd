"""BPRRecommender's own trainer (``sampling="uniform"``): sampler, seeds, learning, tuning."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import chisquare
from sklearn.model_selection import GridSearchCV

from skrec import BPRRecommender, PopularityRecommender
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold
from skrec.recommenders import _bpr_training
from skrec.recommenders._bpr_training import sample_negatives, train_bpr


def skewed_matrix(n_users=60, n_items=30, seed=0):
    """Liked items with a steep popularity: item k is liked by about n_users / (k + 1) users."""
    rng = np.random.default_rng(seed)
    liked = rng.random((n_users, n_items)) < 0.9 / (np.arange(n_items) + 1)
    liked[:, 0] = True  # one item everybody likes but the last user
    liked[-1, 0] = False
    P = sp.csr_matrix(liked.astype(np.float32))
    P.sort_indices()
    return P


def test_uniform_sampler_draws_only_unliked_items_and_each_equally_often():
    P = skewed_matrix()
    users = np.repeat(np.arange(P.shape[0]), 2000)
    items = sample_negatives(P, users, np.random.default_rng(0), verify=True)
    liked = P.toarray().astype(bool)
    assert (items >= 0).all()
    assert not liked[users, items].any()
    # Per user, the draws are uniform over the items they did not like. A popularity
    # sampler (implicit's) draws the popular items far more often and fails this.
    p_values = []
    for u in range(P.shape[0]):
        counts = np.bincount(items[users == u], minlength=P.shape[1])[~liked[u]]
        p_values.append(chisquare(counts).pvalue)
    assert min(p_values) > 1e-4
    # ... and the most popular item, liked by all but the last user, is that user's
    # negative as often as any other item it did not like.
    last = items[users == P.shape[0] - 1]
    assert abs((last == 0).mean() - 1 / (~liked[-1]).sum()) < 0.01


def test_sampler_without_verification_is_uniform_over_the_catalogue():
    P = skewed_matrix()
    items = sample_negatives(P, np.zeros(30000, dtype=int), np.random.default_rng(1), False)
    assert chisquare(np.bincount(items, minlength=P.shape[1])).pvalue > 1e-4


def test_user_who_liked_everything_gets_no_triple():
    P = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 0]], dtype=np.float32))
    items = sample_negatives(P, np.array([0, 0, 1, 1]), np.random.default_rng(0))
    np.testing.assert_array_equal(items[:2], [-1, -1])
    assert set(items[2:]) <= {1, 2}


def test_fit_trains_on_uniform_negatives(monkeypatch):
    # The negatives the estimator's fit draws, recorded: uniform over each user's unliked items.
    drawn = []

    def recording(P, users, rng, verify=True):
        items = sample_negatives(P, users, rng, verify)
        drawn.append((P, users, items))
        return items

    monkeypatch.setattr(_bpr_training, "sample_negatives", recording)
    P = skewed_matrix()
    rows, cols = P.nonzero()
    BPRRecommender(factors=4, iterations=200, random_state=0).fit(np.column_stack([rows, cols]))
    assert len(drawn) == 200
    fitted_P = drawn[0][0]
    users = np.concatenate([u for _, u, _ in drawn])
    items = np.concatenate([i for _, _, i in drawn])
    liked = fitted_P.toarray().astype(bool)
    assert not liked[users, items].any()
    popular = liked.sum(axis=0).argmax()
    # Among the users who did not like the most popular item, it is drawn at the uniform rate.
    others = ~liked[users, popular]
    rate = (items[others] == popular).mean()
    expected = (1 / (~liked[users[others]]).sum(axis=1)).mean()
    assert abs(rate - expected) < 0.2 * expected


def test_same_seed_same_factors_other_seed_other_factors_any_n_jobs():
    data = make_interactions(n_users=80, n_items=40, n_interactions=800, random_state=0)
    fit = lambda **kw: BPRRecommender(factors=6, iterations=5, **kw).fit(data.X)  # noqa: E731
    a = fit(random_state=3, n_jobs=1)
    b = fit(random_state=3, n_jobs=2)
    c = fit(random_state=4, n_jobs=1)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    assert not np.allclose(a.item_factors_, c.item_factors_)
    assert a.model_ is None
    np.testing.assert_array_equal(a.user_factors_[:, -1], 1.0)


def test_one_triple_batch_is_the_sgd_update():
    # One user, one liked item, two items: every triple is (0, 0, 1), so one epoch of one
    # triple is one SGD step of x = u.(v0 - v1) + b0 - b1 from the initial factors.
    P = sp.csr_matrix(np.array([[1, 0]], dtype=np.float32))
    params = dict(
        factors=3, regularization=0.1, batch_size=1, optimizer="sgd", verify_negative_samples=True
    )
    U0, V0 = train_bpr(P, learning_rate=1e-30, iterations=1, seed=5, verbose=False, **params)
    U1, V1 = train_bpr(P, learning_rate=0.5, iterations=1, seed=5, verbose=False, **params)
    u, v0, v1 = U0[0].astype(float), V0[0].astype(float), V0[1].astype(float)
    z = 1 / (1 + np.exp(u @ (v0 - v1)))
    step_u = z * (v0 - v1) - 0.1 * u
    step_u[-1] = 0.0
    np.testing.assert_allclose(U1[0], u + 0.5 * step_u, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(V1[0], v0 + 0.5 * (z * u - 0.1 * v0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(V1[1], v1 + 0.5 * (-z * u - 0.1 * v1), rtol=1e-5, atol=1e-7)


def test_first_adam_step_moves_each_parameter_by_the_learning_rate():
    # Adam's first step is lr * m / sqrt(v) = lr * sign(gradient) (up to eps).
    P = sp.csr_matrix(np.array([[1, 0]], dtype=np.float32))
    params = dict(factors=3, regularization=0.1, batch_size=1, optimizer="adam")
    fit = lambda lr: train_bpr(  # noqa: E731
        P,
        learning_rate=lr,
        iterations=1,
        verify_negative_samples=True,
        seed=2,
        verbose=False,
        **params,
    )
    U0, V0 = fit(1e-30)
    U1, V1 = fit(1e-3)
    u, v0, v1 = U0[0].astype(float), V0[0].astype(float), V0[1].astype(float)
    z = 1 / (1 + np.exp(u @ (v0 - v1)))
    ascent_u = z * (v0 - v1) - 0.1 * u
    ascent_u[-1] = 0.0  # the constant column stays 1
    np.testing.assert_allclose(U1[0], u + 1e-3 * np.sign(ascent_u), atol=1e-6)
    np.testing.assert_allclose(V1[0], v0 + 1e-3 * np.sign(z * u - 0.1 * v0), atol=1e-6)
    np.testing.assert_allclose(V1[1], v1 + 1e-3 * np.sign(-z * u - 0.1 * v1), atol=1e-6)
    assert U1[0, -1] == 1.0


def test_auto_learning_rate_depends_on_the_optimizer():
    data = make_interactions(n_users=50, n_items=30, n_interactions=400, random_state=0)
    for optimizer, lr in [("adam", 0.001), ("sgd", 0.01)]:
        auto = BPRRecommender(factors=4, iterations=3, optimizer=optimizer, random_state=0)
        fixed = BPRRecommender(
            factors=4, iterations=3, optimizer=optimizer, learning_rate=lr, random_state=0
        )
        np.testing.assert_array_equal(
            auto.fit(data.X).item_factors_, fixed.fit(data.X).item_factors_
        )


def test_uniform_bpr_beats_popularity():
    data = make_interactions(n_users=300, n_items=100, n_interactions=6000, random_state=0)
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(data.X))
    X_train, X_test = data.X.iloc[train], data.X.iloc[test]
    scorer = make_ranking_scorer("ndcg", k=10)
    bpr = BPRRecommender(factors=16, iterations=50, random_state=0)
    popular = scorer(PopularityRecommender().fit(X_train), X_test)
    assert scorer(bpr.fit(X_train), X_test) > popular + 0.03


def test_grid_search_over_sampling():
    data = make_interactions(n_users=120, n_items=40, n_interactions=1500, random_state=0)
    search = GridSearchCV(
        BPRRecommender(factors=8, iterations=10, n_jobs=1, random_state=0),
        {"sampling": ["uniform", "implicit"]},
        cv=PerUserKFold(n_splits=2, random_state=0),
        scoring=make_ranking_scorer("ndcg", k=10),
        error_score="raise",
    ).fit(data.X)
    assert search.best_params_["sampling"] in {"uniform", "implicit"}
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores[0] != scores[1]
    model = search.best_estimator_.model_
    assert (model is None) == (search.best_params_["sampling"] == "uniform")


def test_gpu_with_uniform_sampling_is_a_clear_error():
    data = make_interactions(n_users=30, n_items=20, n_interactions=200, random_state=0)
    with pytest.raises(ValueError, match='sampling="implicit"'):
        BPRRecommender(use_gpu=True).fit(data.X)


def test_verbose_shows_epochs(capsys):
    data = make_interactions(n_users=30, n_items=20, n_interactions=200, random_state=0)
    BPRRecommender(factors=4, iterations=3, verbose=True).fit(data.X)
    err = capsys.readouterr().err
    assert "epoch 3/3" in err and "train AUC" in err


def test_divergence_is_an_error():
    data = make_interactions(n_users=30, n_items=20, n_interactions=300, random_state=0)
    with pytest.raises(ValueError, match="diverged"):
        BPRRecommender(factors=4, iterations=50, learning_rate=1e30).fit(data.X)
