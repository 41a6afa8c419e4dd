"""Contrastive fine-tuning of a sentence-transformers model on items that co-occur in histories.

:class:`~skrec.SentenceTransformerRecommender` with ``fine_tune=True`` adapts
its text encoder to the interactions before it embeds the catalogue:

* **Pairs** (:func:`co_occurrence_pairs`). Each epoch, every item with a
  positive interaction (of a user with two or more) anchors one pair; its
  partner is another positive item of a user who has the anchor (a random such
  user, then a random other item of theirs). Item-balanced: popular items do
  not dominate the gradient, and an epoch costs one pass over the warm
  catalogue whatever the number of interactions.
* **Loss** (:func:`in_batch_loss`). The in-batch contrastive loss of
  sentence-transformers' ``MultipleNegativesRankingLoss`` (cross-entropy of
  scaled cosine similarities, the partner as the target), with the batch's
  other *anchors* as negatives: a uniform sample of the catalogue, where the
  other partners would be a popularity-weighted one and teach the model to
  rank rare items first.
* **What is trained.** A linear head after the model, initialised to the
  identity (training starts from the base model), and optionally the top
  ``layers`` transformer layers of a BERT-style model
  (``auto_model.encoder.layer``: BERT, MiniLM, MPNet, RoBERTa, ...). With the
  head alone (the default) the frozen embeddings are computed once, through
  the embedding cache, and an epoch costs almost nothing: MovieLens-100K
  trains in seconds on a CPU. With top layers, the layers below them are
  frozen and run once per text before training, so an epoch costs the top
  layers' forward and backward only (a model of another structure, e.g.
  static word embeddings, is then trained whole).
* **Seeds.** Pairs, batch order and dropout come from one seed, inside
  :func:`torch.random.fork_rng`: the global RNGs are untouched.

The base model is never modified: layers are trained on a copy. The result
is a :class:`TunedEncoder`, which an :class:`~skrec.utils.EmbeddingCache`
encodes with like with any sentence-transformers model.
"""

from __future__ import annotations

import copy
import hashlib
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

from skrec.utils._embedding_cache import text_hash
from skrec.utils._warnings import user_stacklevel

__all__ = [
    "TunedEncoder",
    "co_occurrence_pairs",
    "fine_tune",
    "fine_tune_identity",
    "in_batch_loss",
]

#: Scale (inverse temperature) of the cosine similarities: MultipleNegativesRankingLoss's default.
SCALE = 20.0
# Texts per forward pass when running the frozen layers.
_PREFIX_BATCH = 64
# The tokenizer outputs a BERT-style model takes.
_MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Largest difference allowed between the cut model and the whole model before training.
_CUT_TOLERANCE = 1e-4


def co_occurrence_pairs(R: sp.csr_matrix, epochs: int, rng: np.random.Generator) -> list:
    """One list of ``(anchors, partners)`` item index arrays per epoch.

    Parameters
    ----------
    R : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Interactions; entries > 0 are positives.
    epochs : int
        Number of epochs to draw pairs for.
    rng : numpy.random.Generator
        Source of the draws.

    Returns
    -------
    list of tuple of ndarray
        Per epoch, ``anchors`` (every item with a co-occurring item, in random
        order) and their ``partners`` (``partners[k] != anchors[k]``, both
        positives of one user).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from skrec.recommenders._fine_tune import co_occurrence_pairs
    >>> R = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]))
    >>> [(a, p)] = co_occurrence_pairs(R, 1, np.random.default_rng(0))
    >>> sorted(a.tolist()), all(p != a)
    ([0, 1, 2], True)
    """
    P = (R > 0).astype(np.float32).tocsr()
    P.sort_indices()
    lengths = np.diff(P.indptr)
    P = sp.diags((lengths >= 2).astype(np.float32)) @ P  # users with a partner to offer
    P.eliminate_zeros()
    P = P.tocsr()
    P.sort_indices()
    C = P.tocsc()
    C.sort_indices()
    n_items = P.shape[1]
    anchors_all = np.flatnonzero(np.diff(C.indptr) > 0)
    # Row-major keys of the stored entries: finds an item's position in a user's row.
    rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
    keys = rows.astype(np.int64) * n_items + P.indices
    out = []
    for _ in range(epochs):
        anchors = rng.permutation(anchors_all)
        n_users = np.diff(C.indptr)[anchors]
        users = C.indices[C.indptr[anchors] + (rng.random(len(anchors)) * n_users).astype(np.int64)]
        length = np.diff(P.indptr)[users]
        own = np.searchsorted(keys, users.astype(np.int64) * n_items + anchors) - P.indptr[users]
        pick = (rng.random(len(anchors)) * (length - 1)).astype(np.int64)
        pick += pick >= own  # skip the anchor itself
        out.append((anchors, P.indices[P.indptr[users] + pick].astype(np.int64)))
    return out


