"""Active learning over content: ``text_coverage``.

Which items to ask a new user about? Popular ones are likely to be known
(Rashid et al., IUI 2002), but the most popular items of a catalogue are much
alike (blockbusters of three genres), so their answers repeat each other.
``text_coverage`` picks items that *cover the text-embedding space* of the
catalogue, each pick far from everything the user has already been asked,
weighted by popularity: a popularity-weighted k-center greedy (Sener &
Savarese, ICLR 2018, "Core-set") in the space of item texts. It reads texts,
not the model's item factors, so it works the same with a content, hybrid or
collaborative learner, and for items the model has never seen.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd

from skrec.samplers._base import BaseSampler, _item_lookup, _labelled_by_user, find_recommenders
from skrec.samplers._diversity import _greedy_batch, _sq_distances
from skrec.utils._embedding_cache import EmbeddingCache
from skrec.utils._sklearn_compat import Interval
from skrec.utils.validation import item_texts

__all__ = ["TextCoverageSampler"]

_DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Distance of a pool row whose user has nothing labelled: the diameter of the unit sphere.
_FAR = 2.0


class TextCoverageSampler(BaseSampler):
    """Popularity-weighted k-center greedy in the text-embedding space of the catalogue.

    A pool row ``(user, item)`` scores ``w(item) * d(user, item)``, where ``d``
    is the Euclidean distance between the item's unit text embedding and the
    nearest item the user has labelled (2, the sphere's diameter, when the
    user has nothing labelled) and ``w = ((1 + pop) / (1 + max_pop)) **
    popularity_weight`` with ``pop`` the item's ``item_popularity_`` in the
    (first) recommender. Rows are picked one at a time, best first; a picked
    row counts as labelled for every user from then on, so one batch spreads
    over the space. A new user is first asked about the most popular item, then
    about popular items unlike it, and so on.

    Text embeddings are those of :class:`~skrec.SentenceTransformerRecommender`
    (normalised), centred on the mean of the items scored and rescaled to unit
    length; give both one :class:`~skrec.utils.EmbeddingCache` and the
    catalogue is encoded once.

    Parameters
    ----------
    item_text : mapping, pandas.Series or callable, default=None
        Item id -> text (or a function of the id). Required; must cover every
        pool item and every labelled item.
    model : str or path-like, default="sentence-transformers/all-MiniLM-L6-v2"
        The sentence-transformers model (name or local folder).
    popularity_weight : float, default=1.0
        Exponent of the popularity weight: 0 is plain k-center greedy in text
        space; larger values favour items more users know.
    device : str, default=None
        Device of the text model (None: sentence-transformers chooses).
    batch_size : int, default=64
        Encoding batch size.
    cache : EmbeddingCache, str, path-like or None, default=None
        Where embeddings outlive a query (see :class:`~skrec.utils.EmbeddingCache`).
        In an active-learning loop, give one: every round queries again.
    n_jobs : int or None, default=None
        Threads of the text model while encoding.
    random_state : int, RandomState instance or None, default=None
        Breaks ties.

    See Also
    --------
    DiversitySampler : k-center greedy in the recommender's ``embed_items`` space.
    PopularitySampler : Most popular items first.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.samplers import TextCoverageSampler
    >>> text = {"a": "space rocket", "b": "rocket launch", "c": "pasta recipe"}
    >>> rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"], [3, "b"], [3, "c"]])
    >>> sampler = TextCoverageSampler(item_text=text, random_state=0)
    >>> sampler(rec, [[9, "a"], [9, "b"], [9, "c"]], n_instances=2)  # doctest: +SKIP
    array([0, 2])
    """

    _parameter_constraints: dict = {
        "item_text": [None, Mapping, pd.Series, callable],
        "model": [str, os.PathLike],
        "popularity_weight": [Interval(Real, 0, None, closed="left")],
        "device": [None, str],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "cache": [None, str, os.PathLike, EmbeddingCache],
        "n_jobs": [None, Interval(Integral, None, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        item_text=None,
        *,
        model: str | os.PathLike = _DEFAULT_MODEL,
        popularity_weight: float = 1.0,
        device: str | None = None,
        batch_size: int = 64,
        cache=None,
        n_jobs: int | None = None,
        random_state=None,
    ):
        self.item_text = item_text
        self.model = model
        self.popularity_weight = popularity_weight
        self.device = device
        self.batch_size = batch_size
        self.cache = cache
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        from skrec.augmenters._text import text_space  # noqa: PLC0415 (augmenters load plugins)

        rec = find_recommenders(learner)[0]
        user_codes, users = pd.factorize(pool.users)
        history = _labelled_by_user(learner, rec, np.asarray(users))
        parts = [pool.items, *history]
        if len({p.dtype for p in parts}) > 1:
            parts = [p.astype(object) for p in parts]
        codes, distinct = pd.factorize(np.concatenate(parts))
        texts = item_texts(self.item_text, np.asarray(distinct), "TextCoverageSampler")
        E = text_space(
            texts,
            self.model,
            self.cache,
            device=self.device,
            batch_size=self.batch_size,
            n_jobs=self.n_jobs,
        )
        pool_emb = E[codes[: len(pool)]]
        lengths = np.array([len(h) for h in history], dtype=np.int64)
        labelled = np.split(codes[len(pool) :], np.cumsum(lengths)[:-1])
        dist = np.full(len(pool), _FAR)
        order = np.argsort(user_codes, kind="stable")
        bounds = np.searchsorted(user_codes[order], np.arange(len(labelled) + 1))
        for code, items in enumerate(labelled):
            rows = order[bounds[code] : bounds[code + 1]]
            if len(items) and len(rows):
                dist[rows] = np.sqrt(_sq_distances(pool_emb[rows], E[items]).min(axis=1))
        pop = _item_lookup(rec, pool.items, rec.item_popularity_)
        weight = ((1.0 + pop) / (1.0 + pop.max(initial=0.0))) ** self.popularity_weight
        return _greedy_batch(pool_emb, dist, n, rng, lambda d: weight * d)
