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
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from skrec.datasets import _base
from skrec.datasets._base import (
    ChecksumError,
    KnownFile,
    RemoteFileMetadata,
    check_known_file,
    get_data_home,
    read_data_file,
)

__all__ = ["load_sequences"]


class SequenceDataset(NamedTuple):
    """A known sequence file: where it lives in the data home, where it comes from."""

    folder: str
    filename: str
    known: KnownFile
    title: str


# The preprocessed files of S3-Rec (Zhou et al., CIKM 2020), as republished in the
# data/ folder of salesforce/ICLRec; the URL is pinned to a commit, so its content
# cannot change. Beauty and Toys: SHA-256 of the copies in ../shared/data, whose
# size and last lines equal those of the files at that commit. Sports and Yelp:
# no copy was at hand to hash, so a download (and a local copy) is checked by its
# size and line count (one line per user), read from the files at that commit.
_ICLREC = (
    "https://raw.githubusercontent.com/salesforce/ICLRec/"
    "4afb54a036ebbf4166ed5858122d89c0642251a7/data/"
)
SEQUENCE_DATASETS: dict[str, SequenceDataset] = {
    "beauty": SequenceDataset(
        "amazon-beauty",
        "Beauty.txt",
        KnownFile(
            22_363, "226cce9c3105299ca0db9615d7d3fb32b3175e90da43100ae352599f0f0107b8", 1_090_094
        ),
        "Amazon Beauty",
    ),
    "toys": SequenceDataset(
        "amazon-toys",
        "Toys_and_Games.txt",
        KnownFile(
            19_412, "176c680c688d497598c4a89a03b402c0fe78d795e5db335c2e78dd5f2d778a3f", 922_166
        ),
        "Amazon Toys and Games",
    ),
    "sports": SequenceDataset(
        "amazon-sports",
        "Sports_and_Outdoors.txt",
        KnownFile(35_598, None, 1_707_483),
        "Amazon Sports and Outdoors",
    ),
    "yelp": SequenceDataset("yelp", "Yelp.txt", KnownFile(30_431, None, 1_814_224), "Yelp"),
}


