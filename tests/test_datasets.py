"""Tests of skrec.datasets: loaders on small files in the official formats, the
download/checksum path with local bytes only, the synthetic generator, and
integration tests on real data when ``$SKREC_DATA`` holds it."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skrec.datasets import (
    ChecksumError,
    _base,
    _movielens,
    _sequences,
    get_data_home,
    load_movielens,
    load_sequences,
    make_interactions,
)
from skrec.datasets._base import KnownFile, RemoteFileMetadata, count_lines

# --------------------------------------------------------------------------- #
# Small files in the official formats
# --------------------------------------------------------------------------- #

_GENRES = (
    "unknown Action Adventure Animation Children's Comedy Crime Documentary Drama Fantasy "
    "Film-Noir Horror Musical Mystery Romance Sci-Fi Thriller War Western"
).split()


def _flags(*names):
    return "|".join("1" if g in names else "0" for g in _GENRES)


def _write_100k(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text(
        "196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n"
        "196\t302\t5\t881251000\n"
    )
    lines = [
        f"242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|"
        f"{_flags('Comedy')}",
        f"302|L.A. Confidential (1997)|01-Jan-1997||http://x|{_flags('Crime', 'Film-Noir')}",
        "377|Heavyweights (1994)|01-Jan-1994||http://x|" + _flags("Children's", "Comedy"),
        f"267|unknown||||{_flags('unknown')}",
        f'500|Caf\xe9 "Noir" (1995)|01-Jan-1995||http://x|{_flags("Drama")}',
    ]
    (folder / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(_GENRES)) + "\n")


def _write_1m(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.dat").write_text(
        "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n"
    )
    (folder / "movies.dat").write_bytes(
        (
            "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
            "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
            "3::Bient\xf4t l'\xe9t\xe9 (1999)::Comedy|Drama\n"
        ).encode("latin-1")
    )


def _write_latest_small(folder: Path, tags: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n"
        "2,1,2.5,1445714835\n"
    )
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '3,"American President, The (1995)",Comedy|Drama|Romance\n'
        "7,Babylon 5,(no genres listed)\n"
    )
    if tags:
        (folder / "tags.csv").write_text(
            "userId,movieId,tag,timestamp\n2,1,pixar,1445714994\n2,1,fun,1445714996\n"
            "5,1,Pixar,1445715000\n"
        )


_WRITERS = {"100k": _write_100k, "1m": _write_1m, "latest-small": _write_latest_small}
_FOLDERS = {"100k": "ml-100k", "1m": "ml-1m", "latest-small": "ml-latest-small"}


def _zip_bytes(tmp_path: Path, variant: str) -> bytes:
    src = tmp_path / "src"
    _WRITERS[variant](src / _FOLDERS[variant])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted((src / _FOLDERS[variant]).iterdir()):
            zf.write(path, f"{_FOLDERS[variant]}/{path.name}")
    return buf.getvalue()


def _describe(folder: Path, *, with_hash: bool = True) -> dict[str, KnownFile]:
    """What the loaders should know about the files in ``folder``."""
    known = {}
    for path in folder.iterdir():
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest() if with_hash else None
        known[path.name] = KnownFile(count_lines(data), sha)
    return known


@pytest.fixture
def small_files(tmp_path_factory, monkeypatch):
    """Make the loaders trust this module's small files as they trust the official ones.

    Each variant's table of known files (``FILES``) describes the small files
    the ``_write_*`` helpers write, by SHA-256; the real table stays untouched
    outside the test.
    """
    src = tmp_path_factory.mktemp("small")
    for variant, write in _WRITERS.items():
        write(src / _FOLDERS[variant])
        monkeypatch.setitem(_movielens.FILES, variant, _describe(src / _FOLDERS[variant]))


def _trust_line_counts(monkeypatch, variant: str, folder: Path) -> None:
    """Know the files of ``folder`` by their line counts only (as for ml-1m)."""
    monkeypatch.setitem(_movielens.FILES, variant, _describe(folder, with_hash=False))


class _FakeResponse(io.BytesIO):
    def __init__(self, payload: bytes, length: int | None = None):
        super().__init__(payload)
        self.headers = {"Content-Length": str(length if length is not None else len(payload))}


def _serve(monkeypatch, payload: bytes, *, length=None) -> list[str]:
    """Make the downloader receive ``payload``; return the list of requested URLs."""
    calls: list[str] = []

    def fake_urlopen(url, timeout=None):
        calls.append(url)
        return _FakeResponse(payload, length)

    monkeypatch.setattr(_base, "urlopen", fake_urlopen)
    return calls


def _no_network(monkeypatch) -> None:
    def fail(url, timeout=None):
        raise AssertionError(f"unexpected download of {url}")

    monkeypatch.setattr(_base, "urlopen", fail)


def _set_remote(monkeypatch, variant: str, sha256: str) -> None:
    old = _movielens.ARCHIVES[variant]
    monkeypatch.setitem(
        _movielens.ARCHIVES, variant, RemoteFileMetadata(old.filename, old.url, sha256)
    )


# --------------------------------------------------------------------------- #
# MovieLens from local copies
# --------------------------------------------------------------------------- #


@pytest.mark.usefixtures("small_files")
def test_load_movielens_100k_local(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    _write_100k(tmp_path / "ml-100k")
    data = load_movielens("100k", data_home=tmp_path)
    assert set(data) >= {"X", "y", "item_text", "item_info", "DESCR"}
    assert list(data.X.columns) == ["user", "item", "timestamp"]
    assert all(dt == np.int64 for dt in data.X.dtypes)
    assert data.X.iloc[0].tolist() == [196, 242, 881250949]
    assert data.y.dtype == np.float64
    np.testing.assert_array_equal(data.y, [3.0, 3.0, 1.0, 5.0])
    text = data.item_text
    assert len(text) == 5 and text.index.dtype == np.int64
    assert text[242] == "Kolya (1996) | Comedy"
    assert text[302] == "L.A. Confidential (1997) | Crime, Film-Noir"
    assert text[267] == "unknown"  # the 'unknown' genre placeholder is dropped
    assert text[500] == 'Caf\xe9 "Noir" (1995) | Drama'  # latin-1, quote kept
    info = data.item_info
    assert info.loc[302, "genres"] == ["Crime", "Film-Noir"]
    assert info.loc[302, "year"] == 1997 and pd.isna(info.loc[267, "year"])
    assert "MovieLens 100K" in data.DESCR and "4 ratings" in data.DESCR


@pytest.mark.usefixtures("small_files")
def test_load_movielens_100k_without_genre_file(tmp_path):
    _write_100k(tmp_path / "ml-100k")
    (tmp_path / "ml-100k" / "u.genre").unlink()
    data = load_movielens("100k", data_home=tmp_path, download=False)
    assert data.item_text[302] == "L.A. Confidential (1997) | Crime, Film-Noir"


@pytest.mark.usefixtures("small_files")
def test_load_movielens_1m_local(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    _write_1m(tmp_path / "ml-1m")
    data = load_movielens("1m", data_home=tmp_path)
    assert data.X.shape == (3, 3)
    assert data.X["item"].tolist() == [1193, 661, 1193]
    np.testing.assert_array_equal(data.y, [5.0, 3.0, 4.0])
    assert data.item_text[661] == (
        "James and the Giant Peach (1996) | Animation, Children's, Musical"
    )
    assert data.item_text[3] == "Bient\xf4t l'\xe9t\xe9 (1999) | Comedy, Drama"
    assert data.item_info.loc[1193, "year"] == 1975


@pytest.mark.usefixtures("small_files")
def test_load_movielens_latest_small_local(tmp_path, monkeypatch):
    _no_network(monkeypatch)
    _write_latest_small(tmp_path / "ml-latest-small")
    data = load_movielens("latest-small", data_home=tmp_path)
    np.testing.assert_array_equal(data.y, [4.0, 4.5, 2.5])
    assert data.item_text[1] == (
        "Toy Story (1995) | Adventure, Animation, Children, Comedy, Fantasy | tags: pixar, fun"
    )
    assert data.item_text[3] == "American President, The (1995) | Comedy, Drama, Romance"
    assert data.item_text[7] == "Babylon 5"  # no genres, no year, no tags
    assert data.item_info.loc[1, "tags"] == ["pixar", "fun"]
    assert data.item_info.loc[7, "genres"] == []


@pytest.mark.usefixtures("small_files")
def test_load_movielens_latest_small_without_tags(tmp_path):
    _write_latest_small(tmp_path / "ml-latest-small", tags=False)
    data = load_movielens("latest-small", data_home=tmp_path, download=False)
    assert "tags" not in data.item_text[1]


@pytest.mark.usefixtures("small_files")
def test_data_home_from_environment(tmp_path, monkeypatch):
    _write_100k(tmp_path / "env" / "ml-100k")
    monkeypatch.setenv("SKREC_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert len(load_movielens(download=False).X) == 4
    # an explicit data_home wins over the environment
    assert get_data_home(tmp_path / "other") == tmp_path / "other"
    with pytest.raises(FileNotFoundError):
        load_movielens(data_home=tmp_path / "other", download=False)


def test_data_home_default(monkeypatch):
    monkeypatch.delenv("SKREC_DATA", raising=False)
    assert get_data_home() == Path("~/skrec_data").expanduser()


def test_missing_without_download_names_folder_and_url(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_movielens("1m", data_home=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "ml-1m") in message
    assert "ratings.dat" in message
    assert "https://files.grouplens.org/datasets/movielens/ml-1m.zip" in message
    assert not (tmp_path / "ml-1m").exists()


def test_unknown_variant(tmp_path):
    with pytest.raises(ValueError, match="'25m'"):
        load_movielens("25m", data_home=tmp_path)


def test_checksum_table_is_complete():
    for remote in _movielens.ARCHIVES.values():
        assert remote.url.endswith(remote.filename)
        assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0
    assert set(_movielens.ARCHIVES) == {"100k", "1m", "latest-small"}


# --------------------------------------------------------------------------- #
# Download path, served from local bytes
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("variant", ["100k", "1m", "latest-small"])
@pytest.mark.usefixtures("small_files")
def test_download_verifies_and_extracts(tmp_path, monkeypatch, variant):
    payload = _zip_bytes(tmp_path, variant)
    _set_remote(monkeypatch, variant, hashlib.sha256(payload).hexdigest())
    calls = _serve(monkeypatch, payload)
    home = tmp_path / "home"
    data = load_movielens(variant, data_home=home)
    assert calls == [_movielens.ARCHIVES[variant].url]
    assert len(data.X) == {"100k": 4, "1m": 3, "latest-small": 3}[variant]
    # extracted in place; no archive, no temporary files left behind
    assert sorted(p.name for p in home.iterdir()) == [_FOLDERS[variant]]
    # the second call reads the local copy
    _no_network(monkeypatch)
    again = load_movielens(variant, data_home=home)
    pd.testing.assert_frame_equal(again.X, data.X)


@pytest.mark.usefixtures("small_files")
def test_download_from_file_url(tmp_path, monkeypatch):
    """The real urlopen, fed a file:// URL."""
    payload = _zip_bytes(tmp_path, "100k")
    archive = tmp_path / "served.zip"
    archive.write_bytes(payload)
    monkeypatch.setitem(
        _movielens.ARCHIVES,
        "100k",
        RemoteFileMetadata("ml-100k.zip", archive.as_uri(), hashlib.sha256(payload).hexdigest()),
    )
    data = load_movielens("100k", data_home=tmp_path / "home", verbose=True)
    assert len(data.item_text) == 5


