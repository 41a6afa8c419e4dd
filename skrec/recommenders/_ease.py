"""EASE: a closed-form item-item linear autoencoder (Steck, 2019)."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from numbers import Real

import numpy as np
from scipy.linalg import lapack

from skrec.recommenders._base import BaseRecommender
from skrec.utils._sklearn_compat import Interval
from skrec.utils._threads import blas_limit, effective_n_jobs

__all__ = ["EASERecommender"]

# Dense n_items x n_items arrays alive at the peak of a fit, in units of one float32
# matrix (measured with tracemalloc in tests/test_ease.py). On the CPU the Gram
# matrix is factorised, inverted and turned into B in place: one copy. The float64
# retry holds the float64 matrix (2 units) and the float32 coef_ made from it (1).
_DENSE_COPIES_FLOAT32 = 1
_DENSE_COPIES_FLOAT64 = 3
# On a CUDA device: the matrix and its Cholesky factor, plus cuSOLVER's workspace.
_DEVICE_COPIES = 3
# The Gram matrix is built, and its triangle mirrored, this many floats at a time.
_BLOCK_FLOATS = 1 << 20


def _available_memory() -> int:
    """Bytes of memory available now (MemAvailable), or physical memory as a fallback."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 34


def _dense_gram(X, dtype) -> np.ndarray:
    """``X.T @ X`` as a dense C-ordered array, built a block of rows at a time.

    The sparse product of the whole matrix would hold up to ``n_items**2`` stored
    entries (12 bytes each) next to the dense result; by blocks only one block's
    sparse product exists at a time.
    """
    X = X.astype(dtype, copy=False)
    Xt = X.T.tocsr()
    n = X.shape[1]
    G = np.empty((n, n), dtype=dtype)
    step = max(1, _BLOCK_FLOATS // max(n, 1))
    for start in range(0, n, step):
        stop = min(n, start + step)
        (Xt[start:stop] @ X).toarray(out=G[start:stop])
    return G


def _mirror_upper(G: np.ndarray) -> None:
    """Copy the upper triangle of square ``G`` onto its lower triangle, in place."""
    n = len(G)
    step = max(1, min(n, _BLOCK_FLOATS // max(n, 1)))
    for start in range(0, n, step):
        stop = min(n, start + step)
        G[start:stop, :start] = G[:start, start:stop].T
        block = G[start:stop, start:stop]
        block[...] = np.triu(block) + np.triu(block, 1).T


def _invert_lapack(G: np.ndarray) -> int:
    """Overwrite symmetric positive definite ``G`` with its inverse by LAPACK potrf + potri.

    ``G`` is C-ordered, so ``G.T`` is the same matrix in the Fortran order LAPACK
    works in: both calls run in place, without a copy. Returns LAPACK's ``info``:
    0 on success, ``k > 0`` when the leading minor of order ``k`` is not positive
    definite (at this precision).
    """
    potrf, potri = lapack.get_lapack_funcs(("potrf", "potri"), (G,))
    factor, info = potrf(G.T, lower=True, overwrite_a=True, clean=False)
    if info == 0:
        inverse, info = potri(factor, lower=True, overwrite_c=True)
        if info == 0 and not np.shares_memory(inverse, G):  # an f2py copy after all
            G[...] = inverse.T
    if info < 0:
        raise RuntimeError(f"LAPACK potrf/potri rejected argument {-info} (a bug in skrec)")
    if info == 0:
        # The lower triangle of G.T (the upper triangle of G) holds the inverse.
        _mirror_upper(G)
    return int(info)


def _invert_torch(G: np.ndarray, device: str) -> int:
    """Overwrite ``G`` with its inverse by torch's Cholesky on ``device`` (LensKit's route).

    Returns 0 on success, ``k > 0`` when the leading minor of order ``k`` is not
    positive definite. On the device: the matrix and its factor (and the
    solver's workspace); on the CPU the matrix is ``G``'s own memory.
    """
    import torch

    with torch.inference_mode():
        host = torch.from_numpy(G)
        A = host.to(device)
        L, info = torch.linalg.cholesky_ex(A)
        if int(info.item()) != 0:
            return int(info.item())
        torch.cholesky_inverse(L, out=A)
        del L
        if A.data_ptr() != host.data_ptr():
            host.copy_(A)
        del A
    return 0


def _torch_cuda_available() -> bool:
    """Whether torch can use CUDA, without importing torch where it cannot.

    Importing torch costs a second or more; on Linux without an NVIDIA driver
    torch cannot see a GPU anyway, so it is not imported to ask.
    """
    if "torch" not in sys.modules:
        if importlib.util.find_spec("torch") is None:
            return False
        if sys.platform.startswith("linux") and not os.path.exists("/proc/driver/nvidia"):
            return False
    import torch

    return bool(torch.cuda.is_available())


class EASERecommender(BaseRecommender):
    """Embarrassingly shallow autoencoder: ``B = argmin ||X - XB||² + l2 ||B||²``, ``diag(B) = 0``.

    A strong, hyperparameter-light baseline (Steck, "Embarrassingly Shallow
    Autoencoders for Sparse Data", WWW 2019). The closed form is
    ``B = -P / diag(P)`` (column by column, zero diagonal) with
    ``P = (X'X + l2 I)^-1``; ``P`` is computed by a Cholesky factorisation in
    float32, as LensKit does. Solving needs a dense ``n_items x n_items``
    matrix, so it suits catalogues up to a few tens of thousands of items;
    ``fit`` refuses a catalogue that would not fit in the memory available and
    says what to use instead.

    Parameters
    ----------
    l2 : float, default=500.0
        L2 regularisation (the paper's lambda), added to the diagonal of ``X'X``.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where the inverse is computed. ``"cpu"``: SciPy's LAPACK (``potrf`` +
        ``potri``, in place). ``"cuda"`` (or ``"cuda:N"``): torch on that GPU;
        raises when torch cannot use CUDA. ``"auto"``: ``"cuda"`` when torch is
        installed and sees a GPU with room for the matrix, else ``"cpu"``.
        Scoring always runs on the CPU.
    n_jobs : int or None, default=None
        Threads of the BLAS/LAPACK calls of ``fit`` on the CPU and of
        ``recommend``'s user blocks: None uses the enclosing
        :func:`joblib.parallel_config`'s ``n_jobs`` when it sets one, else as
        many threads as BLAS may use now (every core, unless ``threadpoolctl``,
        ``OMP_NUM_THREADS`` or a parallel search's worker limits it); ``-1``
        every core (joblib's convention). The BLAS limit is lowered only
        inside ``fit`` (never raised above a limit the caller set) and
        restored after it.
    verbose : bool, default=False
        Print the size and time of each step, and say when the float32
        factorisation failed and was retried in float64.
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    coef_ : ndarray of shape (n_items, n_items)
        The item-item weight matrix ``B`` (float32, zero diagonal).
    inverse_dtype_ : numpy.dtype
        Precision in which ``P`` was computed: float32, or float64 when the
        float32 factorisation failed.
    device_ : str
        Where ``P`` was computed (``"cpu"`` or the CUDA device).
    users_, items_ : ndarray
        Ids known from ``fit``.

    See Also
    --------
    ALSRecommender : matrix factorisation, for catalogues too large for EASE.

    Notes
    -----
    Only positive interactions enter ``X`` (with their strengths); explicit
    negatives are excluded from the rankings of their user (``exclude_seen``)
    but carry no weight in ``B``.

    Precision: float32 carries about 7 significant digits. The inverse of
    ``X'X + l2 I`` loses about ``log10`` of its condition number, at most
    ``(||X'X|| + l2) / l2``; with the usual ``l2`` (tens to thousands) ``B``
    agrees with a float64 solution to about 1e-5 relative to its largest
    entry and the rankings are the same. When the factorisation fails in
    float32 (the matrix is not numerically positive definite, which takes an
    ``l2`` tiny next to the co-occurrence counts), ``fit`` recomputes in
    float64 (twice the memory and time) and records it in ``inverse_dtype_``.

    Memory at the peak of a fit: one float32 ``n_items x n_items`` matrix on
    the CPU (built, factorised and turned into ``B`` in place; 0.4 GiB for 10k
    items), plus the sparse interaction matrices; three such matrices during
    the float64 retry.

    Examples
    --------
    >>> from skrec import EASERecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> rec = EASERecommender(l2=50.0, device="cpu", n_jobs=1).fit(data.X)
    >>> rec.coef_.shape, rec.coef_.dtype, rec.inverse_dtype_
    ((50, 50), dtype('float32'), dtype('float32'))
    >>> ids, scores = rec.recommend([0, 1], n=3)
    >>> ids.shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "l2": [Interval(Real, 0, None, closed="neither")],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        l2: float = 500.0,
        *,
        augmenter=None,
        device: str = "auto",
        n_jobs: int | None = None,
        verbose: bool = False,
        handle_unknown: str = "popular",
    ):
        self.l2 = l2
        self.augmenter = augmenter
        self.device = device
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.handle_unknown = handle_unknown

    # ------------------------------------------------------------ resolution
    def _resolve_device(self, n_items: int) -> str:
        device = self.device
        if device == "cpu":
            return "cpu"
        if device == "auto":
            if not _torch_cuda_available():
                return "cpu"
            import torch

            free, _ = torch.cuda.mem_get_info()
            if _DEVICE_COPIES * 4 * n_items * n_items > free:
                self._say(f"not enough free GPU memory ({free / 2**30:.1f} GiB); using the CPU")
                return "cpu"
            return "cuda"
        if device == "cuda" or device.startswith("cuda:"):
            if importlib.util.find_spec("torch") is None:
                raise ImportError(
                    f"EASERecommender(device={device!r}) needs torch; install it with "
                    "`pip install scikit-recommend[transformer]` (a CUDA build of torch)"
                )
            import torch

            if not torch.cuda.is_available():
                raise ValueError(
                    f"device={device!r} but torch {torch.__version__} cannot use CUDA on "
                    "this machine (torch.cuda.is_available() is False); use device='auto' or "
                    "'cpu', or install a CUDA build of torch"
                )
            return device
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")

    def _say(self, message: str) -> None:
        if self.verbose:
            print(f"[EASERecommender] {message}", flush=True)

    def _check_memory(self, n_items: int, copies: int, what: str) -> None:
        need = copies * 4 * n_items * n_items
        available = _available_memory()
        if need > available:
            raise ValueError(
                f"EASERecommender needs about {need / 2**30:.1f} GiB for its dense "
                f"{n_items:,} x {n_items:,} item matrix ({what}) but only "
                f"{available / 2**30:.1f} GiB is available; use ALSRecommender for large "
                "catalogues, or restrict the catalogue to the most popular items"
            )

    # -------------------------------------------------------------------- fit
    def _fit_model(self, R, data, previous) -> None:
        n_items = R.shape[1]
        self._check_memory(n_items, _DENSE_COPIES_FLOAT32, "float32")
        # Positive strengths only; R itself when it has nothing else (no copy).
        X = R if R.nnz == 0 or R.data.min() > 0 else R.maximum(0).tocsr()
        device = self._resolve_device(n_items)
        with blas_limit(effective_n_jobs(self.n_jobs)):
            P = self._inverse(X, np.float32, device)
            if P is None:
                self._check_memory(n_items, _DENSE_COPIES_FLOAT64, "float64 retry")
                P = self._inverse(X, np.float64, device)
            if P is None:
                raise ValueError(
                    f"X'X + l2 I is not numerically positive definite even in float64 "
                    f"(l2={self.l2!r} is too small next to the interaction strengths); "
                    "increase l2"
                )
            # B = -P / diag(P), column by column, zero diagonal: in place.
            np.divide(P, -np.diagonal(P), out=P)
            P.flat[:: n_items + 1] = 0.0
        self.inverse_dtype_ = P.dtype
        self.device_ = device
        self.coef_ = P if P.dtype == np.float32 else P.astype(np.float32)
        self._X = X

    def _inverse(self, X, dtype, device: str) -> np.ndarray | None:
        """``(X'X + l2 I)^-1`` in ``dtype`` on ``device``, or None when Cholesky fails."""
        n_items = X.shape[1]
        name = np.dtype(dtype).name
        start = time.perf_counter()
        G = _dense_gram(X, dtype)
        G.flat[:: n_items + 1] += self.l2
        self._say(
            f"Gram matrix {n_items:,} x {n_items:,} {name} "
            f"({G.nbytes / 2**30:.2f} GiB) in {time.perf_counter() - start:.2f} s"
        )
        start = time.perf_counter()
        info = _invert_lapack(G) if device == "cpu" else _invert_torch(G, device)
        diagonal = np.diagonal(G)
        if info == 0 and not (np.isfinite(diagonal).all() and (diagonal > 0).all()):
            info = n_items  # a positive definite inverse has a positive, finite diagonal
        if info != 0:
            retry = "; retrying in float64" if dtype == np.float32 else ""
            self._say(
                f"{name} Cholesky failed: leading minor {info} is not positive definite "
                f"at this precision{retry}"
            )
            return None
        solver = "SciPy LAPACK potrf+potri" if device == "cpu" else f"torch on {device}"
        self._say(f"{name} Cholesky inverse ({solver}) in {time.perf_counter() - start:.2f} s")
        return G

    def _score_pairs(self, user_idx, item_idx):
        # score(u, i) = sum_j X[u, j] B[j, i] over the user's own items only: the
        # calibration's few thousand pairs cost O(their history), not whole rows of
        # users x n_items (which, at 10k items, took a tenth of the fit).
        X = self._X
        starts = X.indptr[user_idx]
        lengths = X.indptr[user_idx + 1] - starts
        pair = np.repeat(np.arange(len(user_idx)), lengths)
        # Positions in X.indices/X.data of every pair's history, concatenated.
        cells = np.arange(int(lengths.sum())) - np.repeat(
            np.cumsum(lengths) - lengths - starts, lengths
        )
        flat = X.indices[cells].astype(np.int64) * self.coef_.shape[1] + np.asarray(item_idx)[pair]
        terms = X.data[cells] * self.coef_.ravel().take(flat)
        return np.bincount(pair, weights=terms, minlength=len(user_idx))

    def _score_users(self, user_idx, item_idx=None):
        B = self.coef_ if item_idx is None else self.coef_[:, item_idx]
        return np.asarray(self._X[user_idx] @ B)

    def _embed_items(self, item_idx):
        return self.coef_[item_idx]
