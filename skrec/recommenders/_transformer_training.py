"""skorch machinery that trains :class:`~skrec.recommenders._sasrec.SASRecModule`.

* :class:`SequenceDataset` holds left-padded ``(input, target)`` sequences as
  tensors and, for contrastive learning, draws two augmented views of each input;
  :class:`SequenceBatches` (the training iterator) serves whole batches of it by
  slicing, never item by item, in length buckets so that little padding is computed.
* :class:`SequenceNet` is a :class:`skorch.NeuralNet` whose ``train_step_single``
  and ``get_loss`` implement the three objectives: next-item prediction
  (the losses of :mod:`~skrec.recommenders._transformer_losses`), masked-item
  prediction and the InfoNCE term between views; optionally under mixed
  precision and with a ``torch.compile``-d forward.
* :class:`PhaseLog` is skorch's epoch table with a title line per training
  phase, coloured only on a terminal.
* :class:`ValidationRanking` is an epoch callback that records the NDCG@k of
  held-out next items (``valid_ndcg``) for ``EarlyStopping`` and
  ``LRScheduler`` to monitor.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import unpack_data
from skorch.utils import to_device
from torch.utils.data import Dataset

from skrec.recommenders import _transformer_losses as losses
from skrec.recommenders._sasrec import trim_padding

__all__ = [
    "PhaseLog",
    "SequenceBatches",
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
# Batches whose sequences are sorted by length together (see SequenceBatches).
_BUCKET_BATCHES = 32


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
    """Left-padded training sequences, held as tensors.

    Item ``i`` is ``({"seq": inputs[i][, "view1", "view2"][, "weight"]}, targets[i])``;
    :meth:`batch` returns many items at once, by slicing (what
    :class:`SequenceBatches` uses).

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
        self.inputs = torch.as_tensor(inputs)
        self.targets = torch.as_tensor(targets)
        self.sequences = sequences
        self.views = views
        self.weights = None if weights is None else torch.as_tensor(weights)
        self.lengths = (self.inputs != 0).sum(1).numpy()

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i):
        x, y = self.batch(np.array([i]))
        return {k: v[0] for k, v in x.items()}, y[0]

    def batch(self, rows: np.ndarray):
        """``(X, y)`` of the sequences ``rows``: one slice per tensor, views drawn per row."""
        index = torch.from_numpy(rows)
        x = {"seq": self.inputs[index]}
        if self.views is not None:
            x["view1"] = torch.from_numpy(np.stack([self.views(self.sequences[i]) for i in rows]))
            x["view2"] = torch.from_numpy(np.stack([self.views(self.sequences[i]) for i in rows]))
        if self.weights is not None:
            x["weight"] = self.weights[index]
        return x, self.targets[index]


