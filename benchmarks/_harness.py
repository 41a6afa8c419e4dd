"""What every benchmark script shares: arguments, timing, memory, results files.

A harness, not a framework: each ``bench_*.py`` is a plain script that calls
:func:`parse_args`, measures, and hands its rows to :func:`write_results`, which
writes ``<output>/<name>.json`` (figures, the command, versions, machine) and
``<output>/<name>.md`` (the same figures as a Markdown table).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shlex
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = (
    "scikit-recommend",
    "implicit",
    "numpy",
    "scipy",
    "scikit-learn",
    "torch",
    "skorch",
    "sentence-transformers",
    "modAL-python",
)


def comparison_word(delta: float, p_value: float, alpha: float = 0.05) -> str:
    """How a paired difference reads in a verdict line: "beats", "loses to" or
    "does not differ from" (``p_value >= alpha``)."""
    if p_value < alpha and delta > 0:
        return "beats"
    if p_value < alpha and delta < 0:
        return "loses to"
    return "does not differ from"


def parse_args(description: str, extra=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small data, a smoke run (CI)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="folder for results files")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions per measurement")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def command() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def versions() -> dict:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gib"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def rss_mib() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timer(out: dict, key: str):
    gc.collect()
    start = time.perf_counter()
    yield
    out.setdefault(key, []).append(time.perf_counter() - start)


def median(values) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "(no rows)\n"
    columns = columns or list(rows[0])

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def write_results(
    name: str,
    args,
    rows: list[dict],
    *,
    notes: str = "",
    extra: dict | None = None,
    columns: list[str] | None = None,
) -> Path:
    """Write ``<name>.json`` and ``<name>.md`` into ``args.output``; return the JSON path."""
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "name": name,
        "command": command(),
        "quick": bool(getattr(args, "quick", False)),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "versions": versions(),
        "machine": machine(),
        "rows": rows,
        "notes": notes,
        **(extra or {}),
    }
    path = out / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    md = [
        f"# {name}\n",
        f"Command: `{payload['command']}`  \n",
        f"Machine: {payload['machine']}  \nVersions: {payload['versions']}\n\n",
        markdown_table(rows, columns),
    ]
    if notes:
        md.append("\n" + notes.strip() + "\n")
    (out / f"{name}.md").write_text("".join(md))
    print(markdown_table(rows, columns))
    print(f"wrote {path}")
    return path
