import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from joblib import parallel_config
from threadpoolctl import threadpool_info, threadpool_limits

import skrec.recommenders._ease as ease_module
from skrec import EASERecommender
from skrec.datasets import make_interactions

# Unit roundoff of float32 (2**-24).
U32 = np.finfo(np.float32).eps / 2


def reference_solution(X, l2: float):
    """Today's solution, independently: the float64 ``np.linalg.inv`` of ``X'X + l2 I``.

    Returns ``B`` and the 2-norm condition number of the inverted matrix.
    """
    X = X.astype(np.float64).toarray()
    G = X.T @ X + l2 * np.eye(X.shape[1])
    P = np.linalg.inv(G)
    B = P / -np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B, np.linalg.cond(G)


def synthetic(n_users=300, n_items=200, n_interactions=6000, seed=1):
    data = make_interactions(
        n_users=n_users, n_items=n_items, n_interactions=n_interactions, random_state=seed
    )
    return data.X[["user", "item"]].to_numpy(), None


def weighted_dense(seed=0):
    """A small dense pattern with strengths 1..5 (a weighted X)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(rng.random((60, 40)) < 0.3)
    return np.column_stack([rows, cols]), rng.integers(1, 6, len(rows)).astype(float)


def duplicated_pair():
    """Items 0 and 1 always bought together, with strength 1024, by users 0-3.

    The Gram matrix then has ``G[0,0] = G[1,1] = G[0,1] = 4 * 1024**2 = 2**22``;
    in float32 ``2**22 + 0.1`` rounds back to ``2**22`` (its spacing there is
    0.5), so with ``l2=0.1`` the leading 2 x 2 block is exactly singular and the
    Cholesky pivot of item 1 is exactly 0: the float32 factorisation must fail.
    In float64 the pivot is about ``2 * l2`` and the factorisation succeeds.
    Items 2-11 are ordinary (strength 1, users 4-43).
    """
    rng = np.random.default_rng(0)
    rows = [(u, i, 1024.0) for u in range(4) for i in (0, 1)]
    for u in range(4, 44):
        for i in rng.choice(np.arange(2, 12), size=4, replace=False):
            rows.append((u, int(i), 1.0))
    arr = np.array(rows)
    return arr[:, :2].astype(int), arr[:, 2]


# --------------------------------------------------------------- the solution
def test_matches_per_item_ridge_regression():
    """EASE with diag(B)=0 is, column by column, a ridge regression on the other items."""
    rng = np.random.default_rng(0)
    dense = (rng.random((40, 12)) < 0.3).astype(float)
    rows, cols = np.nonzero(dense)
    est = EASERecommender(l2=3.0).fit(np.column_stack([rows, cols]))
    X = dense[:, np.argsort(np.unique(cols))]  # item order = sorted ids
    for j in range(X.shape[1]):
        others = np.delete(np.arange(X.shape[1]), j)
        A = X[:, others]
        b = np.linalg.solve(A.T @ A + 3.0 * np.eye(len(others)), A.T @ X[:, j])
        np.testing.assert_allclose(est.coef_[others, j], b, rtol=1e-4, atol=1e-6)
        assert est.coef_[j, j] == 0


@pytest.mark.parametrize(
    "make, l2",
    [(synthetic, 0.5), (synthetic, 500.0), (weighted_dense, 10.0), (weighted_dense, 0.5)],
)
def test_float32_cholesky_matches_float64_inverse(make, l2):
    """Same coefficients as the float64 ``inv`` solution, to float32 precision.

    Tolerance: a backward-stable inverse in precision ``u`` is accurate to about
    ``u * cond(G)`` relative to its norm (first-order perturbation bound); a
    factor 10 covers the constant of the bound, the rounding of the Gram matrix
    to float32 and of ``B = -P / diag(P)``. The cases span cond 4 to 2,000;
    a wrong sign, transpose or triangle gives errors of order 1, far outside.
    """
    X, y = make()
    est = EASERecommender(l2=l2, device="cpu").fit(X, y)
    B, cond = reference_solution(est.interactions_, l2)
    assert est.coef_.dtype == np.float32
    assert est.inverse_dtype_ == np.float32 and est.device_ == "cpu"
    atol = 10 * U32 * cond * np.abs(B).max()
    np.testing.assert_allclose(est.coef_, B, rtol=0, atol=atol)
    assert np.all(np.diag(est.coef_) == 0)


def test_recommendations_equal_the_float64_solution():
    X, y = synthetic(n_users=400, n_items=150, n_interactions=8000, seed=3)
    est = EASERecommender(l2=20.0, device="cpu").fit(X, y)
    ref = EASERecommender(l2=20.0, device="cpu").fit(X, y)
    B, cond = reference_solution(est.interactions_, 20.0)
    ref.coef_ = B.astype(np.float32)
    users = est.users_
    ids, scores = est.recommend(users, n=10)
    ref_ids, ref_scores = ref.recommend(users, n=10)
    assert np.mean(ids == ref_ids) > 0.99
    # Where an id differs it is a near-tie: the scores of the chosen lists agree.
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-5)


def test_scores_are_history_times_weights():
    X = np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 0], [2, 2]])
    est = EASERecommender(l2=1.0).fit(X)
    history = est.interactions_.toarray()
    expected = history @ est.coef_
    np.testing.assert_allclose(
        est.score_samples([[0, 2], [1, 0]]), [expected[0, 2], expected[1, 0]], rtol=1e-6
    )


def test_pair_scores_equal_row_scores():
    """The calibration's pair scoring (history x one column of B) equals whole-row scoring."""
    X, y = weighted_dense(seed=4)
    est = EASERecommender(l2=2.0).fit(X, y)
    rng = np.random.default_rng(0)
    users = rng.integers(0, len(est.users_), 500)
    items = rng.integers(0, len(est.items_), 500)
    rows = est._score_users(users)[np.arange(500), items]
    np.testing.assert_allclose(est._score_pairs(users, items), rows, rtol=1e-5, atol=1e-6)
    empty = np.array([], dtype=np.int64)
    assert est._score_pairs(empty, empty).shape == (0,)


