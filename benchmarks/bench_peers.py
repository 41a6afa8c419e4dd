"""skrec's BPR, LMF, item-kNN and Mult-VAE next to the same algorithms in implicit, LensKit,
Cornac and RecBole: one split, one evaluation function, the same tuning budget.

Every library gets the same training rows and is asked for its top-20 list of
every test user (training items excluded); skrec's metrics score every list
(NDCG@10, Recall@20 per user, bootstrap 95% intervals, paired t-tests of skrec
against each peer with Holm's correction). Each model is tuned on a
validation split of the training rows over a small grid recorded in the
results (the same number of configurations for skrec and for each peer),
refitted on all training rows with its best configuration, and timed in
alternating repeats (skrec, peer, skrec, peer, ...) so the fit-time ratios
come from the same run. Every library runs on one thread.

Peers live in their own virtual environments (``benchmarks/peers/make_env.sh
<peer>``) and are driven through their runners (``benchmarks/peers/run_<peer>.py``);
a peer whose environment is missing is reported as not run.

    python benchmarks/bench_peers.py                       # MovieLens-100K (ratings >= 4)
    python benchmarks/bench_peers.py --data ratings.tsv    # any "user item [rating]" file
    python benchmarks/bench_peers.py --quick --output /tmp/smoke
    python benchmarks/bench_peers.py --algorithms BPR      # rerun BPR, keep the other rows

With ``--algorithms``, only those algorithms run; the rows, tunings, tests and
verdicts of the others are kept from the results file already in ``--output``
(which the results name, with that run's command and date).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))

from _client import Peer, PeerError, PeerUnavailable, available, read_recommendations, write_table  # noqa: E402  # noqa: E402
from _data import holdout, movielens_positives  # noqa: E402
from _harness import parse_args, write_results  # noqa: E402

from skrec import (  # noqa: E402
    BPRRecommender,
    ItemKNNRecommender,
    LMFRecommender,
    MultVAERecommender,
)
from skrec.metrics import bootstrap_ci, ndcg_at_k, paired_test, recall_at_k  # noqa: E402

SEED = 0
N = 20
PEERS = ("implicit", "lenskit", "cornac", "recbole")


def grids(quick: bool) -> dict:
    """Per algorithm: implementation -> (model, list of configurations, fixed parameters)."""
    if quick:
        return {
            "BPR": {
                "skrec": (
                    BPRRecommender,
                    [{"learning_rate": 0.005}],
                    {"factors": 16, "iterations": 20},
                ),
                "implicit": ("bpr", [{"learning_rate": 0.05}], {"factors": 16, "iterations": 20}),
                "cornac": ("bpr", [{"learning_rate": 0.05}], {"k": 16, "max_iter": 20}),
            },
            "item-kNN": {
                "skrec": (ItemKNNRecommender, [{"k": 50}], {}),
                "implicit": ("item_knn", [{"K": 51}], {"similarity": "cosine"}),
                "lenskit": ("item_knn", [{"max_nbrs": 20}], {}),
            },
            "Mult-VAE": {
                "skrec": (
                    MultVAERecommender,
                    [{"max_epochs": 3}],
                    {"latent_dim": 16, "hidden_dim": 32},
                ),
            },
        }
    bpr_grid = [
        {"learning_rate": lr, "regularization": reg}
        for lr in (0.005, 0.01)
        for reg in (0.01, 0.001)
    ]
    cornac_bpr = [
        {"learning_rate": lr, "lambda_reg": reg} for lr in (0.01, 0.05) for reg in (0.01, 0.001)
    ]
    vae = {"latent_dim": 200, "hidden_dim": 600, "batch_size": 128, "beta": 0.2}
    # skrec's BPR trains as RecBole's does (uniform negatives, Adam on mini-batches):
    # it gets RecBole's grid, implicit's gets the grid around its best region.
    skrec_bpr = [{"learning_rate": lr, "iterations": e} for lr in (1e-3, 5e-3) for e in (50, 100)]
    return {
        "BPR": {
            "skrec": (BPRRecommender, skrec_bpr, {"factors": 64}),
            "implicit": ("bpr", bpr_grid, {"factors": 64, "iterations": 100}),
            "cornac": (
                "bpr",
                cornac_bpr,
                {"k": 64, "max_iter": 100},
            ),
            "recbole": (
                "bpr",
                [
                    {"learning_rate": c["learning_rate"], "epochs": c["iterations"]}
                    for c in skrec_bpr
                ],
                {"embedding_size": 64},
            ),
        },
        "LMF": {
            "skrec": (
                LMFRecommender,
                [{"neg_prop": n, "regularization": r} for n in (10, 30) for r in (0.6, 3.0)],
                {"factors": 30, "iterations": 30},
            ),
            "implicit": (
                "lmf",
                [{"neg_prop": n, "regularization": r} for n in (10, 30) for r in (0.6, 3.0)],
                {"factors": 30, "iterations": 30},
            ),
        },
        "item-kNN": {
            "skrec": (
                ItemKNNRecommender,
                [
                    {"similarity": "cosine", "k": 50},
                    {"similarity": "cosine", "k": 200},
                    {"similarity": "bm25", "k": 200},
                    {"similarity": "cosine", "k": 200, "shrinkage": 10.0},
                ],
                {},
            ),
            "implicit": (
                "item_knn",
                [
                    {"similarity": "cosine", "K": 51},
                    {"similarity": "cosine", "K": 201},
                    {"similarity": "bm25", "K": 201},
                    {"similarity": "tfidf", "K": 201},
                ],
                {},
            ),
            "lenskit": ("item_knn", [{"max_nbrs": m} for m in (10, 20, 50, 200)], {}),
            "cornac": (
                "item_knn",
                [{"k": k, "weighting": w} for k in (50, 200) for w in (None, "bm25")],
                {"similarity": "cosine"},
            ),
            "recbole": (
                "item_knn",
                [{"k": k, "shrink": s} for k in (50, 200) for s in (0.0, 10.0)],
                {},
            ),
        },
        "Mult-VAE": {
            "skrec": (MultVAERecommender, [{"max_epochs": e} for e in (30, 50)], vae),
            "cornac": (
                "multvae",
                [{"n_epochs": e} for e in (50, 100)],
                {"k": 200, "autoencoder_structure": [600], "batch_size": 128, "beta": 0.2},
            ),
            "recbole": (
                "multvae",
                [{"epochs": e} for e in (50, 100)],
                {"latent_dimension": 200, "mlp_hidden_size": [600], "anneal_cap": 0.2},
            ),
        },
    }


# ---------------------------------------------------------------------------- data
def load(args) -> tuple[np.ndarray, str]:
    if args.data is not None:
        table = pd.read_csv(args.data, sep=r"\s+|,|\t", engine="python", header=None, comment="#")
        if table.shape[1] >= 3:
            table = table[table[2] >= args.min_rating]
        X = table.iloc[:, :2].to_numpy()
        return X, f"{args.data} (rating >= {args.min_rating} where rated)"
    found = movielens_positives()
    if found is None:
        raise SystemExit("MovieLens-100K not found in $SKREC_DATA; give --data FILE")
    X = found[0]
    if args.quick:
        users = np.unique(X[:, 0])
        keep = np.random.default_rng(SEED).choice(users, size=min(200, len(users)), replace=False)
        X = X[np.isin(X[:, 0], keep)]
    return X, "MovieLens-100K, ratings >= 4" + (" (200 users, --quick)" if args.quick else "")


def encode(X: np.ndarray) -> np.ndarray:
    """Ids as dense ints (the peers' files carry int64 ids)."""
    users = pd.factorize(X[:, 0])[0]
    items = pd.factorize(X[:, 1])[0]
    return np.column_stack([users, items]).astype(np.int64)


def truth_of(test: np.ndarray) -> tuple[np.ndarray, list]:
    frame = pd.DataFrame({"user": test[:, 0], "item": test[:, 1]})
    grouped = frame.groupby("user")["item"].agg(list)
    return grouped.index.to_numpy(), list(grouped)


# ---------------------------------------------------------------------- evaluation
def per_user(users: np.ndarray, truth: list, lists: np.ndarray) -> pd.DataFrame:
    """THE evaluation function, for every library: skrec's metrics on the top-20 lists."""
    y_pred = [[i for i in row if i >= 0] for row in lists]
    return pd.DataFrame(
        {
            "ndcg@10": ndcg_at_k(truth, y_pred, k=10, per_user=True),
            "recall@20": recall_at_k(truth, y_pred, k=20, per_user=True),
        },
        index=pd.Index(users, name="user"),
    )


class SkrecModel:
    """skrec's side of the protocol: fit on rows, top-N lists, in this process."""

    def __init__(self, cls):
        self.cls = cls
        self.est = None

    def fit(self, train, params) -> float:
        extra = {"random_state": SEED} if "random_state" in self.cls().get_params() else {}
        if "n_jobs" in self.cls().get_params():
            extra["n_jobs"] = 1
        if "device" in self.cls().get_params():
            extra["device"] = "cpu"
        self.est = None
        est = self.cls(**params, **extra)
        start = time.perf_counter()
        est.fit(train)
        fit_s = time.perf_counter() - start
        self.est = est
        return fit_s

    def top_n(self, users) -> np.ndarray:
        ids, scores = self.est.recommend(users, n=N)
        return np.where(np.isfinite(scores), ids, -1).astype(np.int64)


class PeerModel:
    """A peer's side: its runner in its own environment, fed through files."""

    def __init__(self, peer: Peer, model: str, folder: Path):
        self.peer, self.model, self.folder = peer, model, folder

    def fit(self, train, params) -> float:
        path = write_table(self.folder / "train.npz", train[:, 0], train[:, 1])
        reply = self.peer.request(
            "fit", model=self.model, train=str(path), params=params, seed=SEED
        )
        return float(reply["fit_s"])

    def top_n(self, users) -> np.ndarray:
        path = write_table(self.folder / "users.npz", users, np.zeros_like(users))
        out = self.folder / "recs.npz"
        self.peer.request("recommend", users=str(path), n=N, output=str(out))
        got_users, items = read_recommendations(out)
        assert np.array_equal(got_users, users)
        return items


def tune(model, grid, fixed, fit_rows, valid_users, valid_truth, log) -> tuple[dict, list]:
    """The configuration of ``grid`` with the best validation NDCG@10, and every score."""
    scores = []
    for config in grid:
        params = {**fixed, **config}
        model.fit(fit_rows, params)
        score = per_user(valid_users, valid_truth, model.top_n(valid_users))["ndcg@10"].mean()
        scores.append({"params": config, "valid_ndcg@10": float(score)})
        log(f"    {config}: valid NDCG@10 {score:.4f}")
    best = max(range(len(grid)), key=lambda k: scores[k]["valid_ndcg@10"])
    return {**fixed, **grid[best]}, scores


def main() -> None:
    def extra(parser):
        parser.add_argument("--data", type=Path, default=None, help="a user item [rating] file")
        parser.add_argument("--min-rating", type=float, default=4.0)
        parser.add_argument("--peers", nargs="*", default=list(PEERS))
        parser.add_argument(
            "--algorithms",
            nargs="*",
            default=None,
            help="algorithms to run (BPR, LMF, item-kNN, Mult-VAE; any case); default all",
        )

    args = parse_args(__doc__.splitlines()[0], extra)
    all_grids = grids(args.quick)
    chosen = selected(all_grids, args.algorithms)
    repeats = 1 if args.quick else max(1, min(args.repeats, 2))
    raw, what = load(args)
    X = encode(raw)
    train, test = holdout(X, seed=SEED)
    fit_rows, valid = holdout(train, seed=SEED + 1)
    test_users, test_truth = truth_of(test)
    valid_users, valid_truth = truth_of(valid)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"{what}: {len(X)} rows, train {len(train)}, test {len(test)} ({len(test_users)} users)")

    not_run = {}
    peers = {}
    used = {impl for a in chosen for impl in all_grids[a]}
    for name in args.peers:
        if name not in used:
            continue
        if not available(name):
            not_run[name] = f"no environment: run benchmarks/peers/make_env.sh {name}"
            continue
        try:
            peer = Peer(name, threads=1).__enter__()
            peer.request("hello")
            peers[name] = peer
        except (PeerUnavailable, PeerError) as exc:
            not_run[name] = str(exc).splitlines()[0]

    rows, tuning, comparisons, versions = [], {}, [], {}
    folder = Path(tempfile.mkdtemp(prefix="bench_peers_"))
    try:
        for name, peer in peers.items():
            versions[name] = peer.request("hello")["versions"]
        for algorithm, impls in all_grids.items():
            if algorithm not in chosen:
                continue
            log(f"{algorithm}")
            models, best = {}, {}
            for impl, (model, grid, fixed) in impls.items():
                if impl != "skrec" and impl not in peers:
                    continue
                m = SkrecModel(model) if impl == "skrec" else PeerModel(peers[impl], model, folder)
                log(f"  {impl}: tuning {len(grid)} configurations")
                try:
                    best[impl], tuning[f"{algorithm}/{impl}"] = tune(
                        m, grid, fixed, fit_rows, valid_users, valid_truth, log
                    )
                except PeerError as exc:
                    not_run[f"{impl} {algorithm}"] = str(exc).splitlines()[0]
                    log(f"  {impl} failed: {str(exc).splitlines()[0]}")
                    continue
                models[impl] = m
            # Final fits on all training rows, alternating implementations.
            fit_times = {impl: [] for impl in models}
            results = {}
            for _ in range(repeats):
                for impl, m in models.items():
                    fit_times[impl].append(m.fit(train, best[impl]))
            for impl, m in models.items():
                results[impl] = per_user(test_users, test_truth, m.top_n(test_users))
            for impl, frame in results.items():
                low, high = bootstrap_ci(frame.to_numpy(), random_state=SEED)
                rows.append(
                    {
                        "algorithm": algorithm,
                        "library": impl,
                        "ndcg@10": float(frame["ndcg@10"].mean()),
                        "ndcg@10 CI": f"[{low[0]:.4f}, {high[0]:.4f}]",
                        "recall@20": float(frame["recall@20"].mean()),
                        "recall@20 CI": f"[{low[1]:.4f}, {high[1]:.4f}]",
                        "fit_s": min(fit_times[impl]),
                        "skrec/peer fit": (
                            min(fit_times["skrec"]) / min(fit_times[impl])
                            if impl != "skrec" and "skrec" in fit_times
                            else ""
                        ),
                        "params": best[impl],
                    }
                )
            others = {impl: f for impl, f in results.items() if impl != "skrec"}
            if "skrec" in results and others:
                test_df = paired_test(results["skrec"], others, method="t", correction="holm")
                for (impl, metric), r in test_df.iterrows():
                    comparisons.append(
                        {
                            "algorithm": algorithm,
                            "peer": impl,
                            "metric": metric,
                            "skrec": float(r["baseline"]),
                            "peer mean": float(r["mean"]),
                            "peer - skrec": float(r["difference"]),
                            "p (Holm)": float(r["p_corrected"]),
                        }
                    )
    finally:
        for peer in peers.values():
            peer.__exit__(None, None, None)

    kept = None
    if len(chosen) < len(all_grids):
        kept = previous_results(args.output, chosen, args.quick)
        if kept is not None:
            rows, tuning, comparisons, not_run, versions = merge(
                kept, chosen, list(all_grids), rows, tuning, comparisons, not_run, versions
            )
    verdicts = verdict_lines(rows)
    notes = [
        f"Data: {what}; one PerUserKFold(5) fold as test, and one fold of the training rows "
        "as validation for tuning. Every list is scored by the same skrec metric code; "
        "intervals are percentile bootstraps over test users (1,000 resamples); every "
        "library runs on one thread; fit_s is the best of the alternating final fits: skrec's "
        "whole fit (validation, id maps, calibration), the peers' training alone (their data "
        "structures are built apart, reported as prepare_s by the runners).",
        "",
        "Verdicts (skrec's NDCG@10 against the best peer of the same algorithm):",
        *[f"* {v}" for v in verdicts],
    ]
    if kept is not None:
        notes += [
            "",
            f"Rerun here: {', '.join(chosen)}. The other algorithms' rows, tunings and tests "
            f"are kept from the earlier results file (command `{kept['command']}`, "
            f"{kept['date']}).",
        ]
    if not_run:
        notes += ["", "Not run:", *[f"* {k}: {v}" for k, v in sorted(not_run.items())]]
    if comparisons:
        notes += [
            "",
            "Paired t-tests, skrec vs each peer (Holm over all comparisons of an algorithm):",
            "",
            _table(comparisons),
        ]
    write_results(
        "peers",
        args,
        rows,
        notes="\n".join(notes),
        extra={
            "tuning": tuning,
            "comparisons": comparisons,
            "not_run": not_run,
            "peer_versions": versions,
            "verdicts": verdicts,
            "kept_from": (
                None
                if kept is None
                else {"command": kept["command"], "date": kept["date"], "rerun": chosen}
            ),
        },
        columns=[
            "algorithm",
            "library",
            "ndcg@10",
            "ndcg@10 CI",
            "recall@20",
            "recall@20 CI",
            "fit_s",
            "skrec/peer fit",
            "params",
        ],
    )


