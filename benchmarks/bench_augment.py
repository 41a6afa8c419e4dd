"""Does training-data augmentation help ALS when data is scarce?

ALS with ``augmenter`` None / ``similar_items`` / ``negatives`` on MovieLens-100K
(ratings >= 4 are the positives; read from ``$SKREC_DATA``, never downloaded).
For each seed: one fold of ``PerUserKFold(5)`` is the test set; every user's
training rows are subsampled to ``--fraction`` (20 %, at least one row); each
configuration is fitted on that same sparse training set and scored by NDCG@10
on the test fold. Deltas are paired (same seed, same split) against no
augmentation and reported with their spread over seeds.

Two NDCG columns:

``ndcg10``
    the usual protocol: every item is ranked except the user's *original*
    training items.
``scorer_ndcg10``
    skrec's ``make_ranking_scorer()`` (what ``GridSearchCV`` sees): it excludes
    every item of the fitted ``interactions_``, augmented rows included, so
    items added for a user by an augmenter can no longer be recommended to them.

    python benchmarks/bench_augment.py            # MovieLens-100K, 5 seeds
    python benchmarks/bench_augment.py --quick    # < 1 min; synthetic data without MovieLens
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _data import movielens_positives
from _harness import median, parse_args, timer, write_results

from skrec import ALSRecommender
from skrec.augmenters import NegativeSamplingAugmenter, SimilarItemsAugmenter
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer, ndcg_at_k
from skrec.model_selection import PerUserKFold

K = 10


def _extra(parser) -> None:
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default 5, quick 3)")
    parser.add_argument("--fraction", type=float, default=0.2, help="training rows kept per user")
    parser.add_argument("--threads", type=int, default=None, help="ALS threads (0: all)")


def load(args) -> tuple[str, np.ndarray]:
    found = movielens_positives()
    if found is not None:
        return "movielens-100k (ratings >= 4)", found[0]
    if not args.quick:
        raise SystemExit("MovieLens-100K not found under $SKREC_DATA; use --quick for synthetic")
    data = make_interactions(n_users=400, n_items=300, n_interactions=16_000, random_state=0)
    return "synthetic (make_interactions 400 x 300, 16k)", data.X[["user", "item"]].to_numpy()


def configurations(quick: bool, seed: int) -> list[tuple[str, object]]:
    configs = [
        ("none", None),
        ("similar_items(k=5, weight=0.3)", SimilarItemsAugmenter(k=5, weight=0.3)),
        ("negatives(1, uniform)", NegativeSamplingAugmenter(1, random_state=seed)),
        (
            "negatives(1, uniform, value=-4)",
            NegativeSamplingAugmenter(1, value=-4.0, random_state=seed),
        ),
    ]
    if not quick:
        configs += [
            ("similar_items(k=10, weight=0.1)", SimilarItemsAugmenter(k=10, weight=0.1)),
            (
                "negatives(1, popularity)",
                NegativeSamplingAugmenter(1, strategy="popularity", random_state=seed),
            ),
        ]
    return configs


def sparse_split(X: np.ndarray, seed: int, fraction: float):
    """Test fold, and each user's training rows subsampled to ``fraction`` (>= 1 row)."""
    train, test = next(PerUserKFold(n_splits=5, random_state=seed).split(X))
    rng = np.random.default_rng(seed)
    train = train[rng.permutation(len(train))]
    rank = pd.Series(np.arange(len(train))).groupby(X[train, 0]).cumcount().to_numpy()
    size = pd.Series(X[train, 0]).map(pd.Series(X[train, 0]).value_counts()).to_numpy()
    keep = rank < np.maximum(1, np.floor(fraction * size))
    return X[np.sort(train[keep])], X[test]


def protocol_ndcg(est, train: np.ndarray, test: np.ndarray) -> float:
    """NDCG@10 ranking every item except the user's original training items."""
    seen = pd.Series(train[:, 1]).groupby(train[:, 0]).agg(set)
    truth = pd.Series(test[:, 1]).groupby(test[:, 0]).agg(list)
    users = truth.index.to_numpy()
    n = int(min(len(est.items_), K + seen.map(len).max()))
    ids, _ = est.recommend(users, n=n, exclude_seen=False)
    preds = [[i for i in row if i not in seen.get(u, ())][:K] for u, row in zip(users, ids)]
    return ndcg_at_k(list(truth), preds, k=K)


