"""The loop every top-N runner shares (see README.md): JSON requests in, JSON replies out.

A runner defines ``fit(model, user, item, params, seed) -> fitted`` (with
``fitted.fit_s``, the training time alone, when it can time it) and
``top_n(fitted, users, n) -> items``; this module times them, reads and
writes the protocol's files and answers every failure as a reply. Standard
library and numpy only: it runs in each peer's environment, never imports skrec.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import traceback

import numpy as np


def read_table(path: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as f:
        return f["user"].astype(np.int64), f["item"].astype(np.int64)


def top_n_of_scores(scores: np.ndarray, seen: np.ndarray, n: int) -> np.ndarray:
    """Column indices of the ``n`` best scores of one row, ``seen`` columns excluded."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    scores[seen] = -np.inf
    n = min(n, int(np.isfinite(scores).sum()))
    order = np.argsort(-scores, kind="stable")[:n]
    return order


def serve(peer: str, versions, threads, fit, top_n) -> int:
    """Run the request loop; ``--check`` prints the versions and exits."""
    if "--check" in sys.argv:
        print(json.dumps({"peer": peer, "versions": versions(), "threads": threads()}))
        return 0
    state = {"model": None}
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get("op")
        if op == "quit":
            break
        try:
            if op == "hello":
                reply = {"peer": peer, "versions": versions(), "threads": threads()}
            elif op == "fit":
                state["model"] = None  # free the previous model before timing a new one
                gc.collect()
                user, item = read_table(req["train"])
                start = time.perf_counter()
                model = fit(req["model"], user, item, dict(req.get("params", {})), req.get("seed"))
                total = time.perf_counter() - start
                # A runner that times its library's training alone sets model.fit_s; the
                # rest (its own data structures from the table) is preparation.
                fit_s = getattr(model, "fit_s", total)
                state["model"] = model
                reply = {
                    "fit_s": fit_s,
                    "prepare_s": total - fit_s,
                    "threads": threads(),
                    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            elif op == "recommend":
                if state["model"] is None:
                    raise ValueError("recommend before fit")
                users, _ = read_table(req["users"])
                n = int(req["n"])
                start = time.perf_counter()
                items = np.full((len(users), n), -1, dtype=np.int64)
                for row, ranked in enumerate(top_n(state["model"], users, n)):
                    ranked = np.asarray(ranked, dtype=np.int64)[:n]
                    items[row, : len(ranked)] = ranked
                recommend_s = time.perf_counter() - start
                np.savez(req["output"], users=users, items=items)
                reply = {"recommend_s": recommend_s, "output": req["output"]}
            else:
                raise ValueError(f"unknown op {op!r}")
            reply = {"ok": True, **reply}
        except Exception as exc:  # the client gets every failure as a reply
            reply = {"ok": False, "error": repr(exc), "traceback": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


def package_versions(*names: str) -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out
