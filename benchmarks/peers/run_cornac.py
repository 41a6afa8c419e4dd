"""Cornac's runner for bench_peers.py: JSON requests on stdin, replies on stdout (README.md).

Runs in ``benchmarks/peers/.venv-cornac`` (``make_env.sh cornac``) and never
imports skrec. Models and their ``params`` (Cornac's own names):

* ``bpr``: ``cornac.models.BPR`` (k, max_iter, learning_rate, lambda_reg);
* ``multvae``: ``cornac.models.VAECF`` with ``likelihood="mult"`` (k, autoencoder_structure,
  n_epochs, batch_size, learning_rate, beta);
* ``item_knn``: ``cornac.models.ItemKNN`` (k, similarity, weighting).

Interactions are read as ratings of 1; top-N ranks ``model.score(user)`` with
the user's training items excluded.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
from _runner import package_versions, serve, top_n_of_scores

THREADS = int(os.environ.get("PEER_THREADS", "1"))


def versions():
    return package_versions("cornac", "torch", "numpy", "scipy")


def threads():
    from threadpoolctl import threadpool_info

    out = {"cornac": THREADS}
    out["blas"] = sorted(
        {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    )
    try:
        import torch

        out["torch"] = torch.get_num_threads()
    except ImportError:
        pass
    return out


class Fitted:
    def __init__(self, model, train_set):
        self.model, self.train_set = model, train_set


def fit(model, user, item, params, seed):
    import cornac
    from cornac.data import Dataset

    train_set = Dataset.from_uir(
        list(zip(user.tolist(), item.tolist(), [1.0] * len(user))), seed=seed
    )
    if model == "bpr":
        est = cornac.models.BPR(**params, seed=seed, num_threads=THREADS, verbose=False)
    elif model == "multvae":
        import torch

        torch.set_num_threads(THREADS)
        est = cornac.models.VAECF(
            **params, likelihood="mult", act_fn="tanh", seed=seed, use_gpu=False, verbose=False
        )
    elif model == "item_knn":
        est = cornac.models.ItemKNN(**params, num_threads=THREADS, verbose=False)
    else:
        raise ValueError(f"unknown model {model!r}; this runner knows bpr, multvae, item_knn")
    start = time.perf_counter()
    est.fit(train_set)
    fitted = Fitted(est, train_set)
    fitted.fit_s = time.perf_counter() - start
    return fitted


def top_n(fitted, users, n):
    ts = fitted.train_set
    item_ids = np.asarray(ts.item_ids, dtype=np.int64)
    seen = ts.matrix.tocsr()
    for u in users:
        idx = ts.uid_map[int(u)]
        scores = fitted.model.score(idx)
        yield item_ids[top_n_of_scores(scores, seen[idx].indices, n)]


if __name__ == "__main__":
    sys.exit(serve("cornac", versions, threads, fit, top_n))
