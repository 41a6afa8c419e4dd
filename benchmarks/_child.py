"""Benchmark steps in fresh interpreters, and the sizes they are run at.

A script that measures peak memory or start-up costs runs each step as
``python script.py --child ...`` in a new process, which prints its answer as
one JSON line last.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_child(script: str, *args, env: dict | None = None) -> object:
    """Run ``script --child *args`` in a fresh interpreter and return its JSON answer."""
    out = subprocess.run(
        [sys.executable, script, "--child", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def size(text: str) -> int:
    """``200k``, ``5M``, ``20M`` or a plain number of interactions."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def label(n: int) -> str:
    """``1M``, ``200k``: a size as the results tables show it."""
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"
