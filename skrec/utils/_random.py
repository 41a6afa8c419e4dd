"""One integer seed drawn from a ``random_state`` parameter."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_random_state

__all__ = ["draw_seed"]


def draw_seed(random_state) -> int:
    """An int in ``[0, 2**31 - 1)`` drawn from ``check_random_state(random_state)``.

    For seeding another library's generator (torch, NumPy's ``default_rng``,
    Spark) from a scikit-learn ``random_state``: an int gives the same seed
    every time, a ``RandomState`` instance advances.
    """
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
