"""Implicit-feedback ALS trained by Spark MLlib, behind skrec's recommender contract."""

from __future__ import annotations

import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._ids import check_unknown
from skrec.recommenders._spark_data import (
    as_matrix,
    as_numpy,
    check_classic,
    from_spark,
    import_spark,
    is_session,
    is_spark_frame,
    resolve_session,
    to_spark,
)
from skrec.recommenders._spark_fit import (
    SPARK_SIDE,
    driver_state,
    fit_frame,
    pull_factors,
    train_als,
)
from skrec.recommenders._spark_serving import (
    item_side,
    recommend_frame,
    spark_type,
    user_rows,
)
from skrec.utils._random import draw_seed
from skrec.utils._sklearn_compat import HasMethods, Interval, Options, StrOptions, fit_context
from skrec.utils._threads import blas_limit
from skrec.utils.validation import check_ids

__all__ = ["SparkALSRecommender"]

_LEVELS = {
    "MEMORY_ONLY",
    "MEMORY_ONLY_2",
    "MEMORY_AND_DISK",
    "MEMORY_AND_DISK_2",
    "DISK_ONLY",
    "DISK_ONLY_2",
    "DISK_ONLY_3",
    "OFF_HEAP",
}


class SparkALSRecommender(BaseRecommender):
    """Alternating least squares for implicit feedback, trained by Spark MLlib.

    The same model as :class:`ALSRecommender` (Hu, Koren & Volinsky, 2008),
    fitted by :class:`pyspark.ml.recommendation.ALS` with ``implicitPrefs=True``
    so that the data never has to fit on one machine. ``X`` is what every skrec
    estimator takes (pandas, numpy) **or a Spark DataFrame** with columns
    ``user``, ``item`` and optionally ``rating`` (the feedback ``y``) and
    ``timestamp``. A Spark DataFrame is checked, id-mapped and aggregated by
    Spark jobs, following the data contract (``y <= 0`` is an explicit
    negative, duplicate pairs are summed); its rows are never collected.

    Parameters
    ----------
    factors : int, default=100
        Number of latent factors (Spark's ``rank``).
    regularization : float, default=0.01
        L2 regularisation. With ``parametrization="implicit"`` it has
        implicit's meaning and is converted to Spark's ``regParam`` (see
        Notes); with ``"spark"`` it is ``regParam``.
    alpha : float, default=1.0
        Confidence scaling, in the meaning ``parametrization`` names.
    iterations : int, default=15
        ALS sweeps (Spark's ``maxIter``).
    parametrization : {"implicit", "spark"}, default="implicit"
        ``"implicit"``: ``factors``, ``regularization`` and ``alpha`` mean what
        they mean for :class:`ALSRecommender` (and implicit), so one grid
        serves both estimators. ``"spark"``: they go to Spark's ALS unchanged
        and ``y`` is Spark's ``rating``, as in an existing MLlib pipeline.
    nonnegative : bool, default=False
        Non-negative factors (Spark's NNLS solver).
    num_user_blocks, num_item_blocks : int, default=10
        Spark's ``numUserBlocks`` / ``numItemBlocks``: how many partitions the
        users and items are split into. Part of the model: the initial
        factors are drawn per block.
    num_partitions : int or None, default=None
        Partitions of the tables skrec sends to Spark from the driver (the
        training table of a local ``X``, the user rows of
        :meth:`recommend_all` after a local fit); None leaves Spark's default.
    checkpoint_interval : int, default=10
        Spark's ``checkpointInterval`` (-1 never; effective only when the
        SparkContext has a checkpoint directory).
    intermediate_storage_level, final_storage_level : str, default="MEMORY_AND_DISK"
        Spark storage levels of ALS's intermediate and final data; the first
        is also used for the aggregated training table kept for ``recommend``.
    spark : SparkSession, dict or None, default=None
        The session for local ``X`` (a Spark DataFrame always uses its own):
        a session; a dict of Spark settings, passed to
        ``SparkSession.builder.config(...).getOrCreate()``; or None, the
        active session, else a new local one (``local[*]``, ``driver_memory``,
        reported when ``verbose``). ``clone`` shares a session instead of
        copying it, and pickling stores None in its place.
    driver_memory : str, default="2g"
        ``spark.driver.memory`` of the local session started when there is none.
    n_jobs : int or None, default=None
        Threads of ``recommend`` when it runs on the driver (after a local fit
        or unpickling), as for :class:`ALSRecommender`. Spark's own
        parallelism is its session's (cores, executors).
    random_state : int, RandomState instance or None, default=None
        Seed of Spark's factor initialisation (an int is passed as ``seed``)
        and of the calibration sample.
    verbose : bool, default=False
        Report the session, each Spark phase and its duration.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation (local ``X`` only), as for every skrec recommender.
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    spark_model_ : pyspark.ml.recommendation.ALSModel
        The fitted Spark model (not pickled).
    spark_params_ : dict
        The parameters given to Spark's ``ALS`` after the mapping of ``parametrization``.
    user_factors_ : ndarray of shape (n_users, factors)
        Present when the user factors are on the driver: after a fit on local
        ``X`` and in an unpickled model. After a fit on a Spark DataFrame they
        stay in Spark (``spark_model_.userFactors``) until :meth:`to_als` or
        pickling brings them.
    item_factors_ : ndarray of shape (n_items, factors)
        Always on the driver (broadcast to the executors by ``recommend``).
    users_, items_ : ndarray
        Ids known from ``fit``, in index order.
    interactions_ : scipy.sparse.csr_matrix or None
        The training matrix; None after a fit on a Spark DataFrame, whose
        interactions stay in Spark.
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    ALSRecommender : The single-machine model (implicit); :meth:`to_als` converts to it.

    Notes
    -----
    **What lives on the driver.** Always: the user and item ids, the item
    factors, per-item popularity and the calibration (O(users + items x
    factors)). After a fit on local ``X`` also the data and the user factors.
    After a fit on a Spark DataFrame the interactions and the user factors stay
    in Spark: ``recommend`` fetches the requested users' rows on the executors
    and collects only their top-n; :meth:`recommend_all` returns a lazy Spark
    DataFrame; ``decision_function`` fetches the factors of the users it
    scores. :meth:`to_als` and pickling bring the user factors and the
    training matrix to the driver (8 bytes per training pair, plus
    ``factors`` floats per user).

    **implicit and Spark solve the same model, parametrised differently.**
    For an interaction of weight ``w`` implicit uses confidence ``c = alpha *
    |w|`` and adds ``(c - 1) y y^T`` to a user's normal equations (and ``c y``
    to the right-hand side when ``w > 0``), with a constant ``regularization``.
    Spark uses confidence ``1 + alpha_s * |r|`` for a rating ``r`` (preference
    1 only when ``r > 0``) and multiplies ``regParam`` by each user's (item's)
    number of positive ratings (ALS-WR). With ``parametrization="implicit"``
    skrec hands Spark ``alpha_s = 1`` and ratings ``r = c - 1`` (at least
    1e-6 for a positive, so that it stays a positive: an exact match of
    implicit's equations up to 1e-6 relative), and ``regParam =
    regularization / m`` where ``m = 2 * positives / (n_users + n_items)`` is
    the mean number of positives per factor row, so that the mean penalty per
    row equals implicit's. Not reproducible in Spark: positives with ``c < 1``
    (implicit then weighs them below an unobserved cell; Spark cannot, they
    get confidence 1) and implicit's equal penalty on rows of unequal
    activity. The solvers differ too (Spark: Cholesky, items first, Gaussian
    initialisation; implicit: 3 conjugate-gradient steps, users first,
    uniform), so factors differ. On MovieLens-100K NDCG@10 agrees within
    implicit's seed spread at small ``regularization`` (0.05); at 1.0 the
    ALS-WR penalty gives a different (there better) model
    (``docs/scaling.md``).

    Examples
    --------
    Local data (the active Spark session is used, or a local one is started):

    >>> from skrec import SparkALSRecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=60, n_items=30, n_interactions=600, random_state=0)
    >>> rec = SparkALSRecommender(factors=4, iterations=3, num_user_blocks=2,
    ...                           num_item_blocks=2, random_state=0).fit(data.X)
    >>> ids, scores = rec.recommend([0, 1], n=3)
    >>> ids.shape
    (2, 3)

    A Spark DataFrame (its rows stay in Spark), and every user's top-3 as one:

    >>> from pyspark.sql import SparkSession
    >>> spark = SparkSession.active()
    >>> frame = spark.createDataFrame([(0, 1, 2.0), (0, 2, 1.0), (1, 1, 1.0), (1, 3, 0.0)],
    ...                               "user int, item int, rating double")
    >>> rec = SparkALSRecommender(factors=2, iterations=2, num_user_blocks=2,
    ...                           num_item_blocks=2, random_state=0).fit(frame)
    >>> rec.items_.tolist(), rec.interactions_ is None
    ([1, 2, 3], True)
    >>> rec.recommend_all(n=2).columns
    ['user', 'recommendations']
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "factors": [Interval(Integral, 1, None, closed="left")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "iterations": [Interval(Integral, 1, None, closed="left")],
        "parametrization": [StrOptions({"implicit", "spark"})],
        "nonnegative": ["boolean"],
        "num_user_blocks": [Interval(Integral, 1, None, closed="left")],
        "num_item_blocks": [Interval(Integral, 1, None, closed="left")],
        "num_partitions": [None, Interval(Integral, 1, None, closed="left")],
        "checkpoint_interval": [
            Interval(Integral, 1, None, closed="left"),
            Options(Integral, {-1}),
        ],
        "intermediate_storage_level": [StrOptions(_LEVELS)],
        "final_storage_level": [StrOptions(_LEVELS)],
        "spark": [None, dict, HasMethods(["createDataFrame"])],
        "driver_memory": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        factors: int = 100,
        *,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        parametrization: str = "implicit",
        nonnegative: bool = False,
        num_user_blocks: int = 10,
        num_item_blocks: int = 10,
        num_partitions: int | None = None,
        checkpoint_interval: int = 10,
        intermediate_storage_level: str = "MEMORY_AND_DISK",
        final_storage_level: str = "MEMORY_AND_DISK",
        spark=None,
        driver_memory: str = "2g",
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        augmenter=None,
        handle_unknown: str = "popular",
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.parametrization = parametrization
        self.nonnegative = nonnegative
        self.num_user_blocks = num_user_blocks
        self.num_item_blocks = num_item_blocks
        self.num_partitions = num_partitions
        self.checkpoint_interval = checkpoint_interval
        self.intermediate_storage_level = intermediate_storage_level
        self.final_storage_level = final_storage_level
        self.spark = spark
        self.driver_memory = driver_memory
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    # ----------------------------------------------------------- plumbing
    def _log(self, message: str, start: float | None = None) -> None:
        if self.verbose:
            took = "" if start is None else f" ({time.perf_counter() - start:.1f} s)"
            print(f"SparkALSRecommender: {message}{took}")

    def _session(self):
        spark = resolve_session(self.spark, self.driver_memory, bool(self.verbose))
        check_classic(spark)
        return spark

    def _local(self) -> bool:
        """Whether the user factors are on the driver (else they are in Spark)."""
        return hasattr(self, "user_factors_")

    def _seed(self) -> int:
        if isinstance(self.random_state, Integral) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        return draw_seed(self.random_state)

    def _release_spark(self) -> None:
        release = self.__dict__.pop("_release", None)
        if release is not None:
            release()
        for name in SPARK_SIDE:
            self.__dict__.pop(name, None)

    # ---------------------------------------------------------------- fit
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Train Spark's ALS on interactions.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3), DataFrame or Spark DataFrame
            Interaction rows ``(user, item[, timestamp])``. A Spark DataFrame
            names its columns ``user``, ``item`` and optionally ``rating``
            (the feedback) and ``timestamp``, or has 2-3 columns read by position.
        y : array-like of shape (n_rows,), default=None
            Feedback for local ``X``: None (all positive), strengths > 0, or
            <= 0 for explicit negatives. Duplicate (user, item) rows are
            summed. Must be None for a Spark DataFrame (use its ``rating``).
        sample_weight : array-like of shape (n_rows,), default=None
            Non-negative weight of each row of local ``X``, multiplying its
            strength. Must be None for a Spark DataFrame.

        Returns
        -------
        self : object
            The fitted recommender.
        """
        self._release_spark()
        for name in ("user_factors_", "item_factors_", "_user_type", "_item_type"):
            self.__dict__.pop(name, None)
        if is_spark_frame(X):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    "X is a Spark DataFrame: its feedback (weights included) goes in its "
                    "'rating' column; y and sample_weight must be None"
                )
            return fit_frame(self, X)
        return super().fit(X, y, sample_weight=sample_weight)

    def _fit_model(self, R, data, previous) -> None:
        """Local X: send the matrix to Spark, train, pull both factor tables."""
        start = time.perf_counter()
        spark = self._session()
        coo = R.tocoo()
        frame = to_spark(
            spark,
            {
                "u": coo.row.astype(np.int32),
                "i": coo.col.astype(np.int32),
                "w": coo.data.astype(np.float32),
            },
            self.num_partitions,
        )
        self._log(f"sent {R.nnz:,} training pairs to Spark", start)
        model = train_als(self, frame, R.shape, int(np.count_nonzero(R.data > 0)))
        self.user_factors_ = pull_factors(self, model.userFactors, R.shape[0])
        self.item_factors_ = pull_factors(self, model.itemFactors, R.shape[1])

    # ------------------------------------------------------------- scores
    def _user_factors(self, user_idx: np.ndarray) -> np.ndarray:
        """Factors of ``user_idx``: from the driver, or fetched from Spark for just these users."""
        if self._local():
            return self.user_factors_[user_idx]
        uniq, where = np.unique(user_idx, return_inverse=True)
        keep = to_spark(self._spark_session, {"id": uniq.astype(np.int32)})
        sql, _ = import_spark()
        rows = self.spark_model_.userFactors.join(sql.functions.broadcast(keep), "id")
        cols = from_spark(rows)
        block = np.zeros((len(uniq), self.factors), dtype=np.float32)
        block[np.searchsorted(uniq, as_numpy(cols["id"]))] = as_matrix(
            cols["features"], self.factors
        )
        return block[where]

    def _encode_rows(self, X):
        if is_spark_frame(X):
            raise TypeError(
                "scoring (user, item) rows takes a local interaction table, not a Spark "
                "DataFrame: the rows scored come back to the driver. recommend_all ranks "
                "every user in Spark"
            )
        return super()._encode_rows(X)

    def _score_users(self, user_idx, item_idx=None):
        items = self.item_factors_ if item_idx is None else self.item_factors_[item_idx]
        return self._user_factors(user_idx) @ items.T

    def _score_pairs(self, user_idx, item_idx):
        return np.einsum(
            "ij,ij->i", self._user_factors(user_idx), self.item_factors_[item_idx]
        ).astype(np.float64)

    def _embed_items(self, item_idx):
        return self.item_factors_[item_idx]

    # ---------------------------------------------------------- recommend
    def _types(self) -> tuple[str, str]:
        if hasattr(self, "_user_type"):
            return self._user_type, self._item_type
        return spark_type(self.users_, "user"), spark_type(self.items_, "item")

    def recommend(self, users, n: int = 10, exclude_seen: bool = True, items=None):
        """Top-``n`` items for each user.

        After a fit on local ``X`` (or in an unpickled model) this is
        :meth:`BaseRecommender.recommend` on the driver. After a fit on a Spark
        DataFrame the requested users are ranked on the executors (item
        factors broadcast, each user's factors and seen items joined in Spark)
        and only their top-``n`` is collected; the semantics are the same.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            User ids. Users not seen in ``fit`` get the most popular items
            (or an error with ``handle_unknown="error"``).
        n : int, default=10
            Number of items per user; at most the number of candidate items.
        exclude_seen : bool, default=True
            Leave out items the user interacted with in ``fit``.
        items : array-like, default=None
            Candidate item ids to rank; None ranks every known item.

        Returns
        -------
        ids : ndarray of shape (n_users, n)
            Recommended item ids, best first.
        scores : ndarray of shape (n_users, n)
            Their scores.
        """
        check_is_fitted(self, "calibration_")
        if self._local():
            return super().recommend(users, n=n, exclude_seen=exclude_seen, items=items)
        users = check_ids(users, "users")
        u = self._user_index.get_indexer(users)
        check_unknown(self.handle_unknown, u < 0, users, "users")
        cand_ids = self.items_
        if items is not None:
            cand_ids = check_ids(items, "items")
            check_unknown(
                self.handle_unknown, self._item_index.get_indexer(cand_ids) < 0, cand_ids, "items"
            )
        side = item_side(self)
        # Users unknown to the model (and the argument checks) need no Spark job.
        empty = side.model_for(
            np.zeros((0, self.factors), np.float32),
            sp.csr_matrix((0, len(self.items_)), dtype=np.float32),
            np.zeros(0, dtype=bool),
        )
        fallback_ids, fallback_scores = empty.recommend(
            users[u < 0], n=n, exclude_seen=exclude_seen, items=items
        )
        width = fallback_ids.shape[1]
        ids = np.empty((len(users), width), dtype=cand_ids.dtype)
        scores = np.empty((len(users), width), dtype=np.float64)
        ids[u < 0], scores[u < 0] = fallback_ids, fallback_scores
        known = np.unique(u[u >= 0])
        if len(known):
            frame, broadcast = recommend_frame(
                user_rows(self, known),
                side,
                n=n,
                exclude_seen=exclude_seen,
                items=None if items is None else cand_ids,
                k=int(self.factors),
                n_items=len(self.items_),
                user_type="int",
                item_type="int",
                positions=True,
            )
            cols = from_spark(frame)
            broadcast.destroy()
            got = as_numpy(cols["u"]).astype(np.int64)
            pos = as_numpy(cols["pos"].flatten()).reshape(len(got), width)
            sc = as_numpy(cols["score"].flatten()).reshape(len(got), width)
            order = np.argsort(got)
            rows = order[np.searchsorted(got[order], u[u >= 0])]
            ids[u >= 0], scores[u >= 0] = cand_ids[pos[rows]], sc[rows]
        return ids, scores

    def recommend_all(self, n: int = 10, *, exclude_seen: bool = True, items=None):
        """Top-``n`` items for every known user, as a lazy Spark DataFrame.

        Nothing is collected: the item side is broadcast, the users stay
        partitioned, and the result is computed when the DataFrame is written
        or counted. Same semantics as :meth:`recommend`.

        Parameters
        ----------
        n : int, default=10
            Number of items per user.
        exclude_seen : bool, default=True
            Leave out items the user interacted with in ``fit``.
        items : array-like, default=None
            Candidate item ids to rank; None ranks every known item.

        Returns
        -------
        pyspark.sql.DataFrame
            Columns ``user`` and ``recommendations``, an array of ``(item,
            score)`` structs, best first (the layout of Spark's
            ``ALSModel.recommendForAllUsers``).
        """
        check_is_fitted(self, "calibration_")
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        cand_ids = None
        if items is not None:
            cand_ids = check_ids(items, "items")
            check_unknown(
                self.handle_unknown, self._item_index.get_indexer(cand_ids) < 0, cand_ids, "items"
            )
        user_type, item_type = self._types()
        frame, _ = recommend_frame(
            user_rows(self),
            item_side(self),
            n=int(n),
            exclude_seen=exclude_seen,
            items=cand_ids,
            k=int(self.factors),
            n_items=len(self.items_),
            user_type=user_type,
            item_type=item_type,
            positions=False,
        )
        return frame

    # -------------------------------------------------------- to the driver
    def to_als(self):
        """This model as a fitted :class:`ALSRecommender`, for serving on one machine.

        The factors, ids, training matrix and calibration are copied (pulled
        from Spark when they are there), so the two give identical
        ``recommend``, ``decision_function`` and ``predict_proba``; no Spark
        session is needed afterwards.

        Returns
        -------
        ALSRecommender
            Fitted, with ``model_`` an implicit model holding the same factors.

        Examples
        --------
        >>> from skrec import SparkALSRecommender
        >>> X = [["ann", "a"], ["ann", "b"], ["bob", "b"], ["bob", "c"], ["cy", "a"]]
        >>> rec = SparkALSRecommender(factors=2, iterations=2, num_user_blocks=2,
        ...                           num_item_blocks=2, random_state=0).fit(X)
        >>> als = rec.to_als()
        >>> type(als).__name__
        'ALSRecommender'
        >>> als.recommend(["cy"], n=2)[0].tolist() == rec.recommend(["cy"], n=2)[0].tolist()
        True
        """
        from skrec.recommenders._als import ALSRecommender  # noqa: PLC0415
        from skrec.utils._optional import import_optional  # noqa: PLC0415

        check_is_fitted(self, "calibration_")
        state = driver_state(self)
        for name in self.get_params(deep=False):
            state.pop(name, None)
        for name in ("spark_params_", "_user_type", "_item_type"):
            state.pop(name, None)
        als = ALSRecommender(
            int(self.factors),
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            verbose=self.verbose,
            augmenter=self.augmenter,
            handle_unknown=self.handle_unknown,
        )
        als.__dict__.update(state)
        cpu_als = import_optional("implicit.cpu.als", "ALSRecommender")
        with blas_limit(1):  # implicit warns when built under threaded BLAS
            model = cpu_als.AlternatingLeastSquares(
                factors=int(self.factors),
                regularization=float(self.regularization),
                alpha=float(self.alpha),
                iterations=int(self.iterations),
                dtype=np.float32,
            )
        model.user_factors, model.item_factors = als.user_factors_, als.item_factors_
        als.model_ = model
        return als

    # ------------------------------------------------------ clone and pickle
    def __sklearn_clone__(self):
        session = self.spark if is_session(self.spark) else None
        if session is None:
            return super().__sklearn_clone__()
        self.spark = None
        try:
            twin = super().__sklearn_clone__()
        finally:
            self.spark = session
        twin.spark = session  # a session is a handle to one JVM: shared, not copied
        return twin

    def __getstate__(self):
        state = driver_state(self) if hasattr(self, "calibration_") else dict(vars(self))
        for name in SPARK_SIDE:
            state.pop(name, None)
        if is_session(state.get("spark")):
            state["spark"] = None
        return state
