"""Time to accuracy: skrec's TransformerRecommender against RecBole's SASRec (cross-entropy).

Both train on the same leave-one-out split of Amazon Beauty (or a seeded user
subset of it): each user's last item is the test item (never scored here), the
second-to-last the validation item, ranked against all items except the user's
training items. RecBole (``benchmarks/peers/.venv-recbole``, its runner
``run_recbole_sasrec.py``) trains SASRec with ``loss_type="CE"`` one epoch at a time
and validates after each; skrec's estimator does the same inside ``fit``. Both
use ``--threads`` torch threads. Per epoch, the training time (validation
excluded) is recorded as wall-clock and as CPU seconds; with one thread, CPU
seconds are what a quiet machine would show, so the comparison holds on a
loaded machine.

Reported: seconds per epoch, epochs to the best validation NDCG@10, and the
share of RecBole's time to its best epoch that skrec needs to reach RecBole's
best validation NDCG@10.

    benchmarks/peers/make_env.sh recbole                   # once
    python benchmarks/bench_recbole.py --quick             # smoke run (RecBole skipped if absent)
    python benchmarks/bench_recbole.py --max-users 8000 --threads 1
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from _client import Peer, available  # noqa: E402
from _data import amazon_sequences  # noqa: E402
from _harness import parse_args, write_results  # noqa: E402
from _timing import EpochCPUTime, curve, time_to_best, time_to_reach  # noqa: E402

from skrec import TransformerRecommender  # noqa: E402
from skrec.model_selection import LeaveLastOut  # noqa: E402

#: skrec's configurations: the defaults, which are also the fastest settings
#: bench_transformer_losses.py found (the sampled softmax, batch 256), and the
#: full softmax, the default before them.
SKREC = {
    "skrec defaults": {},
    "skrec full softmax": {"loss": "softmax"},
}
#: RecBole's SASRec as published in its model zoo settings, with the dropout
#: and batch size of the SASRec papers' Amazon runs.
RECBOLE = {
    "embedding_dim": 64,
    "n_layers": 2,
    "n_heads": 2,
    "dropout": 0.5,
    "max_len": 50,
    "lr": 1e-3,
    "batch_size": 256,
}
COLUMNS = [
    "model",
    "epochs",
    "best_epoch",
    "best_valid_ndcg10",
    "cpu_s_per_epoch",
    "wall_s_per_epoch",
    "cpu_s_to_best",
    "cpu_s_to_recbole_best",
    "pct_of_recbole_cpu",
    "pct_of_recbole_wall",
]


def extra_args(parser) -> None:
    parser.add_argument("--max-users", type=int, default=8000, help="seeded user subset (0: all)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recbole-epochs", type=int, default=200)
    parser.add_argument("--recbole-patience", type=int, default=5)
    parser.add_argument(
        "--recbole-max-s", type=float, default=float("inf"), help="RecBole's training budget"
    )
    parser.add_argument("--skrec-epochs", type=int, default=200)
    parser.add_argument("--configs", default=",".join(SKREC), help="skrec configurations to run")
    parser.add_argument(
        "--peer-from",
        type=Path,
        default=None,
        help="take RecBole's row from this earlier recbole.json (same data arguments) "
        "instead of training it again",
    )
    parser.add_argument("--data-home", default=None)


def fit_skrec(name, params, train, args) -> dict:
    est = TransformerRecommender(
        **{
            "random_state": args.seed,
            "n_jobs": args.threads,
            "max_epochs": args.skrec_epochs,
            **params,
        },
        callbacks=[("cpu", EpochCPUTime())],
    )
    print(f"fitting {name}: {est.get_params()}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    est.fit(train)
    row = {"model": name, "params": params, "fit_s": time.perf_counter() - start}
    row.update(curve(est))
    return row


def summarise(row: dict, reference: dict | None) -> dict:
    valid = row["valid_ndcg10_by_epoch"]
    cpu, wall = row["cpu_s_by_epoch"], row["wall_s_by_epoch"]
    row["epochs"] = len(valid)
    row["best_valid_ndcg10"] = max(valid)
    row["cpu_s_to_best"], row["best_epoch"] = time_to_best(valid, cpu)
    row["cpu_s_per_epoch"] = float(np.mean(cpu))
    row["wall_s_per_epoch"] = float(np.mean(wall))
    if reference is not None:
        target = reference["best_valid_ndcg10"]
        reached = time_to_reach(valid, cpu, target)
        reached_wall = time_to_reach(valid, wall, target)
        if reached is None:
            row["cpu_s_to_recbole_best"] = None
            row["pct_of_recbole_cpu"] = "not reached"
        else:
            row["cpu_s_to_recbole_best"], row["epoch_reaching_recbole_best"] = reached
            row["pct_of_recbole_cpu"] = 100 * reached[0] / reference["cpu_s_to_best"]
            row["pct_of_recbole_wall"] = 100 * reached_wall[0] / reference["wall_s_to_best"]
    return row


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra_args)
    if args.quick:
        args.max_users, args.recbole_epochs, args.skrec_epochs = 300, 2, 2
    torch.set_num_threads(args.threads)
    X = amazon_sequences("beauty", args.data_home, args.max_users or None, args.seed)
    if X is None:
        return
    train_rows, _test_rows = next(LeaveLastOut(n=1, min_train=2).split(X))
    train = X.iloc[train_rows]
    rows, reference, notes = [], None, []
    if args.peer_from is not None:
        import json

        earlier = json.loads(args.peer_from.read_text())
        for key in ("max_users", "seed", "threads"):
            if earlier["config"][key] != str(getattr(args, key)):
                raise SystemExit(f"--peer-from {args.peer_from} was run with another --{key}")
        reference = next(r for r in earlier["rows"] if r["model"].startswith("RecBole"))
        rows.append(reference)
        notes.append(f"RecBole's row is from {earlier['command']!r} ({earlier['date']}).")
    elif available("recbole_sasrec"):
        with (
            tempfile.TemporaryDirectory() as tmp,
            Peer("recbole_sasrec", threads=args.threads) as peer,
        ):
            hello = peer.request("hello")
            table = Path(tmp) / "beauty.npz"
            np.savez(
                table,
                user=X["user"].to_numpy(dtype=np.int64),
                item=X["item"].to_numpy(dtype=np.int64),
                timestamp=X["timestamp"].to_numpy(dtype=np.float64),
            )
            print("fitting RecBole SASRec", file=sys.stderr, flush=True)
            reply = peer.request(
                "fit",
                model="sasrec",
                train=str(table),
                params={
                    **RECBOLE,
                    "max_epochs": args.recbole_epochs,
                    "patience": args.recbole_patience,
                    "seed": args.seed,
                },
                options={"max_train_s": args.recbole_max_s},
            )
        reference = {
            "model": f"RecBole {hello['versions']['recbole']} SASRec (CE)",
            "params": RECBOLE,
            "valid_ndcg10_by_epoch": reply["valid_ndcg10_by_epoch"],
            "cpu_s_by_epoch": reply["cpu_s_by_epoch"],
            "wall_s_by_epoch": reply["train_s_by_epoch"],
            "peer_versions": hello["versions"],
            "peer_threads": hello["threads"],
            "train_sequences": reply["train_sequences"],
        }
        summarise(reference, None)
        reference["wall_s_to_best"] = time_to_best(
            reference["valid_ndcg10_by_epoch"], reference["wall_s_by_epoch"]
        )[0]
        reference["pct_of_recbole_cpu"] = 100.0
        reference["pct_of_recbole_wall"] = 100.0
        rows.append(reference)
        if reference["epochs"] >= args.recbole_epochs or (
            sum(reference["wall_s_by_epoch"]) >= args.recbole_max_s
        ):
            notes.append(
                "RecBole stopped on its epoch or time budget, not on its patience: its best "
                "validation NDCG@10 may still have been rising."
            )
    else:
        notes.append(
            "RecBole was not run: no benchmarks/peers/.venv-recbole (make it with "
            "`benchmarks/peers/make_env.sh recbole`)."
        )
        print(notes[-1], file=sys.stderr)
    for name in filter(None, args.configs.split(",")):
        rows.append(summarise(fit_skrec(name, SKREC[name], train, args), reference))
    data = {
        "users": int(X["user"].nunique()),
        "items": int(X["item"].nunique()),
        "interactions": len(X),
    }
    notes.append(
        f"Amazon Beauty, {data['users']} users "
        f"({'all' if not args.max_users else 'seeded subset'}), {data['items']} items; "
        f"{args.threads} torch thread(s) each. Times are training only "
        "(validation excluded), CPU seconds unless marked wall. pct_of_recbole_*: skrec's "
        "time to reach RecBole's best validation NDCG@10, as a share of RecBole's time to its "
        "best epoch. RecBole trains on every prefix of each sequence (one target per "
        "sample); skrec predicts every position of a sequence at once."
    )
    write_results(
        "recbole",
        args,
        rows,
        notes=" ".join(notes),
        extra={"data": data, "config": {k: str(v) for k, v in vars(args).items()}},
        columns=COLUMNS,
    )


if __name__ == "__main__":
    main()
