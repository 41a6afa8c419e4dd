"""A tiny offline sentence-transformers model, and item texts it separates by topic.

The model is a StaticEmbedding (mean of word vectors) over a word-level
tokenizer whose word vectors point along one axis per topic, so texts of one
topic embed close together. The ``tiny_model`` fixture of ``tests/conftest.py``
saves one per test session.
"""

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest

TOPICS = [
    "football goal stadium league striker referee",
    "recipe oven garlic pasta baking flour",
    "galaxy rocket orbit astronaut planet comet",
    "guitar melody drums chorus concert album",
]
GENERIC = "classic new edition special deluxe guide".split()


def build_topic_model(path: Path, dim: int = 16, seed: int = 0) -> str:
    """Save a tiny StaticEmbedding model whose word vectors encode their topic."""
    st = pytest.importorskip("sentence_transformers")
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    words = [w for topic in TOPICS for w in topic.split()] + GENERIC
    vocab = {"[UNK]": 0, "[PAD]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    weights = np.random.default_rng(seed).normal(scale=0.2, size=(len(vocab), dim))
    for t, topic in enumerate(TOPICS):
        for word in topic.split():
            weights[vocab[word], t] += 1.0
    module = StaticEmbedding(tokenizer, embedding_weights=weights.astype(np.float32))
    st.SentenceTransformer(modules=[module], device="cpu").save(str(path))
    return str(path)


def topic_texts(n_items: int = 40, seed: int = 0) -> dict:
    """Item ``i{i}`` gets three words of topic ``i % 4`` and one generic word."""
    rng = np.random.default_rng(seed)
    return {
        f"i{i}": " ".join([*rng.choice(TOPICS[i % 4].split(), 3), rng.choice(GENERIC)])
        for i in range(n_items)
    }


@cache
def session_model() -> str:
    """One tiny model per test process, built when first asked for (collection time too)."""
    folder = Path(tempfile.mkdtemp(prefix="skrec-tiny-st-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return build_topic_model(folder / "model")