def fine_tune_identity(base_identity: str, texts: list[str], pairs: list, params: dict) -> str:
    """The cache identity of a model fine-tuned from ``base_identity``.

    The base identity plus a digest of everything the training saw: the
    parameters (seed included) and the text of every pair in training order.
    Two fits share embeddings exactly when they would train the same weights.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.recommenders._fine_tune import fine_tune_identity
    >>> pairs = [(np.array([0]), np.array([1]))]
    >>> a = fine_tune_identity("m", ["x", "y"], pairs, {"lr": 1e-4})
    >>> a.startswith("m+fine-tuned:"), a == fine_tune_identity("m", ["x", "y"], pairs, {"lr": 2e-4})
    (True, False)
    """
    digest = hashlib.blake2b(digest_size=12)
    digest.update(repr(sorted(params.items())).encode())
    hashes = [text_hash(t) for t in texts]
    for anchors, partners in pairs:
        digest.update(f"epoch:{len(anchors)};".encode())
        for a, p in zip(anchors.tolist(), partners.tolist()):
            digest.update(f"{hashes[a]}>{hashes[p]};".encode())
    return f"{base_identity}+fine-tuned:{digest.hexdigest()}"


def in_batch_loss(anchor_emb, partner_emb, anchor_ids, partner_ids, scale: float = SCALE):
    """In-batch contrastive loss whose negatives are the batch's other anchors.

    Row ``i`` scores its partner and every other anchor of the batch,
    ``scale * cos(anchor_i, .)``, and the loss is the cross-entropy with the
    partner as the target: the loss of sentence-transformers'
    ``MultipleNegativesRankingLoss`` with the other anchors, not the other
    partners, as in-batch negatives. Anchors are a uniform sample of the warm
    catalogue, partners a popularity-weighted one: against partners the model
    learns ``P(partner | anchor) / P(partner)``, which ranks rare items first,
    against uniform negatives it learns ``P(partner | anchor)`` (the reasoning
    is in ``docs/decisions.md``; the two were not benchmarked against each
    other). An anchor that is the same item as ``partner_i`` is
    masked: an item is not a negative of itself.

    Examples
    --------
    >>> import torch
    >>> from skrec.recommenders._fine_tune import in_batch_loss
    >>> a, p = torch.eye(3), torch.eye(3)
    >>> float(in_batch_loss(a, p, torch.tensor([0, 1, 2]), torch.tensor([5, 6, 7]))) < 1e-6
    True
    """
    import torch  # noqa: PLC0415
    import torch.nn.functional as F  # noqa: PLC0415

    a = F.normalize(anchor_emb, dim=-1)
    p = F.normalize(partner_emb, dim=-1)
    positive = scale * (a * p).sum(dim=-1, keepdim=True)
    negative = scale * (a @ a.T)
    same = anchor_ids[None, :] == partner_ids[:, None]
    same |= torch.eye(len(a), dtype=torch.bool, device=a.device)
    logits = torch.cat([positive, negative.masked_fill(same, float("-inf"))], dim=1)
    return F.cross_entropy(logits, torch.zeros(len(a), dtype=torch.long, device=a.device))


