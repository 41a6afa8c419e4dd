"""Built-in samplers: contracts, what each one prefers, learners they accept."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import skrec.samplers as S
from skrec import EASERecommender, PopularityRecommender
from skrec.datasets import make_interactions
from skrec.samplers import (
    DiversitySampler,
    PopularityEntropySampler,
    PopularitySampler,
    RandomSampler,
    UncertaintyDiversitySampler,
    UncertaintySampler,
    find_recommenders,
)
from skrec.utils.estimator_checks import check_sampler
from tests.conftest import BUILTIN_SAMPLERS


@pytest.fixture(scope="module")
def clusters():
    """Four item clusters (item % 4); each user stays in one; EASE on top."""
    rng = np.random.default_rng(0)
    rows = [
        (u, i)
        for u in range(80)
        for i in rng.choice(np.arange(u % 4, 40, 4), size=6, replace=False)
    ]
    X = pd.DataFrame(rows, columns=["user", "item"])
    return X, EASERecommender(l2=50.0).fit(X)


@pytest.mark.parametrize("name", BUILTIN_SAMPLERS)
def test_builtins_pass_check_sampler(name):
    assert S.available()[name] == "built-in"
    check_sampler(S.get(name))


def test_import_is_light():
    code = (
        "import sys, skrec.samplers, skrec.augmenters, skrec.utils.estimator_checks;"
        "print([m for m in ('torch', 'modAL', 'imblearn', 'skorch')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_find_recommenders():
    from imblearn.pipeline import Pipeline

    from skrec.augmenters import SimilarItemsAugmenter

    rec, other = PopularityRecommender(), EASERecommender()
    learner = SimpleNamespace(estimator=rec)
    assert find_recommenders(rec) == [rec]
    assert find_recommenders(learner) == [rec]
    committee = SimpleNamespace(learner_list=[learner, SimpleNamespace(estimator=other)])
    assert find_recommenders(committee) == [rec, other]
    pipe = Pipeline([("aug", SimilarItemsAugmenter()), ("rec", rec)])
    assert find_recommenders(SimpleNamespace(estimator=pipe)) == [rec]


def test_arguments_are_checked(clusters):
    X, rec = clusters
    with pytest.raises(ValueError, match="n_instances"):
        RandomSampler()(rec, X, n_instances=0)
    with pytest.raises(TypeError, match="n_instances"):
        RandomSampler()(rec, X, n_instances="2")
    with pytest.raises(ValueError, match="X_pool"):
        RandomSampler()(rec, [[1]], n_instances=1)
    assert RandomSampler()(rec, np.empty((0, 2)), n_instances=3).shape == (0,)


def test_random_is_seeded_and_distinct(clusters):
    X, rec = clusters
    a = RandomSampler(random_state=1)(rec, X, n_instances=50)
    assert np.array_equal(a, RandomSampler(random_state=1)(rec, X, n_instances=50))
    assert len(set(a.tolist())) == 50


def test_uncertainty_prefers_probabilities_near_half(clusters):
    X, rec = clusters
    pool = pd.DataFrame({"user": 0, "item": np.arange(40)})
    p = rec.predict_proba(pool)[:, 1]
    for name in ("uncertainty", "margin", "entropy"):
        idx = S.get(name, random_state=0)(rec, pool, n_instances=3)
        assert np.allclose(np.sort(np.abs(p[idx] - 0.5)), np.sort(np.abs(p - 0.5))[:3])


def test_popularity_orders_by_item_popularity():
    X = [[u, "hit"] for u in range(5)] + [[u, "mid"] for u in range(3)] + [[0, "niche"]]
    rec = PopularityRecommender().fit(X)
    pool = [[9, "niche"], [9, "mid"], [9, "hit"], [9, "unknown"]]
    assert PopularitySampler(random_state=0)(rec, pool, n_instances=4).tolist() == [2, 1, 0, 3]


def test_popularity_entropy_prefers_known_and_divisive_items():
    X, y = [], []
    for u in range(10):  # "loved": 10 positives; "divisive": 5 / 5; "rare": 1 / 1
        X += [[u, "loved"], [u, "divisive"]]
        y += [1, 1 if u < 5 else 0]
    X += [[0, "rare"], [1, "rare"]]
    y += [1, 0]
    rec = PopularityRecommender().fit(X, y)
    pool = [[99, "loved"], [99, "rare"], [99, "divisive"]]
    assert PopularityEntropySampler(random_state=0)(rec, pool, 3).tolist() == [2, 1, 0]


def test_popularity_entropy_without_negatives_falls_back_to_popularity():
    X = [[u, "a"] for u in range(4)] + [[0, "b"], [1, "b"]]
    rec = PopularityRecommender().fit(X)
    assert PopularityEntropySampler(random_state=0)(rec, [[9, "b"], [9, "a"]], 2).tolist() == [1, 0]


def test_diversity_covers_the_clusters(clusters):
    _, rec = clusters
    pool = pd.DataFrame({"user": 1000, "item": np.arange(40)})  # a new user
    for seed in range(3):
        idx = DiversitySampler(random_state=seed)(rec, pool, n_instances=4)
        assert sorted(pool["item"].to_numpy()[idx] % 4) == [0, 1, 2, 3]


def test_diversity_avoids_what_the_user_already_labelled(clusters):
    _, rec = clusters
    pool = pd.DataFrame({"user": 0, "item": np.arange(40)})  # user 0 lives in cluster 0
    idx = DiversitySampler(random_state=0)(rec, pool, n_instances=3)
    assert 0 not in set(pool["item"].to_numpy()[idx] % 4)


def test_uncertainty_diversity_interpolates(clusters):
    _, rec = clusters
    pool = pd.DataFrame({"user": 1000, "item": np.arange(40)})
    uncertainty = 1 - rec.predict_proba(pool).max(axis=1)
    pure = UncertaintySampler(random_state=0)(rec, pool, n_instances=5)
    mixed = UncertaintyDiversitySampler(alpha=0.0, random_state=0)(rec, pool, n_instances=5)
    assert np.allclose(np.sort(uncertainty[pure]), np.sort(uncertainty[mixed]))
    diverse = UncertaintyDiversitySampler(alpha=1.0, random_state=0)(rec, pool, n_instances=4)
    assert sorted(pool["item"].to_numpy()[diverse] % 4) == [0, 1, 2, 3]


def test_labelled_items_from_x_training_when_no_interactions():
    from skrec.samplers._base import _labelled_by_user

    learner = SimpleNamespace(X_training=[["u", "a"], ["u", "b"], ["v", "c"]])
    rec = SimpleNamespace()
    out = _labelled_by_user(learner, rec, np.array(["v", "u", "w"], dtype=object))
    assert [list(h) for h in out] == [["c"], ["a", "b"], []]


def test_modal_active_learner_and_committee():
    from modAL.models import ActiveLearner, Committee

    import skrec.active  # noqa: F401  (applies the modAL compatibility fix)

    data = make_interactions(n_users=30, n_items=20, n_interactions=300, random_state=0)
    X, y = data.X[["user", "item"]].to_numpy(), (data.y > 0).astype(int)
    learner = ActiveLearner(
        estimator=EASERecommender(l2=10.0),
        query_strategy=S.get("uncertainty_diversity", random_state=0),
        X_training=X[:200],
        y_training=y[:200],
    )
    idx, rows = learner.query(X[200:], n_instances=5)
    assert len(set(idx.tolist())) == 5 and rows.shape == (5, 2)
    learner.teach(X[200:][idx], y[200:][idx])
    committee = Committee(
        learner_list=[
            ActiveLearner(estimator=EASERecommender(l2=l2), X_training=X[:200], y_training=y[:200])
            for l2 in (5.0, 50.0)
        ],
        query_strategy=S.get("diversity", random_state=0),
    )
    idx, _ = committee.query(X[200:], n_instances=4)
    assert len(set(idx.tolist())) == 4
