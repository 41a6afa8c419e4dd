"""Content-based recommendations from item text embedded by sentence-transformers."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_random_state

from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._calibration import fit_platt, sigmoid
from skrec.recommenders._fine_tune import SCALE, co_occurrence_pairs, fine_tune, fine_tune_identity
from skrec.utils._embedding_cache import EmbeddingCache, model_identity, resolve_cache
from skrec.utils._random import draw_seed
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils._threads import blas_limit, effective_n_jobs, torch_threads
from skrec.utils._warnings import user_stacklevel
from skrec.utils.validation import interaction_matrix, item_text_ids, item_texts, signed_weights

__all__ = ["SentenceTransformerRecommender"]

_DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# With half_life=None, a user's interaction this many "typical gaps" old weighs half.
_AUTO_HALF_LIFE_GAPS = 10
_NEWTON_STEPS = 10


class SentenceTransformerRecommender(BaseRecommender):
    """Content-based recommender over item texts embedded by sentence-transformers.

    Every item is embedded from its text (``item_text``) by a
    sentence-transformers model; every user gets a *profile* vector in the same
    space, built from the items of their history; the score of a (user, item)
    pair is ``profile . embedding``. Items that only appear in ``item_text``
    (no interaction at all) are known to the model and are scored and
    recommended like any other: this is a cold-start recommender. Because a
    profile needs only a handful of items, it is also a few-shot recommender
    (see ``user_profile="logistic"``).

    Given an :class:`~skrec.utils.EmbeddingCache` (``cache=``), embeddings are
    kept there, keyed by model, ``normalize`` and text: refitting clones in
    ``GridSearchCV`` or an active-learning loop then encodes each text once.

    Parameters
    ----------
    model : str or path-like, default="sentence-transformers/all-MiniLM-L6-v2"
        A sentence-transformers model name or a local folder holding one.
    item_text : mapping, pandas.Series or callable, default=None
        Item id -> text (or a function of the id returning its text).
        Required; must cover every item seen in ``fit``. Items present only in
        a mapping are cold-start items.
    user_profile : {"mean", "recency", "logistic"}, default="mean"
        How a user's profile is built from their interactions:

        - ``"mean"``: the weighted mean of the embeddings of the user's positive
          items (weights are the strengths ``y``) minus the weighted mean of the
          embeddings of their explicit negatives.
        - ``"recency"``: the same with each row's weight also multiplied by
          ``0.5 ** (age / half_life)``, the age being measured from the user's
          latest interaction.
        - ``"logistic"``: a per-user L2-regularised logistic regression in the
          embedding space (positives against explicit negatives and
          ``negative_samples`` sampled unseen items per positive), whose
          penalty ``||w - w0||^2 / (2 C)`` pulls it toward the population
          profile ``w0``, so that one to five examples already give a sensible
          ranking and more examples make it personal.
    half_life : float, default=None
        Half-life of ``"recency"`` profiles, in the units of the timestamps
        (column 2 of ``X``; nanoseconds for datetimes) or, without timestamps,
        of positions in the user's history. None sets it to ten typical
        gaps: ten times the median positive gap between consecutive
        interactions of a user (ten interactions without timestamps). Ignored by the other profiles.
    C : float, default=1.0
        Inverse regularisation strength of ``"logistic"`` profiles: smaller
        values stay closer to the population profile.
    negative_samples : int, default=4
        Unseen items sampled per positive as negatives of ``"logistic"``
        profiles.
    device : str, default=None
        Device the model encodes on ("cpu", "cuda", ...); None lets
        sentence-transformers choose. Not part of the embedding cache key.
    batch_size : int, default=64
        Encoding batch size.
    normalize : bool, default=True
        L2-normalise the text embeddings (scores are then cosine-based).
    center : bool, default=True
        Subtract the catalogue's mean embedding from every item embedding.
        Sentence embeddings share a common direction that otherwise dominates
        every user profile; on MovieLens-100K centring lifts the NDCG@10 of
        the "mean" profile from 0.025 to 0.083. With ``fine_tune``, only the
        frozen part is centred: the fine-tuned model's common direction is
        learned (it carries popularity), and centring it costs accuracy.
    fine_tune : bool, default=False
        Adapt the text model to the interactions before embedding the
        catalogue: contrastive fine-tuning on pairs of items that co-occur in
        users' histories (the in-batch loss of sentence-transformers'
        ``MultipleNegativesRankingLoss``, with uniform negatives). What is
        trained is a linear head after the model and the top
        ``fine_tune_layers`` transformer layers. Items seen in no history (cold
        items) are embedded by the fine-tuned model from their text alone. See
        "Fine-tuning on interactions" in the content guide.
    fine_tune_epochs : int, default=30
        Passes over the catalogue; each epoch pairs every item that has a
        positive interaction with one co-occurring item.
    fine_tune_lr : float, default=1e-3
        Peak learning rate of AdamW (linear decay to 0). Use a smaller rate
        (1e-4) when training transformer layers.
    fine_tune_layers : int, default=0
        Top transformer layers trained with the head (the others stay frozen
        and run once per text). 0 trains the head alone on the frozen
        embeddings: seconds on a CPU, where each layer costs minutes on a
        MovieLens-sized catalogue. With layers, a model that is not a
        BERT-style stack (e.g. static word embeddings) is trained whole.
    fine_tune_batch_size : int, default=256
        Pairs per step: each anchor's negatives are the other anchors of its
        batch.
    fine_tune_frozen_weight : float, default=0.25
        Weight of the frozen model's similarity in the score, beside the
        fine-tuned model's: the item vector is the frozen embedding (unit
        length after ``center``), scaled by the square root of this weight,
        next to the fine-tuned one. The fine-tuned space ranks by
        co-occurrence, the frozen one generalises better to cold items
        (ensembling a zero-shot model with its fine-tuned version, as in
        WiSE-FT); 0 keeps the fine-tuned model alone.
    cache : EmbeddingCache, str, path-like or None, default=None
        Where embeddings (and the loaded model) outlive a fit: an
        :class:`~skrec.utils.EmbeddingCache` shared by every estimator given
        it (clones included), or a folder (an on-disk cache there, shared
        across processes). None: each fit loads the model and encodes its
        texts anew, and nothing is kept.
    n_jobs : int or None, default=None
        Threads of the text encoder (torch) during ``fit`` and of
        ``recommend`` (see :func:`skrec.utils.effective_n_jobs`).
    random_state : int, RandomState instance or None, default=None
        Seed of the negative sampling (``"logistic"``), of fine-tuning (pairs,
        batch order, dropout; the global RNGs are untouched) and of the
        calibration.
    verbose : bool, default=False
        Show the encoder's progress bar and one line per fine-tuning epoch.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only.
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    item_embeddings_ : ndarray of shape (n_items, dim)
        The text embedding of every known item, in the order of ``items_``.
        With ``fine_tune`` and ``fine_tune_frozen_weight > 0``, the weighted
        frozen embedding followed by the fine-tuned one (twice the width).
    user_profiles_ : ndarray of shape (n_users, dim)
        The profile of every user, in the order of ``users_``.
    population_profile_ : ndarray of shape (dim,)
        The mean of the users' ``"mean"`` profiles (the prior direction of
        ``"logistic"`` profiles and the profile of users whose feedback cancels
        out).
    half_life_ : float or None
        The half-life used by ``"recency"`` profiles (None for the others).
    embedding_identity_ : str
        The model part of the embeddings' cache key: the base model's identity
        or, with ``fine_tune=True``, that identity plus a digest of the
        fine-tuning inputs (pairs, parameters, seed), so fine-tuned and frozen
        embeddings never mix in a cache.
    fine_tune_history_ : list of dict or None
        Per fine-tuning epoch: ``epoch``, ``pairs``, ``loss``, ``seconds``.
        None without fine-tuning, and when the fine-tuned embeddings were
        found in ``cache`` (nothing was trained).
    users_, items_ : ndarray
        Ids known from ``fit`` (``items_`` includes every ``item_text`` id).
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training matrix (summed weights; explicit negatives are negative).
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    HybridRecommender : Blend this model with a collaborative one.

    Notes
    -----
    ``sentence_transformers`` (and torch) are imported on the first ``fit``
    that needs to encode a text, never on ``import skrec``. The fitted
    estimator holds the embeddings, never the model (fine-tuned or not): it
    pickles small and loads without torch.

    Examples
    --------
    >>> from skrec import SentenceTransformerRecommender
    >>> text = {"a": "space rocket launch", "b": "orbit of a satellite",
    ...         "c": "pasta sauce recipe", "d": "baking bread at home"}
    >>> rec = SentenceTransformerRecommender(item_text=text)
    >>> rec.fit([["ann", "a"], ["bob", "c"]])  # doctest: +SKIP
    >>> rec.recommend(["ann"], n=1)[0]  # doctest: +SKIP
    array([['b']], dtype=object)
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "model": [str, os.PathLike],
        "item_text": [None, Mapping, pd.Series, callable],
        "user_profile": [StrOptions({"mean", "recency", "logistic"})],
        "half_life": [None, Interval(Real, 0, None, closed="neither")],
        "C": [Interval(Real, 0, None, closed="neither")],
        "negative_samples": [Interval(Integral, 0, None, closed="left")],
        "device": [None, str],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "center": ["boolean"],
        "fine_tune": ["boolean"],
        "fine_tune_epochs": [Interval(Integral, 1, None, closed="left")],
        "fine_tune_lr": [Interval(Real, 0, None, closed="neither")],
        "fine_tune_layers": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_batch_size": [Interval(Integral, 2, None, closed="left")],
        "fine_tune_frozen_weight": [Interval(Real, 0, None, closed="left")],
        "cache": [None, str, os.PathLike, EmbeddingCache],
        "n_jobs": [None, Interval(Integral, None, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model: str | os.PathLike = _DEFAULT_MODEL,
        *,
        item_text=None,
        user_profile: str = "mean",
        half_life: float | None = None,
        C: float = 1.0,
        negative_samples: int = 4,
        device: str | None = None,
        batch_size: int = 64,
        normalize: bool = True,
        center: bool = True,
        fine_tune: bool = False,
        fine_tune_epochs: int = 30,
        fine_tune_lr: float = 1e-3,
        fine_tune_layers: int = 0,
        fine_tune_batch_size: int = 256,
        fine_tune_frozen_weight: float = 0.25,
        cache=None,
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        augmenter=None,
        handle_unknown: str = "popular",
    ):
        self.model = model
        self.item_text = item_text
        self.user_profile = user_profile
        self.half_life = half_life
        self.C = C
        self.negative_samples = negative_samples
        self.device = device
        self.batch_size = batch_size
        self.normalize = normalize
        self.center = center
        self.fine_tune = fine_tune
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_lr = fine_tune_lr
        self.fine_tune_layers = fine_tune_layers
        self.fine_tune_batch_size = fine_tune_batch_size
        self.fine_tune_frozen_weight = fine_tune_frozen_weight
        self.cache = cache
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    # ------------------------------------------------------------------ hooks
    def _extra_items(self):
        return item_text_ids(self.item_text, "SentenceTransformerRecommender")

    def _fit_model(self, R, data, previous) -> None:
        texts = item_texts(self.item_text, self.items_, "SentenceTransformerRecommender")
        cache = resolve_cache(self.cache)
        self.embedding_identity_ = model_identity(self.model)
        self.fine_tune_history_ = None
        frozen = cache.encode(texts, self.model, **self._encode_options())
        if self.center:
            frozen = frozen - frozen.mean(axis=0, dtype=np.float64).astype(frozen.dtype)
        E = self._fine_tuned_embeddings(R, texts, cache, frozen) if self.fine_tune else frozen
        self.item_embeddings_ = E
        self.half_life_ = None
        W = R
        if self.user_profile == "recency":
            W = self._recency_weights(data)
        profiles = _mean_profiles(W, E)
        active = np.abs(profiles).sum(axis=1) > 0
        population = profiles[active].mean(axis=0) if active.any() else np.zeros(E.shape[1])
        self.population_profile_ = population.astype(np.float32)
        if self.user_profile == "logistic":
            profiles = self._logistic_profiles(R, E, population)
        else:
            # Feedback that cancels out (or decays away) says nothing: use the population.
            profiles[~active] = self.population_profile_
        self.user_profiles_ = profiles.astype(np.float32)

    def _score_users(self, user_idx, item_idx=None):
        items = self.item_embeddings_ if item_idx is None else self.item_embeddings_[item_idx]
        return (self.user_profiles_[user_idx] @ items.T).astype(np.float64)

    def _score_pairs(self, user_idx, item_idx):
        return np.einsum(
            "ij,ij->i", self.user_profiles_[user_idx], self.item_embeddings_[item_idx]
        ).astype(np.float64)

    def _embed_items(self, item_idx):
        return self.item_embeddings_[item_idx]

    def _encode_options(self) -> dict:
        return {
            "normalize": self.normalize,
            "device": self.device,
            "batch_size": self.batch_size,
            "n_jobs": self.n_jobs,
            "verbose": self.verbose,
        }

    def _fine_tuned_embeddings(self, R, texts: list[str], cache, frozen) -> np.ndarray:
        """Fine-tuned embeddings (from ``cache`` when there) beside the weighted frozen ones."""
        seed = draw_seed(self.random_state)
        pairs = co_occurrence_pairs(R, self.fine_tune_epochs, np.random.default_rng(seed))
        if not len(pairs[0][0]):
            warnings.warn(
                "SentenceTransformerRecommender(fine_tune=True) found no user with two positive "
                "items, so no pair to fine-tune on: the base model's embeddings are used",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            return frozen
        params = {
            "epochs": self.fine_tune_epochs,
            "lr": float(self.fine_tune_lr),
            "layers": self.fine_tune_layers,
            "batch_size": self.fine_tune_batch_size,
            "seed": seed,
            "scale": SCALE,
            "normalize": self.normalize,
        }
        identity = fine_tune_identity(self.embedding_identity_, texts, pairs, params)
        self.embedding_identity_ = identity
        tuned = cache.lookup(texts, identity, normalize=self.normalize)
        if tuned is None:
            # Only trained layers read the model; the head trains on cached embeddings.
            base = None
            if self.fine_tune_layers:
                base = cache.load_model(self.model, self.device, verbose=self.verbose)
            raw = cache.encode(texts, self.model, **self._encode_options())
            with torch_threads(effective_n_jobs(self.n_jobs)):
                encoder, self.fine_tune_history_ = fine_tune(
                    base,
                    texts,
                    pairs,
                    frozen=raw,
                    layers=self.fine_tune_layers,
                    lr=self.fine_tune_lr,
                    batch_size=self.fine_tune_batch_size,
                    seed=seed,
                    device=self.device,
                    verbose=self.verbose,
                )
                tuned = cache.encode(
                    texts, self.model, identity=identity, encoder=encoder, **self._encode_options()
                )
        weight = float(self.fine_tune_frozen_weight)
        if weight == 0:
            return tuned
        norms = np.linalg.norm(frozen, axis=1, keepdims=True)
        unit = frozen / np.where(norms > 0, norms, 1.0)
        return np.hstack([np.sqrt(weight) * unit, tuned]).astype(np.float32)

    # --------------------------------------------------------------- profiles
    def _recency_weights(self, data) -> sp.csr_matrix:
        """The training matrix with each row's weight decayed by its age."""
        u = self._user_index.get_indexer(data.users)
        i = self._item_index.get_indexer(data.items)
        order = data.order()
        order = order[np.argsort(u[order], kind="stable")]  # by user, then time
        users = u[order]
        starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
        counts = np.diff(np.r_[starts, len(users)])
        last = np.repeat(starts + counts - 1, counts)  # row (in `order`) of each user's latest
        if data.timestamps is None:
            age = (last - np.arange(len(order))).astype(np.float64)
            gaps = np.ones(1)
        else:
            t = data.timestamps[order].astype(np.float64)
            age = t[last] - t
            same_user = users[1:] == users[:-1]
            gaps = np.diff(t)[same_user]
            gaps = gaps[gaps > 0]
        half_life = self.half_life
        if half_life is None:
            half_life = _AUTO_HALF_LIFE_GAPS * (float(np.median(gaps)) if len(gaps) else 1.0)
        self.half_life_ = float(half_life)
        decay = np.exp2(-age / half_life)
        w = signed_weights(None if data.y is None else data.y[order], len(order)) * decay
        return interaction_matrix(users, i[order], w, (len(self.users_), len(self.items_)))

    def _logistic_profiles(self, R, E: np.ndarray, population: np.ndarray) -> np.ndarray:
        """Per-user logistic regressions, each regularised toward a population prior."""
        rng = check_random_state(self.random_state)
        rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
        coo = R.tocoo()
        n_users, n_items = R.shape
        # Sampled negatives: unseen items, negative_samples per positive.
        n_pos = np.bincount(coo.row[coo.data > 0], minlength=n_users)
        per_user = self.negative_samples * np.maximum(n_pos, 1)
        su = np.repeat(np.arange(n_users), per_user)
        si = rng.randint(n_items, size=len(su))
        unseen = np.asarray(R[su, si]).ravel() == 0 if len(su) else np.zeros(0, dtype=bool)
        su, si = su[unseen], si[unseen]
        users = np.concatenate([coo.row, su])
        items = np.concatenate([coo.col, si])
        labels = np.concatenate([(coo.data > 0).astype(np.float64), np.zeros(len(su))])
        weights = np.concatenate([np.abs(coo.data), np.ones(len(su))]).astype(np.float64)
        # Prior: the population direction, scaled (with a bias) by a pooled logistic fit.
        a, b = fit_platt((E[items] @ population).astype(np.float64), labels)
        prior = a * population.astype(np.float64)
        lam = 1.0 / float(self.C)
        order = np.argsort(users, kind="stable")
        bounds = np.searchsorted(users[order], np.arange(n_users + 1))
        profiles = np.empty((n_users, E.shape[1]), dtype=np.float64)
        E64 = E.astype(np.float64)
        # Many tiny solves: threaded BLAS only adds overhead (and contention).
        with blas_limit(1):
            for user in range(n_users):
                rows = order[bounds[user] : bounds[user + 1]]
                profiles[user] = _newton_logistic(
                    E64[items[rows]], labels[rows], weights[rows], prior, b, lam
                )
        return profiles


def _mean_profiles(W: sp.csr_matrix, E: np.ndarray) -> np.ndarray:
    """Weighted mean of positive embeddings minus weighted mean of negative ones, per user."""
    pos = W.maximum(0)
    neg = (-W).maximum(0)
    out = np.zeros((W.shape[0], E.shape[1]), dtype=np.float64)
    for part, sign in ((pos, 1.0), (neg, -1.0)):
        total = np.asarray(part.sum(axis=1)).ravel()
        rows = total > 0
        if rows.any():
            scale = sp.diags(np.where(rows, 1.0 / np.where(rows, total, 1.0), 0.0))
            out += sign * np.asarray((scale @ part) @ E, dtype=np.float64)
    return out


def _newton_logistic(X, y, c, prior, bias, lam, steps: int = _NEWTON_STEPS) -> np.ndarray:
    """Minimise ``sum c * logloss(y, X w + bias) + lam / 2 * ||w - prior||^2`` by Newton.

    The minimiser is ``prior + X' a`` for some ``a``: with fewer examples than
    dimensions (the few-shot case) Newton runs on ``a`` with the ``n x n`` Gram
    matrix, otherwise on ``w`` with the ``d x d`` Hessian.
    """
    n, d = X.shape
    if n == 0:
        return prior.copy()
    base = X @ prior + bias
    if n <= d:
        G = X @ X.T
        a = np.zeros(n)
        for _ in range(steps):
            p = sigmoid(base + G @ a)
            r = c * (p - y) + lam * a
            step = np.linalg.solve((c * p * (1.0 - p))[:, None] * G + lam * np.eye(n), r)
            a -= step
            if np.abs(step).max() < 1e-8:
                break
        return prior + X.T @ a
    w = prior.copy()
    for _ in range(steps):
        p = sigmoid(base + X @ (w - prior))
        g = X.T @ (c * (p - y)) + lam * (w - prior)
        step = np.linalg.solve(X.T @ ((c * p * (1.0 - p))[:, None] * X) + lam * np.eye(d), g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w
