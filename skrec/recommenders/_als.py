"""Matrix factorisation for implicit feedback, on top of ``implicit.als``."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._implicit_mf import implicit_seed, use_gpu
from skrec.utils._optional import import_optional
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils._threads import blas_limit, effective_n_jobs

__all__ = ["ALSRecommender"]


class ALSRecommender(BaseRecommender):
    """Alternating least squares for implicit feedback (Hu, Koren & Volinsky, 2008).

    A scikit-learn estimator around :func:`implicit.als.AlternatingLeastSquares`:
    the implicit model is built in ``fit`` (``model_``) from the user x item
    matrix of the training interactions, with exactly the parameters given here,
    so that factors and recommendations equal those of a raw implicit model
    fitted on the same matrix with the same seed.

    Parameters
    ----------
    factors : int, default=100
        Number of latent factors.
    regularization : float, default=0.01
        L2 regularisation of the factors.
    alpha : float, default=1.0
        Confidence scaling: implicit uses ``alpha * strength`` as the confidence
        of each interaction.
    iterations : int, default=15
        ALS sweeps.
    use_cg : bool, default=True
        Conjugate-gradient solver (faster) instead of Cholesky.
    calculate_training_loss : bool, default=False
        Compute the loss at each iteration (shown when ``verbose``).
    n_jobs : int or None, default=None
        Threads of implicit's solver and of ``recommend``: None uses the
        enclosing :func:`joblib.parallel_config`'s ``n_jobs`` when it sets one,
        else as many threads as BLAS may use now (every core, unless
        ``threadpoolctl``, ``OMP_NUM_THREADS`` or a parallel search's worker
        limits it); ``-1`` every core (joblib's convention).
    use_gpu : {"auto"} or bool, default="auto"
        Fit on the GPU. ``"auto"`` picks it only when implicit was built with
        CUDA; ``True`` without CUDA raises a ValueError.
    random_state : int, RandomState instance or None, default=None
        Seed of the factor initialisation.
    warm_start : bool, default=False
        Start from the factors of the previous ``fit`` (for ids seen before;
        new users and items start from a random initialisation), so repeated
        fits in an active-learning loop converge quickly.
    verbose : bool, default=False
        Show implicit's progress bar.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    model_ : implicit.cpu.als.AlternatingLeastSquares
        The fitted implicit model (always on the CPU, so it pickles anywhere).
    user_factors_ : ndarray of shape (n_users, factors)
    item_factors_ : ndarray of shape (n_items, factors)
    users_, items_ : ndarray
        Ids known from ``fit``, in index order.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training matrix (summed weights; explicit negatives are negative).
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    EASERecommender : A closed-form item-item baseline.

    Notes
    -----
    Rows with ``y <= 0`` reach implicit as negative entries of the matrix,
    which implicit treats as negative feedback with confidence ``alpha * |y|``.

    Examples
    --------
    >>> from skrec import ALSRecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> rec = ALSRecommender(factors=8, iterations=5, random_state=0).fit(data.X)
    >>> ids, scores = rec.recommend(data.X["user"].unique()[:2], n=3)
    >>> ids.shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "factors": [Interval(Integral, 1, None, closed="left")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "use_cg": ["boolean"],
        "calculate_training_loss": ["boolean"],
        "use_gpu": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        factors: int = 100,
        *,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        use_cg: bool = True,
        calculate_training_loss: bool = False,
        n_jobs: int | None = None,
        use_gpu: str | bool = "auto",
        random_state=None,
        warm_start: bool = False,
        verbose: bool = False,
        augmenter=None,
        handle_unknown: str = "popular",
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use_cg = use_cg
        self.calculate_training_loss = calculate_training_loss
        self.n_jobs = n_jobs
        self.use_gpu = use_gpu
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    def _fit_model(self, R, data, previous) -> None:
        cpu_als = import_optional("implicit.cpu.als", "ALSRecommender")
        seed = implicit_seed(self.random_state)
        # implicit's own advice: BLAS threads fight with its thread pool.
        with blas_limit(1):
            self._fit_implicit(cpu_als, R, seed, previous)

    def _fit_implicit(self, cpu_als, R, seed, previous) -> None:
        model = cpu_als.AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            dtype=np.float32,
            use_cg=self.use_cg,
            iterations=self.iterations,
            calculate_training_loss=self.calculate_training_loss,
            num_threads=effective_n_jobs(self.n_jobs),
            random_state=seed,
        )
        if self.warm_start and previous is not None and hasattr(self, "user_factors_"):
            rng = np.random.default_rng(seed)
            model.user_factors = _carry_over(
                self.user_factors_, previous.users_, self._user_index, rng
            )
            model.item_factors = _carry_over(
                self.item_factors_, previous.items_, self._item_index, rng
            )
        if use_gpu(self.use_gpu, "ALSRecommender"):
            model = model.to_gpu()
        model.fit(R, show_progress=bool(self.verbose))
        if not isinstance(model, cpu_als.AlternatingLeastSquares):
            model = model.to_cpu()
        self.model_ = model
        self.user_factors_ = model.user_factors
        self.item_factors_ = model.item_factors

    def _score_users(self, user_idx, item_idx=None):
        items = self.item_factors_ if item_idx is None else self.item_factors_[item_idx]
        return self.user_factors_[user_idx] @ items.T

    def _score_pairs(self, user_idx, item_idx):
        return np.einsum(
            "ij,ij->i", self.user_factors_[user_idx], self.item_factors_[item_idx]
        ).astype(np.float64)

    def _embed_items(self, item_idx):
        return self.item_factors_[item_idx]


def _carry_over(old: np.ndarray, old_ids, new_index, rng) -> np.ndarray:
    """Factors for ``new_index``: rows of ``old`` for ids seen before, random otherwise."""
    out = rng.random((len(new_index), old.shape[1]), dtype=np.float32) * 0.01
    pos = new_index.get_indexer(old_ids)
    keep = pos >= 0
    out[pos[keep]] = old[keep]
    return out
