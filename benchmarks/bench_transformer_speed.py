"""TransformerRecommender training throughput: the data path, mixed precision, torch.compile.

Each variant trains ``--epochs`` epochs on a seeded user subset of Amazon
Beauty (no validation), and the CPU seconds of each epoch's training batches
are recorded; variants run in alternating order, ``--repeats`` times, and the
median per epoch is reported, with the ratio to the default path. Variants:

* ``DataLoader`` -- the previous data path: a ``torch.utils.data.DataLoader``
  calling ``__getitem__`` per sequence and collating the batch, random batches;
* ``sliced`` -- whole batches sliced from the pre-padded tensors
  (``SequenceBatches``), random batches;
* ``sliced+buckets`` -- the default: sliced batches of similar length, so each
  batch is trimmed to its own longest sequence;
* ``mixed`` -- the default with ``precision="mixed"`` (bfloat16 autocast on
  the CPU; emulated where the CPU has no bfloat16 instructions);
* ``compile`` -- the default with ``compile=True`` (the first epoch pays the
  compilation; ``first_epoch_s`` shows it, ``s_per_epoch`` is the median of
  the later epochs).

    python benchmarks/bench_transformer_speed.py --quick
    python benchmarks/bench_transformer_speed.py --max-users 2000 --epochs 3 --repeats 3
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch
from _data import amazon_sequences
from _harness import parse_args, write_results
from _timing import EpochCPUTime
from torch.utils.data import DataLoader

from skrec import TransformerRecommender
from skrec.model_selection import LeaveLastOut

VARIANTS = {
    "DataLoader": ({}, {"iterator_train": DataLoader}),
    "sliced": ({}, {"iterator_train__bucket": False}),
    "sliced+buckets": ({}, {}),
    "mixed": ({"precision": "mixed"}, {}),
    "compile": ({"compile": True}, {}),
}
COLUMNS = ["loss", "variant", "s_per_epoch", "vs_default", "first_epoch_s", "wall_s_per_epoch"]


class Variant(TransformerRecommender):
    """A TransformerRecommender whose skorch net gets extra settings (benchmark only)."""

    net_overrides: dict = {}

    def _make_net(self, *args, **kwargs):
        net = super()._make_net(*args, **kwargs)
        return net.set_params(**self.net_overrides) if self.net_overrides else net


def extra_args(parser) -> None:
    parser.add_argument("--max-users", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--losses", default="softmax,sampled_softmax")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-home", default=None)


def run(variant: str, loss: str, train, args) -> tuple[list, list]:
    params, overrides = VARIANTS[variant]
    est = Variant(
        loss=loss,
        batch_size=args.batch_size,
        dropout=0.5,
        lr=2e-3,
        max_epochs=args.epochs,
        patience=None,
        random_state=args.seed,
        n_jobs=args.threads,
        callbacks=[("cpu", EpochCPUTime())],
        **params,
    )
    est.net_overrides = overrides
    est.fit(train)
    history = est.net_.history
    return list(history[:, "cpu"]), list(history[:, "dur"])


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra_args)
    if args.quick:
        args.max_users, args.epochs, args.repeats = 300, 2, 1
        args.variants = "DataLoader,sliced,sliced+buckets,mixed"
    torch.set_num_threads(args.threads)
    X = amazon_sequences("beauty", args.data_home, args.max_users, args.seed)
    if X is None:
        return
    train = X.iloc[next(LeaveLastOut(n=1, min_train=2).split(X))[0]]
    variants = args.variants.split(",")
    cpu = {(loss, v): [] for loss in args.losses.split(",") for v in variants}
    wall = {key: [] for key in cpu}
    first = {key: [] for key in cpu}
    for repeat in range(args.repeats):
        order = variants if repeat % 2 == 0 else variants[::-1]
        for loss in args.losses.split(","):
            for variant in order:
                print(f"repeat {repeat}: {loss} {variant}", file=sys.stderr, flush=True)
                start = time.perf_counter()
                epoch_cpu, epoch_wall = run(variant, loss, train, args)
                print(f"  {time.perf_counter() - start:.1f}s {epoch_cpu}", file=sys.stderr)
                later = epoch_cpu[1:] if variant == "compile" else epoch_cpu
                cpu[loss, variant] += later
                wall[loss, variant] += epoch_wall[1:] if variant == "compile" else epoch_wall
                first[loss, variant].append(epoch_cpu[0])
                write(args, X, cpu, wall, first)  # after every fit: a cut run keeps its rows


def write(args, X, cpu, wall, first) -> None:
    rows = []
    for (loss, variant), values in cpu.items():
        if not values:
            continue
        default = np.median(cpu.get((loss, "sliced+buckets")) or [np.nan])
        rows.append(
            {
                "loss": loss,
                "variant": variant,
                "s_per_epoch": float(np.median(values)),
                "vs_default": float(np.median(values) / default),
                "first_epoch_s": float(np.median(first[loss, variant])),
                "wall_s_per_epoch": float(np.median(wall[loss, variant])),
                "cpu_s_by_epoch": [round(float(v), 3) for v in values],
            }
        )
    bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    write_results(
        "transformer_speed",
        args,
        rows,
        notes=f"Amazon Beauty, {X['user'].nunique()} users (seeded subset), 64-d, 2 layers, "
        f"batch {args.batch_size}, {args.threads} torch thread(s); CPU seconds of training "
        f"per epoch, median over {args.repeats} alternating repeats x {args.epochs} epochs "
        f"(compile: epochs after the first). CPU bfloat16 instructions: {bf16}.",
        extra={"config": {k: str(v) for k, v in vars(args).items()}},
        columns=COLUMNS,
    )


if __name__ == "__main__":
    main()