def load_sequences(
    name_or_path: str | os.PathLike,
    *,
    data_home: str | os.PathLike | None = None,
    download: bool = True,
    encoding: str = "utf-8",
    verbose: bool = False,
) -> Bunch:
    """Load a sequence file with one ``user item item ...`` line per user.

    ``name_or_path`` is either the name of a known dataset or the path of a file.
    The known datasets are the preprocessed leave-one-out files of S3-Rec, used
    by most sequential-recommendation papers since (SASRec, CL4SRec, ICLRec,
    DuoRec report on them):

    ==========  ==============================================  =======  ============
    name        file in the data home                           users    interactions
    ==========  ==============================================  =======  ============
    ``beauty``  ``amazon-beauty/Beauty.txt``                    22,363   198,502
    ``toys``    ``amazon-toys/Toys_and_Games.txt``              19,412   167,597
    ``sports``  ``amazon-sports/Sports_and_Outdoors.txt``       35,598   296,337
    ``yelp``    ``yelp/Yelp.txt``                               30,431   316,354
    ==========  ==============================================  =======  ============

    A local copy is read when present and checked first: ``beauty`` and ``toys``
    against their SHA-256, ``sports`` and ``yelp`` against their size and line
    count (no SHA-256 of theirs is known to skrec). A copy that fails raises a
    ``ValueError`` naming it. Without a local copy the file is downloaded from
    ``https://raw.githubusercontent.com/salesforce/ICLRec/<commit>/data/<file>``
    (a URL pinned to one commit of the ICLRec repository, so its content cannot
    change), checked the same way, and kept in the data home.

    Fields are separated by whitespace; items are in time order. Ids may be
    integers or strings: a column whose every token is an integer written in
    canonical form (``"7"``, not ``"07"``) is returned as ``int64``, otherwise
    as strings. Blank lines are skipped.

    Parameters
    ----------
    name_or_path : str or path-like
        A known name (``"beauty"``, ``"toys"``, ``"sports"``, ``"yelp"``; a
        ``str``) or the path of a sequence file. Any other string is a path.
    data_home : str or path-like, default=None
        Folder holding the known datasets. ``None`` uses ``$SKREC_DATA`` when
        set, else ``~/skrec_data``. Ignored for a path.
    download : bool, default=True
        Download a known dataset that has no local copy. With ``False``, a
        missing copy raises :class:`FileNotFoundError`.
    encoding : str, default="utf-8"
        Text encoding of the file.
    verbose : bool, default=False
        Show a progress bar while downloading.

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
        If the file does not exist (for a known name: no local copy and
        ``download=False``; the message says where to put it).
    ValueError
        If the file is empty, binary or not valid text in ``encoding``, if a
        line has a user but no items, or a user has more than one line (the
        message names the line numbers), or if a local copy of a known dataset
        is not the known file (truncated or damaged).
    ChecksumError
        If a downloaded file is not the known file (it is deleted).
    OSError
        If the download fails.

    See Also
    --------
    load_movielens : MovieLens ratings with item text.
    skrec.model_selection.LeaveLastOut : The matching evaluation split.

    Notes
    -----
    The Amazon files derive from the Amazon review data of J. McAuley et al.
    (SIGIR 2015; R. He and J. McAuley, WWW 2016), the Yelp file from the Yelp
    Open Dataset; cite them and S3-Rec (K. Zhou et al., CIKM 2020) when you use
    them.

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

    A known dataset, from ``$SKREC_DATA`` (or downloaded once):

    >>> beauty = load_sequences("beauty")  # doctest: +SKIP
    >>> beauty.X["user"].nunique()  # doctest: +SKIP
    22363
    """
    if isinstance(name_or_path, str) and name_or_path in SEQUENCE_DATASETS:
        name = name_or_path
        dataset = SEQUENCE_DATASETS[name]
        path = _local_copy(name, get_data_home(data_home), download=download, verbose=verbose)
        what = f"the {dataset.title} sequence file"
        data = read_data_file(path, what)
        check_known_file(
            data,
            path,
            dataset.known,
            what=what,
            remedy=f"Delete it and call load_sequences({name!r}) to download it from "
            f"{_ICLREC}{dataset.filename}.",
        )
        source = f"{dataset.title} ({name!r}, {_ICLREC}{dataset.filename}), read from {path}"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            known = ", ".join(repr(n) for n in SEQUENCE_DATASETS)
            raise FileNotFoundError(
                f"No sequence file {str(path)!r}; pass the path of a file, or one of the "
                f"known names {known}."
            )
        data = read_data_file(path, "a 'user item item ...' sequence file")
        source = str(path)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not {encoding} text ({exc}); pass encoding=...") from exc

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
        f"Item sequences: {source}\n\n"
        f"{n:,} interactions of {len(users):,} users with {n_items:,} items; one line per "
        "user, items in time order. timestamp is the position in the user's sequence; "
        "every row is a positive interaction (y is None); no item text.\n"
        "Leave-one-out protocol: each user's last item is the test item, the one before "
        "it the validation item.\n"
    )
    return Bunch(X=X, y=None, item_text=None, DESCR=descr)


def _local_copy(name: str, home: Path, *, download: bool, verbose: bool) -> Path:
    """The path of the known dataset ``name`` in ``home``, downloaded when absent."""
    dataset = SEQUENCE_DATASETS[name]
    path = home / dataset.folder / dataset.filename
    if path.is_file():
        return path
    url = _ICLREC + dataset.filename
    if not download:
        raise FileNotFoundError(
            f"{dataset.title} ({name!r}) not found: looked for {path}. Call "
            f"load_sequences({name!r}, download=True), or download {url} yourself into "
            f"{path.parent} (set $SKREC_DATA or data_home= to use another folder)."
        )

    def check(tmp: Path, dest: Path) -> None:
        try:
            check_known_file(
                tmp.read_bytes(),
                dest,
                dataset.known,
                what=f"the {dataset.title} sequence file",
                remedy="The download has been deleted; run the loader again.",
            )
        except ValueError as exc:
            raise ChecksumError(f"downloaded from {url}: {exc}") from None

    remote = RemoteFileMetadata(dataset.filename, url, dataset.known.sha256)
    return _base.download(remote, path.parent, verbose=verbose, check=check)


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
