"""An example skrec plugin: the ``coldness`` sampler, the ``drop_random`` augmenter
and the ``cooccurrence`` recommender.

Installed, it makes both available by name through skrec's registries::

    import skrec.samplers, skrec.augmenters
    skrec.samplers.get("coldness", random_state=0)
    skrec.augmenters.get("drop_random", rate=0.2)
"""

from skrec_example_plugin._augmenter import DropRandomAugmenter
from skrec_example_plugin._recommender import CooccurrenceRecommender
from skrec_example_plugin._sampler import ColdnessSampler

__all__ = ["ColdnessSampler", "CooccurrenceRecommender", "DropRandomAugmenter"]
__version__ = "0.1.0"
