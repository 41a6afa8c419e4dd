"""Evaluation speed: skrec's scorer vs implicit.evaluation on the same model and split.

Both sides rank every test user's top 10 (training items excluded) and compute
NDCG@10; the model is the same fitted implicit ALS (skrec's ``model_``).

    python benchmarks/bench_eval.py           # MovieLens-100K + 1M synthetic
    python benchmarks/bench_eval.py --quick
"""

from __future__ import annotations

from _data import holdout, movielens_positives, synthetic
from _harness import median, parse_args, timer, write_results
from implicit.evaluation import ndcg_at_k as implicit_ndcg
from threadpoolctl import threadpool_limits

from skrec import ALSRecommender
from skrec.metrics import make_ranking_scorer
from skrec.utils.validation import interaction_matrix, signed_weights


def measure(name, X, args) -> dict:
    train, test = holdout(X)
    est = ALSRecommender(factors=64, regularization=0.05, iterations=10, random_state=0).fit(train)
    users, items = est._user_index, est._item_index
    known = items.get_indexer(test[:, 1]) >= 0
    T = interaction_matrix(
        users.get_indexer(test[known, 0]),
        items.get_indexer(test[known, 1]),
        signed_weights(None, int(known.sum())),
        est.interactions_.shape,
    )
    scorer = make_ranking_scorer("ndcg", k=10)
    times: dict = {}
    for _ in range(args.repeats):
        with timer(times, "skrec"):
            ours = scorer(est, test[known])
        with timer(times, "implicit"), threadpool_limits(1, "blas"):
            theirs = implicit_ndcg(est.model_, est.interactions_, T, K=10, show_progress=False)
    return {
        "dataset": name,
        "test_users": int(T.getnnz(axis=1).astype(bool).sum()),
        "skrec_ndcg10": ours,
        "implicit_ndcg10": theirs,
        "equal": abs(ours - theirs) < 1e-9,
        "skrec_s": median(times["skrec"]),
        "implicit_s": median(times["implicit"]),
        "time_ratio": median(times["skrec"]) / median(times["implicit"]),
    }


def main() -> None:
    args = parse_args(__doc__)
    data = [("synthetic-20k", synthetic(20_000)[0])]
    if not args.quick:
        found = movielens_positives()
        data = ([("movielens-100k", found[0])] if found else []) + [
            ("synthetic-1M", synthetic(1_000_000)[0])
        ]
    rows = [measure(name, X, args) for name, X in data]
    write_results(
        "eval",
        args,
        rows,
        notes="time_ratio = skrec scorer (recommend + NDCG) / implicit.evaluation.ndcg_at_k.",
    )


if __name__ == "__main__":
    main()
