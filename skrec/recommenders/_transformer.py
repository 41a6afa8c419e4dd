"""A sequential transformer recommender (SASRec family), trained with skorch."""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_is_fitted

from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._sentence import _DEFAULT_MODEL as _DEFAULT_TEXT_MODEL
from skrec.utils._device import resolve_torch_device
from skrec.utils._embedding_cache import EmbeddingCache, resolve_cache
from skrec.utils._optional import import_optional
from skrec.utils._random import draw_seed
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils._threads import effective_n_jobs, torch_threads
from skrec.utils._warnings import user_stacklevel
from skrec.utils.validation import check_interactions, item_text_ids, item_texts

torch = import_optional("torch", "TransformerRecommender")
import_optional("skorch", "TransformerRecommender")

from skorch.callbacks import EarlyStopping, LRScheduler  # noqa: E402
from torch.optim.lr_scheduler import ReduceLROnPlateau  # noqa: E402

from skrec.recommenders._item_representation import MODES, resolve_mode  # noqa: E402
from skrec.recommenders._sasrec import SASRecModule  # noqa: E402
from skrec.recommenders._transformer_training import (  # noqa: E402
    SequenceBatches,
    SequenceDataset,
    SequenceNet,
    ValidationRanking,
    ViewMaker,
    final_states,
    pad_left,
)

__all__ = ["TransformerRecommender"]

_DEFAULT_VIEWS = ("crop", "mask", "reorder")
# Held-out items ranked after each epoch (a seeded sample of users beyond this).
_MAX_VALIDATION_USERS = 50_000
# Negatives shared by a batch when n_negatives=None (sampled_softmax, gbce).
_DEFAULT_SHARED_NEGATIVES = 256
# batch_size="auto": about this many steps per epoch, within these batch sizes.
_AUTO_STEPS = 32
_AUTO_BATCH = (32, 256)


