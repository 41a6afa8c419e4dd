"""MovieLens loaders: ml-100k, ml-1m and ml-latest-small from GroupLens."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from skrec.datasets._base import RemoteFileMetadata, fetch_archive, get_data_home

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
        If ``variant`` is not one of the supported names.
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

    ratings, items = _READERS[variant](folder)
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


def _read_100k(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = pd.read_csv(
        folder / "u.data",
        sep="\t",
        header=None,
        names=["user", "item", "rating", "timestamp"],
        dtype=np.int64,
    )
    genre_file = folder / "u.genre"
    names = list(_GENRES_100K)
    if genre_file.is_file():
        table = pd.read_csv(
            genre_file, sep="|", header=None, names=["name", "index"], encoding="latin-1"
        ).dropna()
        names = table.sort_values("index")["name"].astype(str).tolist()
    raw = pd.read_csv(
        folder / "u.item",
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
        {"item": raw[0].astype(np.int64), "title": raw[1].str.strip(), "genres": genres}
    )
    return ratings, items


def _read_double_colon(path: Path, names: list[str], dtype) -> pd.DataFrame:
    # '::' needs pandas' slow python engine; a tab never occurs in these files, so
    # swapping the separator keeps the fast C parser.
    text = path.read_bytes().replace(b"::", b"\t")
    return pd.read_csv(
        io.BytesIO(text),
        sep="\t",
        header=None,
        names=names,
        dtype=dtype,
        encoding="latin-1",
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
    )


def _read_1m(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = _read_double_colon(
        folder / "ratings.dat", ["user", "item", "rating", "timestamp"], np.int64
    )
    movies = _read_double_colon(folder / "movies.dat", ["item", "title", "genres"], str)
    items = pd.DataFrame(
        {
            "item": movies["item"].astype(np.int64),
            "title": movies["title"].str.strip(),
            "genres": _split_genres(movies["genres"]),
        }
    )
    return ratings, items


def _read_latest_small(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    ratings = pd.read_csv(
        folder / "ratings.csv",
        dtype={"userId": np.int64, "movieId": np.int64, "rating": np.float64},
    ).rename(columns={"userId": "user", "movieId": "item"})
    movies = pd.read_csv(folder / "movies.csv", dtype={"movieId": np.int64}, keep_default_na=False)
    items = pd.DataFrame(
        {
            "item": movies["movieId"].to_numpy(np.int64),
            "title": movies["title"].astype(str).str.strip(),
            "genres": _split_genres(movies["genres"]),
        }
    )
    tags_file = folder / "tags.csv"
    tags: dict[int, list[str]] = {}
    if tags_file.is_file():
        table = pd.read_csv(tags_file, dtype={"movieId": np.int64}, keep_default_na=False)
        for item, tag in zip(table["movieId"].tolist(), table["tag"].astype(str).tolist()):
            tag = tag.strip()
            if not tag:
                continue
            seen = tags.setdefault(item, [])
            if tag.lower() not in (t.lower() for t in seen):
                seen.append(tag)
    items["tags"] = [tags.get(item, []) for item in items["item"].tolist()]
    return ratings, items


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
