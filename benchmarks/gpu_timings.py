"""One-epoch timings of TransformerRecommender on Amazon Beauty, CPU vs CUDA, for each loss.

Called by ``benchmarks/gpu_check.sh`` (which first runs ``pytest -m cuda``);
writes ``gpu_check.json`` / ``.md`` with the device names (``nvidia-smi`` and
``torch.cuda.get_device_name``), the CUDA test summary handed over by the
script, and one row per (device, loss): the seconds of one training epoch
(after one warm-up epoch, so that CUDA start-up and kernel selection are not
counted) and the ratio CPU / CUDA. Without CUDA the CUDA rows say why they
were skipped.

    python benchmarks/gpu_timings.py --quick            # what CI's smoke run does
    bash benchmarks/gpu_check.sh                        # on a GPU machine
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import torch
from _data import amazon_sequences
from _harness import parse_args, write_results

from skrec import TransformerRecommender
from skrec.model_selection import LeaveLastOut

COLUMNS = ["device", "loss", "precision", "s_per_epoch", "cpu_over_device", "note"]


def extra_args(parser) -> None:
    parser.add_argument("--losses", default="softmax,sampled_softmax,gbce,bce")
    parser.add_argument("--max-users", type=int, default=None, help="seeded user subset")
    parser.add_argument("--cpu-threads", type=int, default=os.cpu_count())
    parser.add_argument("--pytest-summary", default="", help="the CUDA tests' closing line")
    parser.add_argument("--data-home", default=None)


def nvidia_smi() -> str:
    if shutil.which("nvidia-smi") is None:
        return "nvidia-smi not found"
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    return (out.stdout or out.stderr).strip()


def one_epoch(train, loss: str, device: str, precision: str = "auto") -> tuple[float, str]:
    """Seconds of the second of two training epochs (no validation)."""
    est = TransformerRecommender(
        loss=loss,
        batch_size=256,
        max_epochs=2,
        patience=None,
        device=device,
        precision=precision,
        random_state=0,
    )
    est.fit(train)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return float(est.net_.history[-1, "dur"]), est.net_.precision


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], extra_args)
    if args.quick:
        args.max_users, args.losses = args.max_users or 300, "softmax,sampled_softmax"
    cuda = torch.cuda.is_available()
    torch.set_num_threads(args.cpu_threads)
    X = amazon_sequences("beauty", args.data_home, args.max_users, 0)
    if X is None:
        return
    train = X.iloc[next(LeaveLastOut(n=1, min_train=2).split(X))[0]]
    rows = []
    devices = {
        "cuda_available": cuda,
        "torch_cuda_device": torch.cuda.get_device_name(0) if cuda else None,
        "nvidia_smi": nvidia_smi(),
        "cpu_threads": args.cpu_threads,
        "cuda_tests": args.pytest_summary,
    }
    for loss in args.losses.split(","):
        print(f"{loss}: one epoch on the CPU", file=sys.stderr, flush=True)
        start = time.perf_counter()
        cpu_s, cpu_precision = one_epoch(train, loss, "cpu")
        print(f"  {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)
        rows.append(
            {"device": "cpu", "loss": loss, "precision": cpu_precision, "s_per_epoch": cpu_s}
        )
        if not cuda:
            rows.append(
                {"device": "cuda", "loss": loss, "note": "skipped: torch sees no CUDA device"}
            )
        for precision in ("auto", "float32") if cuda else ():
            print(f"{loss}: one epoch on CUDA ({precision})", file=sys.stderr, flush=True)
            gpu_s, used = one_epoch(train, loss, "cuda", precision)
            rows.append(
                {
                    "device": "cuda",
                    "loss": loss,
                    "precision": used,
                    "s_per_epoch": gpu_s,
                    "cpu_over_device": cpu_s / gpu_s,
                }
            )
        # Written after every loss, so that a run cut short keeps what it measured.
        write(args, X, rows, devices)


def write(args, X, rows, devices) -> None:
    write_results(
        "gpu_check",
        args,
        rows,
        notes=f"Amazon Beauty, {X['user'].nunique()} users, 64-d, 2 layers, batch 256; seconds "
        f"of the second training epoch. Device: {devices['torch_cuda_device'] or 'no CUDA'} "
        f"(nvidia-smi: {devices['nvidia_smi']}); CPU: {args.cpu_threads} torch threads. "
        f"CUDA tests (pytest -m cuda): {args.pytest_summary or 'not run'}.",
        extra={"devices": devices},
        columns=COLUMNS,
    )


if __name__ == "__main__":
    main()
