"""The shared recommender base: everything but *how* a model scores.

A concrete recommender implements three abstract hooks:

``_fit_model(self, R, data, previous)``
    learn from the user x item CSR matrix ``R`` (float32, summed signed weights,
    explicit negatives stored as negative values) and the validated
    :class:`~skrec.utils.validation.Interactions`; ``previous`` is a
    :class:`~skrec.recommenders.PreviousFit` when the estimator was fitted
    before (for ``warm_start``), else None.
``_score_users(self, user_idx, item_idx=None)``
    dense *raw* scores of shape ``(len(user_idx), n_items or len(item_idx))``.
``_embed_items(self, item_idx)``
    the item representation, shape ``(len(item_idx), d)``.

and may override ``_score_pairs`` when row-wise scoring is cheaper than scoring
a whole user block, and ``_extra_items`` to know items without interactions.
Its ``__init__`` takes ``handle_unknown`` (checked when the class is defined).
Everything else lives here once: validation, id encoding (``_ids.py``), the
unknown-id fallback, calibration (``_calibration.py``), batched and threaded
top-n (``_topn.py``) and scoring.
"""

from __future__ import annotations

import inspect
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, check_random_state

from skrec.metrics import ranking_score
from skrec.recommenders._calibration import calibration_pairs, fit_platt, sigmoid
from skrec.recommenders._ids import PreviousFit, build_indexes, check_unknown
from skrec.recommenders._topn import block_rows, run_blocks, top_n, user_blocks
from skrec.utils._sklearn_compat import HasMethods, Interval, StrOptions, fit_context
from skrec.utils._warnings import user_stacklevel
from skrec.utils.validation import (
    Interactions,
    check_ids,
    check_interactions,
    interaction_matrix,
    signed_weights,
)

__all__ = ["BaseRecommender"]

#: Parameters every concrete recommender's ``__init__`` must take, and why.
REQUIRED_PARAMETERS = {
    "handle_unknown": (
        'handle_unknown: str = "popular"',
        "BaseRecommender reads it to score users and items not seen in fit",
    ),
}


