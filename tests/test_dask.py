"""Hyperparameter search across processes through joblib's Dask (and Ray) backends.

A ``LocalCluster`` of two worker processes stands in for a real cluster: the
estimators, the data, the splitter and the scorers are pickled to the workers,
fitted models come back, and every score equals the one of a local ``n_jobs=1``
run exactly. Only the loopback interface is used and no dashboard is started.
"""

import shutil
import tempfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.stats import loguniform
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate

from skrec import ALSRecommender, PopularityRecommender
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer
from skrec.model_selection import PerUserKFold

# Starting a cluster of worker processes takes seconds: not in the quick subset.
pytestmark = pytest.mark.slow

joblib = pytest.importorskip("joblib")
distributed = pytest.importorskip("distributed")

# n_jobs=1: one core per worker, as the cluster's threads_per_worker=1 says.
ALS = dict(factors=8, iterations=4, n_jobs=1, random_state=0)
SCORING = {"ndcg": make_ranking_scorer("ndcg", k=10), "recall": make_ranking_scorer("recall", k=5)}


@pytest.fixture(scope="module")
def data():
    return make_interactions(n_users=150, n_items=60, n_interactions=2000, random_state=0)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
        worker_dashboard_address=None,
        # Without a dashboard the scheduler still serves /health; on a free loopback
        # port, not on 8787 of every interface.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _scores(cv_results: dict) -> dict:
    """The columns of ``cv_results_`` that do not depend on timing."""
    return {k: v for k, v in cv_results.items() if "_time" not in k}


def _assert_same_results(remote: dict, local: dict) -> None:
    remote, local = _scores(remote), _scores(local)
    assert remote.keys() == local.keys()
    for key in local:
        if key == "params":
            assert remote[key] == local[key]
        else:
            assert_array_equal(np.asarray(remote[key]), np.asarray(local[key]), err_msg=key)


def _on_workers(client, run):
    """Run ``run()`` under the Dask backend; return its result and the workers that ran tasks."""
    with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
        out = run()
    workers = {task["worker"] for task in stream.data}
    assert workers, "no task ran on the cluster"
    assert workers <= set(client.scheduler_info()["workers"])
    return out


def test_grid_search_on_dask_equals_local(client, data):
    def search():
        return GridSearchCV(
            ALSRecommender(**ALS),
            {"factors": [4, 8], "regularization": [0.01, 0.5]},
            scoring=SCORING,
            refit="ndcg",
            cv=PerUserKFold(n_splits=3, random_state=0),
            return_train_score=True,
        )

    remote = _on_workers(client, lambda: search().fit(data.X))
    local = search().set_params(n_jobs=1).fit(data.X)
    _assert_same_results(remote.cv_results_, local.cv_results_)
    assert remote.best_params_ == local.best_params_
    users = data.X["user"].unique()[:20]
    ours, theirs = local.best_estimator_, remote.best_estimator_
    assert_array_equal(theirs.recommend(users)[0], ours.recommend(users)[0])


def test_randomized_search_on_dask_equals_local(client, data):
    def search():
        return RandomizedSearchCV(
            ALSRecommender(**ALS),
            {"regularization": loguniform(1e-3, 1.0), "alpha": [0.5, 1.0, 4.0]},
            n_iter=3,
            cv=PerUserKFold(n_splits=2, random_state=1),
            random_state=0,
        )

    remote = _on_workers(client, lambda: search().fit(data.X, data.y))
    local = search().set_params(n_jobs=1).fit(data.X, data.y)
    _assert_same_results(remote.cv_results_, local.cv_results_)
    assert np.isfinite(remote.cv_results_["mean_test_score"]).all()


def test_fitted_models_come_back_intact(client, data):
    """Models fitted in worker processes equal models fitted here, attribute by attribute."""
    cv = PerUserKFold(n_splits=2, random_state=0)

    def validate(n_jobs=None):
        estimator = ALSRecommender(**ALS)
        return cross_validate(estimator, data.X, cv=cv, return_estimator=True, n_jobs=n_jobs)

    remote = _on_workers(client, validate)
    local = validate(n_jobs=1)
    assert_array_equal(remote["test_score"], local["test_score"])
    rows = data.X.head(50)
    for theirs, ours in zip(remote["estimator"], local["estimator"]):
        assert_array_equal(theirs.users_, ours.users_)
        assert_array_equal(theirs.user_factors_, ours.user_factors_)
        assert_array_equal(theirs.item_factors_, ours.item_factors_)
        assert (theirs.interactions_ != ours.interactions_).nnz == 0
        assert theirs.calibration_ == ours.calibration_
        assert_array_equal(theirs.predict_proba(rows), ours.predict_proba(rows))
        assert_array_equal(theirs.recommend(ours.users_)[0], ours.recommend(ours.users_)[0])


def test_search_over_estimators_on_dask(client, data):
    """The estimator itself is a searched parameter (a list of grids), as in sklearn."""
    grid = [
        {"estimator": [PopularityRecommender()]},
        {"estimator": [ALSRecommender(**ALS)], "estimator__factors": [4, 8]},
    ]

    def search():
        from sklearn.pipeline import Pipeline

        return GridSearchCV(
            Pipeline([("estimator", PopularityRecommender())]),
            grid,
            cv=PerUserKFold(n_splits=2, random_state=0),
        )

    remote = _on_workers(client, lambda: search().fit(data.X))
    local = search().set_params(n_jobs=1).fit(data.X)
    _assert_same_results(remote.cv_results_, local.cv_results_)


@pytest.mark.slow  # 15-20 s, most of it starting Ray
def test_grid_search_on_ray_equals_local(data):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    # A short private folder: Ray's socket paths must stay under 107 characters.
    temp_dir = tempfile.mkdtemp(prefix="skrec-ray-")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=100 * 2**20,
        log_to_driver=False,
        configure_logging=False,
        _temp_dir=temp_dir,
    )
    try:
        register_ray()

        def search():
            return GridSearchCV(
                ALSRecommender(**ALS),
                {"regularization": [0.01, 0.5]},
                cv=PerUserKFold(n_splits=2, random_state=0),
            )

        with joblib.parallel_backend("ray"):
            remote = search().fit(data.X)
        local = search().set_params(n_jobs=1).fit(data.X)
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
    _assert_same_results(remote.cv_results_, local.cv_results_)
