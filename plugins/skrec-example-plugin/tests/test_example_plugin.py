"""The example plugin passes skrec's plugin checks and is found by the registries."""

import pytest
from skrec_example_plugin import ColdnessSampler, CooccurrenceRecommender, DropRandomAugmenter

import skrec.augmenters
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
