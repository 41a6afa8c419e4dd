"""Loader for the leave-one-out sequence files of sequential recommendation.

SASRec, BERT4Rec, S3-Rec and their successors publish their preprocessed Amazon
(Beauty, Sports, Toys), Yelp and MovieLens data as one line per user:
``user item item ...``, the items in time order. The last item of each line is
the test item and the one before it the validation item under the usual
leave-one-out protocol (see :class:`skrec.model_selection.LeaveLastOut`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

__all__ = ["load_sequences"]


def load_sequences(path: str | os.PathLike, *, encoding: str = "utf-8") -> Bunch:
    """Load a sequence file with one ``user item item ...`` line per user.

    Fields are separated by whitespace; items are in time order. Ids may be
    integers or strings: a column whose every token is an integer written in
    canonical form (``"7"``, not ``"07"``) is returned as ``int64``, otherwise
    as strings. Blank lines are skipped.

    Parameters
    ----------
    path : str or path-like
        The text file, e.g. ``Beauty.txt`` from the S3-Rec repository.
    encoding : str, default="utf-8"
        Text encoding of the file.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields:

        X : pandas.DataFrame of shape (n_interactions, 3)
            Columns ``user``, ``item`` and ``timestamp``, where ``timestamp`` is
            the position of the item in its user's sequence (0, 1, 2, ...).
            Rows are in file order.
        y : None
            Every row is a positive interaction.
        item_text : None
            These files carry no side information.
        DESCR : str
            Where the data came from and its counts.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a line has a user but no items, or a user has more than one line
        (the message names the line numbers), or the file holds no sequence.

    See Also
    --------
    load_movielens : MovieLens ratings with item text.
    skrec.model_selection.LeaveLastOut : The matching evaluation split.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skrec.datasets import load_sequences
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "seq.txt"
    >>> _ = path.write_text("1 10 11 12\\n2 11 13\\n")
    >>> data = load_sequences(path)
    >>> data.X
       user  item  timestamp
    0     1    10          0
    1     1    11          1
    2     1    12          2
    3     2    11          0
    4     2    13          1
    >>> print(data.y)
    None
    """
    path = Path(path)
    with open(path, encoding=encoding) as f:
        text = f.read()

    users: list[str] = []
    lengths: list[int] = []
    tokens: list[str] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields:
            continue
        user = fields[0]
        if len(fields) == 1:
            raise ValueError(
                f"{path}, line {lineno}: user {user!r} has no items; every line must read "
                "'user item item ...'."
            )
        if user in first_line:
            raise ValueError(
                f"{path}, line {lineno}: user {user!r} already has a sequence on line "
                f"{first_line[user]}; each user must have exactly one line."
            )
        first_line[user] = lineno
        users.append(user)
        lengths.append(len(fields) - 1)
        tokens.extend(fields[1:])

    if not users:
        raise ValueError(f"{path} contains no sequences (every line is blank).")
    counts = np.asarray(lengths, dtype=np.int64)
    n = int(counts.sum())
    starts = np.cumsum(counts) - counts
    X = pd.DataFrame(
        {
            "user": np.repeat(_as_ids(users), counts),
            "item": _as_ids(tokens),
            "timestamp": np.arange(n, dtype=np.int64) - np.repeat(starts, counts),
        }
    )
    n_items = X["item"].nunique()
    descr = (
        f"Item sequences from {path}\n\n"
        f"{n:,} interactions of {len(users):,} users with {n_items:,} items; one line per "
        "user, items in time order. timestamp is the position in the user's sequence; "
        "every row is a positive interaction (y is None); no item text.\n"
        "Leave-one-out protocol: each user's last item is the test item, the one before "
        "it the validation item.\n"
    )
    return Bunch(X=X, y=None, item_text=None, DESCR=descr)


def _as_ids(tokens: list[str]) -> np.ndarray:
    """int64 when every token is a canonical integer, else an object array of str."""
    as_str = np.asarray(tokens, dtype=str)
    try:
        as_int = as_str.astype(np.int64)
    except (ValueError, OverflowError):
        return np.asarray(tokens, dtype=object)
    # "07" and "7" must stay distinct ids: keep strings unless the round trip is exact.
    if as_str.size and not np.array_equal(as_int.astype(str), as_str):
        return np.asarray(tokens, dtype=object)
    return as_int
