"""Sequence views: ``crop``, ``mask`` and ``reorder`` (CL4SRec, Xie et al. 2022).

Each augmenter works at two levels:

``view(seq, rng, mask_value)``
    one augmented view of one integer sequence (item indices), for models that
    augment on the fly, e.g. contrastive pre-training of a sequential
    transformer.
``fit_resample(X, y)``
    the interaction table with views of every user's positive history added
    (``mode="append"``, the default) or substituted (``mode="replace"``).

How views enter the table (``mode="append"``): each view is filed under a
pseudo-user ``"<user>#view-<k>"`` (:func:`~skrec.augmenters.pseudo_user_id`)
with the items, strengths and time slots of the rows it keeps, and every
original row is kept. A matrix-factorisation model (ALS, EASE) thus sees extra
co-occurrence evidence while real users' rows are unchanged, and a sequential
model sees extra training sequences; the pseudo-users appear in ``users_`` but
real users' recommendations never depend on being asked for a pseudo-user.
``mode="replace"`` instead swaps each user's positive history for one view
under the user's own id (no new ids; useful for sequential models trained on
perturbed histories). Explicit negatives (``y <= 0``) are kept and never enter
views. Only users with at least two positive rows get views.
"""

from __future__ import annotations

from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from skrec.augmenters._base import BaseAugmenter, make_frame, pseudo_user_id
from skrec.utils._sklearn_compat import Interval, StrOptions
from skrec.utils.validation import Interactions

__all__ = ["CropAugmenter", "MaskAugmenter", "ReorderAugmenter"]


def _as_sequence(seq) -> np.ndarray:
    arr = np.asarray(seq)
    if arr.ndim != 1:
        raise ValueError(f"seq must be a 1-D sequence of item indices, got shape {arr.shape}")
    return arr


def _generator(random_state) -> np.random.Generator:
    """A numpy Generator seeded from a sklearn-style ``random_state``."""
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return np.random.default_rng(seed)


