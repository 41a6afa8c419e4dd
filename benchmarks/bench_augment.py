"""Does training-data augmentation help where data is sparse?

Two parts (``--parts als,transformer``).

**ALS** with ``augmenter`` None / ``similar_items`` / ``negatives`` on MovieLens-100K
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
    skrec's ``make_ranking_scorer()`` (what ``GridSearchCV`` sees). It must
    equal ``ndcg10``: ``recommend(exclude_seen=True)`` excludes what the user
    did, never the rows an augmenter added for them.

**Transformer**: ``TransformerRecommender`` with ``augmenter`` None / ``crop``
/ ``mask`` / ``reorder`` (one view per user added as an extra training
sequence) on Amazon Beauty (``$SKREC_DATA/amazon-beauty/Beauty.txt``). For
each seed a random ``--users`` users are drawn (the sparse regime, and what two
CPU cores can train 4 x seeds times); leave-one-out: each user's last item is
the test item, ranked against all items but the user's history; the estimator
holds out the second-to-last for early stopping. NDCG@10 deltas are paired
against no augmentation within a seed.

    python benchmarks/bench_augment.py                      # both parts, 5 / 3 seeds
    python benchmarks/bench_augment.py --parts transformer --users 5000 --seeds 3
    python benchmarks/bench_augment.py --quick              # < 2 min smoke run
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _data import amazon_sequences, leave_one_out_metrics, movielens_positives
from _harness import median, parse_args, timer, write_results
from joblib import Parallel, delayed

from skrec import ALSRecommender
from skrec.augmenters import (
    CropAugmenter,
    MaskAugmenter,
    NegativeSamplingAugmenter,
    ReorderAugmenter,
    SimilarItemsAugmenter,
)
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer, ndcg_at_k
from skrec.model_selection import LeaveLastOut, PerUserKFold

K = 10


def _extra(parser) -> None:
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default 5, quick 3)")
    parser.add_argument("--fraction", type=float, default=0.2, help="training rows kept per user")
    parser.add_argument("--threads", type=int, default=None, help="ALS / torch threads")
    parser.add_argument("--parts", default="als,transformer", help="als, transformer or both")
    parser.add_argument("--jobs", type=int, default=1, help="transformer fits run in parallel")
    parser.add_argument("--users", type=int, default=5000, help="Beauty users per seed")
    parser.add_argument("--epochs", type=int, default=30, help="transformer max_epochs")
    parser.add_argument("--patience", type=int, default=3, help="transformer early stopping")
    parser.add_argument("--data-home", default=None, help="default: $SKREC_DATA")


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
                "similar_items(k=5, weight=0.3, shrinkage=0)",
                SimilarItemsAugmenter(k=5, weight=0.3, shrinkage=0.0),
            ),
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


def run_als(args) -> tuple[list[dict], dict]:
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
                n_jobs=threads,
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
    extra = {"seeds": n_seeds, "fraction": args.fraction, "als": als, "threads": threads}
    return summarise("ALS", name, per_seed), extra


def summarise(model: str, dataset: str, per_seed: dict[str, list[dict]]) -> list[dict]:
    """One row per augmenter: NDCG@10 and its paired delta to ``none`` over seeds."""
    base = per_seed["none"]
    rows = []
    for label, runs in per_seed.items():
        ndcg = np.array([r["ndcg10"] for r in runs])
        delta = ndcg - np.array([r["ndcg10"] for r in base])
        scorer_vals = np.array([r.get("scorer_ndcg10", np.nan) for r in runs])
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "augmenter": label,
                "train_cells": int(np.mean([r["train_rows"] for r in runs])),
                "ndcg10": float(ndcg.mean()),
                "ndcg10_std": float(ndcg.std(ddof=1)) if len(ndcg) > 1 else 0.0,
                "delta": float(delta.mean()),
                "delta_std": float(delta.std(ddof=1)) if len(delta) > 1 else 0.0,
                "seeds_better": f"{int((delta > 0).sum())}/{len(delta)}",
                "scorer_ndcg10": float(scorer_vals.mean()),
                "fit_s": float(np.median([r["fit_s"] for r in runs])),
                "epochs": float(np.mean([r.get("epochs", np.nan) for r in runs])),
                "s_per_epoch": float(np.mean([r.get("s_per_epoch", np.nan) for r in runs])),
                "per_seed_ndcg10": [round(v, 5) for v in ndcg.tolist()],
            }
        )
    # Leave a cell empty where the model has no such number (ALS epochs, transformer scorer).
    return [
        {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))} for row in rows
    ]


def sequence_augmenters(seed: int) -> list[tuple[str, object]]:
    return [
        ("none", None),
        ("crop(eta=0.6)", CropAugmenter(eta=0.6, random_state=seed)),
        ("mask(gamma=0.3)", MaskAugmenter(gamma=0.3, random_state=seed)),
        ("reorder(beta=0.6)", ReorderAugmenter(beta=0.6, random_state=seed)),
    ]


def _fit_transformer(model, threads, seed, label, augmenter, train, test) -> dict:
    """Fit one TransformerRecommender (in a worker process when --jobs > 1)."""
    import torch  # noqa: PLC0415

    from skrec import TransformerRecommender  # noqa: PLC0415 (needs the transformer extra)

    torch.set_num_threads(threads)
    est = TransformerRecommender(**model, augmenter=augmenter, random_state=seed)
    print(f"seed {seed}: transformer + {label}", file=sys.stderr, flush=True)
    times: dict = {}
    with timer(times, "fit"):
        est.fit(train)
    durations = np.asarray(est.net_.history[:, "dur"], dtype=float)
    ndcg = leave_one_out_metrics(est, test, ks=(K,))[f"NDCG@{K}"]
    print(f"seed {seed}: transformer + {label}: NDCG@{K} {ndcg:.4f}", file=sys.stderr, flush=True)
    return {
        "ndcg10": ndcg,
        # Rows of the training table after augmentation (before the hold-out).
        "train_rows": len(train) if augmenter is None else len(augmenter.fit_resample(train)[0]),
        "fit_s": median(times["fit"]),
        "epochs": len(durations),
        "s_per_epoch": float(durations.mean()),
    }


def run_transformer(args) -> tuple[list[dict], dict] | None:
    """TransformerRecommender with None / crop / mask / reorder on Beauty subsamples."""
    n_seeds = args.seeds or (2 if args.quick else 3)
    n_users = 300 if args.quick else args.users
    model = (
        {"embedding_dim": 16, "n_layers": 1, "max_len": 20, "max_epochs": 2, "patience": 1}
        if args.quick
        else {"embedding_dim": 64, "n_layers": 2, "max_len": 50}
        | {"max_epochs": args.epochs, "patience": args.patience}
    )
    model |= {"n_heads": 2, "dropout": 0.5, "lr": 2e-3, "batch_size": 256}
    threads = args.threads or 1
    tasks, name = [], None
    for seed in range(n_seeds):
        X = amazon_sequences("beauty", args.data_home, n_users, seed)
        if X is None:
            if not args.quick:
                raise SystemExit("Beauty.txt not found under $SKREC_DATA")
            X = make_interactions(n_users=300, n_items=200, n_interactions=3000, random_state=seed)
            X = X.X
            name = "synthetic (make_interactions 300 x 200, 3k)"
        name = name or f"amazon-beauty ({n_users} random users per seed)"
        train_rows, test_rows = next(LeaveLastOut(n=1, min_train=2).split(X))
        train, test = X.iloc[train_rows], X.iloc[test_rows]
        for label, augmenter in sequence_augmenters(seed):
            tasks.append((seed, label, augmenter, train, test))
    results = Parallel(n_jobs=args.jobs)(
        delayed(_fit_transformer)(model, threads, *task) for task in tasks
    )
    per_seed: dict[str, list[dict]] = {}
    for (_, label, *_rest), result in zip(tasks, results):
        per_seed.setdefault(label, []).append(result)
    extra = {"seeds": n_seeds, "users": n_users, "transformer": model, "threads": threads}
    return summarise("TransformerRecommender", name, per_seed), extra


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
        scorer = f"; skrec scorer {r['scorer_ndcg10']:.4f}" if "scorer_ndcg10" in r else ""
        lines.append(
            f"- {r['model']} + {r['augmenter']} {word}: NDCG@10 delta {r['delta']:+.4f} "
            f"± {r['delta_std']:.4f} (better on {r['seeds_better']} seeds){scorer}."
        )
    return "\n".join(lines)


def main() -> None:
    args = parse_args(__doc__, extra=_extra)
    parts = args.parts.split(",")
    unknown = set(parts) - {"als", "transformer"}
    if unknown:
        raise SystemExit(f"unknown --parts {sorted(unknown)}; choose from als, transformer")
    rows, extra, notes = [], {}, []
    if "als" in parts:
        als_rows, extra["als"] = run_als(args)
        rows += als_rows
        e = extra["als"]
        notes.append(
            f"**ALS** {e['als']}, regularization 0.05; {e['seeds']} seeds; each user's "
            f"training rows subsampled to {e['fraction']:.0%}. `ndcg10` excludes only the "
            "original training items; `scorer_ndcg10` is skrec's scorer, equal to it because "
            "`recommend` never excludes augmented rows. ALS (implicit) already treats every "
            "missing cell as a negative of confidence 1, and a y = 0 row gets weight -1, i.e. "
            "the same confidence: with alpha = 1, sampled negatives only change ALS when they "
            "are stronger (value < -1)."
            "\n\n" + verdicts(als_rows)
        )
    if "transformer" in parts:
        tr_rows, extra["transformer"] = run_transformer(args)
        rows += tr_rows
        e = extra["transformer"]
        notes.append(
            f"**TransformerRecommender** {e['transformer']}, {e['threads']} torch thread(s); "
            f"{e['seeds']} seeds, each a different random {e['users']} Beauty users. "
            "Leave-one-out test item ranked against all items but the user's history; the "
            "augmenter adds one view per user as an extra training sequence, made after the "
            "validation item is held out. `train_cells`: rows of the training table after "
            "augmentation; `epochs`: mean epochs run (early stopping on validation NDCG@10)."
            "\n\n" + verdicts(tr_rows)
        )
    notes.insert(
        0,
        "`delta` = paired NDCG@10 difference to `none` on the same seed and split "
        "(mean ± std over seeds).",
    )
    columns = list(dict.fromkeys(c for row in rows for c in row if c != "per_seed_ndcg10"))
    name = "augment" if len(parts) > 1 else f"augment_{parts[0]}"
    write_results(name, args, rows, notes="\n\n".join(notes), extra=extra, columns=columns)


if __name__ == "__main__":
    main()
