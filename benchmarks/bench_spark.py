"""ALS on Spark (``local[2]``) next to ALSRecommender: time, peak memory, quality.

Part 1, scale. At 1M and 5M interactions from :func:`skrec.datasets.make_interactions`,
MovieLens-20M-shaped as in ``bench_scale.py``, one fold of a 5-fold
``PerUserKFold`` held out. Each library runs in its own fresh child process,
its steps one after the other with the peak memory reset between them:

``session``        Spark only: starting ``local[2]`` (the JVM)
``fit``            ``fit`` on the training table as a pandas DataFrame
``fit (Spark DF)`` Spark only: ``fit`` on the same table read from Parquet by
                   Spark (the rows never reach the driver)
``recommend all``  top-10 for every user, seen items excluded: ``recommend(users_)``
                   | ``recommend_all(n=10)`` of the Spark-DataFrame fit, written to Parquet
``score``          NDCG@10 of the held-out fold (``score``), same ALS parameters

Peak memory is read from the kernel (``VmHWM``, reset through ``clear_refs``
before each step) for the Python driver, for the JVM (a child process of the
driver; in local mode the executors run inside it) and for Spark's Python
workers (children of the JVM, where ``recommend`` ranks): the peak of the step
above the resident set just before it. The JVM's figure includes its garbage
collector's slack (heap up to ``spark.driver.memory``), not only live data.

Part 2, quality on MovieLens-100K (ratings >= 4, ``$SKREC_DATA``): the
run-to-run spread of ``ALSRecommender`` over 10 seeds on one PerUserKFold
fold, SparkALSRecommender at equal parameters (``parametrization="implicit"``)
over 3 seeds, the same numbers given to Spark unmapped (``"spark"``), and an
unmodified ``GridSearchCV`` (3-fold ``PerUserKFold``, NDCG@10 scorer) of both
estimators, ALS repeated over 5 seeds for its spread.

    python benchmarks/bench_spark.py                  # 1M and 5M, then MovieLens-100K
    python benchmarks/bench_spark.py --sizes 1M       # chosen sizes
    python benchmarks/bench_spark.py --quick          # 30k rows, Spark-DataFrame fit only (CI)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _child import label, size
from _child import run_child as _run_child
from _harness import markdown_table, parse_args, write_results

PARAMS = dict(factors=64, regularization=0.05, alpha=1.0, iterations=15)
QUICK_PARAMS = dict(factors=8, regularization=0.05, alpha=1.0, iterations=3)
#: Spark settings of every session here: two cores, as many shuffle partitions and ALS blocks.
CORES = 2
SPARK_CONF = {
    "spark.master": f"local[{CORES}]",
    "spark.driver.memory": "6g",
    "spark.sql.shuffle.partitions": str(2 * CORES),
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}
BLOCKS = dict(num_user_blocks=2 * CORES, num_item_blocks=2 * CORES)
ML20M = dict(users=138_493, items=26_744, interactions=20_000_263)
CHILD_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "PYSPARK_PYTHON": sys.executable}


# ------------------------------------------------------------------ memory
def _status(pid, key: str) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _reset(pid) -> None:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _descendants() -> tuple[list[int], list[int]]:
    """(JVM pids, Spark Python worker pids) among this process's descendants."""
    import psutil

    jvms, workers = [], []
    for proc in psutil.Process().children(recursive=True):
        try:
            name = proc.name()
        except psutil.Error:
            continue
        if name == "java":
            jvms.append(proc.pid)
        elif name.startswith("python"):
            workers.append(proc.pid)
    return jvms, workers


class Step:
    """Wall time and peak resident memory (driver, JVM, workers) of one step."""

    def __enter__(self):
        gc.collect()
        self.jvms, self.workers = _descendants()
        for pid in ["self", *self.jvms, *self.workers]:
            _reset(pid)
        self.base = {p: _status(p, "VmRSS") for p in ["self", *self.jvms, *self.workers]}
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.driver_peak = _status("self", "VmHWM") - self.base["self"]
        jvms, workers = _descendants()
        self.jvm_peak = max(
            (_status(p, "VmHWM") - self.base.get(p, 0.0) for p in jvms), default=float("nan")
        )
        self.jvm_rss = max((_status(p, "VmHWM") for p in jvms), default=float("nan"))
        # Workers forked during the step start from nothing: their whole peak counts.
        self.worker_peak = max(
            (_status(p, "VmHWM") - self.base.get(p, 0.0) for p in workers), default=0.0
        )
        return False

    def figures(self, prefix: str) -> dict:
        out = {f"{prefix}_s": self.seconds, f"{prefix}_peak_mib": self.driver_peak}
        if prefix == "spark":
            out |= {"jvm_peak_mib": self.jvm_peak, "jvm_rss_mib": self.jvm_rss}
            out["workers_peak_mib"] = self.worker_peak
        return out


