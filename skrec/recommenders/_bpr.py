"""Bayesian personalised ranking: uniform negatives (skrec's trainer) or ``implicit.bpr``."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from skrec.recommenders._implicit_mf import (
    ImplicitFactorModel,
    implicit_seed,
    positive_part,
    use_gpu,
)
from skrec.utils._optional import import_optional
from skrec.utils._random import draw_seed
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils._threads import blas_limit, effective_n_jobs

__all__ = ["BPRRecommender"]


class BPRRecommender(ImplicitFactorModel):
    """Matrix factorisation trained on pairwise rankings (Rendle et al., 2009).

    Each step takes a (user, liked item, other item) triple and moves the
    factors so that the user scores the liked item above the other one. Two
    trainers, chosen by ``sampling``:

    * ``"uniform"`` (default): skrec's own NumPy trainer. Every epoch visits
      each liked pair once in a random order and draws its "other" item
      uniformly from the catalogue, as the BPR paper, Cornac and RecBole do,
      and steps on mini-batches with Adam (as RecBole) or with SGD and
      implicit's update rule (``optimizer``); one thread, and for a given
      ``random_state`` the same factors on every run.
    * ``"implicit"``: a scikit-learn estimator around
      :class:`implicit.cpu.bpr.BayesianPersonalizedRanking` (or implicit's GPU
      model), built in ``fit`` (``model_``) with exactly the parameters given
      here, so that factors and recommendations equal those of a raw implicit
      model fitted on the same matrix with the same seed and thread count.
      implicit draws the "other" item among the stored interactions, i.e. in
      proportion to popularity.

    Parameters
    ----------
    factors : int, default=100
        Number of latent factors (one more column holds the item bias).
    learning_rate : float or "auto", default="auto"
        Step size: 0.01 for SGD (implicit's, or ``optimizer="sgd"``) and 0.001
        for Adam with ``"auto"``.
    regularization : float, default=0.01
        L2 regularisation of the factors and biases.
    iterations : int, default=100
        Epochs; one epoch draws as many (user, liked, other) triples as there
        are positive interactions.
    verify_negative_samples : bool, default=True
        Skip a sampled "other" item that the user also liked (slower, usually
        better); the uniform trainer draws it again.
    sampling : {"uniform", "implicit"}, default="uniform"
        The trainer: uniform negatives (skrec's) or implicit's popularity-sampled
        ones (see above). ``docs/decisions.md`` records the validation behind the default.
    optimizer : {"adam", "sgd"}, default="adam"
        The uniform trainer's step (unused by implicit): Adam on the mean loss
        of a mini-batch, as RecBole trains BPR, or SGD with the updates of a
        mini-batch's triples summed (implicit's and Cornac's rule, batched).
    batch_size : int, default=1024
        Triples per step of the uniform trainer; unused by implicit.
    n_jobs : int or None, default=None
        Threads of ``recommend`` and, with ``sampling="implicit"``, of implicit's SGD (see
        :func:`skrec.utils.effective_n_jobs`). implicit draws one random stream
        per thread and updates the factors from all threads at once (Hogwild),
        so a fit is reproducible for a given ``random_state`` only with
        ``n_jobs=1``, and different thread counts give different factors.
    use_gpu : {"auto"} or bool, default="auto"
        Fit on the GPU (``sampling="implicit"`` only). ``"auto"`` picks it only
        when implicit was built with CUDA; ``True`` without CUDA, or with the
        uniform trainer, raises a ValueError.
    random_state : int, RandomState instance or None, default=None
        Seed of the factor initialisation and of the sampling.
    verbose : bool, default=False
        Show the progress of the epochs (with the training AUC).
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    model_ : implicit.cpu.bpr.BayesianPersonalizedRanking or None
        With ``sampling="implicit"``, the fitted implicit model (always on the
        CPU, so it pickles anywhere); None with the uniform trainer.
    user_factors_ : ndarray of shape (n_users, factors + 1)
        User factors; the last column is 1 (it multiplies the item bias).
    item_factors_ : ndarray of shape (n_items, factors + 1)
        Item factors; the last column is the item bias.
    users_, items_ : ndarray
        Ids known from ``fit``, in index order.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training matrix (summed weights; explicit negatives are negative).
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    ALSRecommender : Least-squares factorisation of confidence-weighted feedback.
    LMFRecommender : Logistic matrix factorisation.

    Notes
    -----
    BPR reads an interaction as "liked", whatever its strength: only the rows
    with ``y > 0`` (and a weight > 0) reach either trainer. Explicit negatives are
    excluded from their user's rankings (``exclude_seen``) but not learnt from.
    implicit's threads draw one random stream each and update the factors at
    once, so its fits are reproducible only with ``n_jobs=1``; the uniform
    trainer runs on one thread whatever ``n_jobs``.

    Examples
    --------
    >>> from skrec import BPRRecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> rec = BPRRecommender(factors=8, iterations=20, random_state=0).fit(data.X)
    >>> ids, scores = rec.recommend(data.X["user"].unique()[:2], n=3)
    >>> ids.shape
    (2, 3)
    >>> rec.item_factors_.shape  # 8 factors and the item bias
    (50, 9)
    >>> raw = BPRRecommender(factors=8, iterations=20, sampling="implicit", n_jobs=1,
    ...                      random_state=0).fit(data.X)
    >>> type(raw.model_).__name__
    'BayesianPersonalizedRanking'
    """

    _parameter_constraints: dict = {
        **ImplicitFactorModel._parameter_constraints,
        "factors": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "verify_negative_samples": ["boolean"],
        "sampling": [StrOptions({"uniform", "implicit"})],
        "optimizer": [StrOptions({"adam", "sgd"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "use_gpu": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        factors: int = 100,
        *,
        learning_rate: float | str = "auto",
        regularization: float = 0.01,
        iterations: int = 100,
        verify_negative_samples: bool = True,
        sampling: str = "uniform",
        optimizer: str = "adam",
        batch_size: int = 1024,
        n_jobs: int | None = None,
        use_gpu: str | bool = "auto",
        random_state=None,
        verbose: bool = False,
        augmenter=None,
        handle_unknown: str = "popular",
    ):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.verify_negative_samples = verify_negative_samples
        self.sampling = sampling
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.use_gpu = use_gpu
        self.random_state = random_state
        self.verbose = verbose
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    def _fit_model(self, R, data, previous) -> None:
        if self.sampling == "uniform":
            self._fit_uniform(positive_part(R))
        else:
            self._fit_implicit(positive_part(R))

    def _learning_rate(self) -> float:
        if self.learning_rate != "auto":
            return self.learning_rate
        return 0.001 if self.sampling == "uniform" and self.optimizer == "adam" else 0.01

    def _fit_uniform(self, P) -> None:
        if self.use_gpu is True:
            raise ValueError(
                'use_gpu=True needs sampling="implicit": the uniform trainer runs on the CPU'
            )
        from skrec.recommenders._bpr_training import train_bpr

        seed = draw_seed(self.random_state)
        self.model_ = None
        self.user_factors_, self.item_factors_ = train_bpr(
            P,
            factors=self.factors,
            learning_rate=self._learning_rate(),
            regularization=self.regularization,
            iterations=self.iterations,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            verify_negative_samples=self.verify_negative_samples,
            seed=seed,
            verbose=bool(self.verbose),
        )

    def _fit_implicit(self, P) -> None:
        cpu_bpr = import_optional("implicit.cpu.bpr", "BPRRecommender")
        seed = implicit_seed(self.random_state)
        if use_gpu(self.use_gpu, "BPRRecommender"):
            gpu_bpr = import_optional("implicit.gpu.bpr", "BPRRecommender")
            model = gpu_bpr.BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self._learning_rate(),
                regularization=self.regularization,
                iterations=self.iterations,
                verify_negative_samples=self.verify_negative_samples,
                random_state=seed,
            )
        else:
            model = cpu_bpr.BayesianPersonalizedRanking(
                factors=self.factors,
                learning_rate=self._learning_rate(),
                regularization=self.regularization,
                dtype=np.float32,
                iterations=self.iterations,
                num_threads=effective_n_jobs(self.n_jobs),
                verify_negative_samples=self.verify_negative_samples,
                random_state=seed,
            )
        # implicit's own advice: BLAS threads fight with its thread pool.
        with blas_limit(1):
            model.fit(P, show_progress=bool(self.verbose))
        if not isinstance(model, cpu_bpr.BayesianPersonalizedRanking):
            model = model.to_cpu()
        self.model_ = model
        self.user_factors_ = model.user_factors
        self.item_factors_ = model.item_factors
