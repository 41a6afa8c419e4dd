"""Datasets: real data loaders (download once, checksum, local cache) and generators.

* :func:`load_movielens` — MovieLens 100K, 1M and latest-small, with item text.
* :func:`load_sequences` — leave-one-out sequence files (``user item item ...``).
* :func:`make_interactions` — seeded synthetic interactions with latent clusters,
  popularity skew, order and item text, for offline tests and demos.

Every function returns a :class:`sklearn.utils.Bunch` with ``X`` (a DataFrame with
columns ``user``, ``item``, ``timestamp``), ``y``, ``item_text`` and ``DESCR``.
"""

from skrec.datasets._base import ChecksumError, get_data_home
from skrec.datasets._movielens import load_movielens
from skrec.datasets._sequences import load_sequences
from skrec.datasets._synthetic import make_interactions

__all__ = [
    "ChecksumError",
    "get_data_home",
    "load_movielens",
    "load_sequences",
    "make_interactions",
]
