"""skorch machinery that trains :class:`~skrec.recommenders._sasrec.SASRecModule`.

* :class:`SequenceDataset` serves left-padded ``(input, target)`` sequences and,
  for contrastive learning, two augmented views of each input.
* :class:`SequenceNet` is a :class:`skorch.NeuralNet` whose ``train_step_single``
  and ``get_loss`` implement the three objectives: next-item prediction
  (full softmax or sampled-negative BCE), masked-item prediction and the
  InfoNCE term between views.
* :class:`ValidationRanking` is an epoch callback that records the NDCG@k of
  held-out next items (``valid_ndcg``) for ``EarlyStopping`` and
  ``LRScheduler`` to monitor.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_device
from torch.utils.data import Dataset

from skrec.recommenders._sasrec import trim_padding

__all__ = [
    "SequenceDataset",
    "SequenceNet",
    "ValidationRanking",
    "ViewMaker",
    "final_states",
    "pad_left",
]

# Temperature of the InfoNCE loss between the two views (cosine similarities).
CONTRASTIVE_TEMPERATURE = 0.2
_EVAL_BATCH = 512


def pad_left(sequences: list[np.ndarray], length: int, dtype=np.int64) -> np.ndarray:
    """The last ``length`` items of each sequence, left-padded with 0, as one array."""
    out = np.zeros((len(sequences), length), dtype=dtype)
    for row, seq in enumerate(sequences):
        tail = seq[-length:]
        if len(tail):
            out[row, length - len(tail) :] = tail
    return out


class ViewMaker:
    """Draws augmented views of item sequences from ``view`` augmenters.

    Each view applies one augmenter chosen at random, through the augmenter
    interface ``view(seq, rng, mask_value) -> seq``.

    Parameters
    ----------
    augmenters : list of objects with a ``view`` method
        The sequence augmenters (e.g. ``crop``, ``mask``, ``reorder``).
    rng : numpy.random.Generator
        Source of all randomness of the views.
    n_items : int
        Valid item indices are ``1..n_items``.
    max_len : int
        Views are cut to their last ``max_len`` items.
    """

    def __init__(self, augmenters, rng: np.random.Generator, n_items: int, max_len: int):
        self.augmenters = list(augmenters)
        self.rng = rng
        self.n_items = n_items
        self.mask_value = n_items + 1
        self.max_len = max_len

    def __call__(self, seq: np.ndarray) -> np.ndarray:
        augmenter = self.augmenters[int(self.rng.integers(len(self.augmenters)))]
        view = np.asarray(augmenter.view(seq.copy(), self.rng, self.mask_value))
        name = type(augmenter).__name__
        if view.ndim != 1 or (view.size and view.dtype.kind not in "iu"):
            raise ValueError(
                f"augmenter {name}.view must return a 1-D integer array of item indices, "
                f"got dtype {view.dtype} and shape {view.shape}"
            )
        bad = ((view < 1) | (view > self.n_items)) & (view != self.mask_value)
        if bad.any():
            raise ValueError(
                f"augmenter {name}.view returned item indices outside 1..{self.n_items} "
                f"(mask_value={self.mask_value}): {view[bad][:5].tolist()}"
            )
        if view.size == 0:
            view = seq
        out = np.zeros(self.max_len, dtype=np.int64)
        view = view[-self.max_len :]
        out[self.max_len - len(view) :] = view
        return out


class SequenceDataset(Dataset):
    """Left-padded training sequences.

    Item ``i`` is ``({"seq": inputs[i][, "view1", "view2"][, "weight"]}, targets[i])``.

    Parameters
    ----------
    inputs, targets : ndarray of shape (n_sequences, max_len)
        Model inputs and the item to predict at each position (0: no loss).
    sequences : list of ndarray, default=None
        Unpadded inputs, the material of the views.
    views : ViewMaker, default=None
        When given, each item also carries two augmented views.
    weights : ndarray of shape (n_sequences, max_len), default=None
        Loss weight of each target position (``sample_weight`` of its row).
    """

    def __init__(
        self, inputs: np.ndarray, targets: np.ndarray, sequences=None, views=None, weights=None
    ):
        self.inputs = inputs
        self.targets = targets
        self.sequences = sequences
        self.views = views
        self.weights = weights

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i):
        x = {"seq": torch.from_numpy(self.inputs[i])}
        if self.views is not None:
            x["view1"] = torch.from_numpy(self.views(self.sequences[i]))
            x["view2"] = torch.from_numpy(self.views(self.sequences[i]))
        if self.weights is not None:
            x["weight"] = torch.from_numpy(self.weights[i])
        return x, torch.from_numpy(self.targets[i])


class SequenceNet(NeuralNet):
    """A :class:`skorch.NeuralNet` for sequential recommendation objectives.

    The module's forward gives hidden states; ``get_loss`` turns the states at
    target positions into item scores against the module's item table.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    objective : {"next", "mlm"}, default="next"
        Next-item prediction with causal attention, or masked-item prediction
        with bidirectional attention (targets are the masked items).
    loss : {"softmax", "bce"}, default="softmax"
        Next-item loss: cross-entropy over every item, or binary cross-entropy
        of the target against ``n_negatives`` sampled items. Masked-item
        prediction always uses the softmax.
    n_negatives : int, default=1
        Sampled negatives per target position (``loss="bce"``).
    negative_cdf : ndarray of shape (n_items,) or None, default=None
        Cumulative sampling distribution of the negatives; None samples
        uniformly.
    contrastive_weight : float, default=0.0
        Weight of the InfoNCE loss between the two views of each sequence
        (batches must carry ``view1`` and ``view2``).
    mask_prob : float, default=0.2
        Probability that an item is masked (``objective="mlm"``).
    """

    def __init__(
        self,
        *args,
        objective: str = "next",
        loss: str = "softmax",
        n_negatives: int = 1,
        negative_cdf=None,
        contrastive_weight: float = 0.0,
        mask_prob: float = 0.2,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.loss = loss
        self.n_negatives = n_negatives
        self.negative_cdf = negative_cdf
        self.contrastive_weight = contrastive_weight
        self.mask_prob = mask_prob

    @property
    def uses_softmax(self) -> bool:
        """Whether the loss is a softmax over all items (else sampled-negative BCE)."""
        return self.loss == "softmax" or self.objective == "mlm"

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        seq = to_device(Xi["seq"], self.device)
        target = to_device(yi, self.device)
        weight = Xi.get("weight") if self.objective == "next" else None
        if self.objective == "mlm":
            seq, target = self._mask_items(seq)
        if weight is None:
            seq, target = trim_padding(seq, target)
        else:
            seq, target, weight = trim_padding(seq, target, to_device(weight, self.device))
        hidden = self.module_(seq, causal=self.objective != "mlm")
        loss = self.get_loss(hidden, target, X=None if weight is None else {"weight": weight})
        if self.contrastive_weight and "view1" in Xi:
            loss = loss + self.contrastive_weight * self._info_nce(Xi["view1"], Xi["view2"])
        loss.backward()
        return {"loss": loss, "y_pred": hidden.detach()}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of the hidden states ``y_pred`` at positions where ``y_true > 0``.

        ``X`` may carry ``{"weight": (batch, length)}``, the loss weight of each
        position; the loss is then the weighted mean over positions.
        """
        y_true = to_device(y_true, self.device)
        keep = y_true > 0
        hidden, target = y_pred[keep], y_true[keep] - 1
        weight = None if not X or "weight" not in X else X["weight"][keep]
        table = self.module_.item_table()
        if self.uses_softmax:
            if weight is None:
                return self.criterion_(hidden @ table.T, target)
            per_position = F.cross_entropy(hidden @ table.T, target, reduction="none")
            return (per_position * weight).sum() / weight.sum()
        negatives = self._sample_negatives(len(target), hidden.device)
        positive = (hidden * table[target]).sum(-1, keepdim=True)
        negative = torch.einsum("nd,nkd->nk", hidden, table[negatives])
        logits = torch.cat([positive, negative], dim=1)
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1.0
        # Sum over the target and its negatives, mean over positions (SASRec).
        per_position = self.criterion_(logits, labels).sum(1)
        if weight is None:
            return per_position.mean()
        return (per_position * weight).sum() / weight.sum()

    def _sample_negatives(self, n: int, device) -> torch.Tensor:
        """(n, n_negatives) zero-based item indices, uniform or from ``negative_cdf``."""
        n_items = self.module_.n_items
        shape = (n, self.n_negatives)
        if self.negative_cdf is None:
            return torch.randint(n_items, shape, device=device)
        cdf = torch.as_tensor(self.negative_cdf, dtype=torch.float32, device=device)
        draws = torch.rand(shape, device=device) * cdf[-1]
        return torch.searchsorted(cdf, draws, right=True).clamp_(max=n_items - 1)

    def _mask_items(self, seq: torch.Tensor):
        """BERT-style corruption: ``mask_prob`` of the items become ``[MASK]`` (at least one)."""
        real = seq > 0
        chosen = (torch.rand(seq.shape, device=seq.device) < self.mask_prob) & real
        # Left padding: the last column always holds an item.
        chosen[:, -1] |= ~chosen.any(dim=1)
        target = torch.where(chosen, seq, torch.zeros_like(seq))
        masked = torch.where(chosen, torch.full_like(seq, self.module_.mask_token), seq)
        return masked, target

    def _info_nce(self, view1: torch.Tensor, view2: torch.Tensor) -> torch.Tensor:
        """NT-Xent between the two views of each sequence, other sequences as negatives."""
        z1 = self.module_.last_hidden(to_device(view1, self.device))
        z2 = self.module_.last_hidden(to_device(view2, self.device))
        z = F.normalize(torch.cat([z1, z2]), dim=-1)
        n = len(z1)
        sim = (z @ z.T) / CONTRASTIVE_TEMPERATURE
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
        partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
        return F.cross_entropy(sim, partner)