def test_explicit_negatives_carry_no_weight():
    X = np.array([[0, 0], [0, 1], [1, 1], [1, 2], [2, 0], [2, 2], [2, 1]])
    y = np.array([1, 1, 1, 1, 1, 1, -1.0])
    est = EASERecommender(l2=1.0).fit(X, y)
    without = EASERecommender(l2=1.0).fit(X[:-1])
    np.testing.assert_allclose(est.coef_, without.coef_, rtol=1e-6)
    assert est.interactions_[2, 1] == -1  # the fit did not modify its input matrix


# ------------------------------------------------------------ float64 retry
def test_float32_gram_of_duplicated_pair_is_not_positive_definite():
    """The premise of the retry test: LAPACK's float32 potrf rejects this matrix."""
    X, y = duplicated_pair()
    est = EASERecommender(l2=1.0, device="cpu").fit(X, y)
    for dtype, expected in ((np.float32, 2), (np.float64, 0)):
        G = ease_module._dense_gram(est.interactions_, dtype)
        G.flat[:: len(G) + 1] += 0.1
        assert ease_module._invert_lapack(G) == expected


def test_ill_conditioned_matrix_is_retried_in_float64(capsys):
    X, y = duplicated_pair()
    est = EASERecommender(l2=0.1, device="cpu", verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "float32 Cholesky failed: leading minor 2" in out and "retrying in float64" in out
    assert "float64 Cholesky inverse" in out
    assert est.inverse_dtype_ == np.float64
    assert est.coef_.dtype == np.float32
    B, cond = reference_solution(est.interactions_, 0.1)
    assert cond > 1e7  # beyond float32 (1 / U32 = 1.7e7), well within float64
    # float64 precision: u64 * cond ~ 1e-8 relative, then rounded to float32.
    np.testing.assert_allclose(est.coef_, B, rtol=1e-5, atol=1e-6 * np.abs(B).max())
    # Item 1 predicts item 0 (and back) with weight s / (s + l2) = 1 - 2.4e-8.
    assert est.coef_[1, 0] == pytest.approx(1.0, abs=1e-6)
    assert est.coef_[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert np.abs(est.coef_[2:, :2]).max() < 1e-6  # unrelated items get no weight


def test_matrix_singular_even_in_float64_is_a_clear_error():
    X, y = duplicated_pair()  # 2**22 + 1e-30 rounds to 2**22 in float64 too
    with pytest.raises(ValueError, match="not numerically positive definite even in float64"):
        EASERecommender(l2=1e-30, device="cpu").fit(X, y)


def test_well_conditioned_fit_stays_float32_and_quiet(capsys):
    X, y = synthetic()
    est = EASERecommender(device="cpu").fit(X, y)
    assert est.inverse_dtype_ == np.float32
    assert capsys.readouterr().out == ""


def test_verbose_reports_each_step(capsys):
    X, y = synthetic()
    EASERecommender(device="cpu", verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Gram matrix" in out and "float32 Cholesky inverse (SciPy LAPACK" in out
    assert "failed" not in out


# ------------------------------------------------------------------- memory
def test_refuses_catalogue_too_large_for_memory(monkeypatch):
    monkeypatch.setattr(ease_module, "_available_memory", lambda: 10_000)
    X = np.column_stack([np.arange(100) % 7, np.arange(100)])
    message = r"0\.0 GiB for its dense 100 x 100 item matrix \(float32\).*use ALSRecommender"
    with pytest.raises(ValueError, match=message):
        EASERecommender().fit(X)


def test_memory_check_counts_one_float32_matrix(monkeypatch):
    """100 items: 40,000 bytes per float32 matrix, one needed (the float64 path would need 6)."""
    n = 100
    one = 4 * n * n
    X = np.column_stack([np.arange(300) % 17, np.arange(300) % n])
    monkeypatch.setattr(ease_module, "_available_memory", lambda: int(one * 1.5))
    est = EASERecommender().fit(X)
    assert est.inverse_dtype_ == np.float32
    monkeypatch.setattr(ease_module, "_available_memory", lambda: int(one * 0.9))
    with pytest.raises(ValueError, match="item matrix"):
        EASERecommender().fit(X)


def test_float64_retry_checks_memory_again(monkeypatch):
    X, y = duplicated_pair()
    n = 12
    monkeypatch.setattr(ease_module, "_available_memory", lambda: 4 * n * n * 2)
    with pytest.raises(ValueError, match=r"12 x 12 item matrix \(float64 retry\)"):
        EASERecommender(l2=0.1, device="cpu").fit(X, y)


def test_fit_holds_one_dense_float32_matrix_at_its_peak():
    """Measured, not assumed: the Gram matrix is built, inverted and turned into B in place."""
    X, y = synthetic(n_users=3000, n_items=2000, n_interactions=60000, seed=0)
    est = EASERecommender(l2=50.0, device="cpu").fit(X, y)
    R = est.interactions_
    n = R.shape[1]
    assert n > 1900
    fresh = EASERecommender(l2=50.0, device="cpu")
    tracemalloc.start()
    try:
        fresh._fit_model(R, None, None)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one = 4 * n * n
    assert kept == pytest.approx(one, rel=0.05)  # coef_ is the one matrix
    # One matrix plus block-sized temporaries (the old float64 inv path held 6).
    assert peak < 1.3 * one


# ------------------------------------------------------------------ threads
def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_n_jobs_limits_blas_threads_inside_fit_only(monkeypatch):
    seen = []
    invert = ease_module._invert_lapack

    def spy(G):
        seen.append(_blas_threads())
        return invert(G)

    monkeypatch.setattr(ease_module, "_invert_lapack", spy)
    X, y = synthetic()
    before = _blas_threads()
    EASERecommender(device="cpu", n_jobs=1).fit(X, y)
    assert seen[-1] == {1}
    assert _blas_threads() == before  # restored
    with threadpool_limits(1, user_api="blas"):
        EASERecommender(device="cpu", n_jobs=None).fit(X, y)  # None: the limit in force
        assert seen[-1] == {1}
        EASERecommender(device="cpu", n_jobs=2).fit(X, y)  # never raised above the caller's
        assert seen[-1] == {1}
        assert _blas_threads() == {1}
    with threadpool_limits(2, user_api="blas"), parallel_config(n_jobs=1):
        EASERecommender(device="cpu").fit(X, y)  # None: joblib's n_jobs when set
        assert seen[-1] == {1}
        assert _blas_threads() == {2}


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_bad_n_jobs(n_jobs):
    with pytest.raises((ValueError, TypeError), match="n_jobs"):
        EASERecommender(n_jobs=n_jobs).fit([[0, 1], [1, 1]])


# ------------------------------------------------------------------- device
def test_bad_device():
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda'"):
        EASERecommender(device="gpu").fit([[0, 1], [1, 1]])


def test_auto_device_without_gpu_uses_lapack_and_does_not_import_torch():
    """``device="auto"`` on a machine without an NVIDIA driver never imports torch."""
    if os.path.exists("/proc/driver/nvidia") or not sys.platform.startswith("linux"):
        pytest.skip("an NVIDIA driver is present (or not Linux): auto may import torch")
    code = (
        "import sys\n"
        "from skrec import EASERecommender\n"
        "est = EASERecommender(l2=1.0).fit([[0, 0], [0, 1], [1, 1], [2, 0]])\n"
        "assert est.device_ == 'cpu', est.device_\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cuda_without_cuda_is_a_clear_error():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match=r"device='cuda' but torch .* cannot use CUDA"):
        EASERecommender(device="cuda").fit([[0, 1], [1, 1]])


def test_torch_solver_matches_lapack_on_cpu():
    """The CUDA route (torch's Cholesky) checked on the CPU, where it runs everywhere."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    X, y = weighted_dense()
    est = EASERecommender(l2=5.0, device="cpu").fit(X, y)
    G = ease_module._dense_gram(est.interactions_, np.float32)
    G.flat[:: len(G) + 1] += 5.0
    expected = G.copy()
    assert ease_module._invert_lapack(expected) == 0
    assert ease_module._invert_torch(G, "cpu") == 0
    np.testing.assert_allclose(G, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    np.testing.assert_allclose(G, G.T)
    assert torch.get_num_threads() == threads

    X, y = duplicated_pair()
    est = EASERecommender(l2=1.0, device="cpu").fit(X, y)
    G = ease_module._dense_gram(est.interactions_, np.float32)
    G.flat[:: len(G) + 1] += 0.1
    assert ease_module._invert_torch(G, "cpu") == 2


def _cuda():
    torch = pytest.importorskip("torch", reason="CUDA tests need torch")
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available (torch.cuda.is_available() is False)")
    return torch


@pytest.mark.cuda
@pytest.mark.parametrize("device", ["cuda", "auto"])
def test_cuda_fit_matches_cpu(device):
    _cuda()
    X, y = synthetic(n_users=2000, n_items=1500, n_interactions=40000, seed=2)
    cpu = EASERecommender(l2=50.0, device="cpu").fit(X, y)
    gpu = EASERecommender(l2=50.0, device=device).fit(X, y)
    assert gpu.device_.startswith("cuda") and gpu.inverse_dtype_ == np.float32
    B, cond = reference_solution(cpu.interactions_, 50.0)
    np.testing.assert_allclose(gpu.coef_, B, rtol=0, atol=10 * U32 * cond * np.abs(B).max())
    ids, _ = gpu.recommend(gpu.users_[:200], n=10)
    cpu_ids, _ = cpu.recommend(cpu.users_[:200], n=10)
    assert np.mean(ids == cpu_ids) > 0.99


@pytest.mark.cuda
def test_cuda_retries_in_float64():
    _cuda()
    X, y = duplicated_pair()
    est = EASERecommender(l2=0.1, device="cuda").fit(X, y)
    assert est.device_ == "cuda" and est.inverse_dtype_ == np.float64
    B, _ = reference_solution(est.interactions_, 0.1)
    np.testing.assert_allclose(est.coef_, B, rtol=1e-5, atol=1e-6 * np.abs(B).max())


@pytest.mark.cuda
def test_cuda_leaves_torch_threads_alone():
    torch = _cuda()
    threads = torch.get_num_threads()
    X, y = synthetic()
    EASERecommender(device="cuda", n_jobs=1).fit(X, y)
    assert torch.get_num_threads() == threads


def test_l2_must_be_positive():
    with pytest.raises(ValueError, match="l2"):
        EASERecommender(l2=0).fit([[0, 1]])
