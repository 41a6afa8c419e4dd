"""LensKit's runner: JSON requests on stdin, JSON replies on stdout (see README.md).

Runs inside ``benchmarks/peers/.venv-lenskit`` (made by ``make_env.sh lenskit``),
never in skrec's environment, and imports nothing from skrec. ``--check``
prints the versions and exits (make_env.sh calls it).

Models: ``ease`` (``lenskit.knn.EASEScorer``, params ``l2``) and ``item_knn``
(``lenskit.knn.ItemKNNScorer`` with ``feedback="implicit"``, params under
LensKit's names, e.g. ``max_nbrs``, ``min_nbrs``, ``min_sim``, ``save_nbrs``), trained in a
``topn_pipeline`` (top-N excludes each user's training items, LensKit's default).
Options of ``fit``: ``solver`` (LensKit's ``LK_EASE_SOLVER``: ``"torch"``, its
default, or ``"scipy"``) and ``device`` (default ``"cpu"``; LensKit alone would
take CUDA when it sees a GPU).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback

THREADS = int(os.environ.get("PEER_THREADS", "1"))
# LensKit reads its thread settings from these when it first initialises.
os.environ.setdefault("LK_NUM_PROCS", "1")
os.environ.setdefault("LK_NUM_THREADS", str(THREADS))
os.environ.setdefault("LK_NUM_BACKEND_THREADS", str(THREADS))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from lenskit.parallel import initialize  # noqa: E402

initialize(processes=1, threads=THREADS, backend_threads=THREADS)
torch.set_num_threads(THREADS)


def _versions() -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("lenskit", "torch", "numpy", "scipy", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _threads() -> dict:
    from threadpoolctl import threadpool_info

    blas = sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
    return {"torch": torch.get_num_threads(), "blas": blas, "lk_threads": THREADS}


def _table(path: str) -> pd.DataFrame:
    with np.load(path) as f:
        return pd.DataFrame({"user_id": f["user"], "item_id": f["item"]})


class Runner:
    def __init__(self):
        self.pipeline = None

    def hello(self, req: dict) -> dict:
        return {"peer": "lenskit", "versions": _versions(), "threads": _threads()}

    def fit(self, req: dict) -> dict:
        from lenskit.data import from_interactions_df
        from lenskit.knn import EASEScorer, ItemKNNScorer
        from lenskit.pipeline import topn_pipeline
        from lenskit.training import TrainingOptions

        params = dict(req.get("params", {}))
        if req.get("model") == "ease":
            l2 = float(params.pop("l2"))
            if params:
                raise ValueError(f"unknown EASE params {sorted(params)}")
            scorer = EASEScorer(regularization=l2)
        elif req.get("model") == "item_knn":
            scorer = ItemKNNScorer(**params, feedback="implicit")
        else:
            raise ValueError(
                f"unknown model {req.get('model')!r}; this runner knows 'ease' and 'item_knn'"
            )
        options = dict(req.get("options", {}))
        solver = options.pop("solver", None)  # LensKit's LK_EASE_SOLVER: "torch" or "scipy"
        device = options.pop("device", "cpu")
        if options:
            raise ValueError(f"unknown LensKit options {sorted(options)}")
        environment = {"LK_EASE_SOLVER": solver} if solver else {}
        training = TrainingOptions(device=device, environment=environment)
        df = _table(req["train"])
        self.pipeline = None  # free the previous model before timing a new one
        start = time.perf_counter()
        data = from_interactions_df(df, user_col="user_id", item_col="item_id")
        prepare_s = time.perf_counter() - start
        pipeline = topn_pipeline(scorer)
        start = time.perf_counter()
        pipeline.train(data, training)
        fit_s = time.perf_counter() - start
        self.pipeline = pipeline
        return {
            "prepare_s": prepare_s,
            "fit_s": fit_s,
            "n_users": data.user_count,
            "n_items": data.item_count,
            "threads": _threads(),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }

    def recommend(self, req: dict) -> dict:
        from lenskit.batch import recommend

        if self.pipeline is None:
            raise ValueError("recommend before fit")
        with np.load(req["users"]) as f:
            users = f["user"]
        n = int(req["n"])
        start = time.perf_counter()
        recs = recommend(self.pipeline, users.tolist(), n=n, n_jobs=1)
        recommend_s = time.perf_counter() - start
        items = np.full((len(users), n), -1, dtype=np.int64)
        row = {int(u): i for i, u in enumerate(users)}
        for key, ranked in recs:
            ids = np.asarray(ranked.ids(), dtype=np.int64)[:n]
            items[row[int(key.user_id)], : len(ids)] = ids
        np.savez(req["output"], users=users, items=items)
        return {"recommend_s": recommend_s, "output": req["output"]}


def main() -> int:
    if "--check" in sys.argv:
        print(json.dumps({"peer": "lenskit", "versions": _versions(), "threads": _threads()}))
        return 0
    runner = Runner()
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get("op")
        if op == "quit":
            break
        try:
            handler = getattr(runner, op, None) if op in ("hello", "fit", "recommend") else None
            if handler is None:
                raise ValueError(f"unknown op {op!r}")
            reply = {"ok": True, **handler(req)}
        except Exception as exc:  # the client gets every failure as a reply
            reply = {"ok": False, "error": repr(exc), "traceback": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
