"""The shared recommender base: everything but *how* a model scores.

A concrete recommender implements three hooks:

``_fit_model(self, R, data, previous)``
    learn from the user x item CSR matrix ``R`` (float32, summed signed weights,
    explicit negatives stored as negative values) and the validated
    :class:`~skrec.utils.validation.Interactions`; ``previous`` holds the id
    arrays of the previous fit when the estimator was already fitted (for
    ``warm_start``), else None.
``_score_users(self, user_idx, item_idx=None)``
    dense scores of shape ``(len(user_idx), n_items or len(item_idx))``.
``_embed_items(self, item_idx)``
    the item representation, shape ``(len(item_idx), d)``.

and may override ``_score_pairs`` when row-wise scoring is cheaper than scoring
a whole user block. Everything else (validation, id encoding, unknown-id
fallback, calibration, batched top-n, scoring) lives here, once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state

from skrec.utils._threads import single_blas_thread
from skrec.utils.validation import (
    IdIndex,
    as_id_array,
    check_ids,
    check_interactions,
    interaction_matrix,
    signed_weights,
)

__all__ = ["BaseRecommender"]

# Scores for one block of users are materialised at most this many floats at a time.
_BLOCK_FLOATS = 1 << 24
# Cap on the pairs used to fit the probability calibration.
_CALIBRATION_PAIRS = 5_000


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _logit(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _fit_platt(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Logistic map ``P(relevant) = sigmoid(a * score + b)`` fitted by Newton's method.

    A one-feature logistic regression with a tiny ridge on ``a`` (so that
    separable data gives a steep but finite slope). Returns ``(a, b)``.
    """
    pos = labels.mean()
    if pos in (0.0, 1.0):
        return 0.0, float(_logit(np.clip(pos, 0.01, 0.99)))
    s = scores.astype(np.float64)
    mu, sd = s.mean(), s.std()
    if not np.isfinite(sd) or sd < 1e-12:
        return 0.0, float(_logit(pos))
    z = (s - mu) / sd
    a, b = 0.0, float(_logit(pos))
    ridge = 1e-3
    for _ in range(50):
        p = _sigmoid(a * z + b)
        w = p * (1 - p) + 1e-12
        r = p - labels
        # np.dot, not @: numpy's matmul of two 1-D arrays is ~100x slower here.
        ga, gb = np.dot(z, r) + ridge * a, r.sum()
        haa, hab, hbb = np.dot(z * w, z) + ridge, np.dot(z, w), w.sum()
        det = haa * hbb - hab * hab
        step_a, step_b = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = a - step_a, b - step_b
        if max(abs(step_a), abs(step_b)) < 1e-8:
            break
    return float(a / sd), float(b - a * mu / sd)


