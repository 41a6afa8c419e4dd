"""Samplers: which interactions to label next (modAL query strategies), and their registry.

A sampler is called as ``sampler(learner, X_pool, n_instances=1)`` and returns
the indices of the chosen pool rows, so it is a modAL ``query_strategy``:

>>> import skrec.samplers
>>> strategy = skrec.samplers.get("uncertainty", random_state=0)

then ``ActiveLearner(estimator=ALSRecommender(), query_strategy=strategy, ...)``.

Built-ins:

==========================  ===================================================
``random``                  uniform draw (passive baseline)
``uncertainty``             least confident first (Lewis & Gale 1994)
``margin``                  smallest class margin first (Scheffer et al. 2001)
``entropy``                 highest predictive entropy first (Settles 2009)
``diversity``               k-center greedy in ``embed_items`` space (Sener & Savarese 2018)
``uncertainty_diversity``   ranked batch mode (Cardoso et al. 2017)
``popularity``              most popular items first (Rashid et al. 2002)
``popularity_entropy``      popular and divisive items first (Rashid et al. 2002)
``text_coverage``           popular items that cover the catalogue's text space
==========================  ===================================================

Third-party samplers are found through the entry-point group
``skrec.samplers`` (see ``docs/plugins.md``). Importing this package imports
neither modAL nor torch.

Examples
--------
>>> skrec.samplers.available()["popularity_entropy"]
'built-in'
"""

from __future__ import annotations

import skrec.active  # noqa: F401  (modAL compatibility fix, DESIGN §6)
from skrec._plugins import PluginConflictError, PluginWarning, Registry
from skrec.samplers._base import BaseSampler, find_recommenders, select_top
from skrec.samplers._coverage import TextCoverageSampler
from skrec.samplers._diversity import DiversitySampler, UncertaintyDiversitySampler
from skrec.samplers._popularity import PopularityEntropySampler, PopularitySampler
from skrec.samplers._uncertainty import (
    EntropySampler,
    MarginSampler,
    RandomSampler,
    UncertaintySampler,
)

__all__ = [
    "BaseSampler",
    "DiversitySampler",
    "EntropySampler",
    "MarginSampler",
    "PluginConflictError",
    "PluginWarning",
    "PopularityEntropySampler",
    "PopularitySampler",
    "RandomSampler",
    "TextCoverageSampler",
    "UncertaintyDiversitySampler",
    "UncertaintySampler",
    "available",
    "find_recommenders",
    "get",
    "refresh",
    "register",
    "registry",
    "select_top",
]

#: The sampler registry (entry-point group ``skrec.samplers``).
registry = Registry("skrec.samplers", BaseSampler, required="__call__", kind="sampler")
for _name, _cls in {
    "random": RandomSampler,
    "uncertainty": UncertaintySampler,
    "margin": MarginSampler,
    "entropy": EntropySampler,
    "diversity": DiversitySampler,
    "uncertainty_diversity": UncertaintyDiversitySampler,
    "popularity": PopularitySampler,
    "popularity_entropy": PopularityEntropySampler,
    "text_coverage": TextCoverageSampler,
}.items():
    registry.add_builtin(_name, _cls)
del _name, _cls


available, get, register, refresh = registry.module_functions(
    __name__,
    params="Constructor parameters (e.g. ``random_state``).",
    returns="A callable ``sampler(learner, X_pool, n_instances=1) -> indices``.",
    examples={
        "available": """
            >>> import skrec.samplers
            >>> skrec.samplers.available()["uncertainty"]
            'built-in'
        """,
        "get": """
            >>> import skrec.samplers
            >>> skrec.samplers.get("margin", random_state=0)
            MarginSampler(random_state=0)
        """,
        "register": """
            >>> import numpy as np
            >>> import skrec.samplers
            >>> from skrec.samplers import BaseSampler
            >>> @skrec.samplers.register("doc_first_rows")
            ... class FirstRows(BaseSampler):
            ...     def _query(self, learner, X_pool, pool, n, rng):
            ...         return np.arange(n)
            >>> skrec.samplers.get("doc_first_rows")
            FirstRows()
        """,
    },
)
