"""Utilities: input validation, thread control, optional dependencies, conformance checks.

``skrec.utils.validation`` holds the input checks and ``skrec.utils.estimator_checks``
the conformance suite; the embedding cache and the thread helpers are re-exported here.
"""

from skrec.utils._embedding_cache import EmbeddingCache
from skrec.utils._threads import blas_limit, effective_n_jobs, torch_threads

__all__ = ["EmbeddingCache", "blas_limit", "effective_n_jobs", "torch_threads"]