def test_corrupt_download_is_deleted_and_reported(tmp_path, monkeypatch):
    payload = _zip_bytes(tmp_path, "100k")
    expected = "0" * 64
    _set_remote(monkeypatch, "100k", expected)
    _serve(monkeypatch, payload)
    home = tmp_path / "home"
    with pytest.raises(ChecksumError) as info:
        load_movielens("100k", data_home=home)
    message = str(info.value)
    assert str(home / "ml-100k.zip") in message
    assert expected in message
    assert hashlib.sha256(payload).hexdigest() in message
    assert isinstance(info.value, OSError)
    assert list(home.iterdir()) == []  # neither the archive nor a partial file


def test_truncated_download_is_deleted_and_reported(tmp_path, monkeypatch):
    payload = _zip_bytes(tmp_path, "100k")
    _set_remote(monkeypatch, "100k", hashlib.sha256(payload).hexdigest())
    truncated = payload[: len(payload) // 2]
    _serve(monkeypatch, truncated, length=len(payload))
    home = tmp_path / "home"
    with pytest.raises(ChecksumError, match="ml-100k.zip") as info:
        load_movielens("100k", data_home=home)
    assert hashlib.sha256(truncated).hexdigest() in str(info.value)
    assert list(home.iterdir()) == []


def test_corrupt_archive_already_in_data_home(tmp_path, monkeypatch):
    payload = _zip_bytes(tmp_path, "1m")
    _set_remote(monkeypatch, "1m", hashlib.sha256(payload).hexdigest())
    _no_network(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    (home / "ml-1m.zip").write_bytes(payload[:-10])
    with pytest.raises(ChecksumError, match="ml-1m.zip"):
        load_movielens("1m", data_home=home)
    assert not (home / "ml-1m.zip").exists()
    assert not (home / "ml-1m").exists()


@pytest.mark.usefixtures("small_files")
def test_valid_archive_already_in_data_home(tmp_path, monkeypatch):
    payload = _zip_bytes(tmp_path, "1m")
    _set_remote(monkeypatch, "1m", hashlib.sha256(payload).hexdigest())
    _no_network(monkeypatch)
    home = tmp_path / "home"
    home.mkdir()
    (home / "ml-1m.zip").write_bytes(payload)
    data = load_movielens("1m", data_home=home)
    assert data.X.shape == (3, 3)
    assert not (home / "ml-1m.zip").exists()


def test_network_failure_names_url(tmp_path, monkeypatch):
    def offline(url, timeout=None):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(_base, "urlopen", offline)
    with pytest.raises(OSError, match="ml-100k.zip") as info:
        load_movielens("100k", data_home=tmp_path)
    assert "Network is unreachable" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_archive_without_expected_folder(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("something-else/u.data", "1\t1\t1\t1\n")
    payload = buf.getvalue()
    _set_remote(monkeypatch, "100k", hashlib.sha256(payload).hexdigest())
    _serve(monkeypatch, payload)
    with pytest.raises(OSError, match="ml-100k/"):
        load_movielens("100k", data_home=tmp_path)


def test_archive_with_unsafe_member(tmp_path, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.txt", "x")
    payload = buf.getvalue()
    _set_remote(monkeypatch, "100k", hashlib.sha256(payload).hexdigest())
    _serve(monkeypatch, payload)
    home = tmp_path / "home"
    with pytest.raises(OSError, match="unsafe"):
        load_movielens("100k", data_home=home)
    assert not (tmp_path / "evil.txt").exists()


# --------------------------------------------------------------------------- #
# Local copies that are not the dataset they claim to be
# --------------------------------------------------------------------------- #


def _synthetic_u_data(n_lines: int) -> str:
    rng = np.random.default_rng(0)
    rows = zip(rng.integers(1, 944, n_lines), rng.integers(1, 1683, n_lines))
    return "".join(f"{u}\t{i}\t4\t88125{k:04d}\n" for k, (u, i) in enumerate(rows))


def test_truncated_u_data_is_refused(tmp_path):
    """1,000 of MovieLens 100K's 100,000 lines: refused against the real table, by name."""
    folder = tmp_path / "ml-100k"
    _write_100k(folder)
    (folder / "u.data").write_text(_synthetic_u_data(1_000))
    with pytest.raises(ValueError) as info:
        load_movielens("100k", data_home=tmp_path, download=False)
    message = str(info.value)
    assert str(folder / "u.data") in message
    assert "1,000 lines, expected 100,000" in message and "truncated" in message
    assert "ml-100k.zip" in message  # where a good copy comes from
    assert (folder / "u.data").is_file()  # a local copy is never deleted


def test_local_copy_matching_known_hash_is_used(tmp_path, monkeypatch):
    folder = tmp_path / "ml-100k"
    _write_100k(folder)
    known = _describe(folder)
    monkeypatch.setitem(_movielens.FILES, "100k", known)
    assert len(load_movielens("100k", data_home=tmp_path, download=False).X) == 4
    # one changed byte, same line count: the hash refuses it
    path = folder / "u.data"
    path.write_text(path.read_text().replace("881250949", "881250948"))
    with pytest.raises(ValueError, match="SHA-256") as info:
        load_movielens("100k", data_home=tmp_path, download=False)
    assert str(path) in str(info.value) and "damaged" in str(info.value)


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "is empty"), (b"\n  \n", "is empty"), (b"PK\x03\x04\x00\x00binary", "binary")],
    ids=["empty", "blank", "binary"],
)
@pytest.mark.parametrize("name", ["u.data", "u.item"])
@pytest.mark.usefixtures("small_files")
def test_empty_or_binary_movielens_file(tmp_path, name, content, match):
    folder = tmp_path / "ml-100k"
    _write_100k(folder)
    (folder / name).write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        load_movielens("100k", data_home=tmp_path, download=False)
    assert str(folder / name) in str(info.value)


@pytest.mark.parametrize(
    ("u_data", "match"),
    [
        ("196\t242\t3\t881250949\n186\t302\tthree\t891717742\n", "could not be read"),
        ("196\t242\t3\t881250949\n186\t302\t3\n", "NA values"),
        ("196\t242\t3\t881250949\t7\n186\t302\t3\t891717742\n", "could not be read"),
        ("196\t242\t881250949\t3\n186\t302\t891717742\t3\n", "ratings must lie in"),
    ],
    ids=["text-field", "short-row", "long-row", "columns-swapped"],
)
def test_garbled_ratings_file(tmp_path, monkeypatch, u_data, match):
    """Files known only by their line counts (as ml-1m's are) are still parsed strictly."""
    folder = tmp_path / "ml-100k"
    _write_100k(folder)
    (folder / "u.data").write_text(u_data)
    _trust_line_counts(monkeypatch, "100k", folder)
    with pytest.raises(ValueError, match=match) as info:
        load_movielens("100k", data_home=tmp_path, download=False)
    assert str(folder / "u.data") in str(info.value)


def test_garbled_catalogue_file(tmp_path, monkeypatch):
    folder = tmp_path / "ml-100k"
    _write_100k(folder)
    lines = (folder / "u.item").read_bytes().splitlines(keepends=True)
    (folder / "u.item").write_bytes(b"".join(lines[:2]) + b"377|Heavyweights\n" + lines[3])
    _trust_line_counts(monkeypatch, "100k", folder)
    with pytest.raises(ValueError, match="row 3 has 2 fields, the first row 24") as info:
        load_movielens("100k", data_home=tmp_path, download=False)
    assert str(folder / "u.item") in str(info.value)


@pytest.mark.parametrize("variant", ["100k", "1m", "latest-small"])
def test_catalogue_missing_rated_items_is_refused(tmp_path, monkeypatch, variant):
    """A catalogue that lacks movies the ratings use is not accepted silently."""
    folder = tmp_path / _FOLDERS[variant]
    _WRITERS[variant](folder)
    catalogue = {"100k": "u.item", "1m": "movies.dat", "latest-small": "movies.csv"}[variant]
    dropped = {"100k": b"377|", "1m": b"661::", "latest-small": b"3,"}[variant]
    path = folder / catalogue
    kept = [line for line in path.read_bytes().splitlines(True) if not line.startswith(dropped)]
    path.write_bytes(b"".join(kept))
    _trust_line_counts(monkeypatch, variant, folder)
    with pytest.raises(ValueError, match="lacks 1 movies") as info:
        load_movielens(variant, data_home=tmp_path, download=False)
    message = str(info.value)
    assert str(path) in message
    assert dropped.decode().strip("|:,") in message


def test_line_counts_refuse_a_truncated_file_without_hash(tmp_path, monkeypatch):
    """ml-1m and ml-latest-small are known by line counts: one line short is refused."""
    folder = tmp_path / "ml-1m"
    _write_1m(folder)
    _trust_line_counts(monkeypatch, "1m", folder)
    path = folder / "ratings.dat"
    path.write_bytes(b"".join(path.read_bytes().splitlines(True)[:-1]))
    with pytest.raises(ValueError, match="2 lines, expected 3") as info:
        load_movielens("1m", data_home=tmp_path, download=False)
    assert str(path) in str(info.value)


def test_known_file_table_covers_every_file_read():
    for variant, (_, required) in _movielens._LAYOUT.items():
        assert set(required) <= set(_movielens.FILES[variant])
        for known in _movielens.FILES[variant].values():
            assert known.n_lines > 0
            assert known.sha256 is None or len(known.sha256) == 64


# --------------------------------------------------------------------------- #
# Sequence files
# --------------------------------------------------------------------------- #


def test_load_sequences(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 10 11 12\n\n2 11 13\n   \n3 10\n")
    data = load_sequences(path)
    assert data.y is None and data.item_text is None
    assert data.X["user"].tolist() == [1, 1, 1, 2, 2, 3]
    assert data.X["item"].tolist() == [10, 11, 12, 11, 13, 10]
    assert data.X["timestamp"].tolist() == [0, 1, 2, 0, 1, 0]
    assert all(dt == np.int64 for dt in data.X.dtypes)
    assert "6 interactions of 3 users with 4 items" in data.DESCR


def test_load_sequences_string_ids(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("alice B01 007 7\nbob 7 B01\n")
    X = load_sequences(str(path)).X
    assert X["user"].tolist() == ["alice"] * 3 + ["bob"] * 2
    # "007" and "7" stay distinct ids
    assert X["item"].tolist() == ["B01", "007", "7", "7", "B01"]


def test_load_sequences_user_without_items(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 10 11\n\n3\n4 5\n")
    with pytest.raises(ValueError, match="line 3") as info:
        load_sequences(path)
    assert "'3'" in str(info.value) and str(path) in str(info.value)


def test_load_sequences_user_twice(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 10 11\n2 5\n1 12\n")
    with pytest.raises(ValueError, match=r"line 3.*line 1"):
        load_sequences(path)


def test_load_sequences_empty_or_missing(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("\n \n")
    with pytest.raises(ValueError, match="is empty"):
        load_sequences(path)
    with pytest.raises(FileNotFoundError):
        load_sequences(tmp_path / "nope.txt")


@pytest.mark.parametrize(
    ("content", "match"),
    [(b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"), (b"1 \xff\xfe 2\n", "utf-8")],
    ids=["empty", "binary", "not-utf8"],
)
def test_load_sequences_bad_file(tmp_path, content, match):
    path = tmp_path / "seq.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as info:
        load_sequences(path)
    assert str(path) in str(info.value)


def test_load_sequences_unknown_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        load_sequences("Beauty.txt")
    assert "'beauty'" in str(info.value) and "'yelp'" in str(info.value)


def _sequence_lines(n_users: int) -> bytes:
    return "".join(f"{u} {u + 1} {u + 2} {u + 3}\n" for u in range(1, n_users + 1)).encode()


def _know_sequences(monkeypatch, name: str, payload: bytes, *, with_hash: bool = True):
    dataset = _sequences.SEQUENCE_DATASETS[name]
    sha = hashlib.sha256(payload).hexdigest() if with_hash else None
    known = KnownFile(count_lines(payload), sha, len(payload))
    monkeypatch.setitem(_sequences.SEQUENCE_DATASETS, name, dataset._replace(known=known))


@pytest.mark.parametrize("name", ["beauty", "toys", "sports", "yelp"])
def test_known_sequences_from_data_home(tmp_path, monkeypatch, name):
    _no_network(monkeypatch)
    dataset = _sequences.SEQUENCE_DATASETS[name]
    payload = _sequence_lines(5)
    _know_sequences(monkeypatch, name, payload, with_hash=name in ("beauty", "toys"))
    (tmp_path / dataset.folder).mkdir()
    (tmp_path / dataset.folder / dataset.filename).write_bytes(payload)
    data = load_sequences(name, data_home=tmp_path)
    assert data.X.shape == (15, 3)
    assert dataset.title in data.DESCR
    monkeypatch.setenv("SKREC_DATA", str(tmp_path))
    pd.testing.assert_frame_equal(load_sequences(name).X, data.X)


@pytest.mark.parametrize("name", ["beauty", "sports"])
def test_truncated_known_sequences_are_refused(tmp_path, name):
    """A local Beauty (SHA-256 known) or Sports (size and lines known) cut short."""
    dataset = _sequences.SEQUENCE_DATASETS[name]
    path = tmp_path / dataset.folder / dataset.filename
    path.parent.mkdir()
    path.write_bytes(_sequence_lines(1_000))
    with pytest.raises(ValueError) as info:
        load_sequences(name, data_home=tmp_path)
    message = str(info.value)
    assert str(path) in message and "truncated" in message
    assert f"1,000 lines, expected {dataset.known.n_lines:,}" in message
    assert path.is_file()


def test_known_sequences_missing_without_download(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_sequences("toys", data_home=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "amazon-toys" / "Toys_and_Games.txt") in message
    assert "raw.githubusercontent.com/salesforce/ICLRec/" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("with_hash", [True, False], ids=["sha256", "size-and-lines"])
def test_known_sequences_download(tmp_path, monkeypatch, with_hash):
    payload = _sequence_lines(6)
    _know_sequences(monkeypatch, "yelp", payload, with_hash=with_hash)
    calls = _serve(monkeypatch, payload)
    data = load_sequences("yelp", data_home=tmp_path / "home", verbose=True)
    assert len(calls) == 1 and calls[0].endswith("/data/Yelp.txt")
    assert calls[0].startswith(_sequences._ICLREC)
    assert data.X.shape == (18, 3)
    assert sorted(p.name for p in (tmp_path / "home" / "yelp").iterdir()) == ["Yelp.txt"]
    _no_network(monkeypatch)
    pd.testing.assert_frame_equal(load_sequences("yelp", data_home=tmp_path / "home").X, data.X)


@pytest.mark.parametrize("with_hash", [True, False], ids=["sha256", "size-and-lines"])
def test_truncated_sequence_download_is_deleted(tmp_path, monkeypatch, with_hash):
    payload = _sequence_lines(6)
    _know_sequences(monkeypatch, "sports", payload, with_hash=with_hash)
    _serve(monkeypatch, payload[:-20], length=len(payload))
    home = tmp_path / "home"
    with pytest.raises(ChecksumError, match="Sports_and_Outdoors.txt"):
        load_sequences("sports", data_home=home)
    assert list((home / "amazon-sports").iterdir()) == []


def test_sequence_table_is_consistent():
    for name, dataset in _sequences.SEQUENCE_DATASETS.items():
        assert name == name.lower()
        assert dataset.known.size and dataset.known.n_lines
        assert dataset.known.sha256 is None or len(dataset.known.sha256) == 64
    assert {"beauty", "toys", "sports", "yelp"} <= set(_sequences.SEQUENCE_DATASETS)


# --------------------------------------------------------------------------- #
# Synthetic generator
# --------------------------------------------------------------------------- #


def _pairs(X):
    return X["user"].to_numpy() * (X["item"].max() + 1) + X["item"].to_numpy()


def test_make_interactions_shape_and_types():
    data = make_interactions(n_users=200, n_items=100, n_interactions=3000, random_state=0)
    X = data.X
    assert X.shape == (3000, 3) and data.y.shape == (3000,)
    assert list(X.columns) == ["user", "item", "timestamp"]
    assert all(dt == np.int64 for dt in X.dtypes)
    assert np.all(data.y == 1.0)
    assert X["user"].between(0, 199).all() and X["item"].between(0, 99).all()
    assert X["user"].nunique() == 200  # every user gets an interaction
    assert len(np.unique(_pairs(X))) == len(X)
    assert data.user_cluster.shape == (200,) and data.item_cluster.shape == (100,)
    assert data.item_text.index.tolist() == list(range(100))
    assert "3,000 rows" in data.DESCR


def test_make_interactions_timestamps_increase_within_user():
    X = make_interactions(n_users=100, n_items=80, n_interactions=2000, random_state=1).X
    assert (X["user"].diff().fillna(0) >= 0).all()  # sorted by user
    same_user = X["user"].diff() == 0
    assert (X["timestamp"].diff()[same_user] > 0).all()


def test_make_interactions_is_deterministic():
    a = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=3)
    b = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=3)
    c = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=4)
    pd.testing.assert_frame_equal(a.X, b.X)
    pd.testing.assert_series_equal(a.item_text, b.item_text)
    np.testing.assert_array_equal(a.user_cluster, b.user_cluster)
    assert not a.X.equals(c.X)
    rs = np.random.RandomState(3)
    d = make_interactions(n_users=100, n_items=50, n_interactions=1000, random_state=rs)
    assert d.X.shape == (1000, 3)


def test_make_interactions_cluster_signal():
    data = make_interactions(
        n_users=500, n_items=400, n_interactions=10000, n_clusters=8, noise=0.1, random_state=0
    )
    X = data.X
    own = data.user_cluster[X["user"]] == data.item_cluster[X["item"]]
    assert own.mean() > 0.75  # chance level is 1/8


def test_make_interactions_popularity_skew():
    kw = dict(n_users=500, n_items=400, n_interactions=8000, random_state=0)
    flat = make_interactions(popularity_skew=0.0, **kw).X["item"].value_counts()
    skewed = make_interactions(popularity_skew=1.5, **kw).X["item"].value_counts()
    assert skewed.iloc[:20].sum() > 2 * flat.iloc[:20].sum()


def test_make_interactions_sequential_signal():
    def spread_of_item_positions(sequential):
        X = make_interactions(
            n_users=400,
            n_items=100,
            n_interactions=8000,
            n_clusters=4,
            sequential=sequential,
            random_state=0,
        ).X
        position = X.groupby("user").cumcount() / X.groupby("user")["item"].transform("size")
        return position.groupby(X["item"]).mean().std()

    # with order, items sit at consistent places in the users' sequences
    assert spread_of_item_positions(True) > 2 * spread_of_item_positions(False)


def test_make_interactions_text_signal():
    data = make_interactions(
        n_users=200, n_items=300, n_interactions=3000, n_clusters=6, random_state=0
    )
    word_clusters: dict[str, set] = {}
    for item, text in data.item_text.items():
        for word in text.split():
            word_clusters.setdefault(word, set()).add(data.item_cluster[item])
    topic_words = {w for w, cs in word_clusters.items() if len(cs) == 1}
    # every cluster has its own vocabulary, and every text uses it
    owners = {next(iter(word_clusters[w])) for w in topic_words}
    assert owners == set(range(6))
    for text in data.item_text:
        assert sum(w in topic_words for w in text.split()) >= 3


def test_make_interactions_many_clusters_get_made_up_words():
    data = make_interactions(
        n_users=50, n_items=60, n_interactions=300, n_clusters=20, random_state=0
    )
    vocab = [set(" ".join(data.item_text[data.item_cluster == c]).split()) for c in range(20)]
    assert all(len(v) >= 3 for v in vocab)
    topic = [v - set().union(*(vocab[:c] + vocab[c + 1 :])) for c, v in enumerate(vocab)]
    assert all(len(t) >= 3 for t in topic)


def test_make_interactions_cold_items():
    data = make_interactions(
        n_users=100, n_items=50, n_interactions=1000, cold_items=7, random_state=0
    )
    cold = data.cold_items
    np.testing.assert_array_equal(cold, np.arange(50, 57))
    assert set(cold) <= set(data.item_text.index)
    assert not data.X["item"].isin(cold).any()
    assert len(data.item_text) == 57 and len(data.item_cluster) == 57


def test_make_interactions_negatives():
    data = make_interactions(
        n_users=200, n_items=160, n_interactions=4000, negative_fraction=0.25, random_state=0
    )
    X, y = data.X, data.y
    negative = y <= 0
    assert negative.sum() == 1000
    assert set(np.unique(y)) == {0.0, 1.0}
    own = data.user_cluster[X["user"]] == data.item_cluster[X["item"]]
    assert not own[negative].any()  # negatives come from other clusters
    assert len(np.unique(_pairs(X))) == len(X)


def test_make_interactions_dense_and_sparse_extremes():
    full = make_interactions(
        n_users=6, n_items=5, n_interactions=30, n_clusters=2, negative_fraction=0.2, random_state=0
    )
    assert len(np.unique(_pairs(full.X))) == 30
    assert (full.y == 0).sum() == 6
    few = make_interactions(n_users=100, n_items=20, n_interactions=30, random_state=0)
    assert len(few.X) == 30 and len(np.unique(_pairs(few.X))) == 30


def test_make_interactions_more_clusters_than_items():
    data = make_interactions(n_users=10, n_items=3, n_interactions=20, random_state=0)
    assert set(data.item_cluster) == {0, 1, 2}
    assert len(data.X) == 20


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_users=2, n_items=3, n_interactions=7), "not enough distinct"),
        (dict(n_clusters=0), "n_clusters"),
        (dict(n_users=0), "n_users"),
        (dict(negative_fraction=1.0), "negative_fraction"),
        (dict(noise=-0.1), "noise"),
        (dict(cold_items=-1), "cold_items"),
        (dict(n_users=2**28, n_items=2**28), "too large"),
    ],
)
def test_make_interactions_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_interactions(**kwargs)


# --------------------------------------------------------------------------- #
# Real data, when $SKREC_DATA holds it
# --------------------------------------------------------------------------- #

_REAL = Path(os.environ.get("SKREC_DATA", "~/skrec_data")).expanduser()


@pytest.mark.skipif(
    not (_REAL / "ml-100k" / "u.data").is_file(),
    reason=f"MovieLens 100K not found in $SKREC_DATA ({_REAL / 'ml-100k'})",
)
def test_real_movielens_100k():
    data = load_movielens("100k", download=False)
    assert data.X.shape == (100_000, 3)
    assert data.X["user"].nunique() == 943
    assert data.X["item"].nunique() == 1682
    assert len(data.item_text) == 1682
    assert set(data.X["item"]) == set(data.item_text.index)
    assert set(np.unique(data.y)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert data.item_text[1] == "Toy Story (1995) | Animation, Children's, Comedy"


@pytest.mark.parametrize(
    "name, n_rows, n_users, n_items",
    [("beauty", 198_502, 22_363, 12_101), ("toys", 167_597, 19_412, 11_924)],
)
def test_real_sequence_files(name, n_rows, n_users, n_items):
    dataset = _sequences.SEQUENCE_DATASETS[name]
    path = _REAL / dataset.folder / dataset.filename
    if not path.is_file():
        pytest.skip(f"{path} not found ($SKREC_DATA)")
    X = load_sequences(name, data_home=_REAL, download=False).X
    pd.testing.assert_frame_equal(load_sequences(path).X, X)  # by name or by path
    assert X.shape == (n_rows, 3)
    assert X["user"].nunique() == n_users
    assert X["item"].nunique() == n_items
    # leave-one-out files need at least three items a user (train, valid, test)
    assert X.groupby("user").size().min() >= 3
