"""The conformance suite over every recommender skrec exports, found automatically.

:func:`skrec.utils.discovery.all_recommenders` lists the recommenders of
``skrec.recommenders.__all__``; each is checked by
:func:`skrec.utils.estimator_checks.parametrize_with_checks` (scikit-learn's
checks with skrec's expected failures, plus the recommender checks). A class
is checked with its defaults unless ``SMALL`` gives parameters that make its
checks fast (or that it cannot do without); a new recommender therefore never
escapes the suite, and one that cannot be built from ``SMALL`` fails here.
"""

import zlib

import pytest

from skrec import ALSRecommender, PopularityRecommender
from skrec.utils import EmbeddingCache
from skrec.utils.discovery import all_recommenders
from skrec.utils.estimator_checks import parametrize_with_checks
from tests._text_model import TOPICS, session_model


def text_of(item) -> str:
    """Item text for data the checks generate (any id): a module-level function pickles.

    Two topic words chosen by a hash of the id, so that items embed apart (the
    same text for every item would give a content model constant scores).
    """
    h = zlib.crc32(str(item).encode())
    words = TOPICS[h % len(TOPICS)].split()
    return f"{words[h // 4 % len(words)]} {words[h // 32 % len(words)]} classic edition"


#: Parameters per class: small models, and what a class needs to be built at all.
SMALL = {
    "ALSRecommender": dict(factors=4, iterations=3),
    # Each check fits Spark's ALS on local[*]: one iteration on one block keeps it short.
    "SparkALSRecommender": dict(factors=2, iterations=1, num_user_blocks=1, num_item_blocks=1),
    "BPRRecommender": dict(factors=4, iterations=10, n_jobs=1),
    "LMFRecommender": dict(factors=4, iterations=3),
    "ItemKNNRecommender": dict(k=5),
    "MultVAERecommender": dict(latent_dim=4, hidden_dim=8, max_epochs=2, device="cpu"),
    # The recommender checks give it their item texts: a local text model (and a cache).
    "TransformerRecommender": dict(
        embedding_dim=8,
        n_heads=1,
        n_layers=1,
        max_epochs=2,
        text_model=session_model(),
        cache=EmbeddingCache(),
    ),
    "SentenceTransformerRecommender": dict(
        model=session_model(), item_text=text_of, cache=EmbeddingCache()
    ),
    "HybridRecommender": dict(
        estimators=[
            ("als", ALSRecommender(factors=4, iterations=3, random_state=0)),
            ("pop", PopularityRecommender()),
        ]
    ),
}

DISCOVERED = all_recommenders(plugins=True)


def _instances():
    out = []
    for name, cls in DISCOVERED:
        try:
            out.append(cls(**SMALL.get(name, {})))
        except TypeError as exc:
            raise TypeError(
                f"{name} cannot be built with its defaults ({exc}); add the parameters it "
                "needs to SMALL in tests/test_common.py"
            ) from exc
    return out


ESTIMATORS = _instances()


def test_every_exported_recommender_is_checked():
    import skrec.recommenders

    names = skrec.recommenders.__all__
    exported = {n for n in names if n.endswith("Recommender") and n != "BaseRecommender"}
    builtins = {name for name, cls in DISCOVERED if cls.__module__.startswith("skrec.")}
    assert builtins == exported
    assert exported <= {type(e).__name__ for e in ESTIMATORS}
    assert set(SMALL) <= exported, "SMALL names a class that is no longer exported"


def test_installed_plugin_recommenders_are_checked_too():
    pytest.importorskip("skrec_example_plugin", reason="the example plugin is not installed")
    assert "cooccurrence" in {name for name, _ in DISCOVERED}


@parametrize_with_checks(ESTIMATORS)
def test_conformance(estimator, check):
    check(estimator)
