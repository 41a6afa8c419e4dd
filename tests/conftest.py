import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("SKREC_DATA", "")) if os.environ.get("SKREC_DATA") else None

#: The samplers skrec ships (``skrec.samplers``), in the order its docs list them.
BUILTIN_SAMPLERS = [
    "random",
    "uncertainty",
    "margin",
    "entropy",
    "diversity",
    "uncertainty_diversity",
    "popularity",
    "popularity_entropy",
]


def clustered(n_users=60, n_items=40, per_user=12, seed=0, n_clusters=4):
    """Users interact only with items of their own cluster: easy signal to recover."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        pool = [i for i in range(n_items) if i % n_clusters == u % n_clusters]
        for t, i in enumerate(rng.choice(pool, size=min(per_user, len(pool)), replace=False)):
            rows.append((f"u{u}", f"i{i}", t))
    return np.array(rows, dtype=object)


@pytest.fixture
def X_clustered():
    return clustered()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Path of a tiny offline sentence-transformers model (see tests/_text_model.py)."""
    from tests._text_model import build_topic_model

    return build_topic_model(tmp_path_factory.mktemp("tiny-st") / "model")


@pytest.fixture
def hf_offline(monkeypatch):
    """No Hugging Face downloads."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def ml100k():
    if DATA is None or not (DATA / "ml-100k" / "u.data").exists():
        pytest.skip("MovieLens-100K not found under $SKREC_DATA")
    from skrec.datasets import load_movielens

    return load_movielens("100k", data_home=DATA, download=False)
