"""TransformerRecommender on Amazon Beauty and Toys, with and without self-supervision.

Protocol (leave-one-out, as in SASRec, S3-Rec, CL4SRec, ICLRec, DuoRec): each
user's last item is the test item; the estimator is fitted on the rest and
itself holds out the second-to-last item for validation (early stopping and
checkpointing on validation NDCG@10). The test item is ranked against **all**
items, leaving out the items of the user's training history (``recommend(...,
exclude_seen=True)``, as the S3-Rec/ICLRec evaluation code does), and HR@k and
NDCG@k are reported for k = 5, 10, 20, next to the published numbers.

    python benchmarks/bench_transformer.py --quick         # < 1 min smoke run
    python benchmarks/bench_transformer.py --epochs 30 --datasets beauty --pretrain none,mlm
    python benchmarks/bench_transformer.py --device cuda   # the full GPU run

Data: ``Beauty.txt`` and ``Toys_and_Games.txt`` (one ``user item item ...``
line per user) under ``$SKREC_DATA/amazon-beauty`` and ``$SKREC_DATA/amazon-toys``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from _data import amazon_sequences, leave_one_out_metrics
from _harness import parse_args, peak_rss_mib, write_results

from skrec import PopularityRecommender, TransformerRecommender
from skrec.model_selection import LeaveLastOut

# Published full-ranking results (64-d, 2 layers, 2 heads, dropout 0.5, max
# length 50, checkpoint on validation NDCG@20); as reported in the DuoRec and
# ICLRec papers.
PUBLISHED = {
    "beauty": {
        "SASRec": {"NDCG@20": 0.0386, "HR@20": 0.0894},
        "CL4SRec": {"NDCG@20": 0.0428, "HR@20": 0.0974},
        "ICLRec": {"NDCG@20": 0.0483, "HR@20": 0.1058},
        "DuoRec": {"NDCG@20": 0.0536, "HR@20": 0.1228},
    },
    "toys": {
        "SASRec": {"NDCG@20": 0.0397},
        "CL4SRec": {"NDCG@20": 0.0404},
        "ICLRec": {"NDCG@20": 0.0557},
        "DuoRec": {"NDCG@20": 0.0574},
    },
}
KS = (5, 10, 20)
COLUMNS = [
    "dataset",
    "model",
    "HR@5",
    "NDCG@5",
    "HR@10",
    "NDCG@10",
    "HR@20",
    "NDCG@20",
    "epochs",
    "best_epoch",
    "s_per_epoch",
    "s_to_best",
    "fit_s",
]


def extra_args(parser) -> None:
    parser.add_argument("--datasets", default="beauty,toys", help="comma-separated: beauty,toys")
    parser.add_argument(
        "--pretrain", default="none,mlm,contrastive", help="comma-separated: none,mlm,contrastive"
    )
    parser.add_argument("--epochs", type=int, default=200, help="max_epochs of next-item training")
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--loss", default="softmax", choices=["softmax", "sampled_softmax", "gbce", "bce"]
    )
    parser.add_argument("--n-negatives", type=int, default=None, help="default: the estimator's")
    parser.add_argument("--negative-sampler", default="uniform", choices=["uniform", "popularity"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--max-users", type=int, default=None, help="random subsample of users")
    parser.add_argument("--data-home", default=None, help="default: $SKREC_DATA")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--verbose", action="store_true", help="print skorch's epoch table")


def transformer(args, pretrain: str | None) -> TransformerRecommender:
    return TransformerRecommender(
        embedding_dim=args.embedding_dim,
        n_layers=args.layers,
        n_heads=args.heads,
        dropout=args.dropout,
        max_len=args.max_len,
        loss=args.loss,
        n_negatives=args.n_negatives,
        negative_sampler=args.negative_sampler,
        lr=args.lr,
        batch_size=args.batch_size,
        max_epochs=args.epochs,
        patience=args.patience,
        pretrain=pretrain,
        pretrain_epochs=args.pretrain_epochs,
        device=args.device,
        random_state=args.seed,
        verbose=args.verbose,
    )


def run_model(name: str, est, train, test) -> dict:
    start = time.perf_counter()
    try:
        est.fit(train)
    except ImportError as exc:  # contrastive views need skrec.augmenters
        print(f"skipping {name}: {exc}", file=sys.stderr)
        return {"model": name, "skipped": str(exc)}
    fit_s = time.perf_counter() - start
    row = {"model": name, **leave_one_out_metrics(est, test, KS), "fit_s": fit_s}
    if isinstance(est, TransformerRecommender):
        durations = np.asarray(est.net_.history[:, "dur"], dtype=float)
        pretrain_s = 0.0
        if est.pretrain_history_ is not None:
            pretrain_s = float(np.sum(est.pretrain_history_[:, "dur"]))
        row.update(
            epochs=len(durations),
            best_epoch=est.best_epoch_,
            s_per_epoch=float(durations.mean()),
            s_to_best=pretrain_s + float(durations[: est.best_epoch_].sum()),
            pretrain_s=pretrain_s,
            valid_ndcg10_best=float(max(est.net_.history[:, "valid_ndcg"], default=np.nan)),
            valid_ndcg10_by_epoch=[round(float(v), 5) for v in est.net_.history[:, "valid_ndcg"]],
        )
    return row


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra_args)
    if args.quick:
        args.datasets, args.max_users = "beauty", args.max_users or 800
        args.epochs, args.pretrain_epochs, args.patience = 2, 1, 2
        args.embedding_dim, args.max_len, args.threads = 32, 20, args.threads or 1
    if args.threads:
        torch.set_num_threads(args.threads)
    # The first torch optimizer imports torch._dynamo (seconds); keep that out of fit_s.
    torch.optim.AdamW([torch.zeros(1, requires_grad=True)])
    rows, data_info = [], {}
    for dataset in args.datasets.split(","):
        X = amazon_sequences(dataset, args.data_home, args.max_users, args.seed)
        if X is None:
            continue
        train_rows, test_rows = next(LeaveLastOut(n=1, min_train=2).split(X))
        train, test = X.iloc[train_rows], X.iloc[test_rows]
        repeats = int(test.merge(train, on=["user", "item"], how="inner")["user"].nunique())
        data_info[dataset] = {
            "users": int(X["user"].nunique()),
            "items": int(X["item"].nunique()),
            "interactions": len(X),
            "test_users": len(test),
            "test_item_in_history": repeats,
        }
        models = [("popularity", PopularityRecommender())]
        for mode in args.pretrain.split(","):
            pretrain = None if mode == "none" else mode
            models.append((f"skrec SASRec{'' if pretrain is None else '+' + mode}", pretrain))
        for name, spec in models:
            est = spec if name == "popularity" else transformer(args, spec)
            print(f"{dataset}: fitting {name}", file=sys.stderr, flush=True)
            rows.append({"dataset": dataset, **run_model(name, est, train, test)})
        for paper, figures in PUBLISHED.get(dataset, {}).items():
            rows.append({"dataset": dataset, "model": f"{paper} (published)", **figures})
    notes = (
        "Leave-one-out: last item of each user = test, second-to-last = validation "
        "(held out inside fit; early stopping and best-weight restore on validation "
        "NDCG@10). Every test item is ranked against all items except the user's "
        "training history (exclude_seen=True); test items that repeat a history item "
        "therefore count as misses (see data.test_item_in_history). Published rows are "
        "from the DuoRec/ICLRec papers (they checkpoint on validation NDCG@20). "
        "s_to_best includes MLM pretraining time. "
        f"Config: {vars(args) | {'output': str(args.output)}}. Peak RSS {peak_rss_mib():.0f} MiB."
    )
    write_results(
        "transformer",
        args,
        rows,
        notes=notes,
        extra={"data": data_info, "config": {k: str(v) for k, v in vars(args).items()}},
        columns=COLUMNS,
    )


if __name__ == "__main__":
    main()
