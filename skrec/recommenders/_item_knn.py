"""Item-item nearest neighbours (Sarwar et al., 2001; Deshpande & Karypis, 2004)."""

from __future__ import annotations

from numbers import Integral, Real

from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._implicit_mf import positive_part
from skrec.recommenders._knn_similarity import SIMILARITIES, top_k_similarities
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils._threads import effective_n_jobs

__all__ = ["ItemKNNRecommender"]


class ItemKNNRecommender(BaseRecommender):
    """Item-item neighbourhood model: a user's score for an item sums its similarities.

    ``fit`` keeps, for every item ``i``, its ``k`` most similar other items
    (``similarity_``, a sparse ``n_items x n_items`` matrix that is never
    held dense); the score of item ``j`` for user ``u`` is
    ``sum_i r_ui * s_ij`` over the user's items ``i`` of which ``j`` is a
    neighbour, ``r_ui`` being the user's (positive) strength. This is the
    scoring of ``implicit.nearest_neighbours``, whose similarities skrec
    reproduces exactly when ``shrinkage=0`` (tested).

    Similarities between the item vectors ``x_i`` (one entry per user, the
    strength of the interaction):

    ``"cosine"``
        ``x_i . x_j / (||x_i|| ||x_j||)``.
    ``"tfidf"``
        the cosine of TF-IDF-weighted vectors: ``w_ui = sqrt(r_ui) * idf_u``
        with ``idf_u = log(n_items) - log(1 + n_items(u))`` (a user who saw
        many items says less about each of them), as implicit's ``TFIDFRecommender``.
    ``"bm25"``
        the dot product of BM25-weighted vectors (Okapi BM25 with items as
        documents and users as terms): ``w_ui = r_ui (k1 + 1) / (k1 L_i + r_ui) * idf_u``,
        ``L_i = 1 - b + b |x_i|_1 / mean_j |x_j|_1``, as implicit's ``BM25Recommender``.
    ``"jaccard"``
        ``|U_i & U_j| / |U_i | U_j|`` on the sets of users ``U_i`` (strengths ignored).

    Shrinkage (Koren, 2008) multiplies a similarity by ``n_ij / (n_ij + shrinkage)``,
    ``n_ij`` being the number of users the two items share, so that similarities
    measured on few users count less. Only items with at least one common user
    are neighbours.

    Parameters
    ----------
    k : int, default=50
        Neighbours kept per item.
    similarity : {"cosine", "tfidf", "bm25", "jaccard"}, default="cosine"
        How two items' user vectors are compared (see above).
    shrinkage : float, default=0.0
        Support shrinkage ``n_ij / (n_ij + shrinkage)``; 0 leaves similarities unchanged.
    bm25_k1 : float, default=1.2
        BM25's term-frequency saturation (``similarity="bm25"`` only).
    bm25_b : float, default=0.75
        BM25's length normalisation, in [0, 1] (``similarity="bm25"`` only).
    n_jobs : int or None, default=None
        Threads computing the similarities and ranking in ``recommend`` (see
        :func:`skrec.utils.effective_n_jobs`). The result does not depend on it.
    verbose : bool, default=False
        Show a progress bar over the blocks of items while computing similarities.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of shape (n_items, n_items)
        Row ``i`` holds the ``k`` neighbours of item ``i`` (zero diagonal, float32).
    users_, items_ : ndarray
        Ids known from ``fit``, in index order.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training matrix (summed weights; explicit negatives are negative).
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    EASERecommender : Item-item weights learnt by ridge regression, dense.

    Notes
    -----
    The similarities are computed one block of items at a time as sparse
    products, and each block is cut to its top ``k`` at once, so memory follows
    the block and the ``n_items * k`` kept neighbours, not ``n_items**2``.
    Equal similarities keep the item of lower index. Only positive
    interactions enter the item vectors; explicit negatives are excluded from
    their user's rankings (``exclude_seen``). ``embed_items`` returns an item's
    row of ``similarity_``, dense.

    Examples
    --------
    >>> from skrec import ItemKNNRecommender
    >>> X = [["ann", "a"], ["ann", "b"], ["bob", "a"], ["bob", "b"], ["cy", "a"], ["cy", "c"]]
    >>> rec = ItemKNNRecommender(k=1, similarity="jaccard").fit(X)
    >>> rec.similarity_.toarray().round(3)  # a's nearest is b (2 of 3 users), c's is a (1 of 3)
    array([[0.   , 0.667, 0.   ],
           [0.667, 0.   , 0.   ],
           [0.333, 0.   , 0.   ]], dtype=float32)
    >>> rec.recommend(["cy"], n=1)[0].tolist()
    [['b']]
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "k": [Interval(Integral, 1, None, closed="left")],
        "similarity": [StrOptions(set(SIMILARITIES))],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "bm25_k1": [Interval(Real, 0, None, closed="left")],
        "bm25_b": [Interval(Real, 0, 1, closed="both")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        k: int = 50,
        *,
        similarity: str = "cosine",
        shrinkage: float = 0.0,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        n_jobs: int | None = None,
        verbose: bool = False,
        augmenter=None,
        handle_unknown: str = "popular",
    ):
        self.k = k
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    def _fit_model(self, R, data, previous) -> None:
        X = positive_part(R)
        self.similarity_ = top_k_similarities(
            X,
            k=self.k,
            similarity=self.similarity,
            shrinkage=float(self.shrinkage),
            bm25_k1=float(self.bm25_k1),
            bm25_b=float(self.bm25_b),
            n_jobs=effective_n_jobs(self.n_jobs),
            verbose=bool(self.verbose),
        )
        self._X = X

    def _score_users(self, user_idx, item_idx=None):
        scores = (self._X[user_idx] @ self.similarity_).toarray()
        return scores if item_idx is None else scores[:, item_idx]

    def _embed_items(self, item_idx):
        return self.similarity_[item_idx].toarray()
