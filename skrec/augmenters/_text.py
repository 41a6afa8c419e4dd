"""Semantic sample expansion: ``text_neighbours``.

The counterpart of ``similar_items`` whose neighbours come from what items
*say*: cosine similarity of their sentence-transformers text embeddings
(L2-normalised, then centred on the catalogue mean, as
:class:`~skrec.SentenceTransformerRecommender` does by default). Co-occurrence
cannot reach an item nobody interacted with; text can, so this augmenter
brings cold items into the training data of any recommender, and gives
sparse users more than their handful of rows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd

from skrec.augmenters._base import BaseAugmenter, make_frame
from skrec.augmenters._similarity import item_neighbours
from skrec.utils._embedding_cache import EmbeddingCache, resolve_cache
from skrec.utils._sklearn_compat import Interval
from skrec.utils.validation import Interactions, item_text_ids, item_texts

__all__ = ["TextNeighboursAugmenter", "text_space"]

_DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Floats of one dense similarity block.
_BLOCK_FLOATS = 1 << 22


def text_space(texts: list[str], model, cache, **encode) -> np.ndarray:
    """Unit-length, catalogue-centred text embeddings (float64), one row per text.

    Centring removes the direction every sentence embedding shares, which
    otherwise makes every item look alike.
    """
    E = resolve_cache(cache).encode(texts, model, normalize=True, **encode).astype(np.float64)
    E -= E.mean(axis=0)
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    return E / np.where(norms > 0, norms, 1.0)


class TextNeighboursAugmenter(BaseAugmenter):
    """Add down-weighted pseudo-interactions with the items nearest in text space.

    Two kinds of rows are added (original rows are kept unchanged):

    * **sparse users**: for every positive row ``(user, item, y)`` of a user
      with at most ``max_history`` positive items, the ``k`` items whose text is
      most similar to ``item``'s (anywhere in the catalogue, cold items
      included) become rows ``(user, neighbour, weight * y)``;
    * **cold items** (``cold_items=True``): every item of ``item_text`` that
      has no positive row in ``X`` takes the ``k`` items with a positive row
      whose text is most similar to its own, and each of their positive rows
      ``(user, neighbour, y)`` lends it a row ``(user, cold item, weight * y)``.
      A recommender that learns only from interactions (ALS, EASE) then
      knows the cold item, placed where its textual neighbours are.

    A (user, item) pair the user already has is never added; a pair reached
    several times is added once, with the largest weight; an added row keeps
    its source row's timestamp. Neighbours of zero or negative similarity are
    never used. Embeddings are computed through ``cache`` (the same key as
    :class:`~skrec.SentenceTransformerRecommender`'s with ``normalize=True``:
    give both one :class:`~skrec.utils.EmbeddingCache` and the catalogue is
    encoded once).

    Parameters
    ----------
    item_text : mapping, pandas.Series or callable, default=None
        Item id -> text (or a function of the id). Required. A mapping's items
        that are absent from ``X`` are the cold items; with a function, only
        the items of ``X`` are known.
    model : str or path-like, default="sentence-transformers/all-MiniLM-L6-v2"
        The sentence-transformers model (name or local folder).
    k : int, default=5
        Neighbours per source row (sparse users) and per cold item.
    weight : float, default=0.3
        Strength of an added row relative to its source row.
    max_history : int or None, default=None
        Users with at most this many positive items are expanded; None expands
        every user, 0 none (only cold items are added).
    cold_items : bool, default=True
        Add rows for the cold items of ``item_text``.
    device : str, default=None
        Device of the text model (None: sentence-transformers chooses).
    batch_size : int, default=64
        Encoding batch size.
    cache : EmbeddingCache, str, path-like or None, default=None
        Where embeddings outlive a call (see :class:`~skrec.utils.EmbeddingCache`).
    n_jobs : int or None, default=None
        Threads of the text model while encoding.
    verbose : bool, default=False
        Show the encoder's progress bar.

    See Also
    --------
    SimilarItemsAugmenter : The same expansion with co-occurrence neighbours.

    Notes
    -----
    Deterministic: there is no ``random_state``.

    Examples
    --------
    >>> from skrec.augmenters import TextNeighboursAugmenter
    >>> text = {"a": "space rocket", "b": "rocket launch", "c": "pasta recipe"}
    >>> aug = TextNeighboursAugmenter(item_text=text, k=1)
    >>> X_new, y_new = aug.fit_resample([["ann", "a"], ["bob", "c"]])  # doctest: +SKIP
    >>> X_new.values.tolist()[2:], y_new[2:].tolist()  # doctest: +SKIP
    ([['ann', 'b']], [0.3])
    """

    _parameter_constraints: dict = {
        "item_text": [None, Mapping, pd.Series, callable],
        "model": [str, os.PathLike],
        "k": [Interval(Integral, 1, None, closed="left")],
        "weight": [Interval(Real, 0, None, closed="neither")],
        "max_history": [None, Interval(Integral, 0, None, closed="left")],
        "cold_items": ["boolean"],
        "device": [None, str],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "cache": [None, str, os.PathLike, EmbeddingCache],
        "n_jobs": [None, Interval(Integral, None, None, closed="neither")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        item_text=None,
        *,
        model: str | os.PathLike = _DEFAULT_MODEL,
        k: int = 5,
        weight: float = 0.3,
        max_history: int | None = None,
        cold_items: bool = True,
        device: str | None = None,
        batch_size: int = 64,
        cache=None,
        n_jobs: int | None = None,
        verbose: bool = False,
    ):
        self.item_text = item_text
        self.model = model
        self.k = k
        self.weight = weight
        self.max_history = max_history
        self.cold_items = cold_items
        self.device = device
        self.batch_size = batch_size
        self.cache = cache
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _catalogue(self, data: Interactions):
        """Codes of the rows' items, and the ids of every item (X's first, then cold ones)."""
        owner = "TextNeighboursAugmenter"
        codes, ids = pd.factorize(data.items)
        ids = np.asarray(ids)
        extra = item_text_ids(self.item_text, owner)
        if extra is not None and self.cold_items:
            extra = extra[pd.Index(ids).get_indexer(extra) < 0]
            if len(extra):
                if extra.dtype != ids.dtype:
                    ids, extra = ids.astype(object), extra.astype(object)
                ids = np.concatenate([ids, extra])
        elif extra is None:
            item_texts(self.item_text, ids[:0], owner)  # None is an error, a function is fine
        return codes.astype(np.int64), ids

    def _fit_resample(self, data: Interactions):
        y = data.y_or_ones()
        icodes, item_ids = self._catalogue(data)
        n_items = len(item_ids)
        texts = item_texts(self.item_text, item_ids, "TextNeighboursAugmenter")
        E = text_space(
            texts,
            self.model,
            self.cache,
            device=self.device,
            batch_size=self.batch_size,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        ucodes = pd.factorize(data.users)[0].astype(np.int64)
        positive = np.flatnonzero(y > 0)
        src, cand = [], []
        if self.max_history != 0:
            s, c = self._sparse_user_rows(E, ucodes, icodes, positive)
            src.append(s)
            cand.append(c)
        if self.cold_items:
            s, c = self._cold_item_rows(E, icodes, positive, n_items)
            src.append(s)
            cand.append(c)
        src = np.concatenate(src) if src else np.zeros(0, dtype=np.int64)
        cand = np.concatenate(cand) if cand else np.zeros(0, dtype=np.int64)
        keys = ucodes[src] * np.int64(n_items) + cand
        fresh = ~np.isin(keys, ucodes * np.int64(n_items) + icodes)
        src, cand, keys = src[fresh], cand[fresh], keys[fresh]
        w = self.weight * y[src]
        order = np.lexsort((-w, keys))  # by pair, largest weight first
        _, first = np.unique(keys[order], return_index=True)
        keep = np.sort(order[first])
        src, cand, w = src[keep], cand[keep], w[keep]
        items = item_ids[cand]
        base_items = data.items
        if items.dtype != base_items.dtype:
            items, base_items = items.astype(object), base_items.astype(object)
        times = None
        if data.timestamps is not None:
            times = np.concatenate([data.timestamps, data.timestamps[src]])
        X_new = make_frame(
            np.concatenate([data.users, data.users[src]]),
            np.concatenate([base_items, items]),
            times,
        )
        return X_new, np.concatenate([y, w])

    def _sparse_user_rows(self, E, ucodes, icodes, positive):
        """(source row, neighbour item code) of the positive rows of sparse users."""
        if self.max_history is not None:
            distinct = np.unique(ucodes[positive] * np.int64(len(E)) + icodes[positive])
            n_items_of = np.bincount(distinct // len(E), minlength=ucodes.max(initial=-1) + 1)
            positive = positive[n_items_of[ucodes[positive]] <= self.max_history]
        if not len(positive):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        nbrs, _ = item_neighbours(E, self.k)
        src = np.repeat(positive, self.k)
        cand = nbrs[icodes[src], np.tile(np.arange(self.k), len(positive))]
        return src[cand >= 0], cand[cand >= 0]

    def _cold_item_rows(self, E, icodes, positive, n_items):
        """(source row, cold item code): each cold item borrows its warm neighbours' rows."""
        warm = np.zeros(n_items, dtype=bool)
        warm[icodes[positive]] = True
        cold, warm_items = np.flatnonzero(~warm), np.flatnonzero(warm)
        if not len(cold) or not len(warm_items):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        k = min(self.k, len(warm_items))
        pairs_cold, pairs_warm = [], []
        block = max(1, _BLOCK_FLOATS // len(warm_items))
        for lo in range(0, len(cold), block):
            rows = cold[lo : lo + block]
            sims = E[rows] @ E[warm_items].T
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            top_sims = np.take_along_axis(sims, top, axis=1)
            ok = top_sims > 1e-12
            pairs_cold.append(np.repeat(rows, k)[ok.ravel()])
            pairs_warm.append(warm_items[top][ok])
        pairs_cold, pairs_warm = np.concatenate(pairs_cold), np.concatenate(pairs_warm)
        # The positive rows of each warm item, grouped by item.
        by_item = positive[np.argsort(icodes[positive], kind="stable")]
        starts = np.searchsorted(icodes[by_item], np.arange(n_items + 1))
        counts = starts[pairs_warm + 1] - starts[pairs_warm]
        offsets = np.repeat(starts[pairs_warm] - np.cumsum(counts) + counts, counts)
        src = by_item[np.arange(counts.sum()) + offsets]
        return src, np.repeat(pairs_cold, counts)
