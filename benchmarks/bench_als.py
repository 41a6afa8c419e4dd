"""skrec's ALSRecommender against raw implicit: same parameters, same process.

For each data set: fit time, ``recommend`` for every user, peak memory and
NDCG@10 of both, in alternating runs. skrec's fit includes validating the
interaction table, encoding ids and building the matrix; implicit's is given
the matrix ready-made (its users must build it themselves).

    python benchmarks/bench_als.py            # MovieLens-100K + 5M synthetic
    python benchmarks/bench_als.py --quick    # smoke run, small synthetic data
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from _data import holdout, movielens_positives, synthetic
from _harness import median, parse_args, peak_rss_mib, rss_mib, timer, write_results
from implicit.cpu.als import AlternatingLeastSquares
from implicit.evaluation import ndcg_at_k as implicit_ndcg
from threadpoolctl import threadpool_limits

from skrec import ALSRecommender
from skrec.metrics import make_ranking_scorer
from skrec.utils.validation import IdIndex, interaction_matrix, signed_weights

PARAMS = dict(factors=64, regularization=0.05, alpha=1.0, iterations=15)


def build_matrix(X, users: IdIndex, items: IdIndex):
    return interaction_matrix(
        users.get_indexer(X[:, 0]),
        items.get_indexer(X[:, 1]),
        signed_weights(None, len(X)),
        (len(users), len(items)),
    )


def fit_implicit(R):
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(**PARAMS, random_state=0)
        model.fit(R, show_progress=False)
    return model


def recommend_implicit(model, R):
    users = np.arange(R.shape[0])
    with threadpool_limits(1, "blas"):
        return model.recommend(users, R, N=10, filter_already_liked_items=True)


def load(name, quick):
    if name == "movielens-100k":
        found = movielens_positives()
        return None if found is None else found[0]
    return synthetic(20_000 if quick else 5_000_000)[0]


def memory_child(lib: str, name: str, quick: bool) -> None:
    """Run fit + recommend of one library in this fresh process and print peak RSS growth."""
    X = load(name, quick)
    train, _ = holdout(X)
    users, items = IdIndex(train[:, 0]), IdIndex(train[:, 1])
    R = build_matrix(train, users, items) if lib == "implicit" else None
    base = rss_mib()
    if lib == "implicit":
        model = fit_implicit(R)
        recommend_implicit(model, R)
    else:
        est = ALSRecommender(**PARAMS, random_state=0).fit(train)
        est.recommend(est.users_, n=10)
    print(json.dumps({"peak_mib": peak_rss_mib() - base}))


def measure(name: str, X, args) -> dict:
    train, test = holdout(X)
    times: dict = {}
    for _ in range(args.repeats):  # alternate the two libraries
        with timer(times, "skrec_fit"):
            est = ALSRecommender(**PARAMS, random_state=0).fit(train)
        users, items = est._user_index, est._item_index
        with timer(times, "matrix_build"):
            R = build_matrix(train, users, items)
        with timer(times, "implicit_fit"):
            model = fit_implicit(R)
        with timer(times, "skrec_recommend"):
            rec_ids, _ = est.recommend(est.users_, n=10)
        with timer(times, "implicit_recommend"):
            raw_ids, _ = recommend_implicit(model, R)

    # NDCG@10 on the held-out rows whose item the model knows (implicit's test
    # matrix cannot hold the others): skrec's scorer vs implicit.evaluation.
    known = items.get_indexer(test[:, 1]) >= 0
    skrec_ndcg = make_ranking_scorer("ndcg", k=10)(est, test[known])
    T = build_matrix(test[known], users, items)
    with threadpool_limits(1, "blas"):
        raw_ndcg = implicit_ndcg(model, R, T, K=10, show_progress=False)

    row = {"dataset": name, "rows": len(train), "users": len(users), "items": len(items)}
    for key in (
        "skrec_fit",
        "implicit_fit",
        "matrix_build",
        "skrec_recommend",
        "implicit_recommend",
    ):
        row[f"{key}_s"] = median(times[key])
    row["fit_ratio"] = row["skrec_fit_s"] / row["implicit_fit_s"]
    row["fit_ratio_incl_matrix"] = row["skrec_fit_s"] / (
        row["implicit_fit_s"] + row["matrix_build_s"]
    )
    row["recommend_ratio"] = row["skrec_recommend_s"] / row["implicit_recommend_s"]
    row["skrec_ndcg10"] = skrec_ndcg
    row["implicit_ndcg10"] = raw_ndcg
    row["same_recommendations"] = float((est.items_[raw_ids] == rec_ids).mean())
    for lib in ("skrec", "implicit"):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", lib, name]
            + (["--quick"] if args.quick else []),
            capture_output=True,
            text=True,
            check=True,
        )
        row[f"{lib}_peak_mib"] = json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"]
    return row


def main() -> None:
    if "--memory-child" in sys.argv:
        i = sys.argv.index("--memory-child")
        memory_child(sys.argv[i + 1], sys.argv[i + 2], "--quick" in sys.argv)
        return
    args = parse_args(__doc__)
    names = ["synthetic-20k"] if args.quick else ["movielens-100k", "synthetic-5M"]
    rows = []
    for name in names:
        X = load(name, args.quick)
        if X is None:
            print(f"skipping {name}: not found under $SKREC_DATA")
            continue
        print(f"{name}: {len(X):,} rows", flush=True)
        rows.append(measure(name, X, args))
    write_results(
        "als",
        args,
        rows,
        notes=(
            f"Parameters: {PARAMS}, random_state=0, float32, BLAS limited to one thread for both.\n"
            "fit_ratio = skrec fit (validation + id encoding + matrix + ALS + calibration) / "
            "implicit fit on a ready matrix; fit_ratio_incl_matrix adds the matrix build to "
            "implicit's side. recommend = top-10 for every training user, seen items excluded. "
            "Peak memory: RSS growth of a fresh process running fit + recommend for one library."
        ),
    )


if __name__ == "__main__":
    main()
