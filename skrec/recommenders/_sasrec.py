"""The SASRec-family sequence encoder behind :class:`TransformerRecommender`.

A plain :class:`torch.nn.Module` with no side effects at import: item and
position embeddings, pre-norm multi-head self-attention blocks
(:func:`torch.nn.functional.scaled_dot_product_attention`) and an item table
shared with the output layer (learned per id, or built from item text: see
:mod:`skrec.recommenders._item_representation`). Index 0 of the item table is padding, indices
``1..n_items`` are items and ``n_items + 1`` is the ``[MASK]`` token of masked
item prediction and of the ``mask`` sequence augmenter.

Sequences are **left-padded**: the most recent item is always in the last
column, and position embeddings count from the end, so a batch can be trimmed
to its longest sequence without changing any output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skrec.recommenders._item_representation import TextItems

__all__ = ["SASRecModule", "trim_padding"]


def trim_padding(seq: torch.Tensor, *others: torch.Tensor):
    """Drop the leading columns that are padding in every row of ``seq``.

    ``others`` (tensors with the same first two dimensions) are cut alike.
    Returns ``seq`` alone, or a tuple ``(seq, *others)`` when others are given.
    """
    filled = (seq != 0).any(dim=0)
    first = int(filled.to(torch.uint8).argmax()) if bool(filled.any()) else seq.shape[1] - 1
    if first:
        seq = seq[:, first:]
        others = tuple(t[:, first:] for t in others)
    return (seq, *others) if others else seq


class _AttentionBlock(nn.Module):
    """Pre-norm block: masked multi-head self-attention, then a feed-forward layer."""

    def __init__(self, dim: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.attention_dropout = dropout
        self.attention_norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.attention_out = nn.Linear(dim, dim)
        self.feedforward_norm = nn.LayerNorm(dim)
        self.feedforward = nn.Sequential(
            nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        batch, length, dim = x.shape
        qkv = self.qkv(self.attention_norm(x))
        q, k, v = qkv.view(batch, length, 3, self.n_heads, dim // self.n_heads).permute(
            2, 0, 3, 1, 4
        )
        attended = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=allowed,
            dropout_p=self.attention_dropout if self.training else 0.0,
        )
        attended = attended.transpose(1, 2).reshape(batch, length, dim)
        x = x + self.dropout(self.attention_out(attended))
        return x + self.dropout(self.feedforward(self.feedforward_norm(x)))


class SASRecModule(nn.Module):
    """Self-attentive sequence encoder with a tied item table (Kang & McAuley, 2018).

    Parameters
    ----------
    n_items : int
        Number of items; the item table has ``n_items + 2`` rows (padding,
        items, ``[MASK]``).
    embedding_dim : int, default=64
        Width of every hidden state; must be divisible by ``n_heads``.
    n_layers : int, default=2
        Attention blocks.
    n_heads : int, default=2
        Attention heads per block.
    dropout : float, default=0.2
        Dropout on embeddings, attention weights and block outputs.
    max_len : int, default=50
        Longest sequence (number of position embeddings).
    item_text : array-like of shape (n_items, text_dim), default=None
        Frozen text embeddings of the items, for ``item_representation``
        ``"text"`` or ``"both"`` (see :mod:`skrec.recommenders._item_representation`).
    item_representation : {"id", "text", "both"}, default="id"
        Item vectors from a learned id embedding, a projection of the text
        embedding, or their sum.
    known_items : array-like of bool of shape (n_items,), default=None
        Items of the training sequences; under ``"both"`` the others use their
        text part alone. None: all items.

    Examples
    --------
    >>> import torch
    >>> from skrec.recommenders._sasrec import SASRecModule
    >>> module = SASRecModule(n_items=10, embedding_dim=8, n_layers=1, max_len=4).eval()
    >>> hidden = module(torch.tensor([[0, 3, 4, 5], [0, 0, 1, 2]]))
    >>> hidden.shape, module.item_table().shape
    (torch.Size([2, 4, 8]), torch.Size([10, 8]))
    """

    def __init__(
        self,
        n_items: int,
        embedding_dim: int = 64,
        n_layers: int = 2,
        n_heads: int = 2,
        dropout: float = 0.2,
        max_len: int = 50,
        item_text=None,
        item_representation: str = "id",
        known_items=None,
    ):
        super().__init__()
        if embedding_dim % n_heads:
            raise ValueError(
                f"embedding_dim={embedding_dim} must be divisible by n_heads={n_heads}"
            )
        self.n_items = n_items
        self.max_len = max_len
        self.mask_token = n_items + 1
        self.item_embedding = nn.Embedding(n_items + 2, embedding_dim, padding_idx=0)
        self.position_embedding = nn.Embedding(max_len, embedding_dim)
        self.input_norm = nn.LayerNorm(embedding_dim)
        self.input_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            _AttentionBlock(embedding_dim, n_heads, dropout) for _ in range(n_layers)
        )
        self.output_norm = nn.LayerNorm(embedding_dim)
        self.text_items = None
        if item_representation != "id":
            if item_text is None:
                raise ValueError(f"item_representation={item_representation!r} needs item_text")
            self.text_items = TextItems(item_text, embedding_dim, item_representation, known_items)
        self.apply(_init_weights)

    def embed(self, seq: torch.Tensor) -> torch.Tensor:
        """Item vectors of the row indices ``seq`` (the input side of the item table)."""
        if self.text_items is None:
            return self.item_embedding(seq)
        return self.text_items(self.item_embedding, seq)

    def item_table(self) -> torch.Tensor:
        """Vectors of items ``1..n_items``: the output layer's weights."""
        if self.text_items is None:
            return self.item_embedding.weight[1 : self.n_items + 1]
        return self.text_items.table(self.item_embedding)[1 : self.n_items + 1]

    def forward(self, seq: torch.Tensor, causal: bool = True) -> torch.Tensor:
        """Hidden state at every position of left-padded item sequences.

        Parameters
        ----------
        seq : LongTensor of shape (batch, length)
            Item indices, 0 for padding, at most ``max_len`` columns.
        causal : bool, default=True
            Each position attends only to itself and earlier positions (next
            item prediction); False attends in both directions (masked item
            prediction).

        Returns
        -------
        Tensor of shape (batch, length, embedding_dim)
            Zero at padding positions.
        """
        length = seq.shape[1]
        if length > self.max_len:
            raise ValueError(f"sequences have {length} columns, more than max_len={self.max_len}")
        keep = seq != 0
        positions = torch.arange(self.max_len - length, self.max_len, device=seq.device)
        x = self.embed(seq) + self.position_embedding(positions)
        x = self.input_dropout(self.input_norm(x)) * keep.unsqueeze(-1)
        # (batch, 1, query, key): padded keys are hidden; every query sees itself,
        # so that rows of pure padding never softmax over nothing (NaN).
        allowed = keep[:, None, None, :]
        if causal:
            allowed = (
                allowed & torch.ones(length, length, dtype=torch.bool, device=seq.device).tril()
            )
        allowed = allowed | torch.eye(length, dtype=torch.bool, device=seq.device)
        for block in self.blocks:
            x = block(x, allowed) * keep.unsqueeze(-1)
        return self.output_norm(x) * keep.unsqueeze(-1)

    def last_hidden(self, seq: torch.Tensor, causal: bool = True) -> torch.Tensor:
        """Hidden state of the most recent item of each sequence, shape (batch, dim)."""
        return self(trim_padding(seq), causal=causal)[:, -1]


def _init_weights(layer: nn.Module) -> None:
    # Small normal initialisation, as in BERT and the RecBole SASRec.
    if isinstance(layer, nn.Linear | nn.Embedding):
        nn.init.normal_(layer.weight, std=0.02)
        if isinstance(layer, nn.Linear) and layer.bias is not None:
            nn.init.zeros_(layer.bias)
        if isinstance(layer, nn.Embedding) and layer.padding_idx is not None:
            with torch.no_grad():
                layer.weight[layer.padding_idx].zero_()
    elif isinstance(layer, nn.LayerNorm):
        nn.init.ones_(layer.weight)
        nn.init.zeros_(layer.bias)
