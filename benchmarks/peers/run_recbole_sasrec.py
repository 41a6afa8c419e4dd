"""RecBole's SASRec runner for bench_recbole.py: JSON requests on stdin, replies on stdout.

Runs inside ``benchmarks/peers/.venv-recbole`` (made by ``make_env.sh recbole``),
never in skrec's environment, and imports nothing from skrec. ``--check``
prints the versions and exits (make_env.sh calls it).

Models: ``sasrec`` (``recbole.model.sequential_recommender.SASRec``), trained
by RecBole's own ``Trainer`` one epoch at a time, with validation after each
epoch, so that the reply holds the per-epoch curve. The table must carry a
``timestamp`` array (the order of each user's interactions); RecBole splits
it itself, leave-one-out by time (``{"LS": "valid_and_test"}``): each user's
last item is the test item, the second-to-last the validation item, which is
ranked against all items except the user's training items (full ranking,
RecBole's ``mode: full``). The test items are never scored here.

Params of ``fit`` (skrec's names): ``embedding_dim``, ``n_layers``,
``n_heads``, ``dropout``, ``max_len``, ``lr``, ``batch_size``, ``max_epochs``,
``patience``, ``seed``, ``loss`` (``"softmax"``: RecBole's ``loss_type="CE"``).
Options: ``max_train_s`` (stop after the epoch that passes this many seconds
of training), ``inner_size`` (feed-forward width, default ``4 * embedding_dim``).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import traceback
from pathlib import Path

THREADS = int(os.environ.get("PEER_THREADS", "1"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(THREADS)

PARAMS = {
    "embedding_dim",
    "n_layers",
    "n_heads",
    "dropout",
    "max_len",
    "lr",
    "batch_size",
    "max_epochs",
    "patience",
    "seed",
    "loss",
}
OPTIONS = {"max_train_s", "inner_size"}


def _versions() -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("recbole", "torch", "numpy", "scipy", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_atomic(path: str, folder: Path) -> tuple[int, int]:
    with np.load(path) as f:
        user, item, timestamp = f["user"], f["item"], f["timestamp"]
    (folder / "data").mkdir(parents=True)
    with open(folder / "data" / "data.inter", "w") as out:
        out.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for u, i, t in zip(user.tolist(), item.tolist(), timestamp.tolist(), strict=True):
            out.write(f"{u}\t{i}\t{t}\n")
    return len(np.unique(user)), len(np.unique(item))


class Runner:
    def hello(self, req: dict) -> dict:
        return {"peer": "recbole", "versions": _versions(), "threads": {"torch": THREADS}}

    def fit(self, req: dict) -> dict:
        if req.get("model") != "sasrec":
            raise ValueError(f"unknown model {req.get('model')!r}; this runner knows 'sasrec'")
        params = dict(req.get("params", {}))
        options = dict(req.get("options", {}))
        if set(params) - PARAMS or set(options) - OPTIONS:
            raise ValueError(
                f"unknown params {sorted(set(params) - PARAMS)} or options "
                f"{sorted(set(options) - OPTIONS)}"
            )
        if params.get("loss", "softmax") != "softmax":
            raise ValueError("this runner trains RecBole's SASRec with loss_type='CE' only")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            # RecBole's Trainer writes ./log_tensorboard: keep it in the scratch folder.
            here = os.getcwd()
            os.chdir(folder)
            try:
                start = time.perf_counter()
                n_users, n_items = _write_atomic(req["train"], folder)
                reply = self._train(folder, params, options)
                reply.update(n_users=n_users, n_items=n_items)
                reply["total_s"] = time.perf_counter() - start
            finally:
                os.chdir(here)
        reply["peak_rss_mib"] = _peak_rss_mib()
        return reply

    def _train(self, folder: Path, params: dict, options: dict) -> dict:
        from recbole.config import Config
        from recbole.data import create_dataset, data_preparation
        from recbole.model.sequential_recommender import SASRec
        from recbole.trainer import Trainer
        from recbole.utils import init_seed

        dim = int(params.get("embedding_dim", 64))
        dropout = float(params.get("dropout", 0.5))
        config = Config(
            model="SASRec",
            dataset="data",
            config_dict={
                "data_path": str(folder),
                "checkpoint_dir": str(folder / "saved"),
                "USER_ID_FIELD": "user_id",
                "ITEM_ID_FIELD": "item_id",
                "TIME_FIELD": "timestamp",
                "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
                "user_inter_num_interval": "[0,inf)",
                "item_inter_num_interval": "[0,inf)",
                "MAX_ITEM_LIST_LENGTH": int(params.get("max_len", 50)),
                "hidden_size": dim,
                "inner_size": int(options.get("inner_size", 4 * dim)),
                "n_layers": int(params.get("n_layers", 2)),
                "n_heads": int(params.get("n_heads", 2)),
                "hidden_dropout_prob": dropout,
                "attn_dropout_prob": dropout,
                "loss_type": "CE",
                "train_neg_sample_args": None,
                "learning_rate": float(params.get("lr", 1e-3)),
                "train_batch_size": int(params.get("batch_size", 2048)),
                "eval_batch_size": 4096,
                "epochs": int(params.get("max_epochs", 200)),
                "stopping_step": int(params.get("patience", 10)),
                "eval_args": {
                    "split": {"LS": "valid_and_test"},
                    "order": "TO",
                    "mode": "full",
                    "group_by": "user",
                },
                "metrics": ["NDCG", "Hit"],
                "topk": [10],
                "valid_metric": "NDCG@10",
                "seed": int(params.get("seed", 0)),
                "reproducibility": True,
                "use_gpu": False,
                "device": "cpu",
                "show_progress": False,
                "log_wandb": False,
                "worker": 0,
            },
        )
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        train_data, valid_data, _test_data = data_preparation(config, dataset)
        init_seed(config["seed"], config["reproducibility"])
        model = SASRec(config, train_data.dataset).to(config["device"])
        trainer = Trainer(config, model)
        max_train_s = float(options.get("max_train_s", float("inf")))
        patience = config["stopping_step"]
        curve, train_s, cpu_s, best, best_epoch, stalled = [], [], [], -np.inf, 0, 0
        for epoch in range(config["epochs"]):
            wall, cpu = time.perf_counter(), time.process_time()
            trainer._train_epoch(train_data, epoch, show_progress=False)
            train_s.append(time.perf_counter() - wall)
            cpu_s.append(time.process_time() - cpu)
            score, _result = trainer._valid_epoch(valid_data, show_progress=False)
            curve.append(float(score))
            if score > best:
                best, best_epoch, stalled = float(score), epoch + 1, 0
            else:
                stalled += 1
            print(
                f"recbole epoch {epoch + 1}: {train_s[-1]:.1f}s valid NDCG@10 {score:.4f}",
                file=sys.stderr,
                flush=True,
            )
            if stalled >= patience or sum(train_s) >= max_train_s:
                break
        return {
            "valid_ndcg10_by_epoch": curve,
            "train_s_by_epoch": train_s,
            "cpu_s_by_epoch": cpu_s,
            "best_valid_ndcg10": best,
            "best_epoch": best_epoch,
            "fit_s": float(sum(train_s)),
            "train_sequences": len(train_data.dataset),
            "valid_users": int(len(valid_data.dataset)),
            "n_items_model": int(dataset.item_num),
        }

    def quit(self, req: dict) -> dict:
        raise SystemExit(0)


def main() -> None:
    if "--check" in sys.argv:
        import recbole  # noqa: F401

        print(json.dumps(_versions()))
        return
    runner = Runner()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "quit":
                break
            handler = getattr(runner, op, None)
            if handler is None or op.startswith("_"):
                raise ValueError(f"unknown op {op!r}")
            reply = {"ok": True, **handler(req)}
        except Exception as exc:  # noqa: BLE001 - reported to the benchmark
            reply = {"ok": False, "error": repr(exc), "traceback": traceback.format_exc()}
        sys.stdout.write(json.dumps(reply, default=float) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