class TransformerRecommender(BaseRecommender):
    """Self-attentive sequential recommender (SASRec) with optional self-supervision.

    Each user's positive interactions, in time order, form an item sequence. A
    causal transformer (:class:`~skrec.recommenders._sasrec.SASRecModule`)
    reads the ``max_len`` most recent items and predicts the next one at every
    position; an item's score for a user is the dot product of the hidden state
    after the user's whole training history with the item's embedding (the
    embedding table is shared with the output layer). Training runs through a
    :class:`skorch.NeuralNet` built in ``fit`` (``net_``): the last item of each
    training user with at least three items is held out, NDCG@10 on those items
    (for at most 50,000 users, a seeded sample beyond that) is recorded after
    each epoch (``valid_ndcg`` in ``net_.history``), the
    learning rate is halved when it stalls, training stops after ``patience``
    epochs without improvement and the best epoch's weights are restored.

    With ``item_text``, item vectors can also come from the items' text
    (``item_representation``): a frozen sentence-transformers model embeds
    every text once (through ``cache``) and a learned projection maps it into
    the model's space, so items that occur rarely or never in the sequences
    (cold items, which join ``items_``) are still scored by what they are.

    Parameters
    ----------
    embedding_dim : int, default=64
        Width of item embeddings and hidden states; divisible by ``n_heads``.
    n_layers : int, default=2
        Self-attention blocks.
    n_heads : int, default=2
        Attention heads per block.
    dropout : float, default=0.5
        Dropout on embeddings, attention weights and block outputs.
    max_len : int, default=50
        Number of most recent items of a history the model reads.
    loss : {"sampled_softmax", "softmax", "gbce", "bce"}, default="sampled_softmax"
        Next-item loss. ``"softmax"``: cross-entropy over all items (exact;
        its cost grows with the catalogue). ``"sampled_softmax"``:
        cross-entropy over the next item, ``n_negatives`` sampled items shared
        by the batch and the batch's other targets (in-batch negatives), each
        logit corrected by the log of the item's expected count among those
        candidates (logQ correction), so that popular items are not
        over-penalised. ``"gbce"``: gSASRec's generalised binary cross-entropy
        (Petrov & Macdonald, 2023) over ``n_negatives`` shared negatives, with
        calibration ``gbce_t``, every logit shifted by ``log(beta / k)`` (where
        the positive and negative terms balance; no ranking changes).
        ``"bce"``: binary cross-entropy of the next item against
        ``n_negatives`` sampled items per position (SASRec's original loss).
    n_negatives : int or None, default=None
        Sampled negatives: per batch for ``"sampled_softmax"`` and ``"gbce"``
        (None: 256), per position for ``"bce"`` (None: 1). Unused by
        ``"softmax"``.
    negative_sampler : {"uniform", "popularity"}, default="uniform"
        Distribution of the sampled negatives (``"popularity"``: proportional
        to the item's training count, the logQ correction of
        ``"sampled_softmax"`` accounting for it).
    gbce_t : float in [0, 1], default=0.75
        gBCE's calibration parameter: the positive term is raised to the power
        ``beta = alpha * (t * (1 - 1/alpha) + 1/alpha)``, where ``alpha =
        n_negatives / (n_items - 1)`` is the sampling rate. ``t=0`` is plain
        BCE over the sampled items (``beta=1``); ``t=1`` makes the sigmoid of
        a score a calibrated estimate of the full-softmax probability; the
        paper's default 0.75 sits between.
    lr : float, default=2e-3
        Learning rate of AdamW.
    weight_decay : float, default=0.0
        Decoupled weight decay of AdamW.
    batch_size : int or "auto", default=256
        Sequences per training batch; the value used is ``batch_size_``.
        ``"auto"`` adapts it to the data: one 32nd of the training sequences,
        between 32 and 256 (about 32 optimizer steps per epoch on small data).
        On 1,500-user Amazon subsets ``"auto"`` (46) validated and tested
        worse than 256, which is why 256 is the default.
    max_epochs : int, default=200
        Epochs of next-item training (at most: with ``patience``, training
        stops when validation stalls).
    patience : int or None, default=5
        Epochs without improvement of validation NDCG@10 before stopping. None
        disables validation: no item is held out, training runs ``max_epochs``
        epochs and keeps the last weights.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation, applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with
        ``fit_resample``). It is applied to the users' training sequences
        after the validation items are held out: e.g. ``"crop"`` adds a
        cropped copy of each history as an extra training sequence. The
        pseudo-users of such views train the model but are not in ``users_``.
    pretrain : {None, "mlm", "contrastive"}, default=None
        Self-supervision. ``"mlm"``: ``pretrain_epochs`` epochs of masked item
        prediction with bidirectional attention (BERT4Rec) before next-item
        training. ``"contrastive"``: an InfoNCE loss between two augmented
        views of each sequence, weighted by ``contrastive_weight``, is added to
        the next-item loss throughout training (CL4SRec).
    pretrain_epochs : int, default=10
        Epochs of masked item prediction (``pretrain="mlm"`` only).
    mask_prob : float, default=0.2
        Probability that an item is masked in masked item prediction.
    contrastive_weight : float, default=0.1
        Weight of the InfoNCE loss (``pretrain="contrastive"``).
    contrastive_augmenters : sequence of str or objects, default=("crop", "mask", "reorder")
        Augmenters that draw the contrastive views: names resolved with
        :func:`skrec.augmenters.get`, or objects with a method
        ``view(seq, rng, mask_value) -> seq`` over int64 item indices
        (``1..n_items``; ``mask_value`` is the ``[MASK]`` token). Each view
        applies one of them, chosen at random.
    item_text : mapping, pandas.Series or callable, default=None
        Item id -> text (or a function of the id), as for
        :class:`~skrec.SentenceTransformerRecommender`. Items of a mapping that
        occur in no sequence (cold items) join ``items_`` and are scored from
        their text.
    text_model : str or path-like, default="sentence-transformers/all-MiniLM-L6-v2"
        The sentence-transformers model (frozen) that embeds ``item_text``.
    item_representation : {"auto", "id", "text", "both"}, default="auto"
        Item vectors (input embeddings and output layer alike): ``"id"`` a
        learned embedding per item; ``"text"`` a learned projection of the
        item's text embedding; ``"both"`` their sum, where items absent from the
        training sequences use the text part alone. ``"auto"`` is ``"both"``
        when ``item_text`` is given, else ``"id"``.
    cache : EmbeddingCache, str, path-like or None, default=None
        Where the text embeddings outlive a fit (see
        :class:`~skrec.utils.EmbeddingCache`); None encodes them at every fit.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Torch device of training: ``"auto"`` is ``"cuda"`` when available,
        else ``"cpu"``; ``"cuda"`` (or ``"cuda:N"``) without CUDA raises.
    precision : {"auto", "float32", "mixed"}, default="auto"
        Arithmetic of the training forward and loss. ``"mixed"``: autocast
        to bfloat16 (CUDA where the GPU supports it, else float16 with loss
        scaling; on the CPU bfloat16, which warns where the CPU has no native
        bfloat16 instructions and emulates them, slower than float32).
        ``"auto"``: ``"mixed"`` on CUDA, ``"float32"`` on the CPU. Validation,
        the cached states and scoring are float32 in every case.
    compile : bool, default=False
        Train through ``torch.compile`` (dynamic shapes). The first epoch pays
        the compilation (tens of seconds on a CPU, which also needs a C++
        compiler); later epochs may run faster. Off by default: on small CPU
        models it did not pay (see ``docs/transformer.md``).
    callbacks : list of skorch callbacks or None, default=None
        Extra callbacks (instances or ``(name, callback)`` pairs) of ``net_``
        (next-item training), deep-copied in ``fit``; find the fitted ones in
        ``net_.callbacks_``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch order, negatives, masks and
        views (the global torch RNG is left untouched). Same seed, same
        recommendations on a given CPU.
    verbose : bool, default=False
        Print skorch's per-epoch table (loss, ``valid_ndcg``, duration).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.
    n_jobs : int or None, default=None
        Threads of torch during ``fit`` (restored afterwards) and of
        ``recommend`` (see :func:`skrec.utils.effective_n_jobs`).

    Attributes
    ----------
    net_ : SequenceNet
        The fitted :class:`skorch.NeuralNet` of next-item training; its
        ``history`` holds ``train_loss``, ``valid_ndcg`` and ``dur`` per epoch.
    module_ : SASRecModule
        The trained torch module (``net_.module_``).
    pretrain_history_ : skorch.history.History or None
        Per-epoch history of masked item pretraining (``pretrain="mlm"``).
    best_epoch_ : int
        Epoch (1-based) whose weights were kept.
    batch_size_ : int
        The batch size used (``batch_size`` resolved).
    user_states_ : ndarray of shape (n_users, embedding_dim)
        Hidden state after each user's full training history; scoring is a
        product with ``item_embeddings_``.
    item_embeddings_ : ndarray of shape (n_items, embedding_dim)
        The item table (rows of ``embed_items``).
    item_representation_ : str
        The representation used: ``"id"``, ``"text"`` or ``"both"``.
    users_, items_ : ndarray
        Ids known from ``fit``, in index order.
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    ALSRecommender : Order-free matrix factorisation.

    Notes
    -----
    Only positive rows (``y > 0``) enter the sequences, in time order (the
    timestamp column, else row order); repeated items stay repeated. A user
    with no positive row is represented by the mean user state. Scoring uses
    states cached after ``fit``, so ``recommend`` is a matrix product. The
    pickled estimator holds the net (module on its training device; skorch
    loads it on the CPU where CUDA is missing) and the cached arrays.

    Examples
    --------
    >>> from skrec import TransformerRecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=50, n_items=30, n_interactions=400, random_state=0)
    >>> rec = TransformerRecommender(embedding_dim=16, n_layers=1, max_epochs=2, random_state=0)
    >>> ids, scores = rec.fit(data.X).recommend(data.X["user"].unique()[:2], n=3)
    >>> ids.shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "max_len": [Interval(Integral, 1, None, closed="left")],
        "loss": [StrOptions({"softmax", "sampled_softmax", "gbce", "bce"})],
        "n_negatives": [Interval(Integral, 1, None, closed="left"), None],
        "negative_sampler": [StrOptions({"uniform", "popularity"})],
        "gbce_t": [Interval(Real, 0, 1, closed="both")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "pretrain": [StrOptions({"mlm", "contrastive"}), None],
        "pretrain_epochs": [Interval(Integral, 1, None, closed="left")],
        "mask_prob": [Interval(Real, 0, 1, closed="neither")],
        "contrastive_weight": [Interval(Real, 0, None, closed="left")],
        "contrastive_augmenters": [list, tuple],
        "item_text": [None, Mapping, pd.Series, callable],
        "text_model": [str, os.PathLike],
        "item_representation": [StrOptions({"auto", *MODES})],
        "cache": [None, str, os.PathLike, EmbeddingCache],
        "device": [str],
        "precision": [StrOptions({"auto", "float32", "mixed"})],
        "compile": ["boolean"],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [None, Interval(Integral, None, None, closed="neither")],
    }

    def __init__(
        self,
        embedding_dim: int = 64,
        *,
        n_layers: int = 2,
        n_heads: int = 2,
        dropout: float = 0.5,
        max_len: int = 50,
        loss: str = "sampled_softmax",
        n_negatives: int | None = None,
        negative_sampler: str = "uniform",
        gbce_t: float = 0.75,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        batch_size: int | str = 256,
        max_epochs: int = 200,
        patience: int | None = 5,
        augmenter=None,
        pretrain: str | None = None,
        pretrain_epochs: int = 10,
        mask_prob: float = 0.2,
        contrastive_weight: float = 0.1,
        contrastive_augmenters=_DEFAULT_VIEWS,
        item_text=None,
        text_model: str | os.PathLike = _DEFAULT_TEXT_MODEL,
        item_representation: str = "auto",
        cache=None,
        device: str = "auto",
        precision: str = "auto",
        compile: bool = False,  # noqa: A002 (the name torch and skorch use)
        callbacks: list | None = None,
        random_state=None,
        verbose: bool = False,
        handle_unknown: str = "popular",
        n_jobs: int | None = None,
    ):
        self.embedding_dim = embedding_dim
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dropout = dropout
        self.max_len = max_len
        self.loss = loss
        self.n_negatives = n_negatives
        self.negative_sampler = negative_sampler
        self.gbce_t = gbce_t
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.augmenter = augmenter
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.mask_prob = mask_prob
        self.contrastive_weight = contrastive_weight
        self.contrastive_augmenters = contrastive_augmenters
        self.item_text = item_text
        self.text_model = text_model
        self.item_representation = item_representation
        self.cache = cache
        self.device = device
        self.precision = precision
        self.compile = compile
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.handle_unknown = handle_unknown
        self.n_jobs = n_jobs

    # ------------------------------------------------------------ resolution
    def _resolve_device(self) -> str:
        return resolve_torch_device(self.device, torch)

    def _view_augmenters(self) -> list:
        if len(self.contrastive_augmenters) == 0:
            raise ValueError("contrastive_augmenters is empty; give at least one augmenter")
        out = []
        for spec in self.contrastive_augmenters:
            if isinstance(spec, str):
                try:
                    from skrec import augmenters  # noqa: PLC0415 (plugins load lazily)
                except ImportError as exc:
                    raise ImportError(
                        f"contrastive_augmenters names {spec!r} but skrec.augmenters could not "
                        f"be imported ({exc}); pass objects with a "
                        "view(seq, rng, mask_value) method instead"
                    ) from exc
                spec = augmenters.get(spec)
            if not callable(getattr(spec, "view", None)):
                raise TypeError(
                    "contrastive_augmenters must hold augmenter names or objects with a "
                    f"view(seq, rng, mask_value) method; got {type(spec).__name__}"
                )
            out.append(spec)
        return out

    # --------------------------------------------------------------- fitting
    def _extra_items(self):
        if self.item_text is None:
            return None
        return item_text_ids(self.item_text, "TransformerRecommender")

    def _text_inputs(self, train: list[np.ndarray], n_items: int, device: str) -> dict:
        """The item-representation arguments of the module (text embeddings, known items)."""
        self.item_representation_ = resolve_mode(
            self.item_representation, self.item_text is not None
        )
        if self.item_representation_ == "id":
            return {}
        texts = item_texts(self.item_text, self.items_, "TransformerRecommender")
        embeddings = resolve_cache(self.cache).encode(
            texts, self.text_model, device=device, n_jobs=self.n_jobs, verbose=self.verbose
        )
        known = np.zeros(n_items, dtype=bool)
        if train:
            known[np.concatenate(train) - 1] = True
        return {
            "module__item_text": embeddings,
            "module__item_representation": self.item_representation_,
            "module__known_items": known,
        }

    def _user_sequences(self, data):
        """Each user's positive items as indices ``1..n_items``, in time order, and their weights.

        Rows of ``sample_weight`` 0 count for nothing and are left out. Returns
        ``(sequences, weights)``; ``weights`` (the ``sample_weight`` of each
        item, aligned with ``sequences``) is None unless the weights vary.
        """
        keep = data.positive
        weight = None
        if data.weight is not None:
            keep = keep & (data.weight > 0)
            if len(np.unique(data.weight[keep])) > 1:
                weight = data.weight
        order = data.order()
        order = order[keep[order]]
        users = self._user_index.get_indexer(data.users[order])
        items = self._item_index.get_indexer(data.items[order]) + 1
        sequences = _group(users, items, len(self.users_))
        if weight is None:
            return sequences, None
        return sequences, _group(users, weight[order].astype(np.float32), len(self.users_))

    def _augment(self, data):
        """Leave the table as it is: ``augmenter`` applies to the training sequences.

        :meth:`_fit_model` augments each user's history after the validation
        item has been held out, so the augmenter's extra sequences (views under
        pseudo-users) train the model but never contain a validation item, and
        pseudo-users do not enter ``users_``.
        """
        return data

    def _augment_sequences(self, histories: list[np.ndarray], n_items: int) -> list:
        """``histories`` (item indices per user) after ``self.augmenter``.

        The histories go to ``fit_resample`` as a table ``(user, item,
        timestamp=position)``; the result is read back as one sequence per user
        id it holds (real users, whose history a ``mode="replace"`` augmenter
        may have changed, then any pseudo-users), positive rows in time order.
        """
        if self.augmenter is None or not histories:
            return histories
        lengths = [len(seq) for seq in histories]
        table = check_interactions(
            pd.DataFrame(
                {
                    "user": np.repeat(np.arange(len(histories)), lengths),
                    "item": np.concatenate(histories),
                    "timestamp": np.concatenate([np.arange(n) for n in lengths]),
                }
            )
        )
        out = super()._augment(table)
        order = out.order()
        order = order[out.positive[order]]
        items = out.items[order].astype(np.int64, copy=False)
        if len(items) and (items.min() < 1 or items.max() > n_items):
            raise ValueError(
                f"augmenter {self.augmenter!r} returned items that were not in the training "
                "sequences; a sequence augmenter must keep item ids valid"
            )
        codes, _ = pd.factorize(out.users[order])
        return _group(codes, items, int(codes.max(initial=-1)) + 1)

    def _fit_model(self, R, data, previous) -> None:
        with torch_threads(effective_n_jobs(self.n_jobs)):
            self._train(data)

    def _train(self, data) -> None:
        if self.embedding_dim % self.n_heads:
            raise ValueError(
                f"embedding_dim={self.embedding_dim} must be divisible by n_heads={self.n_heads}"
            )
        device = self._resolve_device()
        views = self._view_augmenters() if self.pretrain == "contrastive" else None
        sequences, weights = self._user_sequences(data)
        n_items = len(self.items_)
        hold_out = self.patience is not None
        histories, valid_users = [], []
        for user, seq in enumerate(sequences):
            if hold_out and len(seq) >= 3:
                valid_users.append(user)
                seq = seq[:-1]
            histories.append(seq)
        # Augmented after the hold-out, so no view contains a validation item. (fit
        # refuses sample_weight with an augmenter: weights and views never meet.)
        histories = self._augment_sequences(histories, n_items)
        kept = [k for k, seq in enumerate(histories) if len(seq) >= 2]
        train = [histories[k][-(self.max_len + 1) :] for k in kept]
        target_weights = None
        if weights is not None:
            # Each target position weighs as the row of the item to predict.
            tails = [weights[k][: len(histories[k])][-(self.max_len + 1) :] for k in kept]
            target_weights = pad_left([w[1:] for w in tails], self.max_len, dtype=np.float32)
        if not train:
            warnings.warn(
                "No user has two or more positive interactions, so there is no next item "
                "to learn from: TransformerRecommender keeps its initial weights.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        text_inputs = self._text_inputs(train, n_items, device)
        self.batch_size_ = self._resolve_batch_size(len(train))
        seed = draw_seed(self.random_state)
        cuda_devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(seed)
            rng = np.random.default_rng(seed)
            self.pretrain_history_ = None
            pretrained = None
            if self.pretrain == "mlm" and train:
                pretrain_net = self._make_net(
                    n_items, "mlm", self.pretrain_epochs, [], device, text_inputs
                )
                padded = pad_left(train, self.max_len)
                pretrain_net.fit(SequenceDataset(padded, padded))
                self.pretrain_history_ = pretrain_net.history
                pretrained = pretrain_net.module_.state_dict()
            inputs = pad_left([s[:-1] for s in train], self.max_len)
            targets = pad_left([s[1:] for s in train], self.max_len)
            dataset = SequenceDataset(
                inputs,
                targets,
                sequences=[s[:-1] for s in train],
                views=None if views is None else ViewMaker(views, rng, n_items, self.max_len),
                weights=target_weights,
            )
            self.net_ = self._make_net(
                n_items,
                "next",
                self.max_epochs,
                self._validation_callbacks(sequences, valid_users, n_items, rng)
                + copy.deepcopy(list(self.callbacks or [])),
                device,
                text_inputs,
            )
            self.net_.initialize()
            if pretrained is not None:
                # Fine-tuning starts from the pretrained weights, with a fresh optimizer.
                self.net_.module_.load_state_dict(pretrained)
            if train:
                self.net_.partial_fit(dataset)
        self._finish_fit(sequences, device)

    def _validation_callbacks(self, sequences, valid_users, n_items, rng) -> list:
        if not valid_users:
            return []
        if len(valid_users) > _MAX_VALIDATION_USERS:
            # Every held-out item stays out of training; ranking them all each epoch
            # would cost more than the epoch itself.
            valid_users = np.sort(rng.choice(valid_users, _MAX_VALIDATION_USERS, replace=False))
        histories = [sequences[u][:-1] for u in valid_users]
        targets = np.array([sequences[u][-1] for u in valid_users], dtype=np.int64)
        lengths = [len(h) for h in histories]
        seen = sp.csr_matrix(
            (
                np.ones(sum(lengths), dtype=np.float32),
                (np.repeat(np.arange(len(histories)), lengths), np.concatenate(histories) - 1),
            ),
            shape=(len(histories), n_items),
        )
        validation = ValidationRanking(pad_left(histories, self.max_len), targets, seen, k=10)
        return [
            ("valid_ndcg", validation),
            (
                "lr_scheduler",
                LRScheduler(
                    policy=ReduceLROnPlateau,
                    monitor="valid_ndcg",
                    mode="max",
                    factor=0.5,
                    patience=max(1, self.patience // 2),
                ),
            ),
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_ndcg",
                    lower_is_better=False,
                    patience=self.patience,
                    load_best=True,
                ),
            ),
        ]

    def _resolve_precision(self, device: str) -> str:
        """The autocast dtype of training: ``"float32"``, ``"bf16"`` or ``"fp16"``."""
        if self.precision == "float32" or (self.precision == "auto" and device == "cpu"):
            return "float32"
        if device.startswith("cuda"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if not _cpu_has_native_bf16():
            warnings.warn(
                "precision='mixed' on a CPU without native bfloat16 instructions: torch "
                "emulates them, which is slower than float32 here; use precision='float32'",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        return "bf16"

    def _resolve_batch_size(self, n_sequences: int) -> int:
        if self.batch_size != "auto":
            return int(self.batch_size)
        return int(np.clip(n_sequences // _AUTO_STEPS, _AUTO_BATCH[0], _AUTO_BATCH[1]))

    def _n_negatives(self) -> int:
        if self.n_negatives is not None:
            return self.n_negatives
        return 1 if self.loss == "bce" else _DEFAULT_SHARED_NEGATIVES

    def _make_net(
        self, n_items: int, objective: str, max_epochs: int, callbacks: list, device, text_inputs
    ):
        negative_cdf = None
        if self.negative_sampler == "popularity":
            negative_cdf = np.cumsum(self.item_popularity_ + 1e-3)
        target_p = None
        if self.loss == "sampled_softmax":
            counts = np.asarray(self.item_popularity_, dtype=np.float64)
            target_p = counts / counts.sum() if counts.sum() > 0 else None
        loss = "softmax" if objective == "mlm" else self.loss
        if objective == "mlm":
            phase = f"{type(self).__name__}: masked-item pretraining ({max_epochs} epochs)"
        else:
            phase = f"{type(self).__name__}: next-item training (loss={loss!r}"
            if loss != "softmax":
                phase += f", {self._n_negatives()} negatives"
            phase += f", at most {max_epochs} epochs)"
        return SequenceNet(
            module=SASRecModule,
            module__n_items=n_items,
            module__embedding_dim=self.embedding_dim,
            module__n_layers=self.n_layers,
            module__n_heads=self.n_heads,
            module__dropout=self.dropout,
            module__max_len=self.max_len,
            **text_inputs,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=max_epochs,
            batch_size=self.batch_size_,
            iterator_train=SequenceBatches,
            iterator_train__shuffle=True,
            train_split=None,
            callbacks=callbacks,
            device=device,
            verbose=int(bool(self.verbose)),
            objective=objective,
            loss=loss,
            n_negatives=self._n_negatives(),
            negative_cdf=negative_cdf,
            target_p=target_p,
            gbce_t=self.gbce_t,
            precision=self._resolve_precision(device),
            compile=self.compile,
            phase=phase,
            contrastive_weight=self.contrastive_weight if self.pretrain == "contrastive" else 0.0,
            mask_prob=self.mask_prob,
        )

    def _finish_fit(self, sequences: list[np.ndarray], device) -> None:
        net = self.net_
        callbacks = dict(net.callbacks_)
        stopper = callbacks.get("early_stopping")
        self.best_epoch_ = len(net.history) if stopper is None else int(stopper.best_epoch_)
        if stopper is not None:
            stopper.best_model_weights_ = None  # already restored; do not keep a copy
        if "lr_scheduler" in callbacks:
            # It references the optimizer: pickled as is, it would carry a second copy of
            # the weights, outside skorch's CUDA-to-CPU handling. skorch rebuilds it on
            # the next training.
            callbacks["lr_scheduler"].lr_scheduler_ = None
        states = final_states(net.module_, pad_left(sequences, self.max_len), device)
        empty = np.array([len(s) == 0 for s in sequences])
        if empty.any():
            states[empty] = states[~empty].mean(axis=0) if (~empty).any() else 0.0
        self.user_states_ = states
        with torch.no_grad():
            self.item_embeddings_ = net.module_.item_table().detach().float().cpu().numpy()

    @property
    def module_(self):
        """The trained :class:`~skrec.recommenders._sasrec.SASRecModule` (``net_.module_``)."""
        check_is_fitted(self, "net_")
        return self.net_.module_

    # --------------------------------------------------------------- scoring
    def _score_users(self, user_idx, item_idx=None):
        items = self.item_embeddings_ if item_idx is None else self.item_embeddings_[item_idx]
        return (self.user_states_[user_idx] @ items.T).astype(np.float64)

    def _score_pairs(self, user_idx, item_idx):
        return np.einsum(
            "ij,ij->i", self.user_states_[user_idx], self.item_embeddings_[item_idx]
        ).astype(np.float64)

    def _embed_items(self, item_idx):
        return self.item_embeddings_[item_idx]


def _cpu_has_native_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX tiles)."""
    cpu = torch.cpu
    try:
        return bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # private helpers of torch >= 2.3
        return False


def _group(codes: np.ndarray, items: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """``items`` split by ``codes`` (0..n_groups-1), keeping their order within a group."""
    by_code = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_groups)
    return np.split(items[by_code], np.cumsum(counts)[:-1])
