"""ALSRecommender against raw implicit: same matrix, same seed, same results."""

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from skrec import ALSRecommender
from skrec.utils.validation import IdIndex, interaction_matrix, signed_weights

PARAMS = dict(factors=12, regularization=0.05, alpha=2.0, iterations=6)


def random_interactions(seed=0, n_users=80, n_items=50, n=900, negatives=False):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, n_users, n), rng.integers(0, n_items, n)])
    y = rng.integers(1, 4, n).astype(float)
    if negatives:
        y[rng.random(n) < 0.2] = 0.0
    return X, y


def raw_matrix(X, y):
    users, items = IdIndex(X[:, 0]), IdIndex(X[:, 1])
    return interaction_matrix(
        users.get_indexer(X[:, 0]),
        items.get_indexer(X[:, 1]),
        signed_weights(y, len(y)),
        (len(users), len(items)),
    )


def raw_implicit(R, **params):
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(**params, random_state=42)
        model.fit(R, show_progress=False)
    return model


@pytest.mark.parametrize("negatives", [False, True])
@pytest.mark.parametrize("use_cg", [True, False])
def test_factors_and_recommendations_equal_raw_implicit(negatives, use_cg):
    X, y = random_interactions(negatives=negatives)
    R = raw_matrix(X, y)
    assert (R.data < 0).any() == negatives
    raw = raw_implicit(R, use_cg=use_cg, **PARAMS)
    est = ALSRecommender(**PARAMS, use_cg=use_cg, random_state=42).fit(X, y)
    assert (est.interactions_ != R).nnz == 0
    np.testing.assert_array_equal(est.user_factors_, raw.user_factors)
    np.testing.assert_array_equal(est.item_factors_, raw.item_factors)

    users = np.arange(R.shape[0])
    raw_ids, raw_scores = raw.recommend(users, R[users], N=10, filter_already_liked_items=True)
    ids, scores = est.recommend(est.users_[users], n=10)
    a, b = est.calibration_  # recommend scores are calibrated logits of the raw scores
    np.testing.assert_allclose((scores - b) / a, raw_scores, rtol=1e-5, atol=1e-6)
    # Same items, except where two items tie exactly.
    agree = (est.items_[raw_ids] == ids).mean()
    assert agree > 0.99


def test_warm_start_continues_from_previous_factors():
    X, y = random_interactions(seed=3)
    R = raw_matrix(X, y)
    raw = raw_implicit(R, **PARAMS)
    raw.iterations = 2
    with threadpool_limits(1, "blas"):
        raw.fit(R, show_progress=False)  # implicit continues from its factors

    est = ALSRecommender(**PARAMS, random_state=42, warm_start=True).fit(X, y)
    est.set_params(iterations=2).fit(X, y)
    np.testing.assert_allclose(est.user_factors_, raw.user_factors, rtol=1e-5, atol=1e-6)


def test_warm_start_with_new_users_and_items_keeps_known_factors():
    X, y = random_interactions(seed=4)
    est = ALSRecommender(**PARAMS, random_state=0, warm_start=True).fit(X, y)
    before = dict(zip(est.users_, est.user_factors_))
    X2 = np.vstack([X, [[1000, 2000], [1000, 1]]])
    y2 = np.append(y, [1.0, 1.0])
    est.set_params(iterations=1)
    # One sweep from the old factors moves known users little; from scratch they'd be tiny.
    est.fit(X2, y2)
    assert 1000 in est.users_ and 2000 in est.items_
    known = est.users_[est.users_ != 1000]
    moved = [np.linalg.norm(est.user_factors_[i] - before[u]) for i, u in enumerate(known)]
    scale = [np.linalg.norm(before[u]) for u in known]
    assert np.median(moved) < 0.5 * np.median(scale)


def test_cold_fit_ignores_previous_factors():
    X, y = random_interactions(seed=5)
    est = ALSRecommender(**PARAMS, random_state=7).fit(X, y)
    first = est.user_factors_.copy()
    est.fit(X, y)
    np.testing.assert_array_equal(est.user_factors_, first)


def test_gpu_requested_without_cuda_is_a_clear_error():
    import implicit.gpu

    if implicit.gpu.HAS_CUDA:
        pytest.skip("this machine has CUDA")
    X, y = random_interactions()
    with pytest.raises(ValueError, match="without CUDA"):
        ALSRecommender(use_gpu=True).fit(X, y)


def test_random_state_instance_is_accepted_and_deterministic():
    X, y = random_interactions()
    a = ALSRecommender(**PARAMS, random_state=np.random.RandomState(1)).fit(X, y)
    b = ALSRecommender(**PARAMS, random_state=np.random.RandomState(1)).fit(X, y)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_verbose_shows_progress(capsys):
    X, y = random_interactions()
    ALSRecommender(**PARAMS, verbose=True).fit(X, y)
    assert "6/6" in capsys.readouterr().err


@pytest.mark.parametrize(
    "param, value", [("factors", 0), ("alpha", 0.0), ("iterations", 0), ("use_gpu", "yes")]
)
def test_bad_parameters_are_rejected(param, value):
    X, y = random_interactions()
    with pytest.raises(ValueError, match=param):
        ALSRecommender(**{param: value}).fit(X, y)


def test_sparse_input_rejected_with_hint():
    with pytest.raises(TypeError, match="interaction table"):
        ALSRecommender().fit(sp.random(5, 5, density=0.5, format="csr"))


@pytest.mark.cuda
def test_gpu_fit_recovers_the_clusters_as_the_cpu_fit_does(X_clustered):
    import implicit.gpu

    if not implicit.gpu.HAS_CUDA:
        pytest.skip("the installed implicit has no CUDA support")
    params = dict(factors=8, iterations=15, random_state=0)
    gpu = ALSRecommender(**params, use_gpu=True).fit(X_clustered)
    cpu = ALSRecommender(**params, use_gpu=False).fit(X_clustered)
    assert gpu.user_factors_.shape == cpu.user_factors_.shape
    users = np.unique(X_clustered[:, 0])
    cluster = {u: int(u[1:]) % 4 for u in users}
    for est in (gpu, cpu):
        ids, scores = est.recommend(users, n=3, exclude_seen=False)
        assert np.isfinite(scores).all()
        same = [int(i[1:]) % 4 == cluster[u] for u, row in zip(users, ids) for i in row]
        assert np.mean(same) > 0.9