def verdict_lines(rows: list[dict]) -> list[str]:
    out = []
    for algorithm in dict.fromkeys(r["algorithm"] for r in rows):
        mine = [r for r in rows if r["algorithm"] == algorithm and r["library"] == "skrec"]
        peers = [r for r in rows if r["algorithm"] == algorithm and r["library"] != "skrec"]
        if not mine or not peers:
            out.append(f"{algorithm}: no peer ran, nothing to compare")
            continue
        s, best = mine[0], max(peers, key=lambda r: r["ndcg@10"])
        if s["ndcg@10"] >= best["ndcg@10"]:
            word = "better than or equal to"
        elif s["ndcg@10"] >= _ci_low(best["ndcg@10 CI"]):
            word = "within the 95% interval of"
        else:
            word = "BELOW the 95% interval of"
        out.append(
            f"{algorithm}: skrec {s['ndcg@10']:.4f} is {word} the best peer, {best['library']} "
            f"{best['ndcg@10']:.4f} {best['ndcg@10 CI']}; fit time ratio skrec/"
            f"{best['library']} {best['skrec/peer fit']:.2f}"
        )
    return out


def _ci_low(interval: str) -> float:
    return float(interval.strip("[]").split(",")[0])


def selected(all_grids: dict, names) -> list[str]:
    """The algorithms of ``names`` (any case), in the grids' order; all when None."""
    if names is None:
        return list(all_grids)
    by_key = {a.lower(): a for a in all_grids}
    unknown = [n for n in names if n.lower() not in by_key]
    if unknown or not names:
        raise SystemExit(f"--algorithms: unknown {unknown}; choose among {list(all_grids)}")
    wanted = {by_key[n.lower()] for n in names}
    return [a for a in all_grids if a in wanted]


