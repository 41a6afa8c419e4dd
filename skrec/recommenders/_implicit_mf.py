"""What the recommenders on implicit's factor models share: seeds, threads, GPU choice, scores.

``BPRRecommender`` and ``LMFRecommender`` build an implicit model in ``fit``
from exactly their own parameters, pass it the positive part of the training
matrix, and score with the factors implicit learnt (a dot product, each
model's bias terms included as implicit stores them).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from skrec.recommenders._base import BaseRecommender
from skrec.utils._optional import import_optional

__all__ = ["ImplicitFactorModel", "implicit_seed", "positive_part"]


def implicit_seed(random_state):
    """``random_state`` as implicit accepts it.

    implicit takes ints, None and Generators; its ``RandomState`` branch is
    broken in 0.7, so a ``RandomState`` gives an int seed drawn from it.
    """
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return random_state


def positive_part(R: sp.csr_matrix) -> sp.csr_matrix:
    """The strictly positive entries of ``R`` (float32, sorted indices, no stored zeros).

    implicit's BPR and LMF read every stored entry as a liked item (BPR
    ignores its value), so explicit negatives and weight-0 rows must not reach them.
    """
    P = R.maximum(0).tocsr().astype(np.float32)
    P.eliminate_zeros()
    P.sort_indices()
    return P


def use_gpu(setting, feature: str) -> bool:
    """Resolve a ``use_gpu`` parameter (``"auto"`` or bool) against implicit's CUDA build."""
    gpu = import_optional("implicit.gpu", feature)
    if setting == "auto":
        return bool(gpu.HAS_CUDA)
    if setting and not gpu.HAS_CUDA:
        raise ValueError(
            "use_gpu=True but the installed implicit was built without CUDA; "
            "use use_gpu='auto' or False, or install implicit with CUDA support"
        )
    return bool(setting)


class ImplicitFactorModel(BaseRecommender):
    """Scores and embeddings of a model whose state is ``user_factors_`` and ``item_factors_``.

    Subclasses implement ``_fit_model`` and set both arrays (float32, one row
    per user / item, implicit's bias columns included).
    """

    def _score_users(self, user_idx, item_idx=None):
        items = self.item_factors_ if item_idx is None else self.item_factors_[item_idx]
        return self.user_factors_[user_idx] @ items.T

    def _score_pairs(self, user_idx, item_idx):
        return np.einsum(
            "ij,ij->i", self.user_factors_[user_idx], self.item_factors_[item_idx]
        ).astype(np.float64)

    def _embed_items(self, item_idx):
        return self.item_factors_[item_idx]
