"""Variational autoencoder with a multinomial likelihood (Liang et al., 2018).

Trained with torch, which is imported only inside ``fit``; the fitted weights
are kept as numpy arrays, so scoring, pickling and loading need no torch, and
importing this module (or skrec) never imports it.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from skrec.recommenders._base import BaseRecommender
from skrec.recommenders._implicit_mf import positive_part
from skrec.utils._device import resolve_torch_device
from skrec.utils._optional import import_optional
from skrec.utils._random import draw_seed
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils._threads import effective_n_jobs, torch_threads

__all__ = ["MultVAERecommender"]


class MultVAERecommender(BaseRecommender):
    """Mult-VAE: each user's items as a draw from a multinomial decoded from a latent vector.

    The model of Liang, Krishnan, Hoffman & Jebara, "Variational Autoencoders
    for Collaborative Filtering" (WWW 2018): the encoder maps a user's
    L2-normalised interaction row (with input dropout) through a ``tanh``
    layer to the mean and log-variance of a Gaussian latent vector; the
    decoder maps the latent vector through a ``tanh`` layer to one logit per
    item; training minimises the multinomial negative log-likelihood of the
    user's items plus ``beta`` times the KL divergence to a standard normal,
    with ``beta`` annealed linearly from 0. At prediction the latent mean of
    the user's training row is decoded (no sampling).

    Parameters
    ----------
    latent_dim : int, default=200
        Size of the latent vector.
    hidden_dim : int, default=600
        Size of the encoder's and decoder's hidden layer.
    dropout : float, default=0.5
        Dropout rate on the input rows during training.
    beta : float, default=0.2
        Final weight of the KL term (the paper's annealing cap).
    anneal_steps : int or None, default=None
        Optimiser steps over which ``beta`` rises linearly from 0; None spreads
        the rise over the whole training.
    max_epochs : int, default=100
        Passes over the users.
    batch_size : int, default=128
        Users per optimiser step.
    learning_rate : float, default=1e-3
        Adam's step size.
    weight_decay : float, default=0.0
        Adam's L2 penalty on the weights.
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where to train (``"cuda:N"`` for a given GPU); ``"auto"`` is CUDA when
        torch can use it. Scoring runs on the CPU, in numpy.
    n_jobs : int or None, default=None
        Threads of torch during ``fit`` (restored afterwards) and of
        ``recommend`` (see :func:`skrec.utils.effective_n_jobs`).
    random_state : int, RandomState instance or None, default=None
        Seed of the initial weights, the batches, dropout and the latent
        samples (the global torch RNG is left untouched).
    verbose : bool, default=False
        Print the training loss after each epoch.
    augmenter : str, augmenter instance or None, default=None
        Training-data augmentation applied in ``fit`` only (a name from
        :func:`skrec.augmenters.available`, or an object with ``fit_resample``).
    handle_unknown : {"popular", "error"}, default="popular"
        What to do with users or items not seen in ``fit`` at predict time.

    Attributes
    ----------
    weights_ : dict of str to ndarray
        The fitted layers as float64 arrays (scored in float64, so a user's
        scores do not depend on the users scored with it): ``enc_w`` (n_items, hidden),
        ``enc_b``, ``mu_w`` (hidden, latent), ``mu_b``, ``dec_w`` (latent,
        hidden), ``dec_b``, ``out_w`` (hidden, n_items), ``out_b``.
    loss_curve_ : list of float
        The mean training loss of each epoch.
    users_, items_ : ndarray
        Ids known from ``fit``, in index order.
    interactions_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        The training matrix (summed weights; explicit negatives are negative).
    calibration_ : tuple of float
        ``(a, b)`` of ``P(relevant) = sigmoid(a * score + b)``.

    See Also
    --------
    EASERecommender : A linear item-item autoencoder in closed form.

    Notes
    -----
    The raw score (``score_samples``) is the log-probability of the item in
    the user's decoded multinomial, so scores are comparable across users.
    A positive interaction's strength is its count in the multinomial; only
    rows with ``y > 0`` enter the input rows, and explicit negatives are
    excluded from their user's rankings (``exclude_seen``). ``embed_items``
    returns each item's column of the output layer (``out_w``). Needs torch
    (``pip install "scikit-recommend[transformer]"``) to fit only.

    Examples
    --------
    >>> from skrec import MultVAERecommender
    >>> from skrec.datasets import make_interactions
    >>> data = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=0)
    >>> rec = MultVAERecommender(latent_dim=8, hidden_dim=16, max_epochs=5, random_state=0)
    >>> ids, scores = rec.fit(data.X).recommend(data.X["user"].unique()[:2], n=3)
    >>> ids.shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **BaseRecommender._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_dim": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "anneal_steps": [None, Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        latent_dim: int = 200,
        *,
        hidden_dim: int = 600,
        dropout: float = 0.5,
        beta: float = 0.2,
        anneal_steps: int | None = None,
        max_epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        device: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: bool = False,
        augmenter=None,
        handle_unknown: str = "popular",
    ):
        self.latent_dim = latent_dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.beta = beta
        self.anneal_steps = anneal_steps
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.augmenter = augmenter
        self.handle_unknown = handle_unknown

    def _resolve_device(self, torch) -> str:
        return resolve_torch_device(self.device, torch)

    def _fit_model(self, R, data, previous) -> None:
        torch = import_optional("torch", "MultVAERecommender")
        from skrec.recommenders._multvae_training import train_multvae  # noqa: PLC0415

        X = positive_part(R)
        device = self._resolve_device(torch)
        seed = draw_seed(self.random_state)
        with torch_threads(effective_n_jobs(self.n_jobs)):
            self.weights_, self.loss_curve_ = train_multvae(
                X,
                latent_dim=self.latent_dim,
                hidden_dim=self.hidden_dim,
                dropout=float(self.dropout),
                beta=float(self.beta),
                anneal_steps=self.anneal_steps,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                learning_rate=float(self.learning_rate),
                weight_decay=float(self.weight_decay),
                device=device,
                seed=seed,
                verbose=bool(self.verbose),
            )
        self._X = X

    def _score_users(self, user_idx, item_idx=None):
        w = self.weights_
        x = self._X[user_idx]
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1), dtype=np.float64))
        hidden = np.tanh((x @ w["enc_w"]) / np.maximum(norms, 1e-12) + w["enc_b"])
        mu = hidden @ w["mu_w"] + w["mu_b"]
        logits = np.tanh(mu @ w["dec_w"] + w["dec_b"]) @ w["out_w"] + w["out_b"]
        top = logits.max(axis=1, keepdims=True)
        log_norm = top + np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
        scores = logits - log_norm
        return scores if item_idx is None else scores[:, item_idx]

    def _embed_items(self, item_idx):
        return self.weights_["out_w"][:, item_idx].T
