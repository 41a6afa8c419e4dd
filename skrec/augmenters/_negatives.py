"""The ``negatives`` augmenter: sampled non-interactions as explicit ``y = 0`` rows."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from skrec.augmenters._base import BaseAugmenter, make_frame
from skrec.augmenters._sequence import _generator
from skrec.augmenters._similarity import _encode, _pair_keys
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils.validation import Interactions

__all__ = ["NegativeSamplingAugmenter"]

# Redraw rounds for samples that hit an existing pair before giving up on them.
_ROUNDS = 10


class NegativeSamplingAugmenter(BaseAugmenter):
    """Add sampled non-interactions as explicit negatives (``y = 0`` rows).

    For every positive row, ``n_per_positive`` items the user has not
    interacted with (positively or negatively) are drawn and added as rows
    ``(user, item, value)`` (``value=0.0`` by default) with the positive row's
    timestamp. Items are drawn
    from the items of the input, uniformly or in proportion to their number of
    positive interactions ("popularity"), the two classic schemes of sampled
    negatives for implicit feedback (Pan et al., "One-Class Collaborative
    Filtering", ICDM 2008; Rendle et al., "BPR", UAI 2009). Pairs drawn twice
    are added once; a user who already has (nearly) every item may get fewer.

    Parameters
    ----------
    n_per_positive : int, default=1
        Negatives drawn per positive row.
    strategy : {"uniform", "popularity"}, default="uniform"
        Distribution the negative items are drawn from.
    value : float, default=0.0
        The ``y`` of the added rows, ``<= 0``. skrec gives an explicit negative
        the weight ``-max(|y|, 1)``, so ``value=-4.0`` makes a negative four
        times as confident as ``0.0``.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Notes
    -----
    Treating unobserved items as negatives is an assumption: some of them are
    items the user would like. ALS already treats every missing cell as a
    negative of confidence 1, so with ``alpha=1`` and ``value=0`` the added rows
    change nothing in its factors (only which items count as seen); a stronger
    ``value`` (or ``alpha``) is needed for an effect. See
    ``benchmarks/bench_augment.py``.

    Examples
    --------
    >>> from skrec.augmenters import NegativeSamplingAugmenter
    >>> X = [["a", 1], ["a", 2], ["b", 3], ["c", 1], ["c", 4]]
    >>> X_new, y_new = NegativeSamplingAugmenter(random_state=0).fit_resample(X)
    >>> len(X_new), y_new[5:].tolist()
    (10, [0.0, 0.0, 0.0, 0.0, 0.0])
    """

    _parameter_constraints: dict = {
        "n_per_positive": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions({"uniform", "popularity"})],
        "value": [Interval(Real, None, 0, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_per_positive: int = 1,
        *,
        strategy: str = "uniform",
        value: float = 0.0,
        random_state=None,
    ):
        self.n_per_positive = n_per_positive
        self.strategy = strategy
        self.value = value
        self.random_state = random_state

    def _fit_resample(self, data: Interactions):
        rng = _generator(self.random_state)
        y = data.y_or_ones()
        ucodes, icodes, item_ids = _encode(data)
        n_items = len(item_ids)
        pos = y > 0
        if self.strategy == "popularity":
            p = np.bincount(icodes[pos], minlength=n_items).astype(np.float64)
            p /= p.sum()
        else:
            p = None
        src = np.repeat(np.flatnonzero(pos), self.n_per_positive)
        taken = np.unique(_pair_keys(ucodes, icodes, n_items))
        out_src, out_item = [], []
        for _ in range(_ROUNDS):
            if len(src) == 0:
                break
            draw = rng.choice(n_items, size=len(src), p=p)
            keys = _pair_keys(ucodes[src], draw, n_items)
            _, first = np.unique(keys, return_index=True)
            ok = np.zeros(len(src), dtype=bool)
            ok[first] = True
            ok &= ~np.isin(keys, taken)
            out_src.append(src[ok])
            out_item.append(draw[ok])
            taken = np.union1d(taken, keys[ok])
            src = src[~ok]
        new_src = np.concatenate(out_src) if out_src else np.empty(0, dtype=np.int64)
        new_item = np.concatenate(out_item) if out_item else np.empty(0, dtype=np.int64)
        order = np.argsort(new_src, kind="stable")
        new_src, new_item = new_src[order], new_item[order]
        users = np.concatenate([data.users, data.users[new_src]])
        items = np.concatenate([data.items, item_ids[new_item].astype(data.items.dtype)])
        times = None
        if data.timestamps is not None:
            times = np.concatenate([data.timestamps, data.timestamps[new_src]])
        return make_frame(users, items, times), np.concatenate(
            [y, np.full(len(new_src), float(self.value))]
        )
