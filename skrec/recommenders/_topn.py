"""Top-n selection over blocks of users, in parallel threads.

``recommend`` never materialises a dense users x items matrix: users are
scored :data:`BLOCK_FLOATS` floats at a time and each block is reduced to its
top ``n`` at once. Blocks run in a thread pool of
:func:`skrec.utils.effective_n_jobs` threads (numpy releases the GIL in matrix
products and partitions), each with single-threaded BLAS so the threads do not
each start a BLAS pool.

Ties are broken by position: among equal scores the item that comes first in
the candidate order (``items_``, or the ``items=`` given) ranks first. That is
the documented order, and what a stable sort of the whole row would give.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from skrec.utils._threads import blas_limit, effective_n_jobs

__all__ = ["BLOCK_FLOATS", "block_rows", "run_blocks", "top_n", "user_blocks"]

# Scores for one block of users are materialised at most this many floats at a time.
BLOCK_FLOATS = 1 << 24


def block_rows(n_columns: int) -> int:
    """Users per block when each user has ``n_columns`` scores."""
    return max(1, BLOCK_FLOATS // max(1, n_columns))


def user_blocks(rows: np.ndarray, n_columns: int) -> list:
    """``rows`` cut into consecutive blocks of :func:`block_rows` rows."""
    block = block_rows(n_columns)
    return [rows[b : b + block] for b in range(0, len(rows), block)]


def run_blocks(work, blocks: list, n_jobs) -> None:
    """Call ``work(block)`` for every block, in up to ``n_jobs`` threads."""
    if len(blocks) <= 1:
        for block in blocks:
            work(block)
        return
    workers = min(len(blocks), effective_n_jobs(n_jobs))
    if workers <= 1:
        for block in blocks:
            work(block)
        return
    with blas_limit(1), ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(work, blocks):
            pass


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``n`` largest scores per row, best first.

    Equal scores keep column order (the lower column first), also at the
    boundary of the top ``n``: ``top_n(s, n)`` equals the first ``n`` columns
    of a stable descending sort of each row.

    Parameters
    ----------
    scores : ndarray of shape (n_rows, n_columns)
        No NaN (callers check).
    n : int
        At most ``n_columns``.

    Returns
    -------
    idx, values : ndarray of shape (n_rows, n)

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.recommenders._topn import top_n
    >>> top_n(np.array([[1.0, 3.0, 3.0, 2.0, 3.0]]), 2)[0].tolist()
    [[1, 2]]
    """
    n_rows, n_cols = scores.shape
    if n < n_cols:
        # Partition on the scores themselves: negating them would copy the block.
        part = np.argpartition(scores, n_cols - n, axis=1)[:, n_cols - n :]
        vals = np.take_along_axis(scores, part, axis=1)
        kth = vals.min(axis=1, keepdims=True)
        # The partition picks arbitrary columns among ties at the boundary; where a
        # row has more ties there than places, keep the first ones.
        unfair = np.flatnonzero((scores == kth).sum(axis=1) > (vals == kth).sum(axis=1))
        if len(unfair):
            sub, edge = scores[unfair], kth[unfair]
            above = sub > edge
            tied = sub == edge
            room = n - above.sum(axis=1, keepdims=True)
            chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
            part[unfair] = np.nonzero(chosen)[1].reshape(len(unfair), n)
            vals[unfair] = np.take_along_axis(sub, part[unfair], axis=1)
    else:
        part = np.broadcast_to(np.arange(n_cols), scores.shape)
        vals = scores
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(vals, order, axis=1)
