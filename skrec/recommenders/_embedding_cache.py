"""Text embeddings computed once per process (and optionally once per machine).

Model selection refits clones of an estimator many times on the same catalogue:
``GridSearchCV`` with 6 candidates and 3 folds fits 19 times, ``cross_validate``
once per fold, a modAL loop once per query. Encoding the item texts each time
would dominate the cost, so :func:`encode_texts` keeps a process-wide store:

* keyed by ``(model identity, normalize)`` and then by a hash of each text, so
  a text is encoded once however many catalogues (or folds of one) contain it,
  and only the texts not seen before reach the model;
* the model identity is the name given, or for a local folder its real path plus
  the sizes and modification times of its files, never the device: embeddings
  computed on a GPU serve a later CPU fit;
* with ``cache_dir``, the store is also kept on disk, one folder per key holding
  ``embeddings-<token>.npy`` and ``index.json`` (text hash -> row), both written
  to a temporary file first and moved into place with :func:`os.replace`, so a
  reader (another process) never sees a half-written file.

Loaded models are cached too, per ``(model, device)``, and are loaded only when
some text is missing from the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from skrec.utils._optional import import_optional

__all__ = ["clear_cache", "encode_texts", "load_model", "model_identity", "text_hash"]

_LOCK = threading.RLock()
# (identity, normalize) -> {text hash: float32 row}
_EMBEDDINGS: dict[tuple[str, bool], dict[str, np.ndarray]] = {}
# (identity, device) -> loaded SentenceTransformer
_MODELS: dict[tuple[str, str], object] = {}
_INDEX = "index.json"


def text_hash(text: str) -> str:
    """Stable hex digest of one text (the per-text cache key).

    Examples
    --------
    >>> from skrec.recommenders._embedding_cache import text_hash
    >>> text_hash("Toy Story (1995)") == text_hash("Toy Story (1995)")
    True
    >>> len(text_hash(""))
    32
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def model_identity(model: str | os.PathLike) -> str:
    """A device-independent identity of ``model``.

    A hub name is its own identity. A local folder is identified by its real
    path and the size and modification time of each file in it, so a model
    saved again at the same path is not mistaken for the old one.

    Examples
    --------
    >>> from skrec.recommenders._embedding_cache import model_identity
    >>> model_identity("sentence-transformers/all-MiniLM-L6-v2")
    'sentence-transformers/all-MiniLM-L6-v2'
    """
    path = Path(model).expanduser()
    if not path.is_dir():
        return str(model)
    digest = hashlib.blake2b(digest_size=8)
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            stat = os.stat(os.path.join(root, name))
            rel = os.path.relpath(os.path.join(root, name), path)
            digest.update(f"{rel}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return f"{path.resolve()}@{digest.hexdigest()}"


def load_model(model: str | os.PathLike, device: str | None, *, verbose: bool = False):
    """The SentenceTransformer for ``model`` on ``device``, loaded once per process.

    Examples
    --------
    >>> from skrec.recommenders._embedding_cache import load_model
    >>> model = load_model("sentence-transformers/all-MiniLM-L6-v2", "cpu")  # doctest: +SKIP
    >>> model is load_model("sentence-transformers/all-MiniLM-L6-v2", "cpu")  # doctest: +SKIP
    True
    """
    key = (model_identity(model), "auto" if device is None else str(device))
    with _LOCK:
        loaded = _MODELS.get(key)
        if loaded is None:
            st = import_optional("sentence_transformers", "SentenceTransformerRecommender")
            try:
                with _progress_bars(verbose):
                    loaded = st.SentenceTransformer(str(model), device=device)
            except (OSError, ValueError) as exc:
                raise OSError(
                    f"could not load the sentence-transformers model {str(model)!r} "
                    f"(offline without a local copy? set model= to a local folder): {exc}"
                ) from exc
            _MODELS[key] = loaded
        return loaded


@contextmanager
def _progress_bars(verbose: bool):
    """Silence transformers' "Loading weights" bar unless ``verbose``; restore after."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was = hf_logging.is_progress_bar_enabled()
    if was and not verbose:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not verbose:
            hf_logging.enable_progress_bar()


def clear_cache(*, models: bool = True, embeddings: bool = True) -> None:
    """Forget the in-process caches (files under a ``cache_dir`` are kept).

    Parameters
    ----------
    models : bool, default=True
        Drop the loaded models.
    embeddings : bool, default=True
        Drop the stored embeddings.

    Examples
    --------
    >>> from skrec.recommenders._embedding_cache import clear_cache
    >>> clear_cache(models=True, embeddings=True)
    """
    with _LOCK:
        if models:
            _MODELS.clear()
        if embeddings:
            _EMBEDDINGS.clear()


def encode_texts(
    texts: Sequence[str],
    model: str | os.PathLike,
    *,
    normalize: bool = True,
    device: str | None = None,
    batch_size: int = 64,
    cache_dir: str | os.PathLike | None = None,
    verbose: bool = False,
) -> np.ndarray:
    """Embeddings of ``texts``, encoding only the texts never encoded before.

    Parameters
    ----------
    texts : sequence of str
        The texts, in the order of the rows returned.
    model : str or path-like
        A sentence-transformers model name or local folder.
    normalize : bool, default=True
        L2-normalise the embeddings (part of the cache key).
    device : str, default=None
        Device to encode on (not part of the cache key); None lets
        sentence-transformers choose.
    batch_size : int, default=64
        Encoding batch size.
    cache_dir : str or path-like, default=None
        Folder where embeddings persist across processes; None keeps them in
        memory only.
    verbose : bool, default=False
        Show the encoder's progress bar.

    Returns
    -------
    ndarray of shape (len(texts), dim), dtype float32
        One row per text; equal texts get equal rows.

    Examples
    --------
    >>> from skrec.recommenders._embedding_cache import encode_texts
    >>> model = "sentence-transformers/all-MiniLM-L6-v2"
    >>> E = encode_texts(["Toy Story", "Toy Story 2"], model)  # doctest: +SKIP
    >>> E.shape  # doctest: +SKIP
    (2, 384)
    """
    key = (model_identity(model), bool(normalize))
    hashes = [text_hash(t) for t in texts]
    with _LOCK:
        store = _EMBEDDINGS.setdefault(key, {})
        missing = _missing(hashes, store)
        if missing and cache_dir is not None:
            store.update(_read_disk(_disk_folder(cache_dir, key), set(missing)))
            missing = _missing(hashes, store)
        if missing:
            first = dict(zip(hashes, texts, strict=True))
            todo = [first[h] for h in missing]
            encoder = load_model(model, device, verbose=verbose)
            rows = _encode(encoder.encode, todo, normalize, batch_size, verbose)
            store.update(zip(missing, rows, strict=True))
            if cache_dir is not None:
                _write_disk(_disk_folder(cache_dir, key), key, store)
        if not hashes:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([store[h] for h in hashes]).astype(np.float32, copy=False)


def _missing(hashes: list[str], store: dict) -> list[str]:
    """Distinct hashes not in ``store``, in first-appearance order."""
    return list(dict.fromkeys(h for h in hashes if h not in store))


def _encode(
    encode: Callable, texts: list[str], normalize: bool, batch_size: int, verbose: bool
) -> np.ndarray:
    out = encode(
        texts,
        batch_size=batch_size,
        show_progress_bar=bool(verbose),
        convert_to_numpy=True,
        normalize_embeddings=bool(normalize),
    )
    out = np.asarray(out, dtype=np.float32)
    if out.ndim != 2 or len(out) != len(texts):
        raise ValueError(
            f"the sentence-transformers model returned an array of shape {out.shape} for "
            f"{len(texts)} texts; expected one embedding vector per text"
        )
    return out


def _disk_folder(cache_dir: str | os.PathLike, key: tuple[str, bool]) -> Path:
    name = hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()
    return Path(cache_dir).expanduser() / name


def _read_disk(folder: Path, wanted: set[str] | None) -> dict[str, np.ndarray]:
    """Rows of ``wanted`` hashes (all when None) under ``folder``; empty if inconsistent."""
    try:
        index = json.loads((folder / _INDEX).read_text(encoding="utf-8"))
        matrix = np.load(folder / index["file"], mmap_mode="r")
        rows = index["rows"]
        keys = rows if wanted is None else [h for h in wanted if h in rows]
        found = {h: np.array(matrix[rows[h]], dtype=np.float32) for h in keys}
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        # Absent, or replaced by another process between our two reads: a cache miss.
        return {}
    return found


def _write_disk(folder: Path, key: tuple[str, bool], store: dict[str, np.ndarray]) -> None:
    """Write ``store`` under ``folder`` atomically: new matrix first, then the index."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        previous = json.loads((folder / _INDEX).read_text(encoding="utf-8")).get("file")
        on_disk = _read_disk(folder, None)
    except (OSError, ValueError, AttributeError):
        previous, on_disk = None, {}
    # Keep rows other processes wrote since we last read the folder.
    merged = {**on_disk, **store}
    hashes = list(merged)
    matrix = np.stack([merged[h] for h in hashes])
    name = f"embeddings-{uuid.uuid4().hex}.npy"
    _atomic_write(folder / name, lambda f: np.save(f, matrix))
    index = {
        "model": key[0],
        "normalize": key[1],
        "dim": int(matrix.shape[1]),
        "file": name,
        "rows": {h: i for i, h in enumerate(hashes)},
    }
    _atomic_write(folder / _INDEX, lambda f: f.write(json.dumps(index).encode("utf-8")))
    if previous and previous != name:
        try:
            (folder / previous).unlink()
        except OSError:
            pass


def _atomic_write(path: Path, write: Callable) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
