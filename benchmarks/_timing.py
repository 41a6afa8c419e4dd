"""Per-epoch timing of TransformerRecommender that the transformer benchmarks share.

skorch's ``dur`` is wall-clock time, which on a shared machine measures the
other processes as much as the model. :class:`EpochCPUTime` adds ``cpu`` to
each epoch of ``net_.history``: the process CPU seconds from the start of the
epoch to the end of its last batch (validation excluded, as in ``dur``). With
one torch thread, CPU seconds are what a quiet machine's wall clock would
show, and they are comparable across processes (RecBole's runner reports the
same quantity).
"""

from __future__ import annotations

import time

import numpy as np
from skorch.callbacks import Callback


class EpochCPUTime(Callback):
    """Records ``cpu``: CPU seconds of the epoch's training batches.

    The value is written after every training batch (the last write stands),
    not at the end of the epoch: early stopping ends the last epoch from its
    own ``on_epoch_end``, before a later callback's would run.
    """

    def on_epoch_begin(self, net, **kwargs):
        self.start_ = time.process_time()

    def on_batch_end(self, net, training=True, **kwargs):
        if training:
            net.history.record("cpu", time.process_time() - self.start_)


def curve(est) -> dict:
    """Per-epoch wall and CPU seconds and validation NDCG@10 of a fitted transformer."""
    history = est.net_.history
    out = {
        "wall_s_by_epoch": [round(float(v), 3) for v in history[:, "dur"]],
        "valid_ndcg10_by_epoch": [round(float(v), 5) for v in history[:, "valid_ndcg"]],
    }
    out["cpu_s_by_epoch"] = [round(float(row.get("cpu", np.nan)), 3) for row in history]
    return out


def time_to_reach(valid: list, seconds: list, target: float) -> tuple[float, int] | None:
    """Cumulative seconds (and epoch, 1-based) at the first epoch whose validation >= target."""
    total = np.cumsum(seconds)
    for epoch, value in enumerate(valid):
        if value >= target:
            return float(total[epoch]), epoch + 1
    return None


def time_to_best(valid: list, seconds: list) -> tuple[float, int]:
    """Cumulative seconds up to (and including) the best validation epoch, and that epoch."""
    best = int(np.argmax(valid))
    return float(np.sum(seconds[: best + 1])), best + 1