class BaseRecommender(ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of every skrec recommender.

    Gives a model that only knows how to score (user, item) pairs the full
    recommender API of DESIGN §3: ``fit``, ``decision_function``,
    ``predict_proba``, ``predict``, ``score_samples``, ``classes_``,
    ``recommend``, ``score`` and ``embed_items``, with unknown-id handling and
    calibrated probabilities. Subclasses implement the abstract hooks
    ``_fit_model``, ``_score_users`` and ``_embed_items`` (see the module
    docstring and "Writing a recommender" in the documentation).

    Scores: ``score_samples`` is the model's raw score; ``decision_function``
    is its calibrated logit ``a * raw + b`` with ``a > 0``, so that
    ``predict_proba[:, 1] == sigmoid(decision_function)`` and
    ``predict == (decision_function > 0)`` hold exactly, as for every
    scikit-learn binary classifier, and rankings by either score are the same.
    ``recommend`` returns scores on the ``decision_function`` scale; equal
    scores rank in candidate order (``items_``, or the ``items`` given).

    Unknown ids (``handle_unknown="popular"``): a user not seen in ``fit`` is
    scored by item popularity; an item not seen in ``fit`` gets the score of an
    item nobody interacted with. ``handle_unknown="error"`` raises instead. A
    known user with no positive interaction (only explicit negatives, e.g. "no"
    answers in an active-learning loop) is scored by popularity too, and their
    negatives are still excluded by ``recommend``.

    Calibration: after fitting, ``(a, b)`` are fitted by logistic regression
    on the training positives and an equal number of sampled non-interactions
    (plus explicit negatives). Fallback rows (unknown users) use a second
    logistic map of the item's popularity, so their ``decision_function`` is
    the popularity logit.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> X = [["ann", "a"], ["ann", "b"], ["bob", "a"], ["bob", "b"], ["cy", "a"], ["cy", "c"]]
    >>> rec = PopularityRecommender().fit(X)
    >>> ids, scores = rec.recommend(["cy", "dee"], n=1)
    >>> ids.tolist()  # cy has seen a and c; dee is unknown and gets the most popular
    [['b'], ['a']]
    """

    _parameter_constraints: dict = {
        "handle_unknown": [StrOptions({"popular", "error"})],
        "augmenter": [None, str, HasMethods(["fit_resample"])],
        "n_jobs": [None, Interval(Integral, None, None, closed="neither")],
    }

    def __new__(cls, *args, **kwargs):
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        if missing:
            raise TypeError(
                f"{cls.__name__} cannot be instantiated: it does not implement "
                f"{', '.join(missing)}. A recommender implements _fit_model(self, R, data, "
                "previous), _score_users(self, user_idx, item_idx=None) and "
                "_embed_items(self, item_idx); see 'Writing a recommender' in the skrec docs"
            )
        return super().__new__(cls)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if _abstract_methods(cls):
            return  # an intermediate base: checked when a concrete subclass is defined
        params = inspect.signature(cls.__init__).parameters
        for name, (signature, why) in REQUIRED_PARAMETERS.items():
            if name not in params:
                raise TypeError(
                    f"{cls.__name__}.__init__ must take the parameter {name!r} ({why}): add "
                    f"`{signature}` to its signature and store it as self.{name}"
                )

    # ------------------------------------------------------------------ hooks
    @abstractmethod
    def _fit_model(
        self, R: sp.csr_matrix, data: Interactions, previous: PreviousFit | None
    ) -> None:
        """Learn from the training matrix ``R`` (and the validated rows ``data``)."""

    @abstractmethod
    def _score_users(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Raw scores of users ``user_idx`` x items ``item_idx`` (all items when None)."""

    @abstractmethod
    def _embed_items(self, item_idx: np.ndarray) -> np.ndarray:
        """The item representation of items ``item_idx``, shape ``(len(item_idx), d)``."""

    def _extra_items(self):
        """Ids of items the model knows without interactions (e.g. from ``item_text``)."""
        return None

    def _score_rows(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        """``_score_users``, with each user's row independent of the users scored with it.

        BLAS computes a product with one row (gemv) and with several (gemm)
        through kernels that differ in the last bit; a lone user is scored in a
        block of two, so a user's scores never depend on the block it falls in.
        """
        if len(user_idx) == 1:
            return np.asarray(self._score_users(np.repeat(user_idx, 2), item_idx))[:1]
        return np.asarray(self._score_users(user_idx, item_idx))

    def _score_pairs(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """Raw scores of known (user, item) index pairs, by blocks of distinct users."""
        out = np.empty(len(user_idx), dtype=np.float64)
        order = np.argsort(user_idx, kind="stable")
        users, starts = np.unique(user_idx[order], return_index=True)
        bounds = np.append(starts, len(order))
        block = block_rows(len(self.items_))
        for b in range(0, len(users), block):
            scores = self._score_rows(users[b : b + block])
            lo, hi = bounds[b], bounds[min(b + block, len(users))]
            rows = order[lo:hi]
            local = np.searchsorted(users[b : b + block], user_idx[rows])
            out[rows] = scores[local, item_idx[rows]]
        return out

    # -------------------------------------------------------------------- fit
    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Learn from interactions.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.
        y : array-like of shape (n_rows,), default=None
            Feedback: None (all positive), strengths > 0, or <= 0 for explicit
            negatives. Duplicate (user, item) rows are summed.
        sample_weight : array-like of shape (n_rows,), default=None
            Non-negative weight of each row, multiplying its strength (a row of
            weight 0 counts for nothing). Routable with scikit-learn's
            metadata routing (``set_fit_request(sample_weight=True)``).

        Returns
        -------
        self : object
            The fitted recommender.
        """
        original = check_interactions(X, y, sample_weight=sample_weight)
        if original.weight is not None and getattr(self, "augmenter", None) is not None:
            raise ValueError(
                "sample_weight cannot be combined with an augmenter: an augmenter returns new "
                "rows whose weights are unknown. Fold the weights into y instead"
            )
        data = self._augment(original)
        previous = None
        if hasattr(self, "users_"):
            previous = PreviousFit(users_=self.users_, items_=self.items_)
        self._user_index, self._item_index = build_indexes(original, data, self._extra_items())
        self.users_ = self._user_index.ids
        self.items_ = self._item_index.ids
        R = self._matrix(data)
        self.interactions_ = R
        # What `recommend` excludes: what the user did, not what an augmenter added.
        self._seen = R if data is original else self._matrix(original)
        self.n_features_in_ = 2 if data.timestamps is None else 3
        # Users with a positive interaction per item, counted on R's arrays (no copy of R).
        positive = R.data > 0
        all_positive = bool(positive.all())
        cols = R.indices if all_positive else R.indices[positive]
        self.item_popularity_ = np.bincount(cols, minlength=R.shape[1]).astype(np.float64)
        self._no_positive = _rows_without_positive(R.indptr, None if all_positive else positive)
        if not positive.any():
            warnings.warn(
                f"{type(self).__name__}.fit got no positive interaction (every y <= 0, or "
                "every weight 0): there is nothing to learn preferences from, and every "
                "user is ranked by the popularity fallback, which is uniform here",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        del positive, cols
        self._fit_model(R, data, previous)
        self._fit_calibration(R)
        return self

    def _matrix(self, data: Interactions) -> sp.csr_matrix:
        """The user x item matrix of ``data`` in this estimator's index space."""
        shape = (len(self.users_), len(self.items_))
        # Indices as int32 (scipy's own index type when they fit) halve fit's largest
        # temporaries, and are freed once the matrix is built.
        index = np.int32 if max(shape) < np.iinfo(np.int32).max else np.int64
        u = self._user_index.get_indexer(data.users).astype(index, copy=False)
        i = self._item_index.get_indexer(data.items).astype(index, copy=False)
        return interaction_matrix(u, i, signed_weights(data.y, len(u), data.weight), shape)

    def _augment(self, data: Interactions) -> Interactions:
        """Apply ``self.augmenter`` (fit time only; never at predict or score)."""
        spec = getattr(self, "augmenter", None)
        if spec is None:
            return data
        from skrec.augmenters import resolve  # noqa: PLC0415 (registry loads plugins lazily)

        X_new, y_new = resolve(spec).fit_resample(data.to_frame(), data.y_or_ones())
        return check_interactions(X_new, y_new, name="augmented X")

    def _popularity_score(self, item_idx: np.ndarray) -> np.ndarray:
        pop = np.zeros(len(item_idx), dtype=np.float64)
        known = item_idx >= 0
        pop[known] = self.item_popularity_[item_idx[known]]
        return np.log1p(pop)

    def _fit_calibration(self, R: sp.csr_matrix) -> None:
        # Estimators without a random_state parameter calibrate deterministically.
        rng = check_random_state(getattr(self, "random_state", 0))
        rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
        users, items, labels = calibration_pairs(R, rng)
        scores = self._no_nan(self._score_pairs(users, items), "sampled training pairs")
        finite = np.isfinite(scores)
        self.calibration_ = fit_platt(scores[finite], labels[finite])
        self._fallback_calibration = fit_platt(self._popularity_score(items), labels)
        self._score_floor = float(np.min(scores[finite])) if finite.any() else 0.0

    # ----------------------------------------------------------------- scores
    def _encode_rows(self, X):
        data = check_interactions(X)
        u = self._user_index.get_indexer(data.users)
        i = self._item_index.get_indexer(data.items)
        check_unknown(self.handle_unknown, u < 0, data.users, "users")
        check_unknown(self.handle_unknown, i < 0, data.items, "items")
        return u, i

    def _fallback_raw(self, item_idx: np.ndarray) -> np.ndarray:
        """Popularity-based scores of cold users, on the model's raw scale.

        Their calibrated logit (``a * raw + b``) is the popularity logit.
        """
        a2, b2 = self._fallback_calibration
        a, b = self.calibration_
        return (a2 * self._popularity_score(item_idx) + b2 - b) / a

    def score_samples(self, X) -> np.ndarray:
        """The model's raw (uncalibrated) score of each (user, item) row.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.

        Returns
        -------
        ndarray of shape (n_rows,)
            Raw scores (``decision_function == a * score_samples + b`` with
            ``(a, b) = calibration_``). Rows with an unknown user are scored by
            popularity, and rows with an unknown item as an item nobody
            interacted with (see ``handle_unknown``).
        """
        check_is_fitted(self, "calibration_")
        u, i = self._encode_rows(X)
        out = np.empty(len(u), dtype=np.float64)
        known = (u >= 0) & (i >= 0)
        if known.any():
            out[known] = self._score_pairs(u[known], i[known])
        cold_user = u < 0
        cold_user[~cold_user] = self._no_positive[u[~cold_user]]
        if cold_user.any():
            out[cold_user] = self._fallback_raw(i[cold_user])
        # A known user with an unknown item: the lowest score the model gave in training.
        out[(u >= 0) & (i < 0) & ~cold_user] = self._score_floor
        return self._no_nan(out, "rows")

    def _no_nan(self, scores: np.ndarray, what: str) -> np.ndarray:
        """``scores``, or a ValueError when the model produced NaN for some of them."""
        bad = np.isnan(scores)
        if bad.any():
            rows = int(bad.any(axis=1).sum()) if bad.ndim == 2 else int(bad.sum())
            raise ValueError(
                f"{type(self).__name__} produced NaN scores for {rows} of {len(scores)} "
                f"{what}; the model diverged or its data held values it cannot use"
            )
        return scores

    def decision_function(self, X) -> np.ndarray:
        """Calibrated logit of relevance of each (user, item) row; positive means relevant.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.

        Returns
        -------
        ndarray of shape (n_rows,)
            ``a * score_samples(X) + b``: ``predict`` is ``decision_function > 0``
            and ``predict_proba[:, 1]`` is its sigmoid. Rows with an unknown
            user get the popularity fallback (see ``handle_unknown``).
        """
        a, b = self._calibration()
        return a * self.score_samples(X) + b

    def _calibration(self) -> tuple[float, float]:
        check_is_fitted(self, "calibration_")
        return self.calibration_

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities ``[P(not relevant), P(relevant)]`` per row.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.

        Returns
        -------
        ndarray of shape (n_rows, 2)
            Rows sum to one; column 1 is ``sigmoid(decision_function(X))``.
        """
        p = sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """1 where ``decision_function(X) > 0`` (P(relevant) > 0.5), else 0.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.

        Returns
        -------
        ndarray of shape (n_rows,)
            Predicted labels in ``classes_``.
        """
        return (self.decision_function(X) > 0).astype(np.int64)

    @property
    def classes_(self) -> np.ndarray:
        """``array([0, 1])``: skrec recommenders act as binary classifiers of relevance."""
        return np.array([0, 1])

    # -------------------------------------------------------------- recommend
    def recommend(self, users, n: int = 10, exclude_seen: bool = True, items=None):
        """Top-``n`` items for each user, computed in blocks of users.

        Parameters
        ----------
        users : array-like of shape (n_users,)
            User ids. Users not seen in ``fit`` get the most popular items
            (or an error with ``handle_unknown="error"``).
        n : int, default=10
            Number of items per user; at most the number of candidate items.
        exclude_seen : bool, default=True
            Leave out items the user interacted with in ``fit`` (including
            explicit negatives). When fewer than ``n`` candidates remain, the
            trailing slots hold excluded items with score ``-inf``.
        items : array-like, default=None
            Candidate item ids to rank; None ranks every known item. Candidates
            the model does not know are ranked as items nobody interacted with.

        Returns
        -------
        ids : ndarray of shape (n_users, n)
            Recommended item ids, best first; equal scores in candidate order.
        scores : ndarray of shape (n_users, n)
            Their scores (``decision_function`` scale).
        """
        a, b = self._calibration()
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        users = check_ids(users, "users")
        u = self._user_index.get_indexer(users)
        check_unknown(self.handle_unknown, u < 0, users, "users")
        if items is None:
            cand_ids, cand = self.items_, None
        else:
            cand_ids = check_ids(items, "items")
            cand = self._item_index.get_indexer(cand_ids)
            check_unknown(self.handle_unknown, cand < 0, cand_ids, "items")
        n = min(int(n), len(cand_ids))
        top = np.empty((len(u), n), dtype=np.int64)
        top_scores = np.empty((len(u), n), dtype=np.float64)

        def one_block(rows):
            scores = self._no_nan(self._candidate_scores(u[rows], cand), "users")
            if exclude_seen:
                self._mask_seen(scores, u[rows], cand)
            top[rows], top_scores[rows] = top_n(scores, n)

        run_blocks(one_block, user_blocks(np.flatnonzero(u >= 0), len(cand_ids)), self._n_jobs())
        cold_rows = np.flatnonzero(u < 0)
        if len(cold_rows):
            fallback = self._fallback_raw(np.arange(len(self.items_)) if cand is None else cand)
            top[cold_rows], top_scores[cold_rows] = top_n(fallback[None, :], n)
        # a > 0: the calibrated scores rank as the raw ones (and -inf stays -inf).
        return cand_ids[top], a * top_scores + b

    def _n_jobs(self):
        return getattr(self, "n_jobs", None)

    def _candidate_scores(self, user_idx: np.ndarray, cand) -> np.ndarray:
        if cand is None:
            scores = self._score_rows(user_idx)
        else:
            scores = np.empty((len(user_idx), len(cand)), dtype=np.float64)
            known = cand >= 0
            scores[:, known] = self._score_rows(user_idx, cand[known])
            if (~known).any():
                scores[:, ~known] = self._score_floor
        cold = self._no_positive[user_idx]
        if cold.any():
            # Known users without a positive interaction (e.g. only "no" answers in an
            # active-learning loop) carry no preference signal: a factor model gives
            # them all-zero scores. They are ranked like unknown users, by popularity.
            items = np.arange(len(self.items_)) if cand is None else cand
            if scores.dtype != np.float64:
                scores = scores.astype(np.float64)
            scores[cold] = self._fallback_raw(items)
        return scores

    def _mask_seen(self, scores: np.ndarray, user_idx: np.ndarray, cand) -> None:
        seen = self._seen[user_idx]
        rows, cols = seen.nonzero()
        if cand is None:
            scores[rows, cols] = -np.inf
            return
        position = np.full(len(self.items_), -1, dtype=np.int64)
        known = np.flatnonzero(cand >= 0)
        position[cand[known]] = known
        keep = position[cols] >= 0
        scores[rows[keep], position[cols[keep]]] = -np.inf

    # ------------------------------------------------------------- evaluation
    def score(self, X, y=None) -> float:
        """NDCG@10 of ``recommend`` against the positive rows of held-out ``X``.

        Items seen in ``fit`` are excluded from the rankings, as in
        :func:`skrec.metrics.make_ranking_scorer`.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Held-out interaction rows.
        y : array-like of shape (n_rows,), default=None
            Their feedback; only rows with ``y > 0`` (all, when None) count as
            relevant.

        Returns
        -------
        float
            Mean NDCG@10 over the users with at least one relevant row.
        """
        return ranking_score(self, X, y, metric="ndcg", k=10)

    def embed_items(self, items) -> np.ndarray:
        """The item representation the model uses.

        Parameters
        ----------
        items : array-like of shape (n_items,)
            Item ids.

        Returns
        -------
        ndarray of shape (n_items, d)
            One row per item; unknown items get a row of zeros (or an error with
            ``handle_unknown="error"``).
        """
        check_is_fitted(self, "calibration_")
        items = check_ids(items, "items")
        idx = self._item_index.get_indexer(items)
        check_unknown(self.handle_unknown, idx < 0, items, "items")
        known = idx >= 0
        first = self._embed_items(idx[known][:1] if known.any() else np.zeros(1, dtype=np.int64))
        out = np.zeros((len(idx), first.shape[1]), dtype=np.float64)
        if known.any():
            out[known] = self._embed_items(idx[known])
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.input_tags.string = True
        tags.classifier_tags.poor_score = True
        tags.classifier_tags.multi_class = False  # relevant or not: a binary classifier
        return tags


def _abstract_methods(cls) -> set[str]:
    """Names of the abstract methods ``cls`` has not implemented (before ABCMeta counts them)."""
    return {
        name
        for name in dir(cls)
        if getattr(getattr(cls, name, None), "__isabstractmethod__", False)
    }


def _rows_without_positive(indptr: np.ndarray, positive: np.ndarray | None) -> np.ndarray:
    """Rows of a CSR matrix (``indptr``) with no positive entry.

    ``positive`` masks the positive stored entries; None when all of them are.
    """
    if positive is None:
        return np.diff(indptr) == 0
    seen = np.concatenate([[0], np.cumsum(positive, dtype=np.int64)])
    return seen[indptr[1:]] == seen[indptr[:-1]]
