"""Shared plumbing of the dataset loaders: data home, download, checksum, extraction.

Every file that lands in the data home gets there atomically: a download is
streamed into a temporary file next to its destination, its SHA-256 is checked,
and only then is it renamed into place; an archive is extracted into a temporary
folder and its files are renamed into place one by one. An interrupted run
therefore never leaves a truncated file under a name a later run would trust.

Files already in the data home are not trusted either: :func:`read_data_file`
refuses an empty or binary file, and :func:`check_known_file` compares a file of
a known dataset with what skrec knows about it (SHA-256, size, line count)
before it is parsed. A local copy that fails is reported with a ``ValueError``
naming it and left where it is (it may be the user's own file); a download that
fails is deleted and reported with :class:`ChecksumError`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple
from urllib.error import URLError
from urllib.request import urlopen

__all__ = [
    "ChecksumError",
    "KnownFile",
    "RemoteFileMetadata",
    "check_known_file",
    "get_data_home",
    "read_data_file",
]

_ENV_VAR = "SKREC_DATA"
_DEFAULT_HOME = "~/skrec_data"
_CHUNK = 1 << 20


class ChecksumError(OSError):
    """A downloaded or cached file does not have the expected SHA-256.

    The offending file has already been deleted when this is raised.
    """


class RemoteFileMetadata(NamedTuple):
    """Where a remote archive lives and what its content must hash to.

    Attributes
    ----------
    filename : str
        Name of the file in the data home.
    url : str
        Where to download it from.
    sha256 : str
        Expected SHA-256 of the file, as 64 lowercase hex digits.
    """

    filename: str
    url: str
    sha256: str | None


class KnownFile(NamedTuple):
    """What one file of a known dataset holds, to check a local copy against.

    Attributes
    ----------
    n_lines : int
        Number of lines (a header line included).
    sha256 : str or None, default=None
        SHA-256 of the file, when known. A file with this hash is accepted
        without further checks.
    size : int or None, default=None
        Size in bytes, when known.
    """

    n_lines: int
    sha256: str | None = None
    size: int | None = None


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder where skrec keeps downloaded datasets.

    Resolution order: the ``data_home`` argument, then the environment variable
    ``$SKREC_DATA``, then ``~/skrec_data``. ``~`` is expanded. The folder is not
    created; the loaders create it when they download.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit data home. ``None`` falls back to ``$SKREC_DATA`` and then to
        ``~/skrec_data``.

    Returns
    -------
    path : pathlib.Path
        The data home.

    Examples
    --------
    >>> from skrec.datasets import get_data_home
    >>> str(get_data_home("/tmp/my_data"))
    '/tmp/my_data'
    """
    if data_home is None:
        data_home = os.environ.get(_ENV_VAR) or _DEFAULT_HOME
    return Path(data_home).expanduser()


