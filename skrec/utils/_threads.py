"""How many threads skrec may use, and thread limits scoped to a ``with`` block.

Every thread pool skrec starts (the user blocks of ``recommend``, implicit's
solver threads, torch's intra-op pool during a fit) takes its size from
:func:`effective_n_jobs`, so that one ``n_jobs`` parameter governs them all:

* an explicit ``n_jobs`` follows joblib (``-1`` is every core, ``-2`` all but one);
* ``n_jobs=None`` is the ``n_jobs`` of an enclosing
  :func:`joblib.parallel_config` when it sets one, else the number of threads
  the BLAS library may use right now, as :mod:`threadpoolctl` reads it. That
  number is what ``threadpoolctl.threadpool_limits``, the ``OMP_NUM_THREADS``
  family of variables and joblib's process workers (which give each of
  ``GridSearchCV(n_jobs=k)``'s workers ``cores / k`` threads) already set, so
  skrec inside a parallel search uses the share it was given instead of every
  core.

Process-wide limits (BLAS, torch) are changed only inside :func:`blas_limit`
and :func:`torch_threads` blocks. Those blocks nest and may be entered from
several threads at once: the first to enter sets the limit, the last to leave
restores what was there before, so concurrent fits never leave the process
with a limit nobody asked for.
"""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from numbers import Integral

import joblib
import threadpoolctl
from joblib.parallel import get_active_backend
from threadpoolctl import ThreadpoolController

__all__ = ["blas_limit", "effective_n_jobs", "torch_threads"]

_LOCK = threading.Lock()
# Building a controller scans every loaded shared library (4-20 ms); reuse it until
# new modules (and so possibly new native libraries) have been imported.
_CONTROLLER: list = [None, -1]


def _controller() -> ThreadpoolController:
    with _LOCK:
        if _CONTROLLER[0] is None or _CONTROLLER[1] != len(sys.modules):
            _CONTROLLER[:] = [ThreadpoolController(), len(sys.modules)]
        return _CONTROLLER[0]


def blas_threads() -> int | None:
    """Threads the BLAS libraries may use now (the smallest limit of those loaded)."""
    limits = [lib.num_threads for lib in _controller().lib_controllers if lib.user_api == "blas"]
    return min(limits) if limits else None


def effective_n_jobs(n_jobs: int | None = None) -> int:
    """The number of threads an ``n_jobs`` parameter allows (at least 1).

    Parameters
    ----------
    n_jobs : int or None, default=None
        joblib's convention for an int (``-1``: every core); None: the
        enclosing :func:`joblib.parallel_config`'s ``n_jobs`` when it sets
        one, else the current BLAS thread limit (see the module docstring).

    Returns
    -------
    int
        The thread count.

    Examples
    --------
    >>> from joblib import parallel_config
    >>> from skrec.utils import effective_n_jobs
    >>> effective_n_jobs(1)
    1
    >>> with parallel_config(n_jobs=2):
    ...     effective_n_jobs()
    2
    """
    if n_jobs is None:
        configured = get_active_backend()[1]
        if configured is None:
            limit = blas_threads()
            cores = joblib.cpu_count()
            return max(1, min(limit, cores) if limit else cores)
        n_jobs = configured
    if not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero int, got {n_jobs!r}")
    return max(1, int(joblib.effective_n_jobs(int(n_jobs))))


class _ScopedLimit:
    """A process-wide setting held at ``value`` while any holder is inside the block.

    Whether to take part is decided under the lock: a thread that finds the
    setting already held joins the holders (so the last to leave restores it,
    never while another is inside), and only the first decides from the
    current setting whether a limit is needed at all.
    """

    def __init__(self, apply, restore):
        self._apply, self._restore = apply, restore
        self._lock = threading.Lock()
        self._holders = 0
        self._saved = None

    @contextmanager
    def hold(self, value: int, needed):
        with self._lock:
            joined = self._holders > 0 or needed()
            if joined:
                if self._holders == 0:
                    self._saved = self._apply(value)
                self._holders += 1
        try:
            yield
        finally:
            if joined:
                with self._lock:
                    self._holders -= 1
                    if self._holders == 0:
                        self._restore(self._saved)
                        self._saved = None


def _unclaimed(change):
    """``change`` wrapped so that OpenBLAS's thread claim is released before and after it.

    threadpoolctl >= 3.8 lets only the thread that last set OpenBLAS's process-wide
    (pthreads) limit change it again, until that thread clears its claim; other threads'
    calls do nothing. A scoped limit is applied and restored under _ScopedLimit's lock,
    possibly from two different threads, so the claim is released around each change.
    """
    openblas = getattr(threadpoolctl, "OpenBLASController", None)
    release = getattr(openblas, "clear_controlling_thread", None)
    if release is None:
        return change

    def wrapped(arg):
        release(force=True)
        try:
            return change(arg)
        finally:
            release(force=True)

    return wrapped


_BLAS = _ScopedLimit(
    _unclaimed(lambda value: _controller().limit(limits=value, user_api="blas")),
    _unclaimed(lambda limiter: limiter.restore_original_limits()),
)


@contextmanager
def blas_limit(n_threads: int = 1):
    """Limit BLAS to ``n_threads`` inside the block, then restore the previous limits.

    Used where skrec runs its own threads (implicit's solver, the user blocks
    of ``recommend``) that each call BLAS: without the limit every thread
    would start a full BLAS pool. A limit already lower than ``n_threads``
    (e.g. set by the user with ``threadpoolctl``) is kept.

    Parameters
    ----------
    n_threads : int, default=1
        The BLAS thread limit inside the block.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.utils import blas_limit
    >>> with blas_limit(1):
    ...     _ = np.ones((4, 4)) @ np.ones((4, 4))
    """

    def needed() -> bool:
        current = blas_threads()
        return current is None or current > n_threads

    with _BLAS.hold(n_threads, needed):
        yield


def _apply_torch(value: int):
    import torch  # noqa: PLC0415 (only estimators that already use torch call this)

    previous = torch.get_num_threads()
    torch.set_num_threads(value)
    return previous


def _restore_torch(previous: int) -> None:
    import torch  # noqa: PLC0415

    torch.set_num_threads(previous)


_TORCH = _ScopedLimit(_apply_torch, _restore_torch)


@contextmanager
def torch_threads(n_threads: int):
    """Run the block with torch's intra-op pool at ``n_threads``, then restore it.

    Parameters
    ----------
    n_threads : int
        Threads of torch's intra-op pool inside the block.

    Examples
    --------
    >>> import torch  # doctest: +SKIP
    >>> from skrec.utils import torch_threads
    >>> with torch_threads(1):  # doctest: +SKIP
    ...     torch.get_num_threads()
    1
    """
    import torch  # noqa: PLC0415

    with _TORCH.hold(n_threads, lambda: torch.get_num_threads() != n_threads):
        yield
