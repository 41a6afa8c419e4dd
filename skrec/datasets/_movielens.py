"""MovieLens loaders: ml-100k, ml-1m and ml-latest-small from GroupLens."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from skrec.datasets._base import (
    KnownFile,
    RemoteFileMetadata,
    check_known_file,
    fetch_archive,
    get_data_home,
    read_data_file,
)

__all__ = ["load_movielens"]

_BASE_URL = "https://files.grouplens.org/datasets/movielens/"

# SHA-256 of the official GroupLens archives, as listed in TensorFlow Datasets'
# tensorflow_datasets/url_checksums/movielens.txt (read 2026-11; no network here
# to hash the archives themselves). Projects that pin ml-100k.zip by the same
# value also list its members' hashes, and those match the u.data and u.item
# in ../shared/data. ml-latest-small is re-published by GroupLens from time to
# time, which changes its hash: the value is that of the 2018-09 release. A
# wrong value makes a download fail loudly with ChecksumError, never silently
# accept a bad file.
ARCHIVES: dict[str, RemoteFileMetadata] = {
    "100k": RemoteFileMetadata(
        "ml-100k.zip",
        _BASE_URL + "ml-100k.zip",
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    ),
    "1m": RemoteFileMetadata(
        "ml-1m.zip",
        _BASE_URL + "ml-1m.zip",
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
    ),
    "latest-small": RemoteFileMetadata(
        "ml-latest-small.zip",
        _BASE_URL + "ml-latest-small.zip",
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    ),
}

# Folder inside the archive (and the data home), and the files the loader needs.
_LAYOUT: dict[str, tuple[str, tuple[str, ...]]] = {
    "100k": ("ml-100k", ("u.data", "u.item")),
    "1m": ("ml-1m", ("ratings.dat", "movies.dat")),
    "latest-small": ("ml-latest-small", ("ratings.csv", "movies.csv")),
}

# What the files of each archive hold; a local copy is checked against this before
# it is read. ml-100k: the members' SHA-256 as listed beside the archive's by the
# projects that pin it, equal to the copies in ../shared/data. ml-1m and
# ml-latest-small (2018-09 release): the line counts of their README (1,000,209
# ratings of 3,883 movies; 100,836 ratings, 9,742 movies and 3,683 tags, each
# .csv with a header line), no member hash being known here. Optional files
# (u.genre, tags.csv) are checked when present.
FILES: dict[str, dict[str, KnownFile]] = {
    "100k": {
        "u.data": KnownFile(
            100_000, "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490"
        ),
        "u.item": KnownFile(
            1_682, "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701"
        ),
        "u.genre": KnownFile(
            20, "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb"
        ),
    },
    "1m": {"ratings.dat": KnownFile(1_000_209), "movies.dat": KnownFile(3_883)},
    "latest-small": {
        "ratings.csv": KnownFile(100_837),
        "movies.csv": KnownFile(9_743),
        "tags.csv": KnownFile(3_684),
    },
}
_OPTIONAL = {"100k": ("u.genre",), "1m": (), "latest-small": ("tags.csv",)}

# The 19 genre flags of u.item, in column order; u.genre overrides when present.
_GENRES_100K = (
    "unknown Action Adventure Animation Children's Comedy Crime Documentary Drama Fantasy "
    "Film-Noir Horror Musical Mystery Romance Sci-Fi Thriller War Western"
).split()
# Placeholders that mean "no genre"; dropped from the genre lists.
_NO_GENRE = {"unknown", "(no genres listed)"}

_YEAR = r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$"


def load_movielens(
    variant: str = "100k",
    data_home: str | os.PathLike | None = None,
    download: bool = True,
    *,
    verbose: bool = False,
) -> Bunch:
    """Load a MovieLens rating dataset from GroupLens, downloading it once.

    A local copy is read when present, in the layout of the official archive
    (``<data_home>/ml-100k/u.data``, ``<data_home>/ml-1m/ratings.dat``,
    ``<data_home>/ml-latest-small/ratings.csv``, ...). Otherwise the official zip
    archive is downloaded into ``data_home``, its SHA-256 is checked against a
    table of known values, and it is extracted. A corrupt or truncated archive
    is deleted and reported with :class:`~skrec.datasets.ChecksumError`; it is
    never read.

    A local copy is checked before it is parsed: the ml-100k files against
    their known SHA-256, the ml-1m and ml-latest-small files against their
    known line counts (no hash of theirs is known). A file that fails, an
    empty, binary or garbled file, ratings out of range, or a catalogue
    (``u.item``, ``movies.dat``, ``movies.csv``) that lacks movies the ratings
    use raise a ``ValueError`` naming the file; the file is left in place.

    Parameters
    ----------
    variant : {"100k", "1m", "latest-small"}, default="100k"
        Which dataset: MovieLens 100K (943 users, 1,682 movies), MovieLens 1M
        (6,040 users, 3,706 rated movies) or the current small "latest" release
        (about 100,000 ratings and 3,600 tag applications).
    data_home : str or path-like, default=None
        Folder holding the datasets. ``None`` uses ``$SKREC_DATA`` when set, else
        ``~/skrec_data``.
    download : bool, default=True
        Download the archive when no local copy exists. With ``False``, a
        missing copy raises :class:`FileNotFoundError`.
    verbose : bool, default=False
        Show a progress bar while downloading.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with the fields:

        X : pandas.DataFrame of shape (n_ratings, 3)
            Columns ``user``, ``item`` (integer ids as in the files) and
            ``timestamp`` (Unix seconds), in file order.
        y : ndarray of shape (n_ratings,), dtype float64
            The ratings (1–5; half stars in ``"latest-small"``).
        item_text : pandas.Series
            Indexed by item id, one text per movie of the catalogue (including
            movies nobody rated): ``"Title (Year) | Genre1, Genre2"``, followed
            by ``" | tags: tag1, tag2"`` for ``"latest-small"`` movies with tags.
        item_info : pandas.DataFrame
            Indexed by item id: ``title`` (str), ``year`` (nullable int),
            ``genres`` (list of str) and, for ``"latest-small"``, ``tags``
            (list of str, distinct, in order of first use).
        DESCR : str
            Description of the dataset, its counts and its licence.

    Raises
    ------
    ValueError
        If ``variant`` is not one of the supported names, or a local file is
        not the known file (truncated, damaged, another release) or cannot be
        parsed; the message names the file.
    FileNotFoundError
        If there is no local copy and ``download=False``.
    ChecksumError
        If the downloaded (or already present) archive has the wrong SHA-256.
    OSError
        If the download fails.

    See Also
    --------
    load_sequences : Leave-one-out sequence files (``user item item ...``).
    make_interactions : Synthetic interactions with item text, offline.

    Notes
    -----
    The genre placeholders ``"unknown"`` (ml-100k) and ``"(no genres listed)"``
    are dropped from ``genres``; a movie without genres has text ``"Title
    (Year)"``. The MovieLens licence forbids redistribution: skrec downloads
    from GroupLens and never ships the data. Cite F. Maxwell Harper and Joseph
    A. Konstan, "The MovieLens Datasets: History and Context", ACM TiiS 5(4),
    2015.

    Examples
    --------
    >>> from skrec.datasets import load_movielens
    >>> data = load_movielens("100k")  # doctest: +SKIP
    >>> data.X.shape, data.y.shape  # doctest: +SKIP
    ((100000, 3), (100000,))
    >>> data.item_text[1]  # doctest: +SKIP
    "Toy Story (1995) | Animation, Children's, Comedy"
    """
    if variant not in _LAYOUT:
        raise ValueError(
            f"Unknown MovieLens variant {variant!r}; expected one of {sorted(_LAYOUT)}."
        )
    home = get_data_home(data_home)
    folder_name, required = _LAYOUT[variant]
    folder = home / folder_name
    if not all((folder / name).is_file() for name in required):
        remote = ARCHIVES[variant]
        if not download:
            raise FileNotFoundError(
                f"MovieLens {variant} not found: looked for {', '.join(required)} in {folder}. "
                f"Call load_movielens({variant!r}, download=True), or download {remote.url} "
                f"yourself and extract it into {home} (set $SKREC_DATA or data_home= to use "
                "another folder)."
            )
        fetch_archive(remote, folder_name, home, verbose=verbose)
        missing = [name for name in required if not (folder / name).is_file()]
        if missing:
            raise OSError(f"{remote.filename} was extracted but {folder} lacks {missing}.")

    files = _read_files(variant, folder)
    ratings, items = _READERS[variant](folder, files)
    _check_tables(variant, folder, ratings, items)
    X = pd.DataFrame(
        {
            "user": ratings["user"].to_numpy(np.int64),
            "item": ratings["item"].to_numpy(np.int64),
            "timestamp": ratings["timestamp"].to_numpy(np.int64),
        }
    )
    y = ratings["rating"].to_numpy(np.float64)
    items = _finish_items(items)
    return Bunch(
        X=X,
        y=y,
        item_text=_item_text(items),
        item_info=items,
        DESCR=_describe(variant, folder, X, y, items),
    )


def _read_files(variant: str, folder: Path) -> dict[str, bytes]:
    """The checked bytes of the files the reader of ``variant`` needs (and optional ones)."""
    remedy = (
        f"Delete {folder} and call load_movielens({variant!r}) to download a fresh copy of "
        f"{ARCHIVES[variant].url}."
    )
    files = {}
    for name, known in FILES[variant].items():
        path = folder / name
        if name in _OPTIONAL[variant] and not path.is_file():
            continue
        what = f"the {_TITLES[variant]} file {name}"
        data = read_data_file(path, what)
        check_known_file(data, path, known, what=what, remedy=remedy)
        files[name] = data
    return files


def _read_csv(
    path: Path, data: bytes, what: str, *, same_width: bool = False, **kwargs
) -> pd.DataFrame:
    """``pandas.read_csv`` of ``data``; a parse error becomes a ValueError naming ``path``.

    Missing fields are an error. Text columns read with ``keep_default_na=False``
    would fill a short row with empty strings, so ``same_width=True`` first
    checks that every row has as many fields as the first.
    """
    if same_width:
        sep = kwargs.get("sep", ",")
        quoting = kwargs.get("quoting", csv.QUOTE_MINIMAL)
        text = data.decode(kwargs.get("encoding", "utf-8"), errors="replace")
        widths = [len(row) for row in csv.reader(io.StringIO(text), delimiter=sep, quoting=quoting)]
        widths = [w for w in widths if w]  # blank lines
        short = [i for i, w in enumerate(widths) if w != widths[0]]
        if short:
            raise ValueError(
                f"{path} could not be read as {what}: row {short[0] + 1} has "
                f"{widths[short[0]]} fields, the first row {widths[0]} ({len(short):,} such rows)."
            )
    try:
        table = pd.read_csv(io.BytesIO(data), **kwargs)
    except (ValueError, pd.errors.ParserError) as exc:
        raise ValueError(f"{path} could not be read as {what}: {exc}") from exc
    if table.isna().to_numpy().any():
        row = int(np.flatnonzero(table.isna().to_numpy().any(axis=1))[0])
        raise ValueError(f"{path} could not be read as {what}: row {row + 1} has missing fields.")
    return table


def _read_100k(folder: Path, files: dict[str, bytes]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = _read_csv(
        folder / "u.data",
        files["u.data"],
        "tab-separated 'user item rating timestamp' integers",
        sep="\t",
        header=None,
        names=["user", "item", "rating", "timestamp"],
        dtype=np.int64,
    )
    names = list(_GENRES_100K)
    if "u.genre" in files:
        table = pd.read_csv(
            io.BytesIO(files["u.genre"]),
            sep="|",
            header=None,
            names=["name", "index"],
            encoding="latin-1",
        ).dropna()
        names = table.sort_values("index")["name"].astype(str).tolist()
    raw = _read_csv(
        folder / "u.item",
        files["u.item"],
        "the '|'-separated movie catalogue",
        same_width=True,
        sep="|",
        header=None,
        encoding="latin-1",
        quoting=csv.QUOTE_NONE,
        dtype=str,
        keep_default_na=False,
    )
    n_flags = raw.shape[1] - 5
    if n_flags != len(names):
        raise ValueError(
            f"{folder / 'u.item'} has {n_flags} genre flags but {len(names)} genre names "
            "are known (u.genre); is the file damaged?"
        )
    flags = raw.iloc[:, 5:].to_numpy() == "1"
    genres = [[names[j] for j in np.flatnonzero(row)] for row in flags]
    items = pd.DataFrame(
        {
            "item": _integer_ids(raw[0], folder / "u.item"),
            "title": raw[1].str.strip(),
            "genres": genres,
        }
    )
    return ratings, items


def _integer_ids(column: pd.Series, path: Path) -> np.ndarray:
    try:
        return column.astype(np.int64).to_numpy()
    except ValueError as exc:
        raise ValueError(f"{path}: the first column must hold integer movie ids ({exc}).") from exc


def _read_double_colon(path: Path, data: bytes, names: list[str], dtype, what: str) -> pd.DataFrame:
    # '::' needs pandas' slow python engine; a tab never occurs in these files, so
    # swapping the separator keeps the fast C parser.
    return _read_csv(
        path,
        data.replace(b"::", b"\t"),
        what,
        same_width=True,
        sep="\t",
        header=None,
        names=names,
        dtype=dtype,
        encoding="latin-1",
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
    )


def _read_1m(folder: Path, files: dict[str, bytes]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = _read_double_colon(
        folder / "ratings.dat",
        files["ratings.dat"],
        ["user", "item", "rating", "timestamp"],
        np.int64,
        "'user::item::rating::timestamp' integers",
    )
    movies = _read_double_colon(
        folder / "movies.dat",
        files["movies.dat"],
        ["item", "title", "genres"],
        str,
        "the 'item::title::genres' movie catalogue",
    )
    items = pd.DataFrame(
        {
            "item": _integer_ids(movies["item"], folder / "movies.dat"),
            "title": movies["title"].str.strip(),
            "genres": _split_genres(movies["genres"]),
        }
    )
    return ratings, items


def _read_latest_small(folder: Path, files: dict[str, bytes]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = _read_csv(
        folder / "ratings.csv",
        files["ratings.csv"],
        "the 'userId,movieId,rating,timestamp' ratings",
        dtype={"userId": np.int64, "movieId": np.int64, "rating": np.float64},
    ).rename(columns={"userId": "user", "movieId": "item"})
    movies = _read_csv(
        folder / "movies.csv",
        files["movies.csv"],
        "the 'movieId,title,genres' movie catalogue",
        same_width=True,
        dtype={"movieId": np.int64},
        keep_default_na=False,
    )
    items = pd.DataFrame(
        {
            "item": movies["movieId"].to_numpy(np.int64),
            "title": movies["title"].astype(str).str.strip(),
            "genres": _split_genres(movies["genres"]),
        }
    )
    tags: dict[int, list[str]] = {}
    if "tags.csv" in files:
        table = _read_csv(
            folder / "tags.csv",
            files["tags.csv"],
            "the 'userId,movieId,tag,timestamp' tags",
            same_width=True,
            dtype={"movieId": np.int64},
            keep_default_na=False,
        )
        for item, tag in zip(table["movieId"].tolist(), table["tag"].astype(str).tolist()):
            tag = tag.strip()
            if not tag:
                continue
            seen = tags.setdefault(item, [])
            if tag.lower() not in (t.lower() for t in seen):
                seen.append(tag)
    items["tags"] = [tags.get(item, []) for item in items["item"].tolist()]
    return ratings, items


def _check_tables(variant: str, folder: Path, ratings: pd.DataFrame, items: pd.DataFrame):
    """Refuse columns of the wrong type, ratings out of range and an incomplete catalogue."""
    ratings_name, catalogue_name = _LAYOUT[variant][1]
    path = folder / ratings_name
    expected = ["user", "item", "rating", "timestamp"]
    if sorted(ratings.columns) != sorted(expected):
        raise ValueError(f"{path} has columns {list(ratings.columns)}, expected {expected}.")
    for column in ("user", "item", "timestamp"):
        if not pd.api.types.is_integer_dtype(ratings[column]):
            raise ValueError(f"{path}: the {column} column must hold integers.")
    low, high = (0.5, 5.0) if variant == "latest-small" else (1.0, 5.0)
    bad = ~ratings["rating"].between(low, high)
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        raise ValueError(
            f"{path}: ratings must lie in [{low:g}, {high:g}]; row {rows[0] + 1} has "
            f"{ratings['rating'].iloc[rows[0]]!r} ({len(rows):,} such rows). Is the file garbled?"
        )
    catalogue = folder / catalogue_name
    duplicated = items["item"][items["item"].duplicated()].unique()
    if len(duplicated):
        raise ValueError(
            f"{catalogue} lists movie ids more than once: {duplicated[:5].tolist()}"
            f"{' and more' if len(duplicated) > 5 else ''}."
        )
    missing = np.setdiff1d(ratings["item"].unique(), items["item"].to_numpy())
    if len(missing):
        raise ValueError(
            f"{catalogue} lacks {len(missing):,} movies that {ratings_name} rates, e.g. "
            f"{missing[:5].tolist()}: the catalogue is incomplete or does not belong to "
            f"these ratings."
        )


def _split_genres(column: pd.Series) -> list[list[str]]:
    return [[g for g in str(s).split("|") if g and g not in _NO_GENRE] for s in column]


_READERS = {"100k": _read_100k, "1m": _read_1m, "latest-small": _read_latest_small}


def _finish_items(items: pd.DataFrame) -> pd.DataFrame:
    items = items.copy()
    items["genres"] = [[g for g in gs if g not in _NO_GENRE] for gs in items["genres"]]
    year = items["title"].str.extract(_YEAR, expand=False)
    items.insert(2, "year", pd.to_numeric(year, errors="coerce").astype("Int64"))
    return items.set_index("item")


def _item_text(items: pd.DataFrame) -> pd.Series:
    has_tags = "tags" in items.columns
    tags = items["tags"].tolist() if has_tags else [None] * len(items)
    texts = []
    for title, genres, tag_list in zip(items["title"].tolist(), items["genres"].tolist(), tags):
        parts = [title]
        if genres:
            parts.append(", ".join(genres))
        if tag_list:
            parts.append("tags: " + ", ".join(tag_list))
        texts.append(" | ".join(parts))
    return pd.Series(texts, index=items.index.copy(), name="item_text")


_TITLES = {
    "100k": "MovieLens 100K",
    "1m": "MovieLens 1M",
    "latest-small": "MovieLens Latest Small",
}


def _describe(variant: str, folder: Path, X: pd.DataFrame, y: np.ndarray, items) -> str:
    title = _TITLES[variant]
    rating_range = f"{y.min():g} to {y.max():g}" if len(y) else "-"
    tags = ", tags" if variant == "latest-small" else ""
    return (
        f"{title}\n{'=' * len(title)}\n\n"
        f"{len(X):,} ratings ({rating_range}) from {X['user'].nunique():,} users on "
        f"{X['item'].nunique():,} movies (catalogue: {len(items):,} movies), read from "
        f"{folder}. Source: {ARCHIVES[variant].url}\n\n"
        "X: DataFrame[user, item, timestamp] (timestamps in Unix seconds); y: ratings "
        "(float); item_text: 'Title (Year) | Genre1, Genre2' per movie; item_info: title, "
        f"year, genres{tags}.\n\n"
        "Collected by GroupLens Research (University of Minnesota). The licence allows "
        "research use and forbids redistribution; see the README in the archive.\n"
        "Cite: F. M. Harper and J. A. Konstan. The MovieLens Datasets: History and "
        "Context. ACM Transactions on Interactive Intelligent Systems 5(4), 2015.\n"
    )
