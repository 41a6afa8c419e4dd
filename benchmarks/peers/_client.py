"""Talk to a peer library that lives in its own virtual environment.

A peer (LensKit, Cornac, RecBole, implicit, ...) is installed by
``benchmarks/peers/make_env.sh <peer>`` into ``benchmarks/peers/.venv-<peer>``
and driven by its runner ``benchmarks/peers/run_<peer>.py``, started here as a
subprocess of that environment's Python. Requests and replies are JSON
objects, one per line (the protocol is described in ``README.md`` beside this
file). This module uses the standard library only, so the benchmark process
never imports a peer and a peer never imports skrec.

>>> with Peer("lenskit", threads=1) as peer:            # doctest: +SKIP
...     peer.request("fit", model="ease", train="train.npz", params={"l2": 500.0})
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

#: Thread variables set in the peer's environment (and, by the benchmarks, in their own).
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


class PeerUnavailable(RuntimeError):
    """The peer's environment or runner is missing; the message says how to make it."""


class PeerError(RuntimeError):
    """The peer answered a request with an error (its traceback is in the message)."""


#: Runners that share another peer's virtual environment.
SHARED_ENV = {"recbole_sasrec": "recbole"}


def peer_python(name: str) -> Path:
    return HERE / f".venv-{SHARED_ENV.get(name, name)}" / "bin" / "python"


def available(name: str) -> bool:
    return peer_python(name).exists() and (HERE / f"run_{name}.py").exists()


def thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that pin BLAS/OpenMP pools (and ``PEER_THREADS``) to ``threads``."""
    env = {var: str(threads) for var in THREAD_VARIABLES}
    env["PEER_THREADS"] = str(threads)
    return env


class Peer:
    """A running peer runner: ``request(op, **fields) -> reply``.

    Parameters
    ----------
    name : str
        The peer (``run_<name>.py``, ``.venv-<name>``).
    threads : int
        Exported to the runner as the thread variables and ``PEER_THREADS``; a
        runner also applies it to its library's own pools (torch, Rayon, ...).
    """

    def __init__(self, name: str, *, threads: int = 1):
        self.name = name
        self.threads = threads
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> Peer:
        python, runner = peer_python(self.name), HERE / f"run_{self.name}.py"
        if not python.exists():
            raise PeerUnavailable(
                f"no environment for peer {self.name!r} ({python} is missing); make it with "
                f"`benchmarks/peers/make_env.sh {self.name}`"
            )
        if not runner.exists():
            raise PeerUnavailable(f"no runner {runner} for peer {self.name!r}")
        env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")
        } | thread_environment(self.threads)
        self._proc = subprocess.Popen(
            [str(python), str(runner)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
            text=True,
            env=env,
            cwd=HERE,
        )
        return self

    def __exit__(self, *exc) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                proc.stdin.flush()
            proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def request(self, op: str, **fields) -> dict:
        """Send one request, wait for its reply; raise :class:`PeerError` on a failed one."""
        if self._proc is None:
            raise RuntimeError("use Peer(...) as a context manager")
        self._proc.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise PeerError(f"peer {self.name!r} exited (code {self._proc.wait()}) during {op!r}")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise PeerError(
                f"peer {self.name!r} failed {op!r}: {reply.get('error')}\n{reply.get('traceback')}"
            )
        return reply


def write_table(path: Path, user: np.ndarray, item: np.ndarray) -> Path:
    """Write an interaction table as the protocol wants it: ``.npz``, int64 ``user``, ``item``."""
    np.savez(path, user=np.asarray(user, dtype=np.int64), item=np.asarray(item, dtype=np.int64))
    return path


def read_recommendations(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` from a runner's recommend output; ``items`` is padded with -1."""
    with np.load(path) as f:
        return f["users"], f["items"]
