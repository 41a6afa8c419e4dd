"""TransformerRecommender with item text: id-only, text-only and both; cold items from text."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("skorch")
pytest.importorskip("sentence_transformers")
import torch  # noqa: E402

from skrec import TransformerRecommender  # noqa: E402
from skrec.recommenders._item_representation import TextItems, resolve_mode  # noqa: E402
from skrec.utils import EmbeddingCache  # noqa: E402
from tests._text_model import session_model, topic_texts  # noqa: E402

COLD = [f"i{i}" for i in range(32, 40)]


@pytest.fixture(scope="module")
def topical():
    """Each user's sequence stays in topic ``user % 4``; items i32..i39 only have a text."""
    rng = np.random.default_rng(0)
    rows = []
    for u in range(120):
        items = [f"i{i}" for i in range(u % 4, 32, 4)]
        rows += [(u, item, t) for t, item in enumerate(rng.choice(items, 6))]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"]), topic_texts(40)


def fit(X, text, mode, **params):
    params = {"embedding_dim": 16, "n_heads": 1, "n_layers": 1, "max_epochs": 8, **params}
    return TransformerRecommender(
        patience=None,
        item_text=text,
        text_model=session_model(),
        item_representation=mode,
        random_state=0,
        **params,
    ).fit(X)


def topic_share(est, items) -> float:
    """How often a user's best item among ``items`` is of the user's topic."""
    ids, _ = est.recommend(np.arange(120), n=1, items=items)
    return float(np.mean([int(ids[u, 0][1:]) % 4 == u % 4 for u in range(120)]))


def test_resolve_mode():
    assert resolve_mode("auto", has_text=True) == "both"
    assert resolve_mode("auto", has_text=False) == "id"
    with pytest.raises(ValueError, match="needs item_text"):
        resolve_mode("text", has_text=False)
    X = pd.DataFrame({"user": [1, 1, 2, 2], "item": ["a", "b", "a", "b"]})
    with pytest.raises(ValueError, match="needs item_text"):
        TransformerRecommender(item_representation="both", max_epochs=1).fit(X)


@pytest.mark.parametrize("mode", ["text", "both"])
def test_cold_items_rank_by_their_text(topical, mode):
    X, text = topical
    est = fit(X, text, mode)
    assert est.item_representation_ == mode
    assert set(COLD) <= set(est.items_)  # known from item_text alone
    assert topic_share(est, COLD) > 0.9  # chance: 0.25
    # The item table is the output layer: recommend scores are states x table.
    table = est.module_.item_table().detach().numpy()
    assert np.allclose(est.item_embeddings_, table)
    scores = est.score_samples(pd.DataFrame({"user": [0] * 8, "item": COLD}))
    idx = pd.Index(est.items_).get_indexer(COLD)
    assert np.allclose(scores, est.user_states_[0] @ table[idx].T, atol=1e-5)


def test_id_only_cannot_rank_cold_items(topical):
    X, text = topical
    est = fit(X, text, "id")
    assert set(COLD) <= set(est.items_)  # the catalogue is the same
    assert est.module_.text_items is None
    assert topic_share(est, COLD) < 0.5


def test_both_drops_the_untrained_id_rows_of_cold_items(topical):
    X, text = topical
    est = fit(X, text, "both")
    weight = est.module_.text_items.id_weight.numpy()
    rows = pd.Index(est.items_).get_indexer(COLD) + 1  # table row = index + 1
    assert (weight[rows] == 0).all()
    warm_rows = pd.Index(est.items_).get_indexer(["i0", "i1"]) + 1
    assert (weight[warm_rows] == 1).all()
    assert weight[0] == 0 and weight[-1] == 1  # padding, [MASK]


def test_text_items_table_matches_lookup():
    ids = torch.nn.Embedding(6, 3, padding_idx=0)
    text = TextItems(np.random.default_rng(0).normal(size=(4, 5)), 3, "both", known=[1, 0, 1, 1])
    seq = torch.tensor([[0, 1, 2], [3, 4, 5]])
    assert torch.allclose(text(ids, seq), text.table(ids)[seq])
    assert torch.allclose(text.table(ids)[2], text.projection(text.text[2]))  # cold: text only
    with pytest.raises(ValueError, match="'text' or 'both'"):
        TextItems(np.ones((2, 2)), 3, "id")


def test_text_is_encoded_once_through_the_cache(topical):
    X, text = topical
    cache = EmbeddingCache()
    fit(X, text, "text", cache=cache, max_epochs=1)
    encoded = cache.n_encoded_
    assert encoded == len(text)
    fit(X, text, "both", cache=cache, max_epochs=1)
    assert cache.n_encoded_ == encoded


def test_mlm_pretraining_works_with_text_items(topical):
    X, text = topical
    est = fit(X, text, "both", pretrain="mlm", pretrain_epochs=1, max_epochs=1)
    assert est.pretrain_history_ is not None and topic_share(est, COLD) > 0.5


def test_text_aware_transformer_passes_the_conformance_suite():
    from skrec.utils.estimator_checks import check_recommender
    from tests.test_common import text_of

    check_recommender(
        TransformerRecommender(
            embedding_dim=8,
            n_heads=1,
            n_layers=1,
            max_epochs=2,
            item_text=text_of,
            text_model=session_model(),
            cache=EmbeddingCache(),
        )
    )
