"""skrec's EASERecommender against LensKit's EASE, one run, same matrix, one thread each.

LensKit lives in its own virtual environment (``benchmarks/peers/make_env.sh
lenskit``) and is driven through its runner ``benchmarks/peers/run_lenskit.py``
(JSON lines over a pipe, see ``benchmarks/peers/README.md``). Both sides read
the same training table from a file written here, fit EASE with the same
``l2`` and rank the top 10 items of every test user, training items excluded;
NDCG@10 of both lists is computed by skrec's metric code against the same
held-out rows.

Fit times are the median of ``--repeats`` alternating runs (the order flips
every repeat). skrec's fit starts from the interaction table (validation, id
encoding, matrix, EASE, calibration); LensKit's from its ``Dataset``, whose
construction from the same table is timed separately (``lenskit_prepare_s``).

    benchmarks/peers/make_env.sh lenskit
    SKREC_DATA=../shared/data python benchmarks/bench_ease.py
    python benchmarks/bench_ease.py --quick --output /tmp/smoke   # CI smoke run
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# One thread for every BLAS/OpenMP pool of this process, before numpy loads.
_pre = argparse.ArgumentParser(add_help=False)
_pre.add_argument("--threads", type=int, default=1)
THREADS = _pre.parse_known_args()[0].threads
sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))
from _client import (  # noqa: E402
    Peer,
    available,
    read_recommendations,
    thread_environment,
    write_table,
)

os.environ.update({k: v for k, v in thread_environment(THREADS).items() if k != "PEER_THREADS"})

import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import nullcontext  # noqa: E402

import numpy as np  # noqa: E402
from _data import holdout  # noqa: E402
from _harness import median, parse_args, peak_rss_mib, write_results  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from skrec import EASERecommender  # noqa: E402
from skrec.datasets import load_movielens, make_interactions  # noqa: E402
from skrec.metrics import ndcg_at_k  # noqa: E402

L2 = 500.0
PEER = "lenskit"


def extra_args(parser):
    parser.add_argument("--threads", type=int, default=1, help="threads of each library")
    parser.add_argument("--l2", type=float, default=L2, help="EASE regularisation (both sides)")
    parser.add_argument(
        "--lenskit-solvers",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        default=["torch", "scipy"],
        help="LensKit's LK_EASE_SOLVER values to time, its default (torch) first",
    )
    parser.add_argument(
        "--datasets",
        default="movielens-100k,large",
        help="comma-separated: movielens-100k, large (ml-latest-small, else synthetic ~10k items)",
    )


def load(name: str, quick: bool) -> tuple[str, np.ndarray] | None:
    """``(label, rows of (user, item))`` with integer ids, or None when absent."""
    if name == "movielens-100k":
        try:
            data = load_movielens("100k", download=False)
        except OSError:
            print("skipping movielens-100k: not found under $SKREC_DATA", file=sys.stderr)
            return None
        return "movielens-100k (all ratings)", data.X[["user", "item"]].to_numpy(np.int64)
    if name == "large":
        if not quick:
            try:
                data = load_movielens("latest-small", download=False)
                X = data.X[["user", "item"]].to_numpy(np.int64)
                return "ml-latest-small (all ratings)", X
            except OSError:
                pass
        # ml-latest-small's catalogue size with more users: 10k items, 400k rows.
        shape = (500, 2_000, 20_000) if quick else (5_000, 10_000, 400_000)
        data = make_interactions(
            n_users=shape[0], n_items=shape[1], n_interactions=shape[2], random_state=0
        )
        label = f"synthetic {shape[1]:,} items (make_interactions, seed 0)"
        return label, data.X[["user", "item"]].to_numpy(np.int64)
    raise SystemExit(f"unknown data set {name!r}; use movielens-100k or large")


def read_table(path: Path) -> np.ndarray:
    with np.load(path) as f:
        return np.column_stack([f["user"], f["item"]])


def fit_skrec(train_file: Path, l2: float) -> tuple[EASERecommender, float, float]:
    """Fit from the file both sides read; return (model, fit seconds, seconds in EASE itself)."""
    X = read_table(train_file)
    est = EASERecommender(l2=l2, device="cpu", n_jobs=THREADS)
    inner = est._fit_model
    spent = []

    def timed(*args):  # the EASE solve alone, to tell it from the shared fit machinery
        start = time.perf_counter()
        inner(*args)
        spent.append(time.perf_counter() - start)

    est._fit_model = timed
    start = time.perf_counter()
    est.fit(X)
    fit_s = time.perf_counter() - start
    del est._fit_model
    return est, fit_s, spent[0]


def truth_lists(test: np.ndarray, users: np.ndarray) -> list[list[int]]:
    order = np.argsort(test[:, 0], kind="stable")
    sorted_users = test[order, 0]
    bounds = (
        np.searchsorted(sorted_users, users, side="left"),
        np.searchsorted(sorted_users, users, side="right"),
    )
    return [test[order[a:b], 1].tolist() for a, b in zip(*bounds)]


def run_dataset(label, X, args, peer, workdir: Path) -> dict:
    train, test = holdout(X, seed=0)
    train_file = write_table(workdir / "train.npz", train[:, 0], train[:, 1])
    users = np.unique(test[:, 0])
    users_file = write_table(workdir / "users.npz", users, users)
    truth = truth_lists(test, users)
    solvers = args.lenskit_solvers if peer is not None else []
    sides = ["skrec", *solvers]
    times = {side: [] for side in sides} | {"skrec_ease": [], "prepare": []}
    est = reply = last = None

    def fit_lenskit(solver):
        options = {"solver": solver, "device": "cpu"}
        params = {"l2": args.l2}
        return peer.request(
            "fit", model="ease", train=str(train_file), params=params, options=options
        )

    for rep in range(args.repeats):
        # Rotate the order so that each side runs first, second, ... equally often.
        for side in sides[rep % len(sides) :] + sides[: rep % len(sides)]:
            if side == "skrec":
                est = None  # free the previous model before the next fit
                est, fit_s, ease_s = fit_skrec(train_file, args.l2)
                times["skrec"].append(fit_s)
                times["skrec_ease"].append(ease_s)
                print(f"  [{rep}] skrec fit {fit_s:.2f} s (EASE {ease_s:.2f} s)", flush=True)
            else:
                reply, last = fit_lenskit(side), side
                times[side].append(reply["fit_s"])
                times["prepare"].append(reply["prepare_s"])
                print(
                    f"  [{rep}] lenskit ({side}) fit {reply['fit_s']:.2f} s "
                    f"(+ Dataset {reply['prepare_s']:.2f} s)",
                    flush=True,
                )
    start = time.perf_counter()
    ids, _ = est.recommend(users, n=10, exclude_seen=True)
    skrec_rec_s = time.perf_counter() - start
    row = {
        "dataset": label,
        "train_rows": len(train),
        "users": len(est.users_),
        "items": len(est.items_),
        "test_users": len(users),
        "skrec_fit_s": median(times["skrec"]),
        "skrec_ease_s": median(times["skrec_ease"]),
        "skrec_inverse": str(est.inverse_dtype_),
        "skrec_ndcg10": ndcg_at_k(truth, ids.tolist(), k=10),
        "skrec_recommend_s": skrec_rec_s,
    }
    if peer is not None:
        if last != solvers[0]:  # rank with LensKit's first (default) solver's model
            reply = fit_lenskit(solvers[0])
        lk = peer.request("recommend", users=str(users_file), n=10, output=str(workdir / "r.npz"))
        lk_users, lk_ids = read_recommendations(workdir / "r.npz")
        assert np.array_equal(lk_users, users)
        lk_fit = median(times[solvers[0]])
        row.update(
            lenskit_items=reply["n_items"],
            lenskit_fit_s=lk_fit,
            lenskit_prepare_s=median(times["prepare"]),
            fit_ratio=row["skrec_fit_s"] / lk_fit,
            fit_ratio_incl_dataset=row["skrec_fit_s"] / (lk_fit + median(times["prepare"])),
        )
        for solver in solvers[1:]:
            row[f"lenskit_{solver}_fit_s"] = median(times[solver])
            row[f"fit_ratio_vs_{solver}"] = row["skrec_fit_s"] / median(times[solver])
        row.update(
            lenskit_ndcg10=ndcg_at_k(truth, lk_ids.tolist(), k=10),
            same_top10=float(np.mean(ids.astype(np.int64) == lk_ids)),
            lenskit_recommend_s=lk["recommend_s"],
        )
        row["ndcg_equal_4dp"] = round(row["skrec_ndcg10"], 4) == round(row["lenskit_ndcg10"], 4)
        row["lenskit_peak_rss_mib"] = reply["peak_rss_mib"]
    row["skrec_peak_rss_mib"] = peak_rss_mib()
    for side in sides:
        name = side if side == "skrec" else f"lenskit_{side}"
        row[f"{name}_runs_s"] = [round(t, 3) for t in times[side]]
    return row


def main():
    args = parse_args(__doc__.splitlines()[0], extra_args)
    if args.quick:
        args.repeats = 1
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    peer_note = ""
    if not available(PEER):
        message = (
            f"peer {PEER!r} not run: its environment is missing "
            f"(make it with `benchmarks/peers/make_env.sh {PEER}`)"
        )
        if not args.quick:
            raise SystemExit(message)
        print(message, file=sys.stderr)
        peer_note = message + "; skrec alone."
    rows, peer_info = [], None
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(THREADS):
        try:
            import torch  # noqa: F401 -- torch threads = 1 here too (EASE on the CPU never uses it)

            torch.set_num_threads(THREADS)
        except ImportError:
            pass
        blas = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        with Peer(PEER, threads=THREADS) if not peer_note else nullcontext() as peer:
            if peer is not None:
                peer_info = peer.request("hello")
                print(f"peer: {peer_info['versions']}, threads {peer_info['threads']}")
            for name in names:
                loaded = load(name, args.quick)
                if loaded is None:
                    continue
                label, X = loaded
                print(f"{label}: {len(X):,} rows", flush=True)
                workdir = Path(tmp) / name
                workdir.mkdir()
                rows.append(run_dataset(label, X, args, peer, workdir))
    notes = (
        f"EASE l2={args.l2}, {THREADS} thread(s) each: OMP/MKL/OPENBLAS_NUM_THREADS={THREADS} "
        f"and torch.set_num_threads({THREADS}) in both processes (skrec BLAS pools {blas}; "
        f"EASERecommender(device='cpu', n_jobs={THREADS})). Fit times: median of {args.repeats} "
        "alternating runs (the order rotates every repeat). skrec_fit_s = the whole `fit` from "
        "the interaction table (validation, ids, matrix, EASE, calibration); skrec_ease_s = the "
        "EASE solve inside it (Gram matrix + float32 Cholesky inverse + B). lenskit_fit_s = "
        "`topn_pipeline(EASEScorer).train(dataset)` with LensKit's default solver (torch "
        "Cholesky on the CPU); lenskit_scipy_fit_s = the same with LK_EASE_SOLVER=scipy "
        "(scipy.linalg.inv(assume_a='pos'): LAPACK potrf+potri, as skrec); lenskit_prepare_s = "
        "`from_interactions_df` on the same table. fit_ratio = skrec_fit_s / lenskit_fit_s; "
        "fit_ratio_incl_dataset divides by LensKit's Dataset + train; fit_ratio_vs_scipy by "
        "lenskit_scipy_fit_s. Split: one fold of PerUserKFold(5, seed 0); NDCG@10 of both "
        "top-10 lists (training items excluded; LensKit's from its default solver's model) by "
        "skrec.metrics.ndcg_at_k; same_top10 = share of equal ids at equal ranks. "
        "*_peak_rss_mib: each process's peak resident memory so far (interpreter, libraries "
        "and data included; LensKit's process also holds torch); one dense float32 matrix of "
        "10k items is 381 MiB."
    )
    load_after = os.getloadavg()
    notes += (
        f" Load average (1, 5, 15 min) before/after: {tuple(round(x, 2) for x in load_before)} / "
        f"{tuple(round(x, 2) for x in load_after)} on {os.cpu_count()} CPUs: above the CPU "
        "count, other processes shared the cores and every time is inflated (the ratios, from "
        "alternating runs, less so)."
    )
    if peer_note:
        notes = peer_note + " " + notes
    columns = [c for c in rows[0] if not c.endswith("_runs_s")] if rows else None
    extra = {
        "peer": peer_info,
        "threads": THREADS,
        "l2": args.l2,
        "load_average": {"before": load_before, "after": load_after},
    }
    write_results("ease", args, rows, notes=notes, extra=extra, columns=columns)


if __name__ == "__main__":
    main()
