"""skrec's own BPR trainer: uniform negatives, mini-batches, NumPy only.

Used by :class:`~skrec.recommenders.BPRRecommender` with ``sampling="uniform"``.
Each epoch visits every positive ``(user, item)`` pair once, in a random
order, and pairs it with an "other" item drawn uniformly from the whole
catalogue (Rendle et al.'s sampler, as Cornac and RecBole draw it), not in
proportion to popularity as implicit's sampler does. A mini-batch of triples
is one step: plain SGD with the triples' updates summed (implicit's and
Cornac's rule, batched), or Adam on the batch's mean loss (as RecBole trains
BPR), with moments kept and updated only for the rows a batch touches.
"""

from __future__ import annotations

import sys

import numpy as np
import scipy.sparse as sp

__all__ = ["sample_negatives", "train_bpr"]

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8

#: Redraws of an "other" item the user liked before the triple is dropped.
_MAX_REDRAWS = 20


def sample_negatives(P: sp.csr_matrix, users: np.ndarray, rng, verify: bool = True):
    """One "other" item per entry of ``users``, uniform over the catalogue.

    With ``verify``, an item the user liked (a stored entry of ``P``, whose
    indices must be sorted) is drawn again, so the result is uniform over the
    items each user did not like; a triple whose user liked nearly everything
    may stay unresolved after a few redraws and is marked ``-1``.

    Parameters
    ----------
    P : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Liked items, sorted indices.
    users : ndarray of int
        Row of ``P`` of each triple.
    rng : numpy.random.Generator
        Source of the draws.
    verify : bool, default=True
        Redraw liked items.

    Returns
    -------
    ndarray of int64
        Item per entry of ``users`` (``-1`` where none was found).
    """
    n_items = P.shape[1]
    items = rng.integers(0, n_items, size=len(users), dtype=np.int64)
    if not verify:
        return items
    # Row-major keys of the liked pairs are sorted, so membership is a binary search.
    rows = np.repeat(np.arange(P.shape[0], dtype=np.int64), np.diff(P.indptr))
    keys = rows * n_items + P.indices
    todo = np.arange(len(users))
    for _ in range(_MAX_REDRAWS):
        probe = users[todo].astype(np.int64) * n_items + items[todo]
        at = np.minimum(np.searchsorted(keys, probe), max(len(keys) - 1, 0))
        liked = keys[at] == probe if len(keys) else np.zeros(len(todo), dtype=bool)
        todo = todo[liked]
        if len(todo) == 0:
            return items
        items[todo] = rng.integers(0, n_items, size=len(todo), dtype=np.int64)
    probe = users[todo].astype(np.int64) * n_items + items[todo]
    at = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
    items[todo[keys[at] == probe]] = -1
    return items