class SequenceBatches:
    """The training iterator: batches of a :class:`SequenceDataset`, sliced whole.

    skorch builds it as ``iterator_train(dataset, batch_size=..., shuffle=...)``
    in place of a :class:`torch.utils.data.DataLoader`: there is no per-item
    ``__getitem__`` and no collation, each batch is one index into the
    pre-padded tensors. With ``shuffle``, the order is a ``torch.randperm``
    (the seeded torch RNG of ``fit``); with ``bucket``, each run of
    ``32 * batch_size`` shuffled sequences is sorted by length and cut into
    batches, and the batches are served in random order, so a batch of short
    sequences is trimmed to its own longest one instead of to ``max_len``.

    Parameters
    ----------
    dataset : SequenceDataset
    batch_size : int
    shuffle : bool, default=False
    bucket : bool, default=True
        Group sequences of similar length (only with ``shuffle``).
    """

    def __init__(self, dataset, batch_size: int, shuffle: bool = False, bucket: bool = True):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.bucket = bucket

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def _batches(self) -> list[np.ndarray]:
        n, size = len(self.dataset), self.batch_size
        if not self.shuffle:
            return [np.arange(start, min(start + size, n)) for start in range(0, n, size)]
        order = torch.randperm(n).numpy()
        if not self.bucket:
            return [order[start : start + size] for start in range(0, n, size)]
        batches = []
        span = size * _BUCKET_BATCHES
        for start in range(0, n, span):
            chunk = order[start : start + span]
            chunk = chunk[np.argsort(self.dataset.lengths[chunk], kind="stable")]
            batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        return [batches[i] for i in torch.randperm(len(batches)).tolist()]

    def __iter__(self):
        for rows in self._batches():
            yield self.dataset.batch(rows)


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
    loss : {"softmax", "bce", "sampled_softmax", "gbce"}, default="softmax"
        Next-item loss (:mod:`~skrec.recommenders._transformer_losses`): the
        full softmax, SASRec's BCE against ``n_negatives`` draws per position,
        the sampled softmax over ``n_negatives`` draws shared by the batch and
        the batch's targets (logQ-corrected), or gSASRec's gBCE over
        ``n_negatives`` shared draws. Masked-item prediction always uses the
        full softmax.
    n_negatives : int, default=1
        Sampled negatives (per position for ``"bce"``, per batch otherwise).
    negative_cdf : ndarray of shape (n_items,) or None, default=None
        Cumulative sampling distribution of the negatives; None samples
        uniformly.
    target_p : ndarray of shape (n_items,) or None, default=None
        How often each item is a training target (sums to 1): the distribution
        the in-batch candidates of ``"sampled_softmax"`` are drawn from. None
        uses no in-batch candidates.
    gbce_t : float, default=0.75
        gBCE's calibration parameter ``t`` (``"gbce"`` only).
    precision : {"float32", "bf16", "fp16"}, default="float32"
        Autocast dtype of the training forward and loss; ``"fp16"`` also
        scales the loss (:class:`torch.amp.GradScaler`).
    compile : bool, default=False
        Train through ``torch.compile(module_, dynamic=True)`` (the module
        itself stays uncompiled; only the training forward goes through it).
    phase : str, default=""
        Title printed above the epoch table when ``verbose``.
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
        target_p=None,
        gbce_t: float = 0.75,
        precision: str = "float32",
        compile: bool = False,  # noqa: A002 (skorch's own name; we handle it, not skorch)
        phase: str = "",
        contrastive_weight: float = 0.0,
        mask_prob: float = 0.2,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.loss = loss
        self.n_negatives = n_negatives
        self.negative_cdf = negative_cdf
        self.target_p = target_p
        self.gbce_t = gbce_t
        self.precision = precision
        self.compile = compile
        self.phase = phase
        self.contrastive_weight = contrastive_weight
        self.mask_prob = mask_prob

    def torch_compile(self, module, name):
        # skorch would replace module_ by the compiled wrapper (changing its state_dict
        # keys); the compiled forward is kept beside it instead (_forward).
        return module

    def get_default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("print_log", PhaseLog(self.phase)),
        ]

    @property
    def uses_softmax(self) -> bool:
        """Whether the loss is the softmax over all items."""
        return self.loss == "softmax" or self.objective == "mlm"

    def _autocast(self):
        if self.precision == "float32":
            return contextlib.nullcontext()
        device_type = "cuda" if str(self.device).startswith("cuda") else "cpu"
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type, dtype=dtype)

    def _forward(self, seq, causal: bool):
        if not self.compile:
            return self.module_(seq, causal=causal)
        compiled = self.__dict__.get("_compiled_forward")
        if compiled is None or compiled._orig_mod is not self.module_:
            # Set through __dict__: skorch would register a module attribute as a
            # second module of the net.
            compiled = self.__dict__["_compiled_forward"] = torch.compile(
                self.module_, dynamic=True
            )
        return compiled(seq, causal=causal)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_compiled_forward", None)  # a compiled wrapper does not pickle
        state.pop("_grad_scaler", None)
        state.pop("_distributions_cache", None)
        return state

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
        loss_X = {"denominator": len(seq) * getattr(self, "positions_per_row_", 0.0)}
        if weight is not None:
            loss_X["weight"] = weight
        with self._autocast():
            hidden = self._forward(seq, causal=self.objective != "mlm")
            loss = self.get_loss(hidden, target, X=loss_X)
            if self.contrastive_weight and "view1" in Xi:
                loss = loss + self.contrastive_weight * self._info_nce(Xi["view1"], Xi["view2"])
        scaler = self._grad_scaler()
        (loss if scaler is None else scaler.scale(loss)).backward()
        return {"loss": loss, "y_pred": hidden.detach()}

    def _grad_scaler(self):
        if self.precision != "fp16":
            return None
        scaler = self.__dict__.get("_grad_scaler")
        if scaler is None:
            device_type = "cuda" if str(self.device).startswith("cuda") else "cpu"
            scaler = self.__dict__["_grad_scaler"] = torch.amp.GradScaler(device_type)
        return scaler

    def _step_optimizer(self, step_fn):
        scaler = self._grad_scaler()
        if scaler is None:
            return super()._step_optimizer(step_fn)
        step_fn()
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()
        return None

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # The batch loss divides by a constant of the training set, not by the
        # batch's own number of positions (see get_loss).
        self.positions_per_row_ = self._positions_per_row(X)
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def _positions_per_row(self, dataset) -> float:
        """Mean loss positions (or loss weight) per training sequence of ``dataset``.

        Next-item prediction: the target positions (their summed weight with
        ``sample_weight``). Masked-item prediction: the expected number of
        masked items, ``L p + (1 - p)^L`` for a sequence of ``L`` items (at
        least one is masked).
        """
        if not isinstance(dataset, SequenceDataset) or not len(dataset):
            return 0.0
        if self.objective == "mlm":
            lengths = dataset.lengths.astype(np.float64)
            p = float(self.mask_prob)
            return float(np.mean(lengths * p + (1.0 - p) ** lengths))
        target = dataset.targets > 0
        if dataset.weights is not None:
            return float((dataset.weights * target).sum()) / len(dataset)
        return float(target.sum()) / len(dataset)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Loss of the hidden states ``y_pred`` at positions where ``y_true > 0``.

        ``X`` may carry ``{"weight": (batch, length)}``, the loss weight of each
        position, and ``{"denominator": float}``. Without a denominator the loss
        is the (weighted) mean over the batch's positions. Training passes the
        batch's rows times the training set's mean positions per row: the
        batches are grouped by length, so a mean over each batch's own
        positions would give a position of a batch of short sequences many
        times the weight of one in a batch of long ones; with a constant of the
        training set every position weighs the same.
        """
        y_true = to_device(y_true, self.device)
        keep = y_true > 0
        hidden, target = y_pred[keep], y_true[keep] - 1
        weight = None if not X or "weight" not in X else X["weight"][keep]
        denominator = (X or {}).get("denominator") or None
        table = self.module_.item_table()
        if self.uses_softmax:
            per_position = losses.full_softmax(hidden, target, table)
        elif self.loss == "bce":
            negatives = self._sample_negatives((len(target), self.n_negatives), hidden.device)
            per_position = losses.sampled_bce(hidden, target, table, negatives)
        elif self.loss == "sampled_softmax":
            negatives = self._sample_negatives((self.n_negatives,), hidden.device)
            sampling_p, target_p = self._distributions(hidden.device)
            log_q = losses.log_expected_counts(self.n_negatives, sampling_p, len(target), target_p)
            per_position = losses.sampled_softmax(
                hidden, target, table, negatives, log_q, in_batch=target_p is not None
            )
        elif self.loss == "gbce":
            negatives = self._sample_negatives((self.n_negatives,), hidden.device)
            beta = losses.gbce_beta(self.n_negatives, self.module_.n_items, self.gbce_t)
            per_position = losses.gbce(hidden, target, table, negatives, beta)
        else:
            raise ValueError(
                f"loss must be 'softmax', 'bce', 'sampled_softmax' or 'gbce', got {self.loss!r}"
            )
        return losses.reduce_positions(per_position, weight, denominator)

    def _distributions(self, device):
        """(sampling probabilities of the negatives, target distribution or None), cached."""
        cached = self.__dict__.get("_distributions_cache")
        if cached is not None and cached[0].device == torch.device(device):
            return cached
        n_items = self.module_.n_items
        if self.negative_cdf is None:
            sampling_p = torch.full((n_items,), 1.0 / n_items, device=device)
        else:
            cdf = np.asarray(self.negative_cdf, dtype=np.float64)
            sampling_p = torch.as_tensor(np.diff(cdf, prepend=0.0) / cdf[-1], device=device)
        target_p = None
        if self.target_p is not None:
            target_p = torch.as_tensor(np.asarray(self.target_p, dtype=np.float64), device=device)
        cached = (sampling_p.float(), None if target_p is None else target_p.float())
        self.__dict__["_distributions_cache"] = cached
        return cached

    def _sample_negatives(self, shape, device) -> torch.Tensor:
        """Zero-based item indices of ``shape``, uniform or from ``negative_cdf``."""
        n_items = self.module_.n_items
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


class PhaseLog(PrintLog):
    """skorch's per-epoch table under a title line; ANSI colours only on a terminal.

    skorch's :class:`~skorch.callbacks.PrintLog` colours the best values with
    ANSI escape codes, which end up as noise in pipes and log files. Here the
    best values are coloured when standard output is a terminal and marked
    with a trailing ``*`` otherwise.

    Parameters
    ----------
    phase : str, default=""
        Printed on its own line before the first epoch (e.g. ``"next-item
        training"``), so that two tables of one ``fit`` are told apart.
    **kwargs
        As for :class:`~skorch.callbacks.PrintLog`.
    """

    def __init__(self, phase: str = "", **kwargs):
        super().__init__(**kwargs)
        self.phase = phase

    def initialize(self):
        super().initialize()
        self.color_ = _is_terminal()
        return self

    def on_train_begin(self, net, **kwargs):
        self.first_iteration_ = True
        if self.phase:
            self._sink(self.phase, net.verbose)

    def format_row(self, row, key, color):
        if self.color_:
            return super().format_row(row, key, color)
        value = super().format_row({k: v for k, v in row.items() if k != key + "_best"}, key, "")
        best = row.get(key + "_best")
        return f"{value}*" if best and not isinstance(row[key], bool) else value


def _is_terminal() -> bool:
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


@torch.no_grad()
def final_states(module, sequences: np.ndarray, device, batch_size: int = _EVAL_BATCH):
    """Hidden state after the last item of each left-padded sequence, as float32 numpy.

    Sequences are encoded in order of length, so that each batch is trimmed to
    its own longest sequence; the result is in the input order.
    """
    was_training = module.training
    module.eval()
    lengths = (np.asarray(sequences) != 0).sum(1)
    order = np.argsort(lengths, kind="stable")
    out = []
    try:
        for start in range(0, len(sequences), batch_size):
            rows = order[start : start + batch_size]
            seq = torch.as_tensor(sequences[rows], device=device)
            out.append(module.last_hidden(seq).float().cpu().numpy())
    finally:
        module.train(was_training)
    if not out:
        return np.zeros((0, module.item_table().shape[1]), dtype=np.float32)
    states = np.empty((len(sequences), out[0].shape[1]), dtype=np.float32)
    states[order] = np.concatenate(out)
    return states


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