# --------------------------------------------------------------- the encoders
def _passthrough():
    """A module standing in for a transformer's embedding layer: returns the states it is given."""
    import torch  # noqa: PLC0415

    class Passthrough(torch.nn.Module):
        def forward(self, input_ids=None, inputs_embeds=None, **kwargs):
            return inputs_embeds

    return Passthrough()


def _top_layers(model, layers: int):
    """``(hf_model, top, tail)`` when ``model`` is a BERT-style stack to cut, else None.

    ``top`` runs the last ``layers`` layers of ``hf_model`` (sharing their
    weights) on given hidden states; ``tail`` are the sentence-transformers
    modules after the transformer (pooling, normalisation, ...).
    """
    modules = list(model)
    hf = getattr(modules[0], "auto_model", None) if modules else None
    encoder = getattr(hf, "encoder", None)
    stack = getattr(encoder, "layer", None)
    if hf is None or stack is None or not hasattr(stack, "__len__") or len(modules) < 2:
        return None
    import torch  # noqa: PLC0415

    layers = min(int(layers), len(stack))
    top = copy.copy(hf)
    top._modules = dict(hf._modules)
    top._modules["embeddings"] = _passthrough()
    cut = copy.copy(encoder)
    cut._modules = dict(encoder._modules)
    cut._modules["layer"] = torch.nn.ModuleList(list(stack)[len(stack) - layers :])
    top._modules["encoder"] = cut
    return hf, top, modules[1:], len(stack) - layers


def _features(model, texts: list[str], device):
    prepare = getattr(model, "preprocess", None) or model.tokenize
    features = prepare(texts)
    return {k: (v.to(device) if hasattr(v, "to") else v) for k, v in features.items()}


class _CutEncoder:
    """Frozen lower layers run once per text; the top layers and the tail run per batch."""

    def __init__(self, model, cut, texts: list[str], device):
        import torch  # noqa: PLC0415

        self.hf, self.top, self.tail, self.depth = cut
        self.device = device
        self.hidden, self.length = [None] * len(texts), np.zeros(len(texts), dtype=np.int64)
        order = np.argsort([len(t) for t in texts], kind="stable")  # less padding per batch
        with torch.no_grad():
            for start in range(0, len(order), _PREFIX_BATCH):
                rows = order[start : start + _PREFIX_BATCH]
                f = _features(model, [texts[r] for r in rows], device)
                inputs = {k: f[k] for k in _MODEL_INPUTS if k in f}
                states = self.hf(**inputs, output_hidden_states=True).hidden_states[self.depth]
                lengths = f["attention_mask"].sum(dim=1).tolist()
                for r, h, n in zip(rows, states, lengths):
                    self.hidden[r] = h[: int(n)].detach().clone()
                    self.length[r] = int(n)

    def parameters(self):
        return [p for layer in self.top.encoder.layer for p in layer.parameters()]

    def train(self, mode: bool = True):
        self.top.encoder.train(mode)

    def __call__(self, rows: np.ndarray):
        import torch  # noqa: PLC0415

        width = int(self.length[rows].max())
        dim = self.hidden[rows[0]].shape[-1]
        states = torch.zeros((len(rows), width, dim), device=self.device)
        mask = torch.zeros((len(rows), width), dtype=torch.long, device=self.device)
        for k, r in enumerate(rows.tolist()):
            states[k, : self.length[r]] = self.hidden[r]
            mask[k, : self.length[r]] = 1
        tokens = self.top(inputs_embeds=states, attention_mask=mask).last_hidden_state
        features = {"token_embeddings": tokens, "attention_mask": mask}
        for module in self.tail:
            features = module(features)
        return features["sentence_embedding"]


class _WholeEncoder:
    """Every parameter trained; texts tokenised per batch."""

    def __init__(self, model, texts: list[str], device):
        self.model = model
        self.texts = texts
        self.device = device

    def parameters(self):
        return list(self.model.parameters())

    def train(self, mode: bool = True):
        self.model.train(mode)

    def __call__(self, rows: np.ndarray):
        features = _features(self.model, [self.texts[r] for r in rows.tolist()], self.device)
        return self.model(features)["sentence_embedding"]