def _scatter(index: np.ndarray, values: np.ndarray):
    """(unique rows, summed values per row) of ``values`` grouped by ``index``.

    A sparse (groups x entries) matrix of ones times ``values``: several times
    faster than ``np.add.at`` or ``np.add.reduceat`` over rows.
    """
    order = np.argsort(index, kind="stable")
    ordered = index[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    groups = sp.csr_matrix(
        (np.ones(len(index), dtype=values.dtype), order, np.r_[starts, len(index)]),
        shape=(len(starts), len(index)),
    )
    return ordered[starts], groups @ values


def train_bpr(
    P: sp.csr_matrix,
    *,
    factors: int,
    learning_rate: float,
    regularization: float,
    iterations: int,
    batch_size: int,
    optimizer: str,
    verify_negative_samples: bool,
    seed: int,
    verbose: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit BPR-MF with an item bias on uniform triples, by mini-batch SGD or Adam.

    A triple's ascent direction is implicit's (and Cornac's): with ``x = u.(i -
    j) + b_i - b_j``, ``sigmoid(-x) * dx/dparameter - regularization *
    parameter`` for the user, both items and both biases. ``"sgd"`` moves each
    parameter by ``learning_rate`` times the sum of its directions in the
    batch, all computed from the same parameters (a batch of one is plain
    SGD); ``"adam"`` takes their batch mean as minus the gradient of a lazy
    Adam step (Kingma & Ba's defaults, betas 0.9 / 0.999).

    Returns
    -------
    user_factors : ndarray of shape (n_users, factors + 1), float32
        The last column is 1.
    item_factors : ndarray of shape (n_items, factors + 1), float32
        The last column is the item bias.
    """
    n_users, n_items = P.shape
    rng = np.random.default_rng(seed)
    # Cornac's initialisation: N(0, 0.01) factors, zero biases. Implicit's layout:
    # the users' last column is 1, the items' is their bias, so a score is one dot product.
    U = rng.normal(0.0, 0.01, size=(n_users, factors + 1)).astype(np.float32)
    V = rng.normal(0.0, 0.01, size=(n_items, factors + 1)).astype(np.float32)
    U[:, -1], V[:, -1] = 1.0, 0.0
    pos_users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(P.indptr))
    pos_items = P.indices.astype(np.int64)
    lr, reg = np.float32(learning_rate), np.float32(regularization)
    step = _sgd_step(lr) if optimizer == "sgd" else _AdamStep(lr, U, V)
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is checked per epoch
        for epoch in range(iterations):
            order = rng.permutation(len(pos_users))
            users, liked = pos_users[order], pos_items[order]
            other = sample_negatives(P, users, rng, verify_negative_samples)
            keep = other >= 0
            triples = users[keep], liked[keep], other[keep]
            correct = _epoch(U, V, triples, reg, batch_size, step)
            if not (np.isfinite(U).all() and np.isfinite(V).all()):
                raise ValueError(
                    f"BPRRecommender diverged at epoch {epoch + 1}; lower learning_rate"
                )
            if verbose:
                print(
                    f"epoch {epoch + 1}/{iterations}  train AUC "
                    f"{correct / max(1, int(keep.sum())):.4f}  triples without a negative "
                    f"{int((~keep).sum())}",
                    file=sys.stderr,
                    flush=True,
                )
    return U, V


def _epoch(U, V, triples, reg, batch_size, step) -> int:
    """One pass over ``(users, liked, other)`` in batches, in place; pairs already in order."""
    users, liked, other = triples
    n_users = U.shape[0]
    correct = 0
    for start in range(0, len(users), batch_size):
        u = users[start : start + batch_size]
        i = liked[start : start + batch_size]
        j = other[start : start + batch_size]
        pu, vi, vj = U[u], V[i], V[j]
        diff = vi - vj
        x = np.einsum("ij,ij->i", pu, diff)
        correct += int((x > 0).sum())
        z = (1.0 / (1.0 + np.exp(np.clip(x, -30.0, 30.0)))).astype(np.float32)[:, None]
        du = z * diff - reg * pu
        du[:, -1] = 0.0  # the constant column multiplying the item bias
        # Users and items summed in one pass: item k is row n_users + k.
        rows, summed = _scatter(
            np.concatenate([u, n_users + i, n_users + j]),
            np.concatenate([du, z * pu - reg * vi, -z * pu - reg * vj]),
        )
        split = np.searchsorted(rows, n_users)
        step(U, V, rows[:split], summed[:split], rows[split:] - n_users, summed[split:], len(u))
    return correct


def _sgd_step(lr):
    def step(U, V, user_rows, user_dir, item_rows, item_dir, n):
        U[user_rows] += lr * user_dir
        V[item_rows] += lr * item_dir

    return step


class _AdamStep:
    """Lazy Adam: moments of the rows a batch touches are updated, the others wait."""

    def __init__(self, lr, U, V):
        self.lr, self.t = lr, 0
        self.moments = [(np.zeros_like(U), np.zeros_like(U)), (np.zeros_like(V), np.zeros_like(V))]

    def __call__(self, U, V, user_rows, user_dir, item_rows, item_dir, n):
        self.t += 1
        c1, c2 = 1.0 - _BETA1**self.t, 1.0 - _BETA2**self.t
        for X, (m, v), rows, ascent in (
            (U, self.moments[0], user_rows, user_dir),
            (V, self.moments[1], item_rows, item_dir),
        ):
            g = ascent / np.float32(-n)  # gradient of the batch's mean loss
            m_rows, v_rows = m[rows], v[rows]
            m_rows *= _BETA1
            m_rows += (1 - _BETA1) * g
            v_rows *= _BETA2
            squared = (1 - _BETA2) * g
            squared *= g
            v_rows += squared
            m[rows], v[rows] = m_rows, v_rows
            # In place, in the order of lr * (m / c1) / (sqrt(v / c2) + eps).
            m_rows /= c1
            m_rows *= self.lr
            v_rows /= c2
            np.sqrt(v_rows, out=v_rows)
            v_rows += _EPS
            m_rows /= v_rows
            X[rows] -= m_rows
