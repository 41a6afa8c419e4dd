"""BLAS thread limits without re-scanning the loaded libraries on every call."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    # Building a controller inspects every loaded shared library (~20 ms);
    # do it once per process.
    return ThreadpoolController()


@contextmanager
def single_blas_thread():
    """Run the block with BLAS limited to one thread.

    implicit's solvers run their own thread pool and small dense algebra
    (calibration) is slower, not faster, with threaded BLAS under load.
    """
    with _controller().limit(limits=1, user_api="blas"):
        yield