class _FrozenRows:
    """The frozen model's embeddings, looked up: nothing below the head is trained."""

    def __init__(self, frozen: np.ndarray, device):
        import torch  # noqa: PLC0415

        self.rows = torch.as_tensor(np.asarray(frozen, dtype=np.float32), device=device)

    def parameters(self):
        return []

    def train(self, mode: bool = True):
        pass

    def __call__(self, rows: np.ndarray):
        return self.rows[rows]


def _cut_matches(model, encoder: _CutEncoder, texts: list[str], rows: np.ndarray) -> bool:
    """Whether the cut model embeds ``texts[rows]`` as the whole model does."""
    import torch  # noqa: PLC0415

    with torch.no_grad():
        mine = encoder(rows).float().cpu().numpy()
    whole = model.encode(
        [texts[r] for r in rows.tolist()],
        convert_to_numpy=True,
        normalize_embeddings=False,
        show_progress_bar=False,
    )
    return mine.shape == whole.shape and float(np.abs(mine - whole).max()) < _CUT_TOLERANCE


class TunedEncoder:
    """The fine-tuned text model: the (adapted) sentence-transformers model, then the head.

    Has sentence-transformers' ``encode`` signature, so an
    :class:`~skrec.utils.EmbeddingCache` encodes with it like with any model.
    With no transformer layer trained, the model's output is the frozen
    embedding, taken from ``frozen`` (text -> row) instead of computed again.
    """

    def __init__(self, model, head, frozen: dict | None):
        self.model = model
        self.head = head
        self.frozen = frozen

    def encode(
        self,
        texts,
        batch_size: int = 64,
        show_progress_bar: bool = False,
        convert_to_numpy: bool = True,
        normalize_embeddings: bool = False,
    ) -> np.ndarray:
        """Embeddings of ``texts`` by the fine-tuned model (a float32 array)."""
        import torch  # noqa: PLC0415
        import torch.nn.functional as F  # noqa: PLC0415

        texts = list(texts)
        if self.frozen is not None:
            unknown = [t for t in texts if t not in self.frozen]
            if unknown:
                raise ValueError(f"no frozen embedding for {len(unknown)} text(s): {unknown[:3]}")
            base = np.stack([self.frozen[t] for t in texts])
        else:
            base = self.model.encode(
                texts,
                batch_size=batch_size,
                show_progress_bar=show_progress_bar,
                convert_to_numpy=True,
                normalize_embeddings=False,
            )
        device = self.head.weight.device
        with torch.no_grad():
            out = self.head(torch.as_tensor(np.asarray(base, dtype=np.float32), device=device))
            if normalize_embeddings:
                out = F.normalize(out, dim=-1)
        return out.float().cpu().numpy()


