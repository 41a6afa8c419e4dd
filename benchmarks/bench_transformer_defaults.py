"""Do TransformerRecommender's defaults work? The defaults, untouched, against popularity.

Each row fits ``TransformerRecommender(random_state=seed, n_jobs=threads)`` (and,
with ``--also-five-epochs``, the same with ``max_epochs=5``, the budget of a
first try) on a seeded user subset of Amazon Beauty or Toys, leave-one-out
(the last item of each user is the test item, ranked against all items except
the user's history), next to ``PopularityRecommender`` on the same split; and
on synthetic Markov sequences that no default was chosen on.

    python benchmarks/bench_transformer_defaults.py --quick
    python benchmarks/bench_transformer_defaults.py --also-five-epochs  # all the default subsets
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import torch
from _data import amazon_sequences, leave_one_out_metrics
from _harness import parse_args, write_results
from _timing import EpochCPUTime, curve

from skrec import PopularityRecommender, TransformerRecommender
from skrec.model_selection import LeaveLastOut

COLUMNS = [
    "data",
    "users",
    "model",
    "NDCG@10",
    "HR@10",
    "NDCG@20",
    "vs_popularity",
    "epochs",
    "best_epoch",
    "batch_size",
    "cpu_s",
]


def extra_args(parser) -> None:
    parser.add_argument(
        "--subsets",
        default="beauty:1500,beauty:8000,toys:1500,toys:8000,synthetic:2000",
        help="comma-separated data:users (data: beauty, toys, synthetic)",
    )
    parser.add_argument("--also-five-epochs", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-home", default=None)


def markov_sequences(n_users: int, seed: int, n_items: int = 500) -> pd.DataFrame:
    """Sequences from a sparse Markov chain over a Zipf-popular catalogue."""
    rng = np.random.default_rng(seed + 1)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity /= popularity.sum()
    successors = rng.choice(n_items, size=(n_items, 4), p=popularity)
    rows = []
    for u in range(n_users):
        item = rng.choice(n_items, p=popularity)
        for t in range(int(rng.integers(5, 20))):
            rows.append((u, int(item), t))
            item = successors[item, rng.choice(4, p=[0.5, 0.25, 0.15, 0.1])]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra_args)
    if args.quick:
        args.subsets = "beauty:300,synthetic:200"
    torch.set_num_threads(args.threads)
    rows = []
    for spec in args.subsets.split(","):
        name, users = spec.split(":")
        if name == "synthetic":
            X = markov_sequences(int(users), args.seed)
        else:
            X = amazon_sequences(name, args.data_home, int(users), args.seed)
            if X is None:
                continue
        train_rows, test_rows = next(LeaveLastOut(n=1, min_train=2).split(X))
        train, test = X.iloc[train_rows], X.iloc[test_rows]
        base = {"data": name, "users": int(X["user"].nunique())}
        popular = leave_one_out_metrics(PopularityRecommender().fit(train), test, (10, 20))
        rows.append({**base, "model": "popularity", **popular})
        variants = [("defaults", {})]
        if args.also_five_epochs or args.quick:
            variants.append(("defaults, max_epochs=5", {"max_epochs": 5}))
        if args.quick:
            variants = [("defaults, max_epochs=2", {"max_epochs": 2})]
        for label, extra in variants:
            print(f"{spec}: fitting {label}", file=sys.stderr, flush=True)
            est = TransformerRecommender(
                random_state=args.seed,
                n_jobs=args.threads,
                callbacks=[("cpu", EpochCPUTime())],
                **extra,
            )
            start = time.perf_counter()
            est.fit(train)
            wall = time.perf_counter() - start
            metrics = leave_one_out_metrics(est, test, (10, 20))
            timing = curve(est)
            rows.append(
                {
                    **base,
                    "model": label,
                    **metrics,
                    "vs_popularity": metrics["NDCG@10"] / max(popular["NDCG@10"], 1e-12),
                    "epochs": len(timing["valid_ndcg10_by_epoch"]),
                    "best_epoch": est.best_epoch_,
                    "batch_size": est.batch_size_,
                    "cpu_s": float(np.sum(timing["cpu_s_by_epoch"])),
                    "fit_wall_s": wall,
                    **timing,
                }
            )
            write(args, rows)  # after every model: a run cut short keeps its rows


def write(args, rows) -> None:
    defaults = {k: v for k, v in TransformerRecommender().get_params().items() if k != "callbacks"}
    write_results(
        "transformer_defaults",
        args,
        rows,
        notes="Leave-one-out, full ranking excluding each user's history. "
        f"TransformerRecommender defaults: {defaults}. vs_popularity = NDCG@10 / "
        f"popularity's NDCG@10 on the same split. cpu_s: CPU seconds of training "
        f"({args.threads} torch thread(s), validation excluded).",
        extra={"config": {k: str(v) for k, v in vars(args).items()}},
        columns=COLUMNS,
    )


if __name__ == "__main__":
    main()
