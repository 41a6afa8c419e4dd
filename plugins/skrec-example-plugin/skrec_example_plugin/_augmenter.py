"""The ``drop_random`` augmenter: random dropout of positive interactions."""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from skrec.augmenters import BaseAugmenter

__all__ = ["DropRandomAugmenter"]


class DropRandomAugmenter(BaseAugmenter):
    """Drop a random fraction of each user's positive rows (interaction dropout).

    A regulariser: the model sees a thinned copy of the data at each ``fit``.
    Every user keeps at least one positive row; explicit negatives are kept.

    Parameters
    ----------
    rate : float, default=0.1
        Probability that a positive row is dropped.
    random_state : int, RandomState instance or None, default=None
        Seed of the rows dropped.

    Examples
    --------
    >>> from skrec_example_plugin import DropRandomAugmenter
    >>> X = [[1, "a"], [1, "b"], [1, "c"], [2, "a"]]
    >>> X_new, y_new = DropRandomAugmenter(rate=0.5, random_state=0).fit_resample(X, [1, 1, 1, 1])
    >>> sorted(set(X_new["user"]))
    [1, 2]
    """

    _parameter_constraints: dict = {
        "rate": [Interval(Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, rate: float = 0.1, *, random_state=None):
        self.rate = rate
        self.random_state = random_state

    def _fit_resample(self, data):
        # ``data`` is skrec's validated Interactions: users, items, timestamps, y.
        rng = check_random_state(self.random_state)
        y = data.y_or_ones()
        drop = (y > 0) & (rng.random_sample(len(y)) < self.rate)
        # Keep one positive row for users who would lose all of theirs.
        kept_users = set(data.users[(y > 0) & ~drop].tolist())
        for row in np.flatnonzero(drop):
            if data.users[row] not in kept_users:
                drop[row] = False
                kept_users.add(data.users[row])
        keep = ~drop
        return data.take(keep).to_frame(), y[keep].copy()
