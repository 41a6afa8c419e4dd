"""A weighted blend of named recommenders, like scikit-learn's ``VotingClassifier``."""

from __future__ import annotations

import itertools
import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import rankdata
from sklearn.base import MetaEstimatorMixin, clone
from sklearn.utils import Bunch
from sklearn.utils.validation import check_random_state

from skrec.metrics import ndcg_at_k
from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._registry import resolve_recommender
from skrec.utils._sklearn_compat import (
    BaseComposition,
    Interval,
    StrOptions,
    VisualBlock,
    fit_context,
)
from skrec.utils._warnings import user_stacklevel
from skrec.utils.validation import as_id_array

__all__ = ["HybridRecommender"]

# Scores materialised while learning the weights (users x items x members), at most.
_LEARN_FLOATS = 1 << 24
# Share of each user's positive rows (the latest ones) held out to learn the weights.
_LEARN_HOLDOUT = 0.1
_LEARN_K = 10


class HybridRecommender(MetaEstimatorMixin, BaseComposition, BaseRecommender):
    """Blend the scores of several recommenders, each normalised per user.

    A meta-estimator in the manner of :class:`~sklearn.ensemble.VotingClassifier`:
    ``fit`` fits a clone of every member on the same interactions; a (user,
    item) pair is scored by each member that knows the item, each member's
    scores are normalised per user over the candidate items, and the hybrid
    score is their weighted mean. Member parameters are reachable as
    ``<name>__<param>`` (``als__factors``, ``text__user_profile``), so
    ``GridSearchCV`` can tune the members and the blend together.

    The hybrid knows the union of its members' items. A member that cannot
    score an item (a collaborative model and a cold item it never saw) does not
    drag it down: the item's score is the weighted mean over the members that
    know it (the weights are renormalised over those members). Items that only
    zero-weight members know (cold items when ``weights="learn"`` gave the
    content member 0) rank after every scored item, in those members' order.

    Parameters
    ----------
    estimators : list of (str, recommender or str)
        The named members: skrec recommenders, names of
        :func:`skrec.recommenders.available` (a default instance of that
        recommender, e.g. one a plugin registers), or ``"drop"`` to leave one out.
    weights : array-like of shape (n_estimators,), "learn" or None, default=None
        Blend weights (non-negative, not all zero), one per member in order;
        None weighs members equally. ``"learn"`` picks them on held-out data:
        the latest 10 % (at least one) of the positive rows of every user with
        two or more positives are held out, the members are fitted on the rest,
        the weight simplex is searched on a grid for the best NDCG@10 on the
        held-out rows, and the members are then refitted on everything.
    normalize : {"zscore", "rank", "none"}, default="zscore"
        Per-user normalisation of each member's scores over the candidate
        items before blending: ``"zscore"`` centred and scaled by the
        standard deviation; ``"rank"`` reciprocal rank fusion,
        ``61 / (60 + rank)`` (Cormack et al. 2009; ties share their mean rank);
        ``"none"`` the raw scores. On MovieLens-100K (ALS + text, equal
        weights) z-scores gave NDCG@10 0.252 against 0.177 for ranks, so they
        are the default.
    random_state : int, RandomState instance or None, default=None
        Seed of the validation-user sample of ``weights="learn"`` and of the
        calibration. Members keep their own ``random_state``.
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.
    n_jobs : int or None, default=None
        Threads of the hybrid's own ``recommend`` (see
        :func:`skrec.utils.effective_n_jobs`); members keep their own ``n_jobs``.

    Attributes
    ----------
    estimators_ : list of recommenders
        The fitted members (``"drop"`` members left out).
    named_estimators_ : sklearn.utils.Bunch
        The fitted members by name.
    weights_ : ndarray of shape (n_fitted_estimators,)
        The blend weights used, one per fitted member.
    weight_search_ : dict or None
        With ``weights="learn"``: ``{"weights": (n_candidates, n_members),
        "ndcg": (n_candidates,)}``, the grid and its validation NDCG@10.
    users_, items_ : ndarray
        Ids known from ``fit`` (``items_`` is the union of the members' items).
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training matrix.
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    SentenceTransformerRecommender : A content model that knows cold items.
    ALSRecommender : A collaborative model.

    Examples
    --------
    >>> from skrec import ALSRecommender, EASERecommender, HybridRecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> hybrid = HybridRecommender(
    ...     [("als", ALSRecommender(factors=8, iterations=5, random_state=0)),
    ...      ("ease", EASERecommender())], weights=[1, 2])
    >>> hybrid.set_params(als__factors=4).fit(data.X).named_estimators_.als.factors
    4
    >>> hybrid.recommend(data.X["user"].unique()[:2], n=3)[0].shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": [None, "array-like", StrOptions({"learn"})],
        "normalize": [StrOptions({"rank", "zscore", "none"})],
        "random_state": ["random_state"],
        "handle_unknown": [StrOptions({"popular", "error"})],
        "n_jobs": [None, Interval(Integral, None, None, closed="neither")],
    }

    def __init__(
        self,
        estimators: list,
        *,
        weights=None,
        normalize: str = "zscore",
        random_state=None,
        handle_unknown: str = "popular",
        n_jobs: int | None = None,
    ):
        self.estimators = estimators
        self.weights = weights
        self.normalize = normalize
        self.random_state = random_state
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs

    def get_params(self, deep: bool = True) -> dict:
        """Parameters of the hybrid and, with ``deep``, of its members as ``name__param``.

        Parameters
        ----------
        deep : bool, default=True
            Also return the members and their parameters.

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params) -> HybridRecommender:
        """Set parameters of the hybrid or of its members (``als__factors=8``, ``text=...``).

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : HybridRecommender
        """
        self._set_params("estimators", **params)
        return self

    @property
    def named_estimators(self) -> Bunch:
        """The unfitted members by name."""
        return Bunch(**dict(self.estimators))

    # Members' parameters are not validated by the hybrid's own constraints.
    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Fit a clone of every member on the interactions and learn the blend.

        Parameters
        ----------
        X : array-like of shape (n_rows, 2 or 3) or DataFrame
            Interaction rows ``(user, item[, timestamp])``.
        y : array-like of shape (n_rows,), default=None
            Feedback: None (all positive), strengths > 0, or <= 0 for explicit
            negatives.
        sample_weight : array-like of shape (n_rows,), default=None
            Non-negative row weights, passed on to every member.

        Returns
        -------
        self : HybridRecommender
            The fitted hybrid.
        """
        return BaseRecommender.fit.__wrapped__(self, X, y, sample_weight)

    def _sk_visual_block_(self):
        # The HTML repr shows the members side by side, as VotingClassifier's does.
        names, estimators = zip(*self.estimators, strict=True)
        return VisualBlock("parallel", estimators, names=names)

    # ------------------------------------------------------------- members
    def _members(self) -> list[tuple[int, str, BaseRecommender]]:
        """``(position, name, estimator)`` of the members that are not ``"drop"``."""
        try:
            names, ests = zip(*self.estimators, strict=True)
        except (TypeError, ValueError):
            raise TypeError(
                "estimators must be a non-empty list of (name, recommender) tuples"
            ) from None
        self._validate_names(names)
        self._check_estimators_are_instances(ests)
        members = []
        for pos, (name, est) in enumerate(self.estimators):
            if isinstance(est, str) and est == "drop":
                continue
            members.append(
                (pos, name, resolve_recommender(est, owner=f"HybridRecommender member {name!r}"))
            )
        if not members:
            raise ValueError("All estimators are dropped; at least one is required")
        return members

    def _given_weights(self, members) -> np.ndarray:
        if self.weights is None:
            return np.ones(len(members))
        w = np.asarray(self.weights, dtype=np.float64)
        if w.shape != (len(self.estimators),):
            raise ValueError(
                f"Number of `estimators` and weights must be equal; got {w.size} weights, "
                f"{len(self.estimators)} estimators"
            )
        w = w[[pos for pos, _, _ in members]]
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be finite, non-negative and not all zero; got {w}")
        return w

    def _extra_items(self):
        """Every item some member knows without interactions (e.g. its ``item_text``)."""
        extra = [est._extra_items() for _, _, est in self._members()]
        extra = [as_id_array(e) for e in extra if e is not None and len(e)]
        if not extra:
            return None
        try:
            return np.concatenate(extra)
        except TypeError:
            return np.concatenate([e.astype(object) for e in extra])

    # ---------------------------------------------------------------- hooks
    def _fit_model(self, R, data, previous) -> None:
        members = self._members()
        self.weight_search_ = None
        if isinstance(self.weights, str) and self.weights == "learn":
            weights = self._learn_weights(data, members)
        else:
            weights = self._given_weights(members)
        fitted = [clone(est).fit(data) for _, _, est in members]
        self.estimators_ = fitted
        self.named_estimators_ = Bunch(
            **{name: est for (_, name, _), est in zip(members, fitted, strict=True)}
        )
        self.weights_ = weights
        self._maps = _index_maps(fitted, self.users_, self.items_)

    def _score_users(self, user_idx, item_idx=None):
        items = np.arange(len(self.items_)) if item_idx is None else np.asarray(item_idx)
        parts = [
            _member_scores(est, umap[user_idx], imap[items], self.normalize)
            for est, (umap, imap) in zip(self.estimators_, self._maps, strict=True)
        ]
        return _blend(parts, self.weights_)

    def _embed_items(self, item_idx):
        blocks = []
        for est, (_, imap) in zip(self.estimators_, self._maps, strict=True):
            mi = imap[item_idx]
            known = mi >= 0
            rows = est._embed_items(mi[known] if known.any() else np.zeros(1, dtype=np.int64))
            block = np.zeros((len(mi), rows.shape[1]), dtype=np.float64)
            if known.any():
                rows = np.asarray(rows, dtype=np.float64)
                norms = np.linalg.norm(rows, axis=1, keepdims=True)
                block[known] = rows / np.where(norms > 0, norms, 1.0)
            blocks.append(block)
        return np.hstack(blocks)

    # --------------------------------------------------------- learn weights
    def _learn_weights(self, data, members) -> np.ndarray:
        """Grid-search the weight simplex for NDCG@10 on each user's latest positives."""
        rng = check_random_state(self.random_state)
        held = _holdout_latest(data, _LEARN_HOLDOUT)
        if not held.any():
            warnings.warn(
                "weights='learn' found no user with two or more positive rows to hold out; "
                "using equal weights",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            return np.ones(len(members))
        train, valid = data.take(~held), data.take(held)
        fitted = [clone(est).fit(train) for _, _, est in members]
        users = pd.unique(valid.users)
        budget = max(1, _LEARN_FLOATS // max(1, len(self.items_) * len(members)))
        if len(users) > budget:
            users = rng.choice(users, budget, replace=False)
        maps = _index_maps(fitted, users, self.items_)
        items = np.arange(len(self.items_))
        parts = [
            _member_scores(est, umap, imap[items], self.normalize)
            for est, (umap, imap) in zip(fitted, maps, strict=True)
        ]
        seen = _seen_mask(train, users, self._item_index)
        relevant = _relevant_lists(valid, users, self._item_index)
        grid = _simplex_grid(len(members))
        scores = np.empty(len(grid))
        for g, w in enumerate(grid):
            blended = _blend(parts, w)
            blended[seen] = -np.inf
            top = np.argsort(-blended, axis=1, kind="stable")[:, :_LEARN_K]
            scores[g] = ndcg_at_k(relevant, top, k=_LEARN_K)
        self.weight_search_ = {"weights": grid, "ndcg": scores}
        return grid[int(np.argmax(scores))]


def _index_maps(fitted, users, items) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each member: hybrid user and item positions -> member indices (-1 unknown)."""
    return [
        (est._user_index.get_indexer(users), est._item_index.get_indexer(items)) for est in fitted
    ]


def _member_scores(est, mu: np.ndarray, mi: np.ndarray, normalize: str) -> np.ndarray:
    """One member's normalised scores of users ``mu`` x items ``mi``; NaN where unknown.

    Each user's scores are normalised over every item the member knows, whatever
    the candidates asked for: the score of a (user, item) pair does not depend on
    which other items are ranked with it, so ``recommend(items=...)`` ranks the
    candidates exactly as the full ranking does.
    """
    out = np.full((len(mu), len(mi)), np.nan)
    ku, ki = mu >= 0, mi >= 0
    if ku.any() and ki.any():
        full = _normalize(est._score_rows(mu[ku]).astype(np.float64), normalize)
        out[np.ix_(ku, ki)] = full[:, mi[ki]]
    return out


# The constant of reciprocal rank fusion; 60 is the value of the original paper.
_RRF_K = 60


def _normalize(S: np.ndarray, method: str) -> np.ndarray:
    """Per-row normalisation over the non-NaN entries."""
    if method == "none" or S.size == 0:
        return S
    missing = np.isnan(S)
    if method == "rank":
        # Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): the best
        # item (rank 1) scores 1, the tenth 61/70, the thousandth 61/1060, so the top
        # of each member's ranking dominates the blend. Unknown entries rank last.
        ranks = rankdata(np.where(missing, np.inf, -S), method="average", axis=1)
        out = (_RRF_K + 1) / (_RRF_K + ranks)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows with no known entry
            mean = np.nanmean(S, axis=1, keepdims=True)
            std = np.nanstd(S, axis=1, keepdims=True)
        out = (S - mean) / np.where(std > 0, std, 1.0)
    out[missing] = np.nan
    return out


def _blend(parts: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Weighted mean over the members that know each entry.

    Entries no weighted member knows (e.g. cold items when the learned weight of
    the content member is 0) are ranked after every scored entry of their row,
    in the order of the equal-weight mean of the zero-weight members that know
    them; entries nobody knows come last.
    """
    out, scored = _known_mean(parts, np.where(weights > 0, weights, 0.0))
    if scored.all():
        return out
    low = np.where(scored, out, np.inf).min(axis=1, keepdims=True)
    low = np.where(np.isfinite(low), low, 0.0)
    # The zero-weight members' opinion, squashed into (low - 2, low - 1).
    rest, rest_known = _known_mean(parts, (weights <= 0).astype(np.float64))
    fallback = np.where(rest_known, low - 2.0 + expit(rest), low - 3.0)
    return np.where(scored, out, fallback)


def _known_mean(parts: list[np.ndarray], weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of ``parts`` over their non-NaN entries (members of weight 0 skipped),
    and where it is defined."""
    total = np.zeros(parts[0].shape)
    wsum = np.zeros(parts[0].shape)
    for S, w in zip(parts, weights, strict=True):
        if w <= 0:
            continue
        known = ~np.isnan(S)
        total[known] += w * S[known]
        wsum += w * known
    defined = wsum > 0
    return np.divide(total, wsum, out=np.zeros_like(total), where=defined), defined


def _holdout_latest(data, share: float) -> np.ndarray:
    """Mask of each user's latest ``ceil(share * n)`` positive rows (users with n >= 2)."""
    held = np.zeros(len(data), dtype=bool)
    order = data.order()
    order = order[data.positive[order]]  # positive rows, in time order
    if len(order) == 0:
        return held
    codes = pd.factorize(data.users[order])[0]
    by_user = np.argsort(codes, kind="stable")
    rows, codes = order[by_user], codes[by_user]
    counts = np.bincount(codes)
    ends = np.cumsum(counts)  # one past each user's latest positive
    rank_from_end = ends[codes] - 1 - np.arange(len(rows))
    n_held = np.where(counts >= 2, np.ceil(share * counts).astype(np.int64), 0)
    held[rows[rank_from_end < n_held[codes]]] = True
    return held


def _seen_mask(train, users, item_index) -> np.ndarray:
    """``(len(users), n_items)`` mask of the training items of each validation user."""
    mask = np.zeros((len(users), len(item_index)), dtype=bool)
    u = pd.Index(users).get_indexer(train.users)
    i = item_index.get_indexer(train.items)
    keep = (u >= 0) & (i >= 0)
    mask[u[keep], i[keep]] = True
    return mask


def _relevant_lists(valid, users, item_index) -> list[np.ndarray]:
    """Held-out positive item positions of each validation user."""
    u = pd.Index(users).get_indexer(valid.users)
    i = item_index.get_indexer(valid.items)
    keep = (u >= 0) & (i >= 0)
    u, i = u[keep], i[keep]
    order = np.argsort(u, kind="stable")
    bounds = np.searchsorted(u[order], np.arange(len(users) + 1))
    return [i[order[bounds[k] : bounds[k + 1]]] for k in range(len(users))]


def _simplex_grid(n: int) -> np.ndarray:
    """Weight vectors on the simplex, finer for fewer members; equal weights first."""
    steps = 10 if n <= 3 else 5 if n <= 5 else 2
    grid = [
        np.array(c, dtype=np.float64) / steps
        for c in itertools.product(range(steps + 1), repeat=n)
        if sum(c) == steps
    ]
    equal = np.full(n, 1.0 / n)
    return np.vstack([equal, *grid]) if n > 1 else equal[None, :]
