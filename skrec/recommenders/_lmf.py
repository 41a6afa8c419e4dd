"""Logistic matrix factorisation, on top of ``implicit.lmf``."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from skrec.recommenders._implicit_mf import ImplicitFactorModel, implicit_seed, positive_part
from skrec.utils._optional import import_optional
from skrec.utils._sklearn_compat import Interval
from skrec.utils._threads import blas_limit, effective_n_jobs

__all__ = ["LMFRecommender"]


class LMFRecommender(ImplicitFactorModel):
    """Logistic matrix factorisation for implicit feedback (Johnson, 2014).

    A scikit-learn estimator around :class:`implicit.cpu.lmf.LogisticMatrixFactorization`:
    the implicit model is built in ``fit`` (``model_``) with exactly the
    parameters given here, from the positive part of the user x item matrix of
    the training interactions, so that factors and recommendations equal those
    of a raw implicit model fitted on the same matrix with the same seed and
    thread count. implicit has no GPU implementation of LMF; it runs on the CPU.

    Parameters
    ----------
    factors : int, default=30
        Number of latent factors (implicit adds two columns for the biases).
    learning_rate : float, default=1.0
        Adagrad step size.
    regularization : float, default=0.6
        L2 regularisation of the factors.
    iterations : int, default=30
        Epochs (each updates every user, then every item).
    neg_prop : int, default=30
        Negative samples per positive interaction of a user or item.
    n_jobs : int or None, default=None
        Threads of implicit's solver and of ``recommend`` (see
        :func:`skrec.utils.effective_n_jobs`). implicit draws one random stream
        per thread, so different thread counts give different (equally good)
        factors; a given ``random_state`` and ``n_jobs`` reproduce a fit.
    random_state : int, RandomState instance or None, default=None
        Seed of the factor initialisation and of the negative sampling.
    verbose : bool, default=False
        Show implicit's progress bar.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    model_ : implicit.cpu.lmf.LogisticMatrixFactorization
        The fitted implicit model.
    user_factors_ : ndarray of shape (n_users, factors + 2)
        User factors; the last two columns are the user bias and 1.
    item_factors_ : ndarray of shape (n_items, factors + 2)
        Item factors; the last two columns are 1 and the item bias.
    users_, items_ : ndarray
        Ids known from ``fit``, in index order.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training matrix (summed weights; explicit negatives are negative).
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    ALSRecommender : Least-squares factorisation of confidence-weighted feedback.
    BPRRecommender : Factorisation trained on pairwise rankings.

    Notes
    -----
    A positive interaction's strength is its confidence in implicit's
    likelihood. Only rows with ``y > 0`` (and a weight > 0) reach implicit;
    explicit negatives are excluded from their user's rankings
    (``exclude_seen``) but not learnt from. Negatives are sampled among the
    stored interactions, i.e. in proportion to popularity.

    Examples
    --------
    >>> from skrec import LMFRecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> rec = LMFRecommender(factors=8, iterations=10, random_state=0).fit(data.X)
    >>> ids, scores = rec.recommend(data.X["user"].unique()[:2], n=3)
    >>> ids.shape
    (2, 3)
    >>> rec.item_factors_.shape  # 8 factors and the two bias columns
    (50, 10)
    """

    _parameter_constraints: dict = {
        **ImplicitFactorModel._parameter_constraints,
        "factors": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "neg_prop": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        factors: int = 30,
        *,
        learning_rate: float = 1.0,
        regularization: float = 0.6,
        iterations: int = 30,
        neg_prop: int = 30,
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        augmenter=None,
        handle_unknown: str = "popular",
    ):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.neg_prop = neg_prop
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    def _fit_model(self, R, data, previous) -> None:
        cpu_lmf = import_optional("implicit.cpu.lmf", "LMFRecommender")
        model = cpu_lmf.LogisticMatrixFactorization(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            dtype=np.float32,
            iterations=self.iterations,
            neg_prop=self.neg_prop,
            num_threads=effective_n_jobs(self.n_jobs),
            random_state=implicit_seed(self.random_state),
        )
        # implicit's own advice: BLAS threads fight with its thread pool.
        with blas_limit(1):
            model.fit(positive_part(R), show_progress=bool(self.verbose))
        self.model_ = model
        self.user_factors_ = model.user_factors
        self.item_factors_ = model.item_factors
