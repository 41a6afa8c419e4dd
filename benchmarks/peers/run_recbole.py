"""RecBole's runner for bench_peers.py: JSON requests on stdin, replies on stdout (README.md).

Runs in ``benchmarks/peers/.venv-recbole`` (``make_env.sh recbole``) and never
imports skrec. Models and their ``params`` (RecBole's own config names):

* ``bpr``: ``BPR`` (embedding_size, learning_rate, epochs; uniform negatives, one per positive);
* ``item_knn``: ``ItemKNN`` (k, shrink);
* ``multvae``: ``MultiVAE`` (latent_dimension, mlp_hidden_size, dropout_prob, anneal_cap,
  total_anneal_steps, epochs, learning_rate).

The training rows are given to RecBole as a pre-split benchmark file
(``benchmark_filename``), so it trains on exactly them; its own validation is
off (``eval_step=0``). Top-N ranks ``full_sort_predict`` with the user's
training items excluded.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _runner import package_versions, serve, top_n_of_scores

THREADS = int(os.environ.get("PEER_THREADS", "1"))
# RecBole 1.2.1 warns about pandas and torch.amp deprecations on every fit.
warnings.filterwarnings("ignore", category=FutureWarning)
MODELS = {"bpr": "BPR", "item_knn": "ItemKNN", "multvae": "MultiVAE"}


def versions():
    return package_versions("recbole", "torch", "numpy", "scipy", "pandas")


def threads():
    import torch
    from threadpoolctl import threadpool_info

    blas = sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
    return {"torch": torch.get_num_threads(), "blas": blas}


class Fitted:
    pass


def _write(path: Path, user, item):
    with open(path, "w") as fh:
        fh.write("user_id:token\titem_id:token\n")
        for u, i in zip(user.tolist(), item.tolist()):
            fh.write(f"{u}\t{i}\n")


def fit(model, user, item, params, seed):
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model import general_recommender
    from recbole.utils import get_trainer, init_seed

    torch.set_num_threads(THREADS)
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; this runner knows {sorted(MODELS)}")
    folder = Path(tempfile.mkdtemp(prefix="recbole_"))
    (folder / "bench").mkdir()
    _write(folder / "bench" / "bench.train.inter", user, item)
    # RecBole wants validation and test files; one training row each, never used.
    _write(folder / "bench" / "bench.valid.inter", user[:1], item[:1])
    _write(folder / "bench" / "bench.test.inter", user[:1], item[:1])
    config_dict = {
        "data_path": str(folder),
        "benchmark_filename": ["train", "valid", "test"],
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "load_col": {"inter": ["user_id", "item_id"]},
        "device": "cpu",
        "use_gpu": False,
        "seed": int(seed or 0),
        "reproducibility": True,
        "show_progress": False,
        "checkpoint_dir": str(folder / "saved"),
        "eval_step": 0,
        "eval_args": {"group_by": "user", "order": "RO", "mode": "full"},
        "train_neg_sample_args": (
            {"distribution": "uniform", "sample_num": 1} if model == "bpr" else None
        ),
        "worker": 0,
        "state": "ERROR",
        **params,
    }
    # The class, not its name: RecBole's lookup by name imports every model family,
    # including LightGBM's and XGBoost's wrappers (not installed).
    model_class = getattr(general_recommender, MODELS[model])
    config = Config(model=model_class, dataset="bench", config_dict=config_dict)
    logging.getLogger().setLevel(logging.ERROR)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, _, _ = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    net = model_class(config, train_data.dataset).to("cpu")
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, net)
    start = time.perf_counter()
    trainer.fit(train_data, None, saved=False, show_progress=False)
    out = Fitted()
    out.fit_s = time.perf_counter() - start
    net.eval()
    out.net, out.dataset, out.config = net, train_data.dataset, config
    out.seen = {}
    for u, i in zip(user.tolist(), item.tolist()):
        out.seen.setdefault(u, []).append(i)
    return out


def top_n(fitted, users, n):
    import torch
    from recbole.data.interaction import Interaction

    ds = fitted.dataset
    uid, iid = ds.uid_field, ds.iid_field
    inner_users = ds.token2id(uid, [str(int(u)) for u in users])
    tokens = np.array([int(t) if t != "[PAD]" else -1 for t in ds.field2id_token[iid]])
    for k in range(0, len(users), 256):
        batch = torch.as_tensor(inner_users[k : k + 256])
        with torch.no_grad():
            scores = fitted.net.full_sort_predict(Interaction({uid: batch}))
        scores = scores.view(len(batch), -1).cpu().numpy()
        for row, u in zip(scores, users[k : k + 256]):
            seen = ds.token2id(iid, [str(i) for i in fitted.seen.get(int(u), [])])
            seen = np.append(np.atleast_1d(seen), 0)  # column 0 is RecBole's padding item
            yield tokens[top_n_of_scores(row, seen, n)]


if __name__ == "__main__":
    sys.exit(serve("recbole", versions, threads, fit, top_n))
