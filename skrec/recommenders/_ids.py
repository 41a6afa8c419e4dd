"""Id handling of recommenders: the indexes built in ``fit`` and unknown ids at predict time.

A fitted recommender maps raw user and item ids to dense indices with two
:class:`~skrec.utils.validation.IdIndex` objects. The user index holds every
user of the training rows; the item index every item of the training rows,
then the items the model knows without interactions (``item_text``). Ids the
caller gave stay known even when an augmenter dropped all of their rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skrec.utils.validation import IdIndex, Interactions, as_id_array, check_ids

__all__ = ["PreviousFit", "build_indexes", "check_unknown"]

_SHOWN = 5


@dataclass(frozen=True)
class PreviousFit:
    """What a refit knows of the previous fit of the same estimator (for ``warm_start``).

    Passed to :meth:`BaseRecommender._fit_model` as ``previous`` when the
    estimator was fitted before, else None.

    Attributes
    ----------
    users_ : ndarray
        User ids of the previous fit, in its index order.
    items_ : ndarray
        Item ids of the previous fit, in its index order.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.recommenders import PreviousFit
    >>> PreviousFit(users_=np.array([1, 2]), items_=np.array(["a"])).users_.tolist()
    [1, 2]
    """

    users_: np.ndarray
    items_: np.ndarray


def build_indexes(original: Interactions, data: Interactions, extra_items=None):
    """User and item indexes of a fit on ``data`` (``original`` augmented, or itself).

    Parameters
    ----------
    original : Interactions
        The rows the caller gave.
    data : Interactions
        The rows the model learns from (``original`` after an augmenter).
    extra_items : array-like or None
        Item ids known without interactions, appended after the others.

    Returns
    -------
    (IdIndex, IdIndex)
        The user index and the item index.
    """
    users, items = IdIndex(data.users), IdIndex(data.items)
    if data is not original:  # every id the caller gave stays known
        users = users.extend(original.users)
        items = items.extend(original.items)
    if extra_items is not None:
        items = items.extend(check_ids(extra_items, "item_text ids"))
    return users, items


def check_unknown(handle_unknown: str, mask: np.ndarray, ids: np.ndarray, what: str) -> None:
    """Raise for ids not seen in ``fit`` when ``handle_unknown="error"``.

    Parameters
    ----------
    handle_unknown : {"popular", "error"}
        The estimator's policy.
    mask : ndarray of bool
        Which of ``ids`` are unknown.
    ids : ndarray
        The ids looked up.
    what : str
        "users" or "items", for the message.
    """
    if handle_unknown != "error" or not mask.any():
        return
    shown = ", ".join(repr(v) for v in np.unique(as_id_array(ids[mask]).astype(object))[:_SHOWN])
    raise ValueError(
        f"{int(mask.sum())} rows have {what} not seen in fit ({shown}...); "
        "use handle_unknown='popular' to score them by popularity"
    )