@torch.no_grad()
def final_states(module, sequences: np.ndarray, device, batch_size: int = _EVAL_BATCH):
    """Hidden state after the last item of each left-padded sequence, as float32 numpy."""
    was_training = module.training
    module.eval()
    out = []
    try:
        for start in range(0, len(sequences), batch_size):
            seq = torch.as_tensor(sequences[start : start + batch_size], device=device)
            out.append(module.last_hidden(seq).float().cpu().numpy())
    finally:
        module.train(was_training)
    if not out:
        return np.zeros((0, module.item_table().shape[1]), dtype=np.float32)
    return np.concatenate(out)


class ValidationRanking(Callback):
    """Records NDCG@k of held-out next items as ``valid_ndcg`` after every epoch.

    Each validation user contributes one held-out item; it is ranked against
    every item except the others in that user's training history, as
    ``recommend(exclude_seen=True)`` would rank it. ``valid_ndcg_best`` marks
    improvements, so skorch's ``PrintLog`` highlights them.

    Parameters
    ----------
    inputs : ndarray of shape (n_users, max_len)
        Left-padded training histories of the validation users.
    targets : ndarray of shape (n_users,)
        Their held-out items (indices ``1..n_items``).
    seen : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Items (zero-based) to leave out of each ranking.
    k : int, default=10
        Cut-off of the NDCG.
    """

    def __init__(self, inputs, targets, seen, k: int = 10):
        self.inputs = inputs
        self.targets = targets
        self.seen = seen
        self.k = k

    def on_train_begin(self, net, **kwargs):
        self.best_ = -np.inf

    def on_epoch_end(self, net, **kwargs):
        score = self.ndcg(net.module_, net.device)
        net.history.record("valid_ndcg", score)
        improved = score > self.best_
        net.history.record("valid_ndcg_best", bool(improved))
        self.best_ = max(self.best_, score)

    def ndcg(self, module, device) -> float:
        """NDCG@k of the held-out items under ``module``'s current weights."""
        states = torch.as_tensor(final_states(module, self.inputs, device), device=device)
        total = 0.0
        with torch.no_grad():
            table = module.item_table()
            for start in range(0, len(states), _EVAL_BATCH):
                stop = min(start + _EVAL_BATCH, len(states))
                scores = states[start:stop] @ table.T
                target = torch.as_tensor(self.targets[start:stop] - 1, device=device)
                rows = torch.arange(stop - start, device=device)
                target_score = scores[rows, target].clone()
                seen = sp.coo_matrix(self.seen[start:stop])
                scores[
                    torch.as_tensor(seen.row, device=device),
                    torch.as_tensor(seen.col, device=device),
                ] = float("-inf")
                scores[rows, target] = target_score
                rank = (scores > target_score[:, None]).sum(1)
                gain = 1.0 / torch.log2(rank.double() + 2.0)
                total += float(torch.where(rank < self.k, gain, torch.zeros_like(gain)).sum())
        return total / max(len(states), 1)
