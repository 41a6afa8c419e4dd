"""The example plugin passes skrec's plugin checks and is found by the registries."""

import pytest
from skrec_example_plugin import ColdnessSampler, CooccurrenceRecommender, DropRandomAugmenter

import skrec.augmenters
import skrec.recommenders
import skrec.samplers
from skrec.utils.estimator_checks import check_augmenter, check_sampler, parametrize_with_checks


@parametrize_with_checks([CooccurrenceRecommender(k=5)])
def test_recommender_conformance(estimator, check):
    # skrec's conformance suite, used from a package outside skrec.
    check(estimator)


def test_sampler_contract():
    check_sampler(ColdnessSampler())


def test_augmenter_contract():
    check_augmenter(DropRandomAugmenter())


@pytest.mark.parametrize(
    ("registry", "name", "cls"),
    [
        (skrec.samplers, "coldness", ColdnessSampler),
        (skrec.augmenters, "drop_random", DropRandomAugmenter),
        (skrec.recommenders, "cooccurrence", CooccurrenceRecommender),
    ],
)
def test_registered_through_entry_point(registry, name, cls):
    registry.refresh()
    assert registry.available()[name].startswith("skrec-example-plugin ")
    assert isinstance(registry.get(name), cls)


def test_new_items_come_first():
    from skrec import PopularityRecommender

    rec = PopularityRecommender().fit([[1, "a"], [2, "a"], [2, "b"]])
    idx = ColdnessSampler(random_state=0)(rec, [[3, "a"], [3, "b"], [3, "new"]], n_instances=3)
    assert idx.tolist() == [2, 1, 0]


def test_the_plugin_recommender_is_a_hybrid_member_by_name_in_a_grid_search():
    from sklearn.model_selection import GridSearchCV

    from skrec import ALSRecommender, HybridRecommender
    from skrec.datasets import make_interactions
    from skrec.metrics import make_ranking_scorer
    from skrec.model_selection import PerUserKFold

    data = make_interactions(n_users=80, n_items=40, n_interactions=1200, random_state=0)
    hybrid = HybridRecommender(
        [("co", "cooccurrence"), ("als", ALSRecommender(factors=4, iterations=3, random_state=0))]
    )
    search = GridSearchCV(
        hybrid,
        {"weights": [[1, 1], [2, 1]], "als__factors": [4, 8]},
        cv=PerUserKFold(n_splits=2, random_state=0),
        scoring=make_ranking_scorer("ndcg", k=10),
    ).fit(data.X)
    assert len(search.cv_results_["params"]) == 4
    member = search.best_estimator_.named_estimators_.co
    assert isinstance(member, CooccurrenceRecommender) and hasattr(member, "similarity_")