class BaseRecommender(ClassifierMixin, BaseEstimator):
    """Base class of every skrec recommender.

    Gives a model that only knows how to score (user, item) pairs the full
    recommender API of DESIGN §3: ``fit``, ``decision_function``,
    ``predict_proba``, ``predict``, ``classes_``, ``recommend``, ``score`` and
    ``embed_items``, with unknown-id handling and calibrated probabilities.

    Unknown ids (``handle_unknown="popular"``): a user not seen in ``fit`` is
    scored by item popularity; an item not seen in ``fit`` gets the score of an
    item nobody interacted with. ``handle_unknown="error"`` raises instead. A
    known user with no positive interaction (only explicit negatives, e.g. "no"
    answers in an active-learning loop) is scored by popularity too, and their
    negatives are still excluded by ``recommend``.

    Calibration: after fitting, ``P(relevant)`` is a logistic function of the raw
    score, fitted on the training positives and an equal number of sampled
    non-interactions (plus explicit negatives). Fallback rows (unknown users)
    use a second logistic map of the item's popularity, expressed back on the
    model's score scale so that ``predict_proba == sigmoid(a * decision + b)``
    holds for every row.

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
    }

    # ------------------------------------------------------------------ hooks
    def _fit_model(self, R: sp.csr_matrix, data, previous) -> None:
        raise NotImplementedError

    def _score_users(self, user_idx: np.ndarray, item_idx: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def _embed_items(self, item_idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _extra_items(self):
        """Ids of items the model knows without interactions (e.g. from ``item_text``)."""
        return None

    def _score_pairs(self, user_idx: np.ndarray, item_idx: np.ndarray) -> np.ndarray:
        """Scores of known (user, item) index pairs, by blocks of distinct users."""
        out = np.empty(len(user_idx), dtype=np.float64)
        order = np.argsort(user_idx, kind="stable")
        users, starts = np.unique(user_idx[order], return_index=True)
        bounds = np.append(starts, len(order))
        block = max(1, _BLOCK_FLOATS // max(1, len(self.items_)))
        for b in range(0, len(users), block):
            scores = self._score_users(users[b : b + block])
            lo, hi = bounds[b], bounds[min(b + block, len(users))]
            rows = order[lo:hi]
            local = np.searchsorted(users[b : b + block], user_idx[rows])
            out[rows] = scores[local, item_idx[rows]]
        return out

    # -------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn from interactions.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.
        y : array-like of shape (n_rows,), default=None
            Feedback: None (all positive), strengths > 0, or <= 0 for explicit
            negatives. Duplicate (user, item) rows are summed.

        Returns
        -------
        self : object
            The fitted recommender.
        """
        original = check_interactions(X, y)
        data = self._augment(original)
        previous = None
        if hasattr(self, "users_"):
            previous = SimpleNamespace(users_=self.users_, items_=self.items_)
        if data is original:
            self._user_index, item_index = IdIndex(data.users), IdIndex(data.items)
        else:  # every id the caller gave stays known, even if the augmenter dropped its rows
            self._user_index = IdIndex(data.users).extend(original.users)
            item_index = IdIndex(data.items).extend(original.items)
        extra = self._extra_items()
        if extra is not None:
            item_index = item_index.extend(check_ids(extra, "item_text ids"))
        self._item_index = item_index
        self.users_ = self._user_index.ids
        self.items_ = self._item_index.ids
        shape = (len(self.users_), len(self.items_))
        R = self._matrix(data)
        self.interactions_ = R
        # What `recommend` excludes: what the user did, not what an augmenter added.
        self._seen = R if data is original else self._matrix(original)
        self.n_features_in_ = 2 if data.timestamps is None else 3
        # Users with a positive interaction per item, counted on R's arrays (no copy of R).
        positive = R.data > 0
        all_positive = bool(positive.all())
        cols = R.indices if all_positive else R.indices[positive]
        self.item_popularity_ = np.bincount(cols, minlength=shape[1]).astype(np.float64)
        self._no_positive = _rows_without_positive(R.indptr, None if all_positive else positive)
        del positive, cols
        self._fit_model(R, data, previous)
        with single_blas_thread():
            self._fit_calibration(R)
        return self

    def _matrix(self, data) -> sp.csr_matrix:
        """The user x item matrix of ``data`` in this estimator's index space."""
        shape = (len(self.users_), len(self.items_))
        # Indices as int32 (scipy's own index type when they fit) halve fit's largest
        # temporaries, and are freed once the matrix is built.
        index = np.int32 if max(shape) < np.iinfo(np.int32).max else np.int64
        u = self._user_index.get_indexer(data.users).astype(index, copy=False)
        i = self._item_index.get_indexer(data.items).astype(index, copy=False)
        return interaction_matrix(u, i, signed_weights(data.y, len(u)), shape)

    def _augment(self, data):
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
        # Positions of the sampled entries in R.data; rows come from R.indptr, so R is
        # not copied to COO.
        pos = _sample_entries(R.data > 0, _CALIBRATION_PAIRS, rng)
        neg = _sample_entries(R.data < 0, _CALIBRATION_PAIRS, rng)
        n_users, n_items = R.shape
        n_sample = max(len(pos), 1)
        su = rng.randint(n_users, size=n_sample)
        si = rng.randint(n_items, size=n_sample)
        unseen = np.asarray(R[su, si]).ravel() == 0
        su, si = su[unseen], si[unseen]
        rows = np.searchsorted(R.indptr, np.concatenate([pos, neg]), side="right") - 1
        users = np.concatenate([rows, su])
        items = np.concatenate([R.indices[pos], R.indices[neg], si])
        labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(su))])
        scores = self._score_pairs(users, items)
        finite = np.isfinite(scores)
        self.calibration_ = _fit_platt(scores[finite], labels[finite])
        self._fallback_calibration = _fit_platt(self._popularity_score(items), labels)
        self._score_floor = float(np.min(scores[finite])) if finite.any() else 0.0
        self._score_mean = float(np.mean(scores[finite])) if finite.any() else 0.0

    # ----------------------------------------------------------------- scores
    def _check_unknown(self, mask: np.ndarray, ids: np.ndarray, what: str) -> None:
        if mask.any() and self.handle_unknown == "error":
            shown = ", ".join(repr(v) for v in np.unique(as_id_array(ids[mask]).astype(object))[:5])
            raise ValueError(
                f"{mask.sum()} rows have {what} not seen in fit ({shown}...); "
                "use handle_unknown='popular' to score them by popularity"
            )

    def _fallback_decision(self, item_idx: np.ndarray) -> np.ndarray:
        """Popularity-based P(relevant), expressed on the model's score scale."""
        a2, b2 = self._fallback_calibration
        logit = a2 * self._popularity_score(item_idx) + b2
        a, b = self.calibration_
        if abs(a) < 1e-12:
            return np.full(len(item_idx), self._score_mean)
        return (logit - b) / a

    def _encode_rows(self, X):
        data = check_interactions(X)
        u = self._user_index.get_indexer(data.users)
        i = self._item_index.get_indexer(data.items)
        self._check_unknown(u < 0, data.users, "users")
        self._check_unknown(i < 0, data.items, "items")
        return u, i

    def decision_function(self, X) -> np.ndarray:
        """Raw score of each (user, item) row; higher means more relevant.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.

        Returns
        -------
        ndarray of shape (n_rows,)
            Scores. Rows with an unknown user are scored by popularity and rows
            with an unknown item as an item nobody interacted with (see
            ``handle_unknown``).
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
            out[cold_user] = self._fallback_decision(i[cold_user])
        # A known user with an unknown item: the lowest score the model gave in training.
        out[(u >= 0) & (i < 0)] = self._score_floor
        return out

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated probabilities ``[P(not relevant), P(relevant)]`` per row.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.

        Returns
        -------
        ndarray of shape (n_rows, 2)
            Rows sum to one; column 1 is the probability of relevance.
        """
        a, b = self.calibration_ if hasattr(self, "calibration_") else (0.0, 0.0)
        p = _sigmoid(a * self.decision_function(X) + b)
        return np.column_stack([1.0 - p, p])

    def predict(self, X) -> np.ndarray:
        """1 where P(relevant) >= 0.5, else 0.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.

        Returns
        -------
        ndarray of shape (n_rows,)
            Predicted labels in ``classes_``.
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)

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
            Recommended item ids, best first.
        scores : ndarray of shape (n_users, n)
            Their scores (``decision_function`` scale).
        """
        check_is_fitted(self, "calibration_")
        if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        users = check_ids(users, "users")
        u = self._user_index.get_indexer(users)
        self._check_unknown(u < 0, users, "users")
        if items is None:
            cand_ids, cand = self.items_, None
        else:
            cand_ids = check_ids(items, "items")
            cand = self._item_index.get_indexer(cand_ids)
            self._check_unknown(cand < 0, cand_ids, "items")
        n_cand = len(cand_ids)
        n = min(int(n), n_cand)
        top = np.empty((len(u), n), dtype=np.int64)
        top_scores = np.empty((len(u), n), dtype=np.float64)
        block = max(1, _BLOCK_FLOATS // max(1, n_cand))
        known_rows = np.flatnonzero(u >= 0)

        def one_block(rows):
            scores = self._candidate_scores(u[rows], cand)
            if exclude_seen:
                self._mask_seen(scores, u[rows], cand)
            top[rows], top_scores[rows] = _top_n(scores, n)

        blocks = [known_rows[b : b + block] for b in range(0, len(known_rows), block)]
        workers = min(len(blocks), os.cpu_count() or 1)
        if workers <= 1:
            for rows in blocks:
                one_block(rows)
        else:
            # numpy releases the GIL in matmul and partition: blocks run in parallel
            # threads, each with single-threaded BLAS so the cores are not oversubscribed.
            with single_blas_thread(), ThreadPoolExecutor(workers) as pool:
                for _ in pool.map(one_block, blocks):
                    pass
        cold_rows = np.flatnonzero(u < 0)
        if len(cold_rows):
            fallback = self._fallback_decision(
                np.arange(len(self.items_)) if cand is None else cand
            )[None, :]
            idx, sc = _top_n(fallback, n)
            top[cold_rows], top_scores[cold_rows] = idx, sc
        return cand_ids[top], top_scores

    def _candidate_scores(self, user_idx: np.ndarray, cand) -> np.ndarray:
        if cand is None:
            scores = self._score_users(user_idx)
        else:
            scores = np.empty((len(user_idx), len(cand)), dtype=np.float64)
            known = cand >= 0
            scores[:, known] = self._score_users(user_idx, cand[known])
            if (~known).any():
                scores[:, ~known] = self._score_floor
        cold = self._no_positive[user_idx]
        if cold.any():
            # Known users without a positive interaction (e.g. only "no" answers in an
            # active-learning loop) carry no preference signal: a factor model gives
            # them all-zero scores. They are ranked like unknown users, by popularity.
            items = np.arange(len(self.items_)) if cand is None else cand
            scores[cold] = self._fallback_decision(items)
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
        from skrec.metrics._scorer import ranking_score  # noqa: PLC0415 (import cycle)

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
        self._check_unknown(idx < 0, items, "items")
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
        return tags


def _rows_without_positive(indptr: np.ndarray, positive: np.ndarray | None) -> np.ndarray:
    """Rows of a CSR matrix (``indptr``) with no positive entry.

    ``positive`` masks the positive stored entries; None when all of them are.
    """
    if positive is None:
        return np.diff(indptr) == 0
    seen = np.concatenate([[0], np.cumsum(positive, dtype=np.int64)])
    return seen[indptr[1:]] == seen[indptr[:-1]]


def _sample_entries(mask: np.ndarray, size: int, rng) -> np.ndarray:
    """Positions where ``mask`` is set; ``size`` of them drawn at random when there are more.

    Draws exactly ``rng.choice(np.flatnonzero(mask), size, replace=False)`` (the same
    random numbers), without building the positions when every entry is set.
    """
    n = int(np.count_nonzero(mask))
    if n <= size:
        return np.flatnonzero(mask)
    picked = rng.choice(n, size, replace=False)
    return picked if n == len(mask) else np.flatnonzero(mask)[picked]


def _top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``n`` largest scores per row, best first."""
    n_cols = scores.shape[1]
    if n < n_cols:
        # Partition on the scores themselves: negating them would copy the block.
        part = np.argpartition(scores, n_cols - n, axis=1)[:, n_cols - n :]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(vals, order, axis=1)
