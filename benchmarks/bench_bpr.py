"""BPR's two trainers on three data sets: the validation behind ``sampling``'s default.

``BPRRecommender(sampling="implicit")`` (implicit's popularity-sampled
negatives, SGD) against ``sampling="uniform"`` (skrec's uniform negatives)
with SGD and with Adam, each at its default step and one more (SGD: 0.01 and
0.05; Adam: 0.001 and 0.003), everything else at the defaults but 64 factors
and 100 epochs. Each data set is split with
one PerUserKFold(5) fold held out, and the held-out fold scores the top-10
lists (NDCG@10, training items excluded): MovieLens-100K (ratings >= 4, the
training rows of ``bench_peers.py``'s test split, so its test fold stays
unseen), Amazon Beauty (5,000 users' sequences flattened to (user, item)
pairs) and a synthetic set from ``make_interactions``. One thread.

    python benchmarks/bench_bpr.py
    python benchmarks/bench_bpr.py --quick --output /tmp/smoke
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from _data import amazon_sequences, holdout, movielens_positives
from _harness import parse_args, write_results

from skrec import BPRRecommender
from skrec.datasets import make_interactions
from skrec.metrics import ndcg_at_k

CONFIGS = [
    ("implicit", "sgd", 0.01),
    ("implicit", "sgd", 0.05),
    ("uniform", "sgd", 0.01),
    ("uniform", "sgd", 0.05),
    ("uniform", "adam", 0.001),
    ("uniform", "adam", 0.003),
]


def datasets(quick: bool) -> dict:
    out = {}
    found = movielens_positives()
    if found is not None:
        train, _ = holdout(found[0], seed=0)  # bench_peers' test fold is left out
        out["MovieLens-100K (ratings >= 4)"] = train
    n_users = 500 if quick else 5000
    beauty = amazon_sequences("beauty", max_users=n_users, seed=0)
    if beauty is not None:
        pairs = beauty[["user", "item"]].drop_duplicates()
        out[f"Amazon Beauty ({n_users} users)"] = pairs.to_numpy()
    size = (300, 200, 6000) if quick else (2000, 1000, 40000)
    data = make_interactions(*size, random_state=0)
    out[f"make_interactions{size}"] = data.X[["user", "item"]].to_numpy()
    return out


def validation_ndcg(est, valid) -> float:
    truth = pd.DataFrame(valid, columns=["user", "item"]).groupby("user")["item"].agg(list)
    ids, scores = est.recommend(truth.index.to_numpy(), n=10)
    lists = [[i for i, s in zip(r, sc) if np.isfinite(s)] for r, sc in zip(ids, scores)]
    return float(ndcg_at_k(list(truth), lists, k=10))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    iterations = 10 if args.quick else 100
    rows = []
    for name, X in datasets(args.quick).items():
        fit_rows, valid = holdout(X, seed=1)
        print(f"{name}: {len(fit_rows)} training rows", file=sys.stderr, flush=True)
        for sampling, optimizer, lr in CONFIGS:
            est = BPRRecommender(
                factors=64,
                iterations=iterations,
                learning_rate=lr,
                sampling=sampling,
                optimizer=optimizer,
                n_jobs=1,
                random_state=0,
            )
            start = time.perf_counter()
            est.fit(fit_rows)
            fit_s = time.perf_counter() - start
            score = validation_ndcg(est, valid)
            rows.append(
                {
                    "data": name,
                    "sampling": sampling,
                    "optimizer": optimizer if sampling == "uniform" else "sgd (implicit)",
                    "learning_rate": lr,
                    "valid ndcg@10": score,
                    "fit_s": fit_s,
                }
            )
            print(f"  {sampling} {optimizer} lr={lr}: {score:.4f} ({fit_s:.1f} s)", file=sys.stderr)
    write_results(
        "bpr",
        args,
        rows,
        notes=(
            f"factors=64, iterations={iterations}, regularization=0.01, "
            "verify_negative_samples=True, n_jobs=1, random_state=0; validation NDCG@10 "
            "on one held-out PerUserKFold(5) fold of each data set."
        ),
    )


if __name__ == "__main__":
    main()
