"""skrec's metrics vs ranx on the same recommendations: per-user values must agree.

A skrec model (ALS) is fitted on MovieLens-100K (one PerUserKFold split,
ratings >= 4 as positive training rows); its top-20 lists for the test users
are scored by ``skrec.metrics.evaluate`` and, on exactly the same lists, by
``ranx.evaluate`` in its own virtual environment (a subprocess: ranx is never
imported here). Binary relevance: test ratings >= 4. Graded relevance: every
test rating is the grade (NDCG, linear and exponential gain). The result is
the largest absolute per-user difference for each metric and cut-off.

    bash benchmarks/peers/make_env_ranx.sh            # once: benchmarks/peers/.venv-ranx
    SKREC_DATA=../shared/data python benchmarks/bench_metrics_ranx.py
    python benchmarks/bench_metrics_ranx.py --quick   # synthetic data; skrec alone without the env
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from _data import movielens_positives
from _harness import parse_args, write_results

from skrec import ALSRecommender
from skrec.datasets import make_interactions
from skrec.metrics import evaluate
from skrec.model_selection import PerUserKFold

RANX_PYTHON = Path(__file__).resolve().parent / "peers" / ".venv-ranx" / "bin" / "python"
KS = (1, 5, 10, 20)
TOLERANCE = 1e-12

# skrec metric (and the option that gives ranx's definition) -> ranx's metric name
BINARY = [
    ("ndcg", {}, "ndcg"),
    ("recall", {}, "recall"),
    ("precision", {}, "precision"),
    ("hit_rate", {}, "hit_rate"),
    ("mrr", {}, "mrr"),
    ("map", {"normalize": "relevant"}, "map"),
]
GRADED = [("ndcg", {"gain": "linear"}, "ndcg"), ("ndcg", {"gain": "exponential"}, "ndcg_burges")]

# Runs inside the ranx environment: qrels and runs in, per-user scores out.
RANX_SCRIPT = r"""
import json, sys
from importlib.metadata import version
from ranx import Qrels, Run, evaluate
job = json.load(open(sys.argv[1]))
out = {"version": version("ranx"), "scores": {}}
for name, part in job.items():
    run = Run(part["run"])
    evaluate(Qrels(part["qrels"]), run, part["metrics"], return_mean=False)
    # per-user scores by user id, as ranx saves them in the run
    scores = {m: {q: float(v) for q, v in run.scores[m].items()} for m in part["metrics"]}
    out["scores"][name] = scores
json.dump(out, open(sys.argv[2], "w"))
"""


def extra_args(parser) -> None:
    parser.add_argument(
        "--ranx-python", type=Path, default=RANX_PYTHON, help="python of the ranx environment"
    )
    parser.add_argument("--seed", type=int, default=0)


def load(args):
    """(ratings frame user/item/rating, data name)."""
    if not args.quick:
        found = movielens_positives()
        if found is not None:
            data = found[1]
            frame = data.X[["user", "item"]].assign(rating=np.asarray(data.y, dtype=float))
            return frame.reset_index(drop=True), "movielens-100k"
        print("MovieLens-100K not found in $SKREC_DATA: synthetic data instead", file=sys.stderr)
    data = make_interactions(n_users=300, n_items=200, n_interactions=8000, random_state=args.seed)
    rng = np.random.default_rng(args.seed)
    ratings = rng.integers(1, 6, size=len(data.X)).astype(float)
    return data.X[["user", "item"]].assign(rating=ratings), "synthetic (300 users, random ratings)"


def skrec_side(frame: pd.DataFrame, seed: int):
    train_idx, test_idx = next(PerUserKFold(n_splits=5, random_state=seed).split(frame))
    train, test = frame.iloc[train_idx], frame.iloc[test_idx]
    train = train[train["rating"] >= 4]
    rec = ALSRecommender(factors=64, regularization=0.05, iterations=15, random_state=seed)
    rec.fit(train[["user", "item"]])
    binary_y = np.where(test["rating"] >= 4, 1.0, 0.0)
    params = {m: p for m, p, _ in BINARY if p}
    binary = evaluate(
        rec, test[["user", "item"]], binary_y, metrics=[m for m, _, _ in BINARY], k=KS,
        metric_params=params, n_bootstrap=0,
    )  # fmt: skip
    # the skrec defaults that differ from ranx's definitions, kept to report how much
    defaults = evaluate(rec, test[["user", "item"]], binary_y, metrics=["map"], k=KS, n_bootstrap=0)
    graded = {
        gain: evaluate(
            rec,
            test[["user", "item"]],
            test["rating"].to_numpy(),
            metrics=["ndcg"],
            k=KS,
            relevance="graded",
            metric_params={"ndcg": {"gain": gain}},
            n_bootstrap=0,
        )  # fmt: skip
        for gain in ("linear", "exponential")
    }
    return test, binary, defaults, graded


def qrels_and_run(test: pd.DataFrame, result, grade) -> tuple[dict, dict]:
    """ranx's inputs for the users of ``result``: qrels from test rows, run = the same lists."""
    rows = test[grade(test) > 0]
    qrels: dict = {}
    for user, item, value in zip(rows["user"], rows["item"], grade(rows)):
        per_user = qrels.setdefault(str(user), {})
        per_user[str(item)] = per_user.get(str(item), 0) + int(value)
    run = {}
    for user, ranked in result.recommendations.iterrows():
        ids = [str(i) for i in ranked.tolist() if i is not None]
        # scores strictly decreasing with rank: ranx sorts by score, no tie to break
        run[str(user)] = {item: float(len(ids) - r) for r, item in enumerate(ids)}
    users = [str(u) for u in result.per_user.index]
    if set(qrels) != set(users):
        raise RuntimeError("the qrels' users differ from the users skrec evaluated")
    return {u: qrels[u] for u in users}, run


