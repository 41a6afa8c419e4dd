"""TransformerRecommender's next-item losses: time to the full softmax's accuracy, and scaling.

Part 1 (``--datasets``, Amazon Beauty/Toys, leave-one-out as in
``bench_transformer.py``): each loss trains to early stopping on validation
NDCG@10; reported are seconds per epoch, the time to reach the full
softmax's best validation NDCG@10 (``s_to_softmax_best``) and the speed-up
that makes (``speedup``: the softmax's time to its own best epoch divided by
the loss's time to reach it), and test NDCG@20 / HR@20 (and NDCG@20 relative
to the softmax's). Times are training only (validation excluded), in CPU
seconds of one torch thread, which a loaded machine does not inflate; wall
seconds are kept in the JSON.

Part 2 (``--catalogues``): synthetic Markov sequences over catalogues of
growing size (the same sequences; one-item filler users complete the
catalogue), one epoch per loss: how each loss's time per epoch grows with the
number of items.

    python benchmarks/bench_transformer_losses.py --quick
    python benchmarks/bench_transformer_losses.py --datasets beauty,toys --max-users 8000
    python benchmarks/bench_transformer_losses.py --datasets "" --catalogues 12000,40000,120000
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
import torch
from _data import amazon_sequences, leave_one_out_metrics
from _harness import parse_args, write_results
from _timing import EpochCPUTime, curve, time_to_best, time_to_reach

from skrec import TransformerRecommender
from skrec.model_selection import LeaveLastOut

COLUMNS = [
    "dataset",
    "loss",
    "epochs",
    "best_epoch",
    "best_valid_ndcg10",
    "s_per_epoch",
    "s_to_best",
    "s_to_softmax_best",
    "speedup",
    "NDCG@20",
    "HR@20",
    "NDCG@20_vs_softmax",
]
SCALING_COLUMNS = ["catalogue", "items", "loss", "s_per_epoch", "growth", "wall_s_per_epoch"]


def extra_args(parser) -> None:
    parser.add_argument("--datasets", default="beauty,toys")
    parser.add_argument("--losses", default="softmax,sampled_softmax,gbce")
    parser.add_argument("--max-users", type=int, default=None, help="seeded user subset")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-negatives", type=int, default=256)
    parser.add_argument("--catalogues", default="", help="synthetic catalogue sizes: 12000,120000")
    parser.add_argument("--synthetic-users", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-home", default=None)


def model(args, loss: str, **extra) -> TransformerRecommender:
    return TransformerRecommender(
        dropout=args.dropout,
        lr=args.lr,
        batch_size=args.batch_size,
        loss=loss,
        n_negatives=None if loss == "softmax" else args.n_negatives,
        max_epochs=args.epochs,
        patience=args.patience,
        random_state=args.seed,
        n_jobs=args.threads,
        callbacks=[("cpu", EpochCPUTime())],
        **extra,
    )


def real_data(args, dataset: str, rows: list, info: dict, save) -> None:
    X = amazon_sequences(dataset, args.data_home, args.max_users, args.seed)
    if X is None:
        return
    train_rows, test_rows = next(LeaveLastOut(n=1, min_train=2).split(X))
    train, test = X.iloc[train_rows], X.iloc[test_rows]
    info[dataset] = {"users": int(X["user"].nunique()), "items": int(X["item"].nunique())}
    softmax = None
    for loss in args.losses.split(","):
        print(f"{dataset}: fitting loss={loss}", file=sys.stderr, flush=True)
        est = model(args, loss)
        start = time.perf_counter()
        est.fit(train)
        row = {"dataset": dataset, "loss": loss, "fit_wall_s": time.perf_counter() - start}
        row.update(curve(est))
        metrics = leave_one_out_metrics(est, test, (10, 20))
        valid, cpu = row["valid_ndcg10_by_epoch"], row["cpu_s_by_epoch"]
        row.update(
            epochs=len(valid),
            best_valid_ndcg10=max(valid),
            s_per_epoch=float(np.mean(cpu)),
            **metrics,
        )
        row["s_to_best"], row["best_epoch"] = time_to_best(valid, cpu)
        if loss == "softmax":
            softmax = row
        if softmax is not None:
            reached = time_to_reach(valid, cpu, softmax["best_valid_ndcg10"])
            row["s_to_softmax_best"] = None if reached is None else reached[0]
            row["speedup"] = "not reached" if reached is None else softmax["s_to_best"] / reached[0]
            row["NDCG@20_vs_softmax"] = f"{100 * (row['NDCG@20'] / softmax['NDCG@20'] - 1):+.1f}%"
        rows.append(row)
        save()


def synthetic_sequences(n_users: int, n_items: int, base: int, seed: int) -> pd.DataFrame:
    """Markov walks on items ``0..base-1`` (3 successors per item, Zipf-popular starts),
    plus one-item filler users that complete the catalogue to ``n_items``."""
    rng = np.random.default_rng(seed)
    successors = rng.integers(0, base, size=(base, 3))
    start_p = 1.0 / np.arange(1, base + 1) ** 0.8
    starts = rng.choice(base, size=n_users, p=start_p / start_p.sum())
    users, items, times = [], [], []
    for u, item in enumerate(starts):
        for t in range(int(rng.integers(5, 15))):
            users.append(u)
            items.append(int(item))
            times.append(t)
            item = successors[item, rng.choice(3, p=[0.6, 0.3, 0.1])]
    seen = np.unique(items)
    fillers = np.setdiff1d(np.arange(n_items), seen)
    users += list(range(n_users, n_users + len(fillers)))
    items += fillers.tolist()
    times += [0] * len(fillers)
    return pd.DataFrame({"user": users, "item": items, "timestamp": times})


def scaling(args, rows: list, save) -> None:
    sizes = [int(s) for s in args.catalogues.split(",") if s]
    first = {}
    for n_items in sizes:
        X = synthetic_sequences(args.synthetic_users, n_items, min(sizes), args.seed)
        for loss in args.losses.split(","):
            print(f"catalogue {n_items}: one epoch of loss={loss}", file=sys.stderr, flush=True)
            est = model(args, loss).set_params(max_epochs=1, patience=None)
            est.fit(X)
            history = est.net_.history
            cpu = float(history[-1, "cpu"])
            first.setdefault(loss, cpu)
            rows.append(
                {
                    "catalogue": n_items,
                    "items": len(est.items_),
                    "loss": loss,
                    "s_per_epoch": cpu,
                    "growth": cpu / first[loss],
                    "wall_s_per_epoch": float(history[-1, "dur"]),
                }
            )
            save()


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra_args)
    if args.quick:
        args.max_users, args.epochs, args.patience = args.max_users or 500, 2, 2
        args.datasets = "beauty" if args.datasets else ""
        args.catalogues, args.synthetic_users = "3000,12000", 300
    torch.set_num_threads(args.threads)
    rows, scaling_rows, info = [], [], {}
    for dataset in filter(None, args.datasets.split(",")):
        real_data(args, dataset, rows, info, lambda: write(args, rows, scaling_rows, info))
    scaling(args, scaling_rows, lambda: write(args, rows, scaling_rows, info))


def write(args, rows, scaling_rows, info) -> None:
    """Write what has been measured so far (after every model: a cut run keeps its rows)."""
    common = (
        f"64-d, 2 layers, 2 heads, dropout {args.dropout}, lr {args.lr}, batch "
        f"{args.batch_size}, max length 50, {args.n_negatives} negatives for the sampled "
        f"losses (shared by the batch), patience {args.patience}; {args.threads} torch "
        "thread(s); times in CPU seconds of training (validation excluded)."
    )
    if rows:
        write_results(
            "transformer_losses",
            args,
            rows,
            notes="Leave-one-out; early stopping on validation NDCG@10. speedup = softmax's "
            "time to its best epoch / the loss's time to reach that validation NDCG@10. " + common,
            extra={"data": info, "config": {k: str(v) for k, v in vars(args).items()}},
            columns=COLUMNS,
        )
    if scaling_rows:
        write_results(
            "transformer_catalogue",
            args,
            scaling_rows,
            notes=f"One epoch over {args.synthetic_users} synthetic Markov sequences (5-14 "
            "items, on the smallest catalogue's items) whose catalogue is completed with "
            "one-item users to the given size; "
            "growth = s_per_epoch / the same loss's at the smallest catalogue. " + common,
            extra={"config": {k: str(v) for k, v in vars(args).items()}},
            columns=SCALING_COLUMNS,
        )


if __name__ == "__main__":
    main()