def sha256sum(path: str | os.PathLike) -> str:
    """SHA-256 of a file as 64 lowercase hex digits, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def count_lines(data: bytes) -> int:
    """Number of lines of ``data``; a last line without a newline counts."""
    return data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))


def read_data_file(path: Path, what: str) -> bytes:
    """The bytes of a local data file, refused with a ``ValueError`` when empty or binary.

    ``what`` names what the file should be (``"the MovieLens 100K ratings"``); it
    goes into the message.
    """
    data = path.read_bytes()
    if not data.strip():
        raise ValueError(f"{path} is empty; expected {what}.")
    if b"\0" in data:
        raise ValueError(
            f"{path} is a binary file (it contains NUL bytes), not {what}; is it an "
            "archive or a damaged copy?"
        )
    return data


def check_known_file(data: bytes, path: Path, known: KnownFile, *, what: str, remedy: str):
    """Raise a ``ValueError`` naming ``path`` unless ``data`` is the file ``known`` describes.

    ``data`` is the content of ``path``. A matching SHA-256 accepts the file at
    once; otherwise its size and line count must match (and a known SHA-256 that
    does not match refuses it). ``remedy`` says how to get a good copy.
    """
    actual = hashlib.sha256(data).hexdigest() if known.sha256 is not None else None
    if actual is not None and actual == known.sha256:
        return
    n_lines = count_lines(data)
    problems = []
    if n_lines != known.n_lines:
        problems.append(f"it has {n_lines:,} lines, expected {known.n_lines:,}")
    if known.size is not None and len(data) != known.size:
        problems.append(f"it has {len(data):,} bytes, expected {known.size:,}")
    if actual is not None:
        problems.append(f"its SHA-256 is {actual}, expected {known.sha256}")
    if not problems:
        return
    state = "truncated" if n_lines < known.n_lines else "damaged or a different release"
    raise ValueError(
        f"{path} is not {what}: {'; '.join(problems)}. The file is {state} and was not "
        f"used (it was left in place). {remedy}"
    )


def verify_checksum(
    path: Path, remote: RemoteFileMetadata, *, shown_as: Path | None = None
) -> None:
    """Delete ``path`` and raise :class:`ChecksumError` unless its SHA-256 matches."""
    actual = sha256sum(path)
    if actual == remote.sha256:
        return
    path.unlink(missing_ok=True)
    name = shown_as if shown_as is not None else path
    raise ChecksumError(
        f"{name} (from {remote.url}) is corrupt or truncated: expected SHA-256 "
        f"{remote.sha256}, got {actual}. The file has been deleted and was not used; "
        "run the loader again to download a fresh copy."
    )


def download(
    remote: RemoteFileMetadata,
    folder: Path,
    *,
    verbose: bool = False,
    check: Callable[[Path, Path], None] | None = None,
) -> Path:
    """Download ``remote`` into ``folder``, check its SHA-256, rename it into place.

    The bytes go to a temporary file in ``folder`` first; a failed or corrupt
    download is deleted and never appears under ``remote.filename``. Without a
    known SHA-256 (``remote.sha256`` is None), ``check(temporary_path,
    destination)`` must verify the file; it raises :class:`ChecksumError` to
    refuse it. ``check`` also runs after a SHA-256 check when given.

    Returns
    -------
    path : pathlib.Path
        ``folder / remote.filename``, verified.
    """
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / remote.filename
    fd, tmp_name = tempfile.mkstemp(prefix=f".{remote.filename}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urlopen(remote.url, timeout=60)
            except (URLError, OSError) as exc:
                raise OSError(
                    f"Could not download {remote.url}: {exc}. Without network access, "
                    f"download it elsewhere and extract it into {folder}."
                ) from exc
            with response:
                total = response.headers.get("Content-Length") if response.headers else None
                _copy_with_progress(response, out, total, remote.filename, verbose)
            out.flush()
            os.fsync(out.fileno())
        if remote.sha256 is not None:
            verify_checksum(tmp, remote, shown_as=dest)
        elif check is None:
            raise ValueError(f"{remote.url} has no known SHA-256 and no other check")
        if check is not None:
            check(tmp, dest)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _copy_with_progress(src, dst, total, label: str, verbose: bool) -> None:
    from tqdm.auto import tqdm

    total = int(total) if total and str(total).isdigit() else None
    with tqdm(total=total, unit="B", unit_scale=True, desc=label, disable=not verbose) as bar:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
            bar.update(len(chunk))


def extract_zip(archive: Path, folder: str, data_home: Path) -> Path:
    """Extract the top-level ``folder`` of a zip archive into ``data_home``.

    Members are extracted into a temporary folder inside ``data_home`` (same file
    system) and renamed into ``data_home / folder`` one by one, so a partial
    extraction never looks complete. Members that would land outside the
    temporary folder (absolute paths, ``..``) are refused.
    """
    target = data_home / folder
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder}.", suffix=".extract", dir=data_home))
    try:
        with zipfile.ZipFile(archive) as zf:
            root = tmp.resolve()
            for member in zf.namelist():
                dest = (tmp / member).resolve()
                if root != dest and root not in dest.parents:
                    raise OSError(f"{archive} contains an unsafe member path {member!r}")
            zf.extractall(tmp)
        src = tmp / folder
        if not src.is_dir():
            raise OSError(f"{archive} does not contain the expected folder {folder}/")
        for path in sorted(src.rglob("*")):
            if path.is_dir():
                continue
            dest = target / path.relative_to(src)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def fetch_archive(
    remote: RemoteFileMetadata,
    folder: str,
    data_home: Path,
    *,
    verbose: bool = False,
) -> Path:
    """Make ``data_home / folder`` hold the content of the zip archive ``remote``.

    An archive already in ``data_home`` (a previous download, or one placed there
    by hand) is verified and used; otherwise it is downloaded. The archive is
    removed once extracted.
    """
    data_home.mkdir(parents=True, exist_ok=True)
    archive = data_home / remote.filename
    if archive.exists():
        verify_checksum(archive, remote)
    else:
        archive = download(remote, data_home, verbose=verbose)
    target = extract_zip(archive, folder, data_home)
    archive.unlink(missing_ok=True)
    return target