# ------------------------------------------------------------------ training
def fine_tune(
    model,
    texts: list[str],
    pairs: list,
    *,
    frozen: np.ndarray,
    layers: int,
    lr: float,
    batch_size: int,
    seed: int,
    device=None,
    verbose: bool = False,
):
    """The text model fine-tuned on item ``pairs``: a trained head, and optionally top layers.

    A linear head (initialised to the identity, so training starts from the
    base model) is added after the model and trained; with ``layers > 0`` the
    top ``layers`` transformer layers of a copy of the model are trained too.

    Parameters
    ----------
    model : sentence_transformers.SentenceTransformer or None
        The base model (left unchanged); only read when ``layers > 0``.
    texts : list of str
        Item texts, indexed like the pairs.
    pairs : list of (anchors, partners)
        One entry per epoch (see :func:`co_occurrence_pairs`).
    frozen : ndarray of shape (len(texts), dim)
        The base model's embeddings of ``texts`` (the head's input when no
        layer is trained).
    layers : int
        Top transformer layers trained (0: the head only).
    lr : float
        Peak learning rate of AdamW (linear decay to 0 over training).
    batch_size : int
        Pairs per step.
    seed : int
        Seed of batch order and dropout.
    device : str or torch.device, default=None
        Where the head trains; None: the model's device (the CPU without a model).
    verbose : bool, default=False
        Print one line per epoch (loss, seconds).

    Returns
    -------
    encoder : TunedEncoder
        Encodes texts with the fine-tuned model (``encode`` as sentence-transformers').
    history : list of dict
        Per epoch: ``epoch``, ``pairs``, ``loss`` (mean over steps), ``seconds``.
    """
    import torch  # noqa: PLC0415

    if device is None:
        device = next(iter(model.parameters())).device if layers else "cpu"
    device = torch.device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        tuned = None
        if layers == 0:
            encoder = _FrozenRows(frozen, device)
        else:
            tuned = copy.deepcopy(model)
            tuned.eval()
            for p in tuned.parameters():
                p.requires_grad_(False)
            used = np.unique(np.concatenate([np.concatenate(p) for p in pairs]))
            encoder = _make_encoder(tuned, texts, used.astype(np.int64), layers, device)
        dim = np.asarray(frozen).shape[1]
        head = torch.nn.Linear(dim, dim).to(device)
        with torch.no_grad():
            head.weight.copy_(torch.eye(dim))
            head.bias.zero_()
        params = [*encoder.parameters(), *head.parameters()]
        for p in params:
            p.requires_grad_(True)
        optimizer = torch.optim.AdamW(params, lr=lr)
        n_steps = sum(-(-len(a) // batch_size) for a, _ in pairs)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: max(0.0, 1.0 - step / max(n_steps, 1))
        )
        history = []
        encoder.train(True)
        for epoch, (anchors, partners) in enumerate(pairs, start=1):
            start, losses = time.perf_counter(), []
            order = rng.permutation(len(anchors))
            for lo in range(0, len(order), batch_size):
                batch = order[lo : lo + batch_size]
                if len(batch) < 2:
                    continue  # one pair has no in-batch negative
                a, p = anchors[batch], partners[batch]
                distinct, where = np.unique(np.concatenate([a, p]), return_inverse=True)
                emb = head(encoder(distinct))
                loss = in_batch_loss(
                    emb[where[: len(a)]],
                    emb[where[len(a) :]],
                    torch.as_tensor(a, device=device),
                    torch.as_tensor(p, device=device),
                )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                losses.append(float(loss.detach()))
            row = {
                "epoch": epoch,
                "pairs": int(len(anchors)),
                "loss": float(np.mean(losses)) if losses else float("nan"),
                "seconds": time.perf_counter() - start,
            }
            history.append(row)
            if verbose:
                print(
                    f"fine-tune epoch {epoch}/{len(pairs)}: {row['pairs']} pairs, "
                    f"loss {row['loss']:.4f}, {row['seconds']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
        encoder.train(False)
        for p in params:
            p.requires_grad_(False)
    head.eval()
    if tuned is None:
        return TunedEncoder(None, head, dict(zip(texts, np.asarray(frozen)))), history
    tuned.eval()
    return TunedEncoder(tuned, head, None), history


def _make_encoder(model, texts: list[str], used: np.ndarray, layers: int, device):
    """The cut encoder when the model is a BERT-style stack that cuts exactly, else the whole."""
    cut = _top_layers(model, layers)
    if cut is None:
        return _WholeEncoder(model, texts, device)
    # Only the texts in pairs need their frozen states; the rest stay None.
    encoder = _CutEncoder(model, cut, [texts[i] for i in used], device)
    hidden, length = [None] * len(texts), np.zeros(len(texts), dtype=np.int64)
    for k, i in enumerate(used.tolist()):
        hidden[i], length[i] = encoder.hidden[k], encoder.length[k]
    encoder.hidden, encoder.length = hidden, length
    if len(used) and not _cut_matches(model, encoder, texts, used[:8]):
        warnings.warn(
            "fine-tuning trains the whole text model: running its top layers alone did not "
            "reproduce its embeddings (an unexpected sentence-transformers module layout), "
            "which is slower but correct",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return _WholeEncoder(model, texts, device)
    return encoder
