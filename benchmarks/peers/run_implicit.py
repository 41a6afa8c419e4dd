"""implicit's runner for bench_peers.py: JSON requests on stdin, replies on stdout (README.md).

Runs in ``benchmarks/peers/.venv-implicit`` (``make_env.sh implicit``) and
never imports skrec. Models and their ``params`` (implicit's own names):

* ``bpr``: ``implicit.cpu.bpr.BayesianPersonalizedRanking`` (factors, learning_rate,
  regularization, iterations);
* ``lmf``: ``implicit.cpu.lmf.LogisticMatrixFactorization`` (factors, learning_rate,
  regularization, iterations, neg_prop);
* ``item_knn``: ``implicit.nearest_neighbours`` ``CosineRecommender``,
  ``TFIDFRecommender`` or ``BM25Recommender`` by ``similarity`` (with ``K``).

Interactions are read as 1s; top-N excludes each user's training items.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from _runner import package_versions, serve

THREADS = int(os.environ.get("PEER_THREADS", "1"))


def versions():
    return package_versions("implicit", "numpy", "scipy")


def threads():
    from threadpoolctl import threadpool_info

    blas = sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
    return {"implicit": THREADS, "blas": blas}


class Fitted:
    def __init__(self, model, matrix, users, items):
        self.model, self.matrix = model, matrix
        self.user_index = {u: k for k, u in enumerate(users)}
        self.items = items


def fit(model, user, item, params, seed):
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from implicit.cpu.lmf import LogisticMatrixFactorization
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender

    users, u = np.unique(user, return_inverse=True)
    items, i = np.unique(item, return_inverse=True)
    R = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(len(users), len(items)))
    R.data[:] = 1.0
    if model == "bpr":
        est = BayesianPersonalizedRanking(**params, num_threads=THREADS, random_state=seed)
    elif model == "lmf":
        est = LogisticMatrixFactorization(**params, num_threads=THREADS, random_state=seed)
    elif model == "item_knn":
        kind = params.pop("similarity")
        cls = {"cosine": CosineRecommender, "tfidf": TFIDFRecommender, "bm25": BM25Recommender}
        est = cls[kind](**params, num_threads=THREADS)
    else:
        raise ValueError(f"unknown model {model!r}; this runner knows bpr, lmf, item_knn")
    start = time.perf_counter()
    est.fit(R, show_progress=False)
    fitted = Fitted(est, R, users, items)
    fitted.fit_s = time.perf_counter() - start
    return fitted


def top_n(fitted, users, n):
    rows = np.array([fitted.user_index[int(u)] for u in users])
    ids, _ = fitted.model.recommend(rows, fitted.matrix[rows], N=n)
    for row in ids:
        yield fitted.items[row[row >= 0]]


if __name__ == "__main__":
    sys.exit(serve("implicit", versions, threads, fit, top_n))
