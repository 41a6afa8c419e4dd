"""The torch side of :class:`~skrec.recommenders.MultVAERecommender`: the module and its loop.

Imported only by ``MultVAERecommender.fit`` (it imports torch).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MultVAE", "train_multvae"]


class MultVAE(nn.Module):
    """``n_items -> hidden -> (mu, logvar) latent -> hidden -> n_items`` with tanh layers."""

    def __init__(self, n_items: int, hidden_dim: int, latent_dim: int, dropout: float):
        super().__init__()
        self.encoder = nn.Linear(n_items, hidden_dim)
        self.to_latent = nn.Linear(hidden_dim, 2 * latent_dim)
        self.decoder = nn.Linear(latent_dim, hidden_dim)
        self.output = nn.Linear(hidden_dim, n_items)
        self.dropout = nn.Dropout(dropout)
        self.latent_dim = latent_dim
        for layer in (self.encoder, self.to_latent, self.decoder, self.output):
            # The paper's initialisation: Xavier weights, N(0, 0.001) biases.
            nn.init.xavier_normal_(layer.weight)
            nn.init.normal_(layer.bias, std=0.001)

    def forward(self, x):
        h = torch.tanh(self.encoder(self.dropout(F.normalize(x, dim=1))))
        stats = self.to_latent(h)
        mu, logvar = stats[:, : self.latent_dim], stats[:, self.latent_dim :]
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.output(torch.tanh(self.decoder(z))), mu, logvar


def _batch(X: sp.csr_matrix, rows: np.ndarray, device) -> torch.Tensor:
    return torch.from_numpy(X[rows].toarray()).to(device)


def train_multvae(
    X: sp.csr_matrix,
    *,
    latent_dim: int,
    hidden_dim: int,
    dropout: float,
    beta: float,
    anneal_steps: int | None,
    max_epochs: int,
    batch_size: int,
    learning_rate: float,
    weight_decay: float,
    device: str,
    seed: int,
    verbose: bool,
) -> tuple[dict, list]:
    """Train a Mult-VAE on the user rows of ``X``; returns (numpy weights, loss per epoch).

    Users without a positive interaction do not take part (an empty row has no
    multinomial). Seeded by ``seed`` inside :func:`torch.random.fork_rng`, so
    the global torch RNG is unchanged.
    """
    n_items = X.shape[1]
    users = np.flatnonzero(np.diff(X.indptr) > 0)
    steps_per_epoch = max(1, -(-len(users) // batch_size))
    total = anneal_steps or steps_per_epoch * max_epochs
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    losses = []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        order_rng = np.random.default_rng(seed)
        model = MultVAE(n_items, hidden_dim, latent_dim, dropout).to(device)
        optimizer = torch.optim.Adam(
            model.parameters(), lr=learning_rate, weight_decay=weight_decay
        )
        step = 0
        model.train()
        for epoch in range(max_epochs):
            order = order_rng.permutation(users)
            epoch_loss = 0.0
            for start in range(0, len(order), batch_size):
                x = _batch(X, order[start : start + batch_size], device)
                logits, mu, logvar = model(x)
                nll = -(F.log_softmax(logits, dim=1) * x).sum(dim=1).mean()
                kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1).mean()
                weight = beta * min(1.0, step / total)
                loss = nll + weight * kl
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                epoch_loss += float(loss.detach()) * len(x)
            losses.append(epoch_loss / max(1, len(order)))
            if not np.isfinite(losses[-1]):
                raise ValueError(
                    f"MultVAERecommender diverged at epoch {epoch + 1} (loss "
                    f"{losses[-1]}); lower learning_rate"
                )
            if verbose:
                print(f"epoch {epoch + 1}/{max_epochs}  loss {losses[-1]:.4f}", flush=True)
    with torch.no_grad():
        latent = model.to_latent
        weights = {
            "enc_w": model.encoder.weight.T,
            "enc_b": model.encoder.bias,
            "mu_w": latent.weight[:latent_dim].T,
            "mu_b": latent.bias[:latent_dim],
            "dec_w": model.decoder.weight.T,
            "dec_b": model.decoder.bias,
            "out_w": model.output.weight.T,
            "out_b": model.output.bias,
        }
        weights = {
            k: np.ascontiguousarray(v.detach().cpu().numpy(), dtype=np.float64)
            for k, v in weights.items()
        }
    return weights, losses
