"""BPRRecommender (``sampling="implicit"``) and LMFRecommender against raw implicit."""

import numpy as np
import pytest
from implicit.cpu.bpr import BayesianPersonalizedRanking
from implicit.cpu.lmf import LogisticMatrixFactorization
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from skrec import BPRRecommender, LMFRecommender
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold
from skrec.utils.validation import IdIndex, interaction_matrix, signed_weights

BPR = dict(factors=12, learning_rate=0.05, regularization=0.01, iterations=30, sampling="implicit")
LMF = dict(factors=12, learning_rate=0.5, regularization=0.6, iterations=8, neg_prop=5)


def random_interactions(seed=0, n_users=80, n_items=50, n=900, negatives=False):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, n_users, n), rng.integers(0, n_items, n)])
    y = rng.integers(1, 4, n).astype(float)
    if negatives:
        y[rng.random(n) < 0.2] = 0.0
    return X, y


def positive_matrix(X, y, weights=None):
    """The matrix implicit should see: summed strengths, positive entries only."""
    users, items = IdIndex(X[:, 0]), IdIndex(X[:, 1])
    R = interaction_matrix(
        users.get_indexer(X[:, 0]),
        items.get_indexer(X[:, 1]),
        signed_weights(y, len(y), weights),
        (len(users), len(items)),
    )
    P = R.maximum(0).tocsr().astype(np.float32)
    P.eliminate_zeros()
    return R, P


def raw_fit(model, P):
    with threadpool_limits(1, "blas"):
        model.fit(P, show_progress=False)
    return model


def check_equal_to_raw(est, raw, R, P):
    np.testing.assert_array_equal(est.user_factors_, raw.user_factors)
    np.testing.assert_array_equal(est.item_factors_, raw.item_factors)
    users = np.arange(R.shape[0])
    # implicit filters what it was given; skrec also excludes explicit negatives (R's pattern).
    raw_ids, raw_scores = raw.recommend(users, R[users].tocsr(), N=10)
    ids, scores = est.recommend(est.users_[users], n=10)
    a, b = est.calibration_  # recommend scores are calibrated logits of the raw scores
    np.testing.assert_allclose((scores - b) / a, raw_scores, rtol=1e-5, atol=1e-6)
    assert (est.items_[raw_ids] == ids).mean() > 0.99  # equal except exact ties


@pytest.mark.parametrize("negatives", [False, True])
@pytest.mark.parametrize("verify", [True, False])
def test_bpr_equals_raw_implicit(negatives, verify):
    X, y = random_interactions(negatives=negatives)
    R, P = positive_matrix(X, y)
    raw = raw_fit(
        BayesianPersonalizedRanking(
            **{k: v for k, v in BPR.items() if k != "sampling"},
            num_threads=1,
            verify_negative_samples=verify,
            random_state=42,
        ),
        P,
    )
    est = BPRRecommender(**BPR, verify_negative_samples=verify, n_jobs=1, random_state=42)
    est.fit(X, y)
    assert (est.interactions_ != R).nnz == 0
    check_equal_to_raw(est, raw, R, P)


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("negatives", [False, True])
def test_lmf_equals_raw_implicit(negatives, n_jobs):
    X, y = random_interactions(negatives=negatives, seed=1)
    R, P = positive_matrix(X, y)
    raw = raw_fit(LogisticMatrixFactorization(**LMF, num_threads=n_jobs, random_state=7), P)
    est = LMFRecommender(**LMF, n_jobs=n_jobs, random_state=7).fit(X, y)
    check_equal_to_raw(est, raw, R, P)


def implicit_model(cls, **params):
    """``cls`` on implicit's trainer (BPR's ``sampling="implicit"``)."""
    if cls is BPRRecommender:
        params["sampling"] = "implicit"
    return cls(**params)


@pytest.mark.parametrize("cls", [BPRRecommender, LMFRecommender])
def test_strengths_below_zero_and_zero_weights_do_not_reach_implicit(cls):
    # A rejected item must not become a "liked" one: implicit reads every stored entry.
    X, y = random_interactions(seed=2, negatives=True)
    weights = np.where(np.arange(len(y)) % 7 == 0, 0.0, 1.0)
    est = implicit_model(cls, factors=4, iterations=2, n_jobs=1, random_state=0)
    est.fit(X, y, sample_weight=weights)
    R, P = positive_matrix(X, y, weights)
    assert (R.data <= 0).any() and (P.data > 0).all()
    raw_cls = BayesianPersonalizedRanking if cls is BPRRecommender else LogisticMatrixFactorization
    raw = raw_fit(raw_cls(factors=4, iterations=2, num_threads=1, random_state=0), P)
    np.testing.assert_array_equal(est.item_factors_, raw.item_factors)