class _SequenceAugmenter(BaseAugmenter):
    """Shared table logic: group positives per user in time order, add views."""

    _parameter_constraints: dict = {
        "n_views": [Interval(Integral, 1, None, closed="left")],
        "mode": [StrOptions({"append", "replace"})],
        "random_state": ["random_state"],
    }

    @abstractmethod
    def view(self, seq: np.ndarray, rng: np.random.Generator, mask_value: int) -> np.ndarray:
        """One augmented view of the item sequence ``seq``."""

    def _view_rows(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The table rows one view keeps, in view order."""
        return self.view(rows, rng, -1)

    def _fit_resample(self, data: Interactions):
        if self.mode == "replace" and self.n_views != 1:
            raise ValueError(f"mode='replace' makes one view per user; got n_views={self.n_views}")
        rng = _generator(self.random_state)
        y = data.y_or_ones()
        ts = data.timestamps
        pos = np.flatnonzero(y > 0)
        if ts is not None:
            pos = pos[np.argsort(ts[pos], kind="stable")]
        codes, _ = pd.factorize(data.users[pos])
        grouped = pos[np.argsort(codes, kind="stable")]
        _, starts, counts = np.unique(np.sort(codes), return_index=True, return_counts=True)

        view_rows, view_users, view_times, replaced = [], [], [], []
        for start, count in zip(starts, counts):
            if count < 2:
                continue
            rows = grouped[start : start + count]
            user = data.users[rows[0]]
            for k in range(1, self.n_views + 1):
                v = self._view_rows(rows, rng)
                if len(v) == 0:
                    continue
                view_rows.append(v)
                if self.mode == "append":
                    view_users.append(np.full(len(v), pseudo_user_id(user, k), dtype=object))
                else:
                    view_users.append(data.users[v])
                    replaced.append(rows)
                # A view occupies the time slots of the rows it keeps, in order.
                view_times.append(None if ts is None else np.sort(ts[v]))

        if self.mode == "append":
            keep = np.arange(len(data))
        else:
            keep = np.ones(len(data), dtype=bool)
            if replaced:
                keep[np.concatenate(replaced)] = False
            keep = np.flatnonzero(keep)
        if not view_rows:
            return data.take(keep).to_frame(), y[keep].copy()
        rows = np.concatenate(view_rows)
        base_users = data.users[keep]
        extra_users = np.concatenate(view_users)
        if self.mode == "append" or base_users.dtype != extra_users.dtype:
            base_users = base_users.astype(object)
        users = np.concatenate([base_users, extra_users])
        items = np.concatenate([data.items[keep], data.items[rows]])
        times = None if ts is None else np.concatenate([ts[keep], *view_times])
        return make_frame(users, items, times), np.concatenate([y[keep], y[rows]])


_SHARED_PARAMS = """n_views : int, default=1
        Views added per user (``mode="append"``); must be 1 with ``mode="replace"``.
    mode : {"append", "replace"}, default="append"
        ``"append"``: keep every row and add each view as the pseudo-user
        ``"<user>#view-<k>"``; ``"replace"``: replace each user's positive rows
        by one view, under the user's own id.
    random_state : int, RandomState instance or None, default=None
        Seed of the views drawn by ``fit_resample``."""

_VIEW_PARAMS = """seq : ndarray of shape (n,)
            Item indices in time order.
        rng : numpy.random.Generator
            Source of randomness."""


class CropAugmenter(_SequenceAugmenter):
    """Random contiguous crop of each history (CL4SRec "item crop"; Xie et al., ICDE 2022).

    Parameters
    ----------
    eta : float, default=0.6
        Fraction of the sequence kept: a crop has ``max(1, floor(eta * n))`` items.
    {shared}

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.augmenters import CropAugmenter
    >>> view = CropAugmenter(eta=0.5).view(np.arange(10), np.random.default_rng(0), 0)
    >>> len(view), bool(np.all(np.diff(view) == 1))
    (5, True)
    >>> X_new, y_new = CropAugmenter(random_state=0).fit_resample([[1, "a"], [1, "b"], [1, "c"]])
    >>> X_new["user"].tolist()
    [1, 1, 1, '1#view-1']
    """

    _parameter_constraints: dict = {
        **_SequenceAugmenter._parameter_constraints,
        "eta": [Interval(Real, 0, 1, closed="right")],
    }

    def __init__(
        self, eta: float = 0.6, *, n_views: int = 1, mode: str = "append", random_state=None
    ):
        self.eta = eta
        self.n_views = n_views
        self.mode = mode
        self.random_state = random_state

    def view(self, seq: np.ndarray, rng: np.random.Generator, mask_value: int) -> np.ndarray:
        """One random contiguous sub-sequence of ``seq`` (a new array).

        Parameters
        ----------
        {view_params}
        mask_value : int
            Unused (same signature as :meth:`MaskAugmenter.view`).

        Returns
        -------
        ndarray of shape (max(1, floor(eta * n)),)
            The crop; empty when ``seq`` is empty.
        """
        seq = _as_sequence(seq)
        n = len(seq)
        if n == 0:
            return seq.copy()
        length = max(1, int(np.floor(self.eta * n)))
        start = int(rng.integers(0, n - length + 1))
        return seq[start : start + length].copy()


class MaskAugmenter(_SequenceAugmenter):
    """Random item masking (CL4SRec "item mask"; Xie et al., ICDE 2022).

    :meth:`view` replaces ``floor(gamma * n)`` random positions by a mask token.
    In the table (``fit_resample``) there is no mask item, so a masked position
    is dropped instead: the view is the history with random items left out
    (item dropout).

    Parameters
    ----------
    gamma : float, default=0.3
        Fraction of the positions masked.
    {shared}

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.augmenters import MaskAugmenter
    >>> view = MaskAugmenter(gamma=0.3).view(np.arange(1, 11), np.random.default_rng(0), 0)
    >>> len(view), int((view == 0).sum())
    (10, 3)
    """

    _parameter_constraints: dict = {
        **_SequenceAugmenter._parameter_constraints,
        "gamma": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self, gamma: float = 0.3, *, n_views: int = 1, mode: str = "append", random_state=None
    ):
        self.gamma = gamma
        self.n_views = n_views
        self.mode = mode
        self.random_state = random_state

    def view(self, seq: np.ndarray, rng: np.random.Generator, mask_value: int) -> np.ndarray:
        """``seq`` with ``floor(gamma * n)`` random positions set to ``mask_value`` (a new array).

        Parameters
        ----------
        {view_params}
        mask_value : int
            The mask token written at the masked positions.

        Returns
        -------
        ndarray of shape (n,)
            The masked copy.
        """
        seq = _as_sequence(seq)
        out = seq.copy()
        n_mask = int(np.floor(self.gamma * len(seq)))
        if n_mask:
            out[rng.choice(len(seq), size=n_mask, replace=False)] = mask_value
        return out

    def _view_rows(self, rows, rng):
        masked = self.view(rows, rng, -1)
        return masked[masked >= 0]


class ReorderAugmenter(_SequenceAugmenter):
    """Shuffle of a random sub-window (CL4SRec "item reorder"; Xie et al., ICDE 2022).

    In the table, the reordered items take the time slots of the window in
    order, so time order (or row order) shows the new sequence.

    Parameters
    ----------
    beta : float, default=0.6
        Fraction of the sequence shuffled: a window of ``floor(beta * n)`` items.
    {shared}

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.augmenters import ReorderAugmenter
    >>> view = ReorderAugmenter(beta=0.5).view(np.arange(10), np.random.default_rng(1), 0)
    >>> sorted(view.tolist()) == list(range(10))
    True
    """

    _parameter_constraints: dict = {
        **_SequenceAugmenter._parameter_constraints,
        "beta": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self, beta: float = 0.6, *, n_views: int = 1, mode: str = "append", random_state=None
    ):
        self.beta = beta
        self.n_views = n_views
        self.mode = mode
        self.random_state = random_state

    def view(self, seq: np.ndarray, rng: np.random.Generator, mask_value: int) -> np.ndarray:
        """``seq`` with a random window of ``floor(beta * n)`` items shuffled (a new array).

        Parameters
        ----------
        {view_params}
        mask_value : int
            Unused (same signature as :meth:`MaskAugmenter.view`).

        Returns
        -------
        ndarray of shape (n,)
            The reordered copy.
        """
        seq = _as_sequence(seq)
        out = seq.copy()
        n = len(seq)
        length = int(np.floor(self.beta * n))
        if length >= 2:
            start = int(rng.integers(0, n - length + 1))
            out[start : start + length] = rng.permutation(out[start : start + length])
        return out


for _cls in (CropAugmenter, MaskAugmenter, ReorderAugmenter):
    _cls.__doc__ = _cls.__doc__.replace("{shared}", _SHARED_PARAMS)
    _cls.view.__doc__ = _cls.view.__doc__.replace("{view_params}", _VIEW_PARAMS)
del _cls