def previous_results(folder: Path, chosen: list[str], quick: bool) -> dict | None:
    """The results file already in ``folder``, when it is of the same kind (quick or not)."""
    path = Path(folder) / "peers.json"
    if not path.exists():
        print(f"no {path}: only {', '.join(chosen)} will be in the results", file=sys.stderr)
        return None
    kept = json.loads(path.read_text())
    if bool(kept.get("quick")) != bool(quick):
        raise SystemExit(f"{path} is {'not ' if quick else ''}a --quick run; use another --output")
    return kept


def merge(kept, chosen, order, rows, tuning, comparisons, not_run, versions):
    """This run's figures for ``chosen``, the earlier file's for every other algorithm."""

    def other(algorithm: str) -> bool:
        return algorithm not in chosen

    rows = [r for r in kept["rows"] if other(r["algorithm"])] + rows
    rows.sort(key=lambda r: order.index(r["algorithm"]))
    tuning = {**{k: v for k, v in kept["tuning"].items() if other(k.split("/")[0])}, **tuning}
    comparisons = [c for c in kept["comparisons"] if other(c["algorithm"])] + comparisons
    comparisons.sort(key=lambda c: order.index(c["algorithm"]))
    old_not_run = {
        k: v for k, v in kept.get("not_run", {}).items() if not any(a in k for a in chosen)
    }
    not_run = {**old_not_run, **not_run}
    versions = {**kept.get("peer_versions", {}), **versions}
    return rows, tuning, comparisons, not_run, versions


def _table(rows: list[dict]) -> str:
    from _harness import markdown_table

    return markdown_table(rows)


if __name__ == "__main__":
    main()