def run_ranx(python: Path, job: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "job.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(job))
        proc = subprocess.run(
            [str(python), "-c", RANX_SCRIPT, str(src), str(dst)], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"ranx failed:\n{proc.stderr[-3000:]}")
        return json.loads(dst.read_text())


def main() -> None:
    args = parse_args(__doc__, extra_args)
    frame, data_name = load(args)
    test, binary, defaults, graded = skrec_side(frame, args.seed)
    binary_qrels, run = qrels_and_run(test, binary, lambda t: (t["rating"] >= 4).astype(int))
    graded_qrels, graded_run = qrels_and_run(test, graded["linear"], lambda t: t["rating"])
    job = {
        "binary": {
            "qrels": binary_qrels,
            "run": run,
            "metrics": [f"{r}@{k}" for _, _, r in BINARY for k in KS],
        },
        "graded": {
            "qrels": graded_qrels,
            "run": graded_run,
            "metrics": [f"{r}@{k}" for _, _, r in GRADED for k in KS],
        },
    }
    ranx_out, reason = None, ""
    if not args.ranx_python.exists():
        reason = f"{args.ranx_python} not found (make it with benchmarks/peers/make_env_ranx.sh)"
    else:
        ranx_out = run_ranx(args.ranx_python, job)

    rows = []

    def add(relevance, metric, params, ranx_name, result, part):
        for k in KS:
            ours = result.per_user[f"{metric}@{k}"].to_numpy()
            row = {
                "relevance": relevance,
                "metric": f"{metric}@{k}",
                "skrec_options": ", ".join(f"{a}={b!r}" for a, b in params.items()) or "default",
                "ranx_metric": f"{ranx_name}@{k}",
                "users": len(ours),
                "skrec_mean": float(ours.mean()),
            }
            if ranx_out is not None:
                by_user = ranx_out["scores"][part][f"{ranx_name}@{k}"]
                theirs = np.array([by_user[str(u)] for u in result.per_user.index])
                row["ranx_mean"] = float(theirs.mean())
                row["max_abs_diff"] = float(np.abs(ours - theirs).max())
                row["equal"] = bool(row["max_abs_diff"] <= TOLERANCE)
            rows.append(row)

    for metric, params, ranx_name in BINARY:
        add("binary", metric, params, ranx_name, binary, "binary")
    for metric, params, ranx_name in GRADED:
        add("graded", metric, params, ranx_name, graded[params["gain"]], "graded")
    # skrec's default MAP (denominator min(k, n_relevant)) against ranx's (n_relevant)
    add("binary", "map", {"normalize": "min"}, "map", defaults, "binary")

    aligned = [r for r in rows if r["skrec_options"] != "normalize='min'"]
    if ranx_out is None:
        verdict = f"ranx was NOT run: {reason}. skrec's values alone are reported."
    else:
        worst = max(r["max_abs_diff"] for r in aligned)
        verdict = (
            f"ranx {ranx_out['version']} was run on the same lists: the largest per-user "
            f"difference over every aligned metric and k is {worst:.3g} "
            f"({'all equal' if worst <= TOLERANCE else 'NOT all equal'} within {TOLERANCE:g})."
        )
    notes = f"""
Data: {data_name}; one PerUserKFold(n_splits=5) split (seed {args.seed}); ALSRecommender(factors=64,
regularization=0.05, iterations=15) fitted on the training ratings >= 4; top-{max(KS)} lists of
{len(binary.per_user)} test users (training items excluded), from `evaluate(...).recommendations`.
ranx gets these same lists as runs with scores {max(KS)}, {max(KS) - 1}, ... (strictly
decreasing, so its sort by score reproduces the ranking) and qrels from the test rows.
Binary relevance: test ratings >= 4 (users without one are not evaluated by either side);
graded: every test rating is the grade, users with any test row.

{verdict}

How the definitions were aligned (every `skrec_options` above is what gives ranx's value):
- ndcg: ranx's `ndcg` is Järvelin & Kekäläinen's linear gain (trec_eval), skrec's default
  `gain="linear"`; ranx's `ndcg_burges` is `2**grade - 1`, skrec's `gain="exponential"`. Both
  use log2(rank + 1) discounts and an ideal list of the user's best min(k, n_relevant) grades.
  Under binary relevance both gains coincide.
- recall: hits / n_relevant on both sides (neither caps the denominator at k).
- precision: ranx's hits / k is skrec's default `normalize="k"` (skrec's `normalize="min"`,
  implicit's micro-average, has no per-user value and no ranx counterpart).
- hit_rate and mrr (first hit's 1 / rank, 0 without a hit): the same definitions.
- map: ranx divides each user's sum of precisions at the hits by n_relevant (TREC);
  skrec's default divides by min(k, n_relevant) (implicit's), so ranx's value is
  `map_at_k(..., normalize="relevant")`. The `normalize='min'` rows show the size of that
  definitional difference (not an error): it vanishes at k >= every user's n_relevant.
- Relevant items that repeat a training item cannot be recommended (exclude_seen) and count as
  misses on both sides.
"""
    extra = {"ranx_version": ranx_out["version"]} if ranx_out else {"ranx_not_run": reason}
    write_results("metrics_ranx", args, rows, notes=notes, extra=extra)


if __name__ == "__main__":
    main()
