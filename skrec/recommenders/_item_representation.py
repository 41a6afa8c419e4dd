"""Item vectors of the sequential transformer from ids, from text, or from both.

:class:`~skrec.TransformerRecommender` (``item_representation=``) represents
item ``i`` by

* ``"id"``: a learned embedding ``e_i`` (SASRec);
* ``"text"``: ``W t_i + b``, a learned projection of the item's frozen text
  embedding ``t_i`` (sentence-transformers, computed once through the
  embedding cache);
* ``"both"``: ``e_i + W t_i + b``.

The same vectors are the model's input embeddings and its output layer (the
item table scored against the hidden state, which the sampled losses index),
so every item with a text, including items that never occur in a training
sequence, gets a meaningful score from its text.

**Cold items keep no id embedding.** An item absent from every training
sequence has an id row nothing trained toward it; worse, the full-softmax and
sampled losses only ever push it *down* (it is a negative at every step), so
after training it ranks below chance. Under ``"both"``, such items use their
text part alone: :class:`TextItems` multiplies their id rows by 0 (``id_weight``).

Row layout (as in :class:`~skrec.recommenders._sasrec.SASRecModule`): 0 is
padding, ``1..n_items`` are items, ``n_items + 1`` is ``[MASK]``. Padding and
``[MASK]`` have no text (a zero row), so they are ``b`` plus their id row.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["MODES", "TextItems", "resolve_mode"]

#: The item representations ``TransformerRecommender`` offers.
MODES = ("id", "text", "both")


def resolve_mode(mode: str, has_text: bool) -> str:
    """The representation ``mode`` (``"auto"``: ``"both"`` with texts, else ``"id"``).

    Examples
    --------
    >>> from skrec.recommenders._item_representation import resolve_mode
    >>> resolve_mode("auto", True), resolve_mode("auto", False), resolve_mode("text", True)
    ('both', 'id', 'text')
    """
    if mode == "auto":
        return "both" if has_text else "id"
    if mode not in MODES:
        raise ValueError(f"item_representation must be 'auto' or one of {MODES}, got {mode!r}")
    if mode != "id" and not has_text:
        raise ValueError(
            f"item_representation={mode!r} needs item_text: give TransformerRecommender an "
            "item_text mapping (or function) and a text_model, or use item_representation='id'"
        )
    return mode


class TextItems(nn.Module):
    """The text part of the item vectors, and which items' id rows count.

    Parameters
    ----------
    text : array-like of shape (n_items, text_dim)
        Frozen text embedding of items ``1..n_items`` (row ``k`` is item ``k + 1``).
    embedding_dim : int
        Width of the item vectors.
    mode : {"text", "both"}
        ``"text"``: id rows of items never count; ``"both"``: they count for
        the items of ``known``.
    known : array-like of bool of shape (n_items,), default=None
        Items that occur in the training sequences; None: all of them.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skrec.recommenders._item_representation import TextItems
    >>> ids = torch.nn.Embedding(5, 4, padding_idx=0)  # 3 items + padding + [MASK]
    >>> text = TextItems(np.eye(3, 6), 4, "both", known=[True, True, False])
    >>> text.table(ids).shape, text.id_weight.tolist()
    (torch.Size([5, 4]), [0.0, 1.0, 1.0, 0.0, 1.0])
    """

    def __init__(self, text, embedding_dim: int, mode: str, known=None):
        super().__init__()
        if mode not in ("text", "both"):
            raise ValueError(f"TextItems mode must be 'text' or 'both', got {mode!r}")
        text = torch.as_tensor(np.asarray(text, dtype=np.float32))
        n_items = text.shape[0]
        padded = torch.zeros((n_items + 2, text.shape[1]), dtype=torch.float32)
        padded[1 : n_items + 1] = text
        self.register_buffer("text", padded)
        weight = torch.zeros(n_items + 2)
        if mode == "both":
            weight[1 : n_items + 1] = (
                1.0 if known is None else torch.as_tensor(np.asarray(known, dtype=np.float32))
            )
        weight[n_items + 1] = 1.0  # [MASK] has no text: its id row is all it has
        self.register_buffer("id_weight", weight)
        self.projection = nn.Linear(text.shape[1], embedding_dim)

    def forward(self, ids: nn.Embedding, seq: torch.Tensor) -> torch.Tensor:
        """Item vectors of ``seq`` (any shape of row indices), given the id embedding."""
        return ids(seq) * self.id_weight[seq].unsqueeze(-1) + self.projection(self.text[seq])

    def table(self, ids: nn.Embedding) -> torch.Tensor:
        """Every row's vector, shape ``(n_items + 2, embedding_dim)``."""
        return ids.weight * self.id_weight.unsqueeze(-1) + self.projection(self.text)