# -------------------------------------------------------------------- data
def shape(n: int) -> tuple[int, int]:
    """MovieLens-20M's users and items per interaction (below 200k, too dense: 50 and 250 per)."""
    if n < 200_000:
        return max(10, n // 50), max(10, n // 250)
    users = round(n * ML20M["users"] / ML20M["interactions"])
    items = round(n * ML20M["items"] / ML20M["interactions"])
    return users, items


def prepare(n: int, folder: Path) -> dict:
    """The train / test tables of size ``n`` as Parquet files (for pandas and Spark alike)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from skrec.datasets import make_interactions
    from skrec.model_selection import PerUserKFold

    users, items = shape(n)
    X = make_interactions(n_users=users, n_items=items, n_interactions=n, random_state=0).X
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(X))
    for part, rows in (("train", train), ("test", test)):
        table = X.iloc[rows][["user", "item"]].reset_index(drop=True)
        table = pa.Table.from_pandas(table, preserve_index=False)
        pq.write_table(table, folder / f"{part}.parquet")
    return {"users": users, "items": items, "train_rows": len(train)}


def _read(folder: Path, part: str):
    import pandas as pd

    return pd.read_parquet(folder / f"{part}.parquet")


def _session():
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("skrec-bench-spark")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ------------------------------------------------------------------ children
def child_als(folder: Path, quick: bool) -> list[dict]:
    from skrec import ALSRecommender

    params = QUICK_PARAMS if quick else PARAMS
    train, test = _read(folder, "train"), _read(folder, "test")
    out = []
    with Step() as s:
        est = ALSRecommender(**params, random_state=0).fit(train)
    out.append({"step": "fit", **s.figures("als")})
    with Step() as s:
        est.recommend(est.users_, n=10)
    out.append({"step": "recommend all", **s.figures("als")})
    with Step() as s:
        ndcg = est.score(test)
    out.append({"step": "score", **s.figures("als"), "als_ndcg10": ndcg})
    return out


def child_spark(folder: Path, quick: bool) -> list[dict]:
    params = QUICK_PARAMS if quick else PARAMS
    out = []
    with Step() as s:
        spark = _session()
        spark.range(1).count()
    out.append({"step": "session", **s.figures("spark")})
    from skrec import SparkALSRecommender

    train, test = _read(folder, "train"), _read(folder, "test")
    if not quick:  # the smoke run skips the fit on pandas input
        est = SparkALSRecommender(**params, **BLOCKS, random_state=0)
        with Step() as s:
            est.fit(train)
        out.append({"step": "fit", **s.figures("spark")})
        del est
    frame = spark.read.parquet(str(folder / "train.parquet"))
    remote = SparkALSRecommender(**params, **BLOCKS, random_state=0)
    with Step() as s:
        remote.fit(frame)
    out.append({"step": "fit (Spark DF)", **s.figures("spark")})
    with Step() as s:
        remote.recommend_all(n=10).write.mode("overwrite").parquet(str(folder / "recs.parquet"))
    out.append({"step": "recommend all", **s.figures("spark")})
    with Step() as s:
        ndcg = remote.score(test)
    out.append({"step": "score", **s.figures("spark"), "spark_ndcg10": ndcg})
    spark.stop()
    return out


def child_movielens(quick: bool) -> dict:
    """Quality on MovieLens-100K: spreads, equal parameters, GridSearchCV of both."""
    from sklearn.model_selection import GridSearchCV

    from skrec import ALSRecommender, SparkALSRecommender
    from skrec.datasets import load_movielens
    from skrec.metrics import make_ranking_scorer
    from skrec.model_selection import PerUserKFold

    try:
        data = load_movielens("100k", download=False)
    except OSError:
        return {}
    X = data.X[data.y >= 4][["user", "item"]].to_numpy()
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(X))
    spark = _session()
    rows = []
    als = [ALSRecommender(**PARAMS, random_state=s).fit(X[train]).score(X[test]) for s in range(10)]
    rows.append(_spread_row("ALSRecommender", "implicit", als))
    for par, seeds in (("implicit", range(3)), ("spark", range(1))):
        scores = []
        for s in seeds:
            est = SparkALSRecommender(**PARAMS, **BLOCKS, parametrization=par, random_state=s)
            scores.append(est.fit(X[train]).score(X[test]))
            reg = est.spark_params_["regParam"]
        rows.append(_spread_row("SparkALSRecommender", par, scores, regParam=reg))
    for row in rows[1:]:
        row["vs_als_std"] = (row["mean"] - rows[0]["mean"]) / rows[0]["std"]

    grid = {"regularization": [0.05, 1.0]}
    cv = PerUserKFold(n_splits=3, random_state=0)
    scoring = make_ranking_scorer("ndcg", k=10)
    als_grid = []
    for s in range(5):
        est = ALSRecommender(**PARAMS, random_state=s)
        search = GridSearchCV(est, grid, cv=cv, scoring=scoring).fit(X)
        als_grid.append(search.cv_results_["mean_test_score"])
    als_grid = np.array(als_grid)
    start = time.perf_counter()
    search = GridSearchCV(
        SparkALSRecommender(**PARAMS, **BLOCKS, random_state=0, spark=spark),
        grid,
        cv=cv,
        scoring=scoring,
        refit=False,
    ).fit(X)
    grid_s = time.perf_counter() - start
    grid_rows = []
    for j, params in enumerate(search.cv_results_["params"]):
        lo, hi = als_grid[:, j].min(), als_grid[:, j].max()
        got = search.cv_results_["mean_test_score"][j]
        grid_rows.append(
            {
                "params": str(params),
                "als_mean": als_grid[:, j].mean(),
                "als_std": als_grid[:, j].std(),
                "als_min": lo,
                "als_max": hi,
                "spark": got,
                "spark_vs_als_std": (got - als_grid[:, j].mean()) / als_grid[:, j].std(),
            }
        )
    spark.stop()
    return {"spread": rows, "grid": grid_rows, "grid_seconds": grid_s, "rows": len(X)}


def _spread_row(estimator, parametrization, scores, **extra) -> dict:
    scores = np.asarray(scores)
    return {
        "estimator": estimator,
        "parametrization": parametrization,
        "seeds": len(scores),
        "mean": scores.mean(),
        "std": scores.std(),
        "min": scores.min(),
        "max": scores.max(),
        **extra,
    }


def run_child(*args) -> object:
    return _run_child(__file__, *args, env=CHILD_ENV)


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        what, *rest = sys.argv[i + 1 :]
        if what == "prepare":
            out = prepare(int(rest[0]), Path(rest[1]))
        elif what == "als":
            out = child_als(Path(rest[0]), rest[1] == "1")
        elif what == "spark":
            out = child_spark(Path(rest[0]), rest[1] == "1")
        else:
            out = child_movielens(rest[0] == "1")
        print(json.dumps(out, default=float))
        return

    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--sizes", nargs="+", type=size, default=None)
        parser.add_argument("--no-movielens", action="store_true", help="skip part 2")
        parser.set_defaults(repeats=1)

    args = parse_args(__doc__, extra)
    sizes = args.sizes or ([30_000] if args.quick else [1_000_000, 5_000_000])
    quick = "1" if args.quick else "0"
    movielens = {}
    if not args.quick and not args.no_movielens:
        print("MovieLens-100K: spread and GridSearchCV", flush=True)
        movielens = run_child("movielens", quick)
        print(json.dumps(movielens, default=float), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="skrec-bench-spark-") as tmp:
        for n in sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            print(f"{label(n)}: generating", flush=True)
            info = run_child("prepare", n, folder)
            base = {"size": label(n), "users": info["users"], "items": info["items"]}
            load = round(os.getloadavg()[0], 1)
            als = {r["step"]: r for r in run_child("als", folder, quick)}
            spark = {r["step"]: r for r in run_child("spark", folder, quick)}
            for step in ("session", "fit", "fit (Spark DF)", "recommend all", "score"):
                row = {**base, "step": step, **als.get(step, {}), **spark.get(step, {})}
                row["load"] = load
                if "als_s" in row and "spark_s" in row:
                    row["time_ratio"] = row["spark_s"] / row["als_s"]
                rows.append(row)
                shown = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float))
                print(f"  {step:15s} {shown}", flush=True)
    params = QUICK_PARAMS if args.quick else PARAMS
    notes = (
        f"ALS parameters {params}, random_state=0 for both (Spark: parametrization='implicit', "
        f"so the same numbers mean the same model; {BLOCKS}); Spark {SPARK_CONF['spark.master']}, "
        f"driver memory {SPARK_CONF['spark.driver.memory']}, native BLAS absent (Spark's Java "
        "BLAS). time_ratio = Spark / ALSRecommender. *_peak_mib: peak resident memory of the "
        "step above the resident set before it (driver: the Python process; jvm: Spark's JVM, "
        "executors included in local mode, garbage-collector slack included; workers: Spark's "
        "Python workers, where recommend ranks); jvm_rss_mib: the JVM's whole peak. load: "
        "1-minute load average before the size; above 2 the machine was shared and times are "
        "inflated.\n"
    )
    if movielens:
        notes += (
            f"\n## MovieLens-100K (ratings >= 4, {movielens['rows']:,} rows)\n\n"
            "NDCG@10 on one PerUserKFold(5) fold; spread over seeds. vs_als_std: (mean - "
            "ALS mean) / ALS std.\n\n"
            + markdown_table(movielens["spread"])
            + "\nGridSearchCV(..., {'regularization': [0.05, 1.0]}, cv=PerUserKFold(n_splits=3,"
            " random_state=0), scoring=make_ranking_scorer('ndcg', k=10)), unmodified; "
            "ALSRecommender over 5 seeds, SparkALSRecommender seed 0 "
            f"({movielens['grid_seconds']:.0f} s for its 6 fits):\n\n"
            + markdown_table(movielens["grid"])
        )
    columns = ["size", "users", "items", "step", "als_s", "spark_s", "time_ratio"]
    columns += ["als_peak_mib", "spark_peak_mib", "jvm_peak_mib", "jvm_rss_mib"]
    columns += ["workers_peak_mib", "als_ndcg10", "spark_ndcg10", "load"]
    write_results(
        "spark",
        args,
        rows,
        notes=notes,
        columns=columns,
        extra={"params": params, "spark_conf": SPARK_CONF, "movielens": movielens},
    )


if __name__ == "__main__":
    main()