def run(args) -> tuple[str, list[dict], dict]:
    name, X = load(args)
    n_seeds = args.seeds or (3 if args.quick else 5)
    threads = args.threads if args.threads is not None else (1 if args.quick else 0)
    als = {"factors": 32, "iterations": 8} if args.quick else {"factors": 64, "iterations": 15}
    scorer = make_ranking_scorer("ndcg", k=K)
    per_seed: dict[str, list[dict]] = {}
    for seed in range(n_seeds):
        train, test = sparse_split(X, seed, args.fraction)
        for label, augmenter in configurations(args.quick, seed):
            est = ALSRecommender(
                **als,
                regularization=0.05,
                num_threads=threads,
                random_state=seed,
                augmenter=augmenter,
            )
            times: dict = {}
            with timer(times, "fit"):
                est.fit(train)
            per_seed.setdefault(label, []).append(
                {
                    "ndcg10": protocol_ndcg(est, train, test),
                    "scorer_ndcg10": scorer(est, test),
                    "train_rows": int(est.interactions_.nnz),
                    "fit_s": median(times["fit"]),
                }
            )
    base = per_seed["none"]
    rows = []
    for label, runs in per_seed.items():
        ndcg = np.array([r["ndcg10"] for r in runs])
        delta = ndcg - np.array([r["ndcg10"] for r in base])
        scorer_vals = np.array([r["scorer_ndcg10"] for r in runs])
        rows.append(
            {
                "dataset": name,
                "augmenter": label,
                "train_cells": int(np.mean([r["train_rows"] for r in runs])),
                "ndcg10": float(ndcg.mean()),
                "ndcg10_std": float(ndcg.std(ddof=1)) if len(ndcg) > 1 else 0.0,
                "delta": float(delta.mean()),
                "delta_std": float(delta.std(ddof=1)) if len(delta) > 1 else 0.0,
                "seeds_better": f"{int((delta > 0).sum())}/{len(delta)}",
                "scorer_ndcg10": float(scorer_vals.mean()),
                "fit_s": float(np.median([r["fit_s"] for r in runs])),
                "per_seed_ndcg10": [round(v, 5) for v in ndcg.tolist()],
            }
        )
    extra = {"seeds": n_seeds, "fraction": args.fraction, "als": als, "threads": threads}
    return name, rows, extra


def verdicts(rows: list[dict]) -> str:
    lines = []
    for r in rows:
        if r["augmenter"] == "none":
            continue
        better, n = (int(v) for v in r["seeds_better"].split("/"))
        if r["delta"] == 0 and r["delta_std"] == 0:
            word = "has NO effect (identical NDCG@10 on every seed)"
        elif r["delta"] > 0 and better == n:
            word = "helps"
        elif r["delta"] <= 0 or better == 0:
            word = "does NOT help"
        else:
            word = "is inconclusive (mixed across seeds)"
        lines.append(
            f"- {r['augmenter']} {word}: NDCG@10 delta {r['delta']:+.4f} ± {r['delta_std']:.4f} "
            f"(better on {r['seeds_better']} seeds); skrec scorer {r['scorer_ndcg10']:.4f}."
        )
    return "\n".join(lines)


def main() -> None:
    args = parse_args(__doc__, extra=_extra)
    name, rows, extra = run(args)
    notes = (
        f"ALS {extra['als']}, regularization 0.05; {extra['seeds']} seeds; each user's training "
        f"rows subsampled to {extra['fraction']:.0%}. `delta` = paired NDCG@10 difference to "
        "`none` (mean ± std over seeds). `ndcg10` excludes only the original training items; "
        "`scorer_ndcg10` is skrec's scorer, which also excludes augmented items. "
        "ALS (implicit) already treats every missing cell as a negative of confidence 1, and "
        "a y = 0 row gets weight -1, i.e. the same confidence: with alpha = 1, sampled "
        "negatives only change ALS when they are stronger (value < -1).\n\n" + verdicts(rows)
    )
    columns = [c for c in rows[0] if c != "per_seed_ndcg10"]
    write_results("augment", args, rows, notes=notes, extra=extra, columns=columns)


if __name__ == "__main__":
    main()