@pytest.mark.parametrize("cls", [BPRRecommender, LMFRecommender])
def test_ranking_does_not_depend_on_the_block(cls):
    # The conformance suite waives its n_jobs refit for these models (implicit's fit
    # depends on the thread count); ranking a fitted model must not.
    X, y = random_interactions(seed=3)
    est = implicit_model(cls, factors=6, iterations=3, n_jobs=1, random_state=0).fit(X, y)
    together = est.recommend(est.users_, n=5)
    for k in range(0, len(est.users_), 17):
        ids, scores = est.recommend(est.users_[k : k + 1], n=5)
        np.testing.assert_array_equal(ids[0], together[0][k])
        np.testing.assert_allclose(scores[0], together[1][k], rtol=1e-6)


def test_bpr_learns_a_better_ranking_than_its_initial_factors():
    from skrec.datasets import make_interactions

    data = make_interactions(n_users=300, n_items=60, n_interactions=6000, random_state=0)
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(data.X))
    X_train, X_test = data.X.iloc[train], data.X.iloc[test]
    scorer = make_ranking_scorer("ndcg", k=10)
    common = dict(factors=16, sampling="implicit", n_jobs=1, random_state=0)
    barely = BPRRecommender(iterations=1, **common).fit(X_train)
    trained = BPRRecommender(iterations=100, learning_rate=0.05, **common).fit(X_train)
    assert scorer(trained, X_test) > scorer(barely, X_test) + 0.02


def test_grid_search_tunes_bpr_and_lmf():
    from skrec.datasets import make_interactions

    data = make_interactions(n_users=120, n_items=40, n_interactions=1500, random_state=0)
    cv = PerUserKFold(n_splits=2, random_state=0)
    for est, grid in [
        (
            BPRRecommender(iterations=5, sampling="implicit", n_jobs=1, random_state=0),
            {"factors": [4, 8]},
        ),
        (LMFRecommender(iterations=3, random_state=0), {"neg_prop": [2, 10]}),
    ]:
        search = GridSearchCV(
            est, grid, cv=cv, scoring=make_ranking_scorer("ndcg", k=10), error_score="raise"
        ).fit(data.X)
        assert set(search.best_params_) == set(grid)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_bpr_gpu_requested_without_cuda_is_a_clear_error():
    import implicit.gpu

    if implicit.gpu.HAS_CUDA:
        pytest.skip("this machine has CUDA")
    X, y = random_interactions()
    with pytest.raises(ValueError, match="without CUDA"):
        BPRRecommender(use_gpu=True, sampling="implicit").fit(X, y)


def test_random_state_instance_is_accepted_and_deterministic():
    X, y = random_interactions()
    for cls in (BPRRecommender, LMFRecommender):
        params = dict(factors=4, iterations=3, n_jobs=1)
        a = implicit_model(cls, **params, random_state=np.random.RandomState(1))
        b = implicit_model(cls, **params, random_state=np.random.RandomState(1))
        np.testing.assert_array_equal(a.fit(X, y).item_factors_, b.fit(X, y).item_factors_)


@pytest.mark.parametrize("cls", [BPRRecommender, LMFRecommender])
def test_verbose_shows_progress(cls, capsys):
    X, y = random_interactions()
    implicit_model(cls, factors=4, iterations=3, n_jobs=1, verbose=True).fit(X, y)
    assert "3/3" in capsys.readouterr().err


@pytest.mark.parametrize(
    "cls, param, value",
    [
        (BPRRecommender, "factors", 0),
        (BPRRecommender, "learning_rate", 0.0),
        (BPRRecommender, "use_gpu", "yes"),
        (BPRRecommender, "sampling", "popular"),
        (BPRRecommender, "batch_size", 0),
        (LMFRecommender, "neg_prop", 0),
        (LMFRecommender, "iterations", 0),
    ],
)
def test_bad_parameters_are_rejected(cls, param, value):
    X, y = random_interactions()
    with pytest.raises(ValueError, match=param):
        cls(**{param: value}).fit(X, y)
