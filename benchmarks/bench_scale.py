"""One machine, large data: time and peak memory per step, from 1M to 20M interactions.

The data come from :func:`skrec.datasets.make_interactions` shaped like
MovieLens-20M (138,493 users, 26,744 items, 20,000,263 ratings): at every size
the numbers of users and items are the same fractions of the interactions as in
MovieLens-20M (about 144 interactions per user, density 0.54 %), so 20M is the
full MovieLens-20M shape and smaller sizes are the same population, thinned.
One fold of a 5-fold ``PerUserKFold`` is held out for scoring.

Steps, each run in a fresh child process (skrec | raw implicit on the same data):

``fit``        ``ALSRecommender.fit`` on the training table (validation, id
               encoding, matrix building, ALS, calibration) | ``implicit``'s
               ``AlternatingLeastSquares.fit`` on a prebuilt CSR matrix
``recommend``  top-10 for every training user, seen items excluded |
               ``model.recommend(all user indices, R, N=10)``
``score``      ``est.score(test table)`` (NDCG@10) |
               ``implicit.evaluation.ndcg_at_k(model, R, T, K=10)`` on prebuilt matrices
``split``      all five folds of ``PerUserKFold`` over the full table, one fold
               held at a time | (implicit has no per-user k-fold)
``generate``   ``make_interactions`` itself, for reference

Peak memory of a step: the child loads its inputs, resets the kernel's
high-water mark of its resident set (``/proc/self/clear_refs``), runs the step
and reads ``VmHWM``; the figure is that peak minus the resident set just before
the step. It counts every allocation, numpy's and the C++ of implicit alike.
Children run with ``MALLOC_MMAP_THRESHOLD_`` fixed, so that memory freed by a
step goes back to the kernel at once and does not hide the next allocation.

    python benchmarks/bench_scale.py                      # 1M, 5M and 20M
    python benchmarks/bench_scale.py --sizes 1M 5M        # chosen sizes
    python benchmarks/bench_scale.py --quick              # 200k, under a minute (CI)
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _child import label, size
from _child import run_child as _run_child
from _harness import median, parse_args, write_results

PARAMS = dict(factors=64, regularization=0.05, alpha=1.0, iterations=15)
# MovieLens-20M: users and items per interaction.
ML20M = dict(users=138_493, items=26_744, interactions=20_000_263)
STEPS = {
    "skrec": ("fit", "recommend", "score", "split"),
    "implicit": ("fit", "recommend", "score"),
}
# Generous bound on the memory a size needs (make_interactions' peak is the largest).
BYTES_PER_ROW = 400
# Fixed threshold: every allocation above it is mmap'd and unmapped when freed.
CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


# ------------------------------------------------------------------ memory
def _status(key: str) -> float:
    """A ``/proc/self/status`` figure in MiB (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset the resident-set high-water mark of this process (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def measured(run):
    """``run()`` with its wall time and its peak resident memory above the start."""
    gc.collect()
    reset = _reset_peak()
    base = _status("VmRSS")
    start = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    # Without a reset the high-water mark may predate the step: then it is an upper bound.
    return out, {"seconds": seconds, "peak_mib": peak - base, "rss_peak_mib": peak, "exact": reset}


# -------------------------------------------------------------------- data
def shape(n: int) -> tuple[int, int]:
    """(users, items) of a MovieLens-20M-shaped set of ``n`` interactions."""
    users = max(10, round(n * ML20M["users"] / ML20M["interactions"]))
    items = max(10, round(n * ML20M["items"] / ML20M["interactions"]))
    return users, items


def _table(folder: Path, part: str):
    """The interaction table ``part`` (train, test, full) as a DataFrame, without copies."""
    import pandas as pd

    cols = {c: np.load(folder / f"{part}_{c}.npy") for c in ("user", "item", "timestamp")}
    return pd.DataFrame(cols, copy=False)


def prepare(n: int, folder: Path) -> dict:
    """Generate the data of size ``n`` into ``folder``; return the cost of generating it."""
    import scipy.sparse as sp

    from skrec.datasets import make_interactions
    from skrec.model_selection import PerUserKFold
    from skrec.utils.validation import IdIndex, interaction_matrix, signed_weights

    users, items = shape(n)
    data, cost = measured(
        lambda: make_interactions(n_users=users, n_items=items, n_interactions=n, random_state=0)
    )
    X = data.X
    del data
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(X))
    for part, rows in (("full", None), ("train", train), ("test", test)):
        for c in ("user", "item", "timestamp"):
            col = X[c].to_numpy()
            np.save(folder / f"{part}_{c}.npy", col if rows is None else col[rows])
    # implicit gets matrices indexed as skrec indexes them, built outside its timings.
    uidx, iidx = IdIndex(X["user"].to_numpy()[train]), IdIndex(X["item"].to_numpy()[train])

    def matrix(rows):
        u = uidx.get_indexer(X["user"].to_numpy()[rows])
        i = iidx.get_indexer(X["item"].to_numpy()[rows])
        known = (u >= 0) & (i >= 0)
        shape_ = (len(uidx), len(iidx))
        return interaction_matrix(u[known], i[known], signed_weights(None, known.sum()), shape_)

    sp.save_npz(folder / "R.npz", matrix(train), compressed=False)
    sp.save_npz(folder / "T.npz", matrix(test), compressed=False)
    return {**cost, "users": len(uidx), "items": len(iidx), "train_rows": len(train)}


# ------------------------------------------------------------------- steps
def _implicit_model():
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(**PARAMS, random_state=0)


def child(lib: str, step: str, folder: Path) -> dict:
    """Run one step in this (fresh) process; return its measurements."""
    import scipy.sparse as sp
    from threadpoolctl import threadpool_limits

    if lib == "skrec":
        from skrec import ALSRecommender
        from skrec.model_selection import PerUserKFold

        if step == "fit":
            X = _table(folder, "train")
            est, cost = measured(lambda: ALSRecommender(**PARAMS, random_state=0).fit(X))
            with open(folder / "skrec.pkl", "wb") as fh:
                pickle.dump(est, fh, protocol=pickle.HIGHEST_PROTOCOL)
            return cost
        if step == "split":
            X = _table(folder, "full")

            def split():
                n_test = 0
                for _, test in PerUserKFold(n_splits=5, random_state=0).split(X):
                    n_test += len(test)
                return n_test

            return measured(split)[1]
        with open(folder / "skrec.pkl", "rb") as fh:
            est = pickle.load(fh)
        if step == "recommend":
            users = est.users_
            (ids, _), cost = measured(lambda: est.recommend(users, n=10))
            return {**cost, "result_mib": ids.nbytes * 2 / 2**20}
        X_test = _table(folder, "test")
        ndcg, cost = measured(lambda: est.score(X_test))
        return {**cost, "ndcg10": ndcg}

    R = sp.load_npz(folder / "R.npz").tocsr()
    model = _implicit_model()
    with threadpool_limits(1, "blas"):  # as skrec does, and as implicit advises
        if step == "fit":
            _, cost = measured(lambda: model.fit(R, show_progress=False))
            np.savez(folder / "implicit.npz", u=model.user_factors, i=model.item_factors)
            return cost
        factors = np.load(folder / "implicit.npz")
        model.user_factors, model.item_factors = factors["u"], factors["i"]
        if step == "recommend":
            users = np.arange(R.shape[0])
            _, cost = measured(
                lambda: model.recommend(users, R, N=10, filter_already_liked_items=True)
            )
            return cost
        from implicit.evaluation import ndcg_at_k

        T = sp.load_npz(folder / "T.npz").tocsr()
        ndcg, cost = measured(lambda: ndcg_at_k(model, R, T, K=10, show_progress=False))
        return {**cost, "ndcg10": ndcg}


def run_child(*args) -> object:
    return _run_child(__file__, *args, env=CHILD_ENV)


def available_gib() -> float:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def growth(rows: list[dict], key: str) -> str:
    """Exponent ``b`` of ``cost ~ n ** b`` between the smallest and largest size, per step."""
    parts = []
    for step in ("fit", "recommend", "score", "split"):
        pts = [(r["interactions"], r[key]) for r in rows if r["step"] == step and r.get(key)]
        if len(pts) >= 2 and pts[0][0] != pts[-1][0] and pts[0][1] > 0 and pts[-1][1] > 0:
            b = math.log(pts[-1][1] / pts[0][1]) / math.log(pts[-1][0] / pts[0][0])
            parts.append(f"{step} n^{b:.2f}")
    return ", ".join(parts)


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        what, arg, folder = sys.argv[i + 1 : i + 4]
        if what == "prepare":
            out = prepare(int(arg), Path(folder))
        else:
            out = child(what, arg, Path(folder))
        print(json.dumps(out, default=float))
        return

    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--sizes", nargs="+", type=size, default=None, help="numbers of interactions"
        )
        parser.set_defaults(repeats=1)  # each repetition of a 20M step costs minutes

    args = parse_args(__doc__, extra)
    sizes = args.sizes or ([200_000] if args.quick else [1_000_000, 5_000_000, 20_000_000])
    rows, exact = [], True
    with tempfile.TemporaryDirectory(prefix="skrec-bench-scale-") as tmp:
        for n in sizes:
            free, need = available_gib(), n * BYTES_PER_ROW / 2**30
            if free < need:
                print(f"skipping {label(n)}: {free:.1f} GiB available, about {need:.1f} needed")
                continue
            folder = Path(tmp) / str(n)
            folder.mkdir()
            print(f"{label(n)}: generating ({free:.1f} GiB available)", flush=True)
            info = run_child("prepare", n, folder)
            base = {"size": label(n), "interactions": n, "users": info["users"]}
            base["items"] = info["items"]
            rows.append(
                {**base, "step": "generate", "skrec_s": info["seconds"]}
                | {"skrec_peak_mib": info["peak_mib"], "skrec_rss_mib": info["rss_peak_mib"]}
            )
            for step in STEPS["skrec"]:
                # Timings are wall clock: a busy machine (see load) slows every step.
                row = {**base, "step": step, "load": round(os.getloadavg()[0], 1)}
                for lib in ("skrec", "implicit"):
                    if step not in STEPS[lib]:
                        continue
                    runs = [run_child(lib, step, folder) for _ in range(max(1, args.repeats))]
                    row[f"{lib}_s"] = median([r["seconds"] for r in runs])
                    row[f"{lib}_peak_mib"] = max(r["peak_mib"] for r in runs)
                    row[f"{lib}_rss_mib"] = max(r["rss_peak_mib"] for r in runs)
                    exact = exact and all(r["exact"] for r in runs)
                    if "ndcg10" in runs[0]:
                        row[f"{lib}_ndcg10"] = runs[0]["ndcg10"]
                    print(
                        f"  {lib:8s} {step:9s} {row[f'{lib}_s']:8.2f} s "
                        f"{row[f'{lib}_peak_mib']:9.1f} MiB",
                        flush=True,
                    )
                if "implicit_s" in row:
                    row["time_ratio"] = row["skrec_s"] / row["implicit_s"]
                rows.append(row)
            for path in folder.iterdir():  # free the disk before the next size
                path.unlink()
    measured_rows = [r for r in rows if r["step"] != "generate"]
    notes = (
        f"ALS parameters {PARAMS}, random_state=0, float32, BLAS limited to one thread "
        "(implicit's own threads use every core). Users and items grow in proportion to the "
        "interactions (MovieLens-20M shape), so recommend-all grows as users x items.\n\n"
        "peak_mib: peak resident memory of the step above the resident memory just before it "
        "(the step's inputs loaded), in a fresh process; rss_mib: the process's whole peak "
        "resident memory (inputs, interpreter and libraries included). implicit's fit and "
        "recommend get the CSR matrix ready-made; skrec's fit builds it from the table. "
        "split: all 5 folds of PerUserKFold over the full table, one fold held at a time "
        "(GridSearchCV keeps every fold's indices: 8 bytes x rows x folds more). load: the "
        "1-minute load average when the step started; above the number of cores, other "
        "processes shared the CPU and the times are inflated.\n\n"
        f"Growth between the smallest and largest size: time {growth(measured_rows, 'skrec_s')} "
        f"(implicit: {growth(measured_rows, 'implicit_s')}); peak memory "
        f"{growth(measured_rows, 'skrec_peak_mib')}."
    )
    columns = ["size", "users", "items", "step", "skrec_s", "implicit_s", "time_ratio"]
    columns += ["skrec_peak_mib", "implicit_peak_mib", "skrec_rss_mib", "implicit_rss_mib", "load"]
    write_results(
        "scale",
        args,
        rows,
        notes=notes,
        columns=columns,
        extra={"params": PARAMS, "sizes": sizes, "peak_reset_exact": exact},
    )


if __name__ == "__main__":
    main()
