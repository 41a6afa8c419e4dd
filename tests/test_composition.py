"""Where scikit-learn users compose: pipelines, wrappers, searches, routing, scorers, threads.

And the reliability defects found by trying bad input (issue 13, item 5) that
the conformance suite does not cover.
"""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import sklearn
from joblib import parallel_config
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_info, threadpool_limits

import skrec.recommenders._topn as topn_module
from skrec import ALSRecommender, EASERecommender, PopularityRecommender
from skrec.datasets import make_interactions
from skrec.metrics import make_ranking_scorer, ranking_score
from skrec.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV, PerUserKFold
from skrec.utils import blas_limit, effective_n_jobs
from tests.test_common import ESTIMATORS

SCORER = make_ranking_scorer("ndcg", k=10)


@pytest.fixture(scope="module")
def data():
    d = make_interactions(n_users=120, n_items=60, n_interactions=1800, random_state=0)
    return d.X[["user", "item"]], d.y


def _cv():
    return PerUserKFold(n_splits=3, random_state=0)


# ------------------------------------------------------------------ pipelines
@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_a_pipeline_scores_as_the_bare_recommender(est, data):
    X, _ = data
    if "random_state" in est.get_params():
        est = clone(est).set_params(random_state=0)
    bare = cross_val_score(clone(est), X, cv=_cv(), scoring=SCORER, error_score="raise")
    pipe = Pipeline([("prep", FunctionTransformer()), ("rec", clone(est))])
    piped = cross_val_score(pipe, X, cv=_cv(), scoring=SCORER, error_score="raise")
    assert np.isfinite(bare).all()
    np.testing.assert_allclose(piped, bare)


def test_an_imblearn_pipeline_with_an_augmenter_gives_a_finite_score(data):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    from skrec.augmenters import SimilarItemsAugmenter

    X, y = data
    pipe = imblearn_pipeline.Pipeline(
        [("augment", SimilarItemsAugmenter(k=3)), ("ease", EASERecommender(l2=10.0))]
    )
    scores = cross_val_score(pipe, X, y, cv=_cv(), scoring=SCORER, error_score="raise")
    assert np.isfinite(scores).all() and (scores > 0).all()


def test_wrappers_rank_with_the_recommender_inside(data):
    X, _ = data
    fitted = EASERecommender(l2=10.0).fit(X.iloc[::2])
    held = X.iloc[1::2]
    expected = SCORER(fitted, held)
    assert SCORER(FrozenEstimator(fitted), held) == expected
    search = GridSearchCV(EASERecommender(), {"l2": [10.0]}, cv=_cv(), scoring=SCORER)
    search.fit(X.iloc[::2])
    assert SCORER(search, held) == SCORER(search.best_estimator_, held)


def test_an_estimator_that_cannot_rank_is_a_clear_error_never_nan(data):
    X, _ = data
    model = LogisticRegression().fit(np.c_[X["user"], X["item"]], X["user"] % 2)
    with pytest.raises(TypeError, match="LogisticRegression cannot rank.*skrec recommender"):
        SCORER(model, X)
    pipe = Pipeline([("prep", FunctionTransformer()), ("lr", LogisticRegression())])
    with pytest.raises(TypeError, match="its innermost step is a LogisticRegression"):
        cross_val_score(pipe, X, X["user"] % 2, cv=3, scoring=SCORER, error_score="raise")


def test_nan_recommend_scores_are_an_error_not_excluded_slots(data):
    X, _ = data

    class Diverged:
        def recommend(self, users, n=10, exclude_seen=True, items=None):
            ids = np.tile(np.arange(n), (len(users), 1))
            return ids, np.full((len(users), n), np.nan)

    with pytest.raises(ValueError, match="NaN scores.*neither a score nor an excluded slot"):
        ranking_score(Diverged(), X)


# ---------------------------------------------------------- searches, routing
@pytest.mark.parametrize("search", [HalvingGridSearchCV, HalvingRandomSearchCV])
def test_successive_halving_with_y_none(search, data):
    X, _ = data
    grid = {"l2": [1.0, 10.0, 100.0, 1000.0]}
    extra = {"n_candidates": 4} if search is HalvingRandomSearchCV else {}
    found = search(EASERecommender(), grid, cv=_cv(), scoring=SCORER, random_state=0, **extra).fit(
        X
    )
    assert found.best_params_["l2"] in grid["l2"]
    assert np.isfinite(found.cv_results_["mean_test_score"]).all()
    assert found.n_resources_[0] < found.n_resources_[-1] <= len(X)


def test_sample_weight_is_routed_by_a_grid_search(data):
    X, y = data
    seen = []

    class Spy(EASERecommender):
        def fit(self, X, y=None, sample_weight=None):
            seen.append(None if sample_weight is None else np.asarray(sample_weight).copy())
            return super().fit(X, y, sample_weight=sample_weight)

    weight = np.linspace(0.5, 2.0, len(X))
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            Spy().set_fit_request(sample_weight=True), {"l2": [10.0]}, cv=_cv(), scoring=SCORER
        ).fit(X, y, sample_weight=weight)
    assert np.isfinite(search.best_score_)
    assert all(w is not None for w in seen)
    assert {round(float(w.sum()), 6) for w in seen[:-1]} < {round(float(weight.sum()), 6)} or all(
        len(w) < len(weight) for w in seen[:-1]
    )
    np.testing.assert_array_equal(seen[-1], weight)  # the refit sees every weight


def test_sklearn_classifier_scorers_work_when_y_holds_labels(data):
    X, _ = data
    rng = np.random.default_rng(0)
    y = (rng.random(len(X)) < 0.7).astype(int)  # 1: liked, 0: shown and refused
    scores = cross_val_score(EASERecommender(l2=10.0), X, y, cv=_cv(), scoring="roc_auc")
    assert np.isfinite(scores).all()
    model = EASERecommender(l2=10.0).fit(X.iloc[::2], y[::2])
    auc = sklearn.metrics.get_scorer("roc_auc")(model, X.iloc[1::2], y[1::2])
    assert auc == roc_auc_score(y[1::2], model.decision_function(X.iloc[1::2]))


# -------------------------------------------------------------------- threads
def test_n_jobs_none_follows_parallel_config_and_threadpoolctl():
    with parallel_config(n_jobs=3):
        assert effective_n_jobs() == 3
    with threadpool_limits(1, user_api="blas"):
        assert effective_n_jobs() == 1
    assert effective_n_jobs(1) == 1 and effective_n_jobs(-1) >= 1
    with pytest.raises(ValueError, match="n_jobs"):
        effective_n_jobs(0)


def test_als_and_recommend_threads_obey_n_jobs(data, monkeypatch):
    X, _ = data
    assert ALSRecommender(factors=4, iterations=2, n_jobs=1).fit(X).model_.num_threads == 1
    with parallel_config(n_jobs=2):
        assert ALSRecommender(factors=4, iterations=2).fit(X).model_.num_threads == 2
    est = PopularityRecommender().fit(X)
    monkeypatch.setattr(topn_module, "BLOCK_FLOATS", 2 * len(est.items_))
    workers = []
    real = topn_module.ThreadPoolExecutor
    monkeypatch.setattr(topn_module, "ThreadPoolExecutor", lambda n: workers.append(n) or real(n))
    with threadpool_limits(1, user_api="blas"):  # e.g. inside a parallel search's worker
        est.recommend(est.users_, n=3)
    with parallel_config(n_jobs=2):
        est.recommend(est.users_, n=3)
    assert workers == [2]


def _blas_limits():
    return sorted((i["filepath"], i["num_threads"]) for i in threadpool_info())


def test_nothing_changes_process_wide_thread_limits(data):
    X, _ = data
    before = _blas_limits()
    est = ALSRecommender(factors=4, iterations=2).fit(X)
    est.recommend(est.users_, n=5)
    assert _blas_limits() == before


def _in_threads(target, n):
    """Run ``target`` in ``n`` threads at once; an assertion failing in one fails the test."""
    with ThreadPoolExecutor(n) as pool:
        for future in [pool.submit(target) for _ in range(n)]:
            future.result()


def _blas_thread_counts():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def test_concurrent_blas_limits_restore_what_was_there():
    before = _blas_limits()
    entered = threading.Barrier(2, timeout=30)

    def hold():
        with blas_limit(1):
            entered.wait()
            assert _blas_thread_counts() == {1}
            entered.wait()

    _in_threads(hold, 2)
    assert _blas_limits() == before


def test_blas_limit_holds_in_a_worker_thread_after_the_main_thread_set_one():
    """threadpoolctl >= 3.8 lets only the thread that last set OpenBLAS's limit set it."""
    before = _blas_limits()
    if max(n for _, n in before) < 2:
        pytest.skip("BLAS already runs on one thread here: there is no limit to see")
    with blas_limit(1):
        assert _blas_thread_counts() == {1}
    assert _blas_limits() == before
    left = threading.Event()

    def first():  # enters, then leaves while the second is still inside
        with blas_limit(1):
            assert _blas_thread_counts() == {1}
            entered.wait()
        left.set()

    def second():
        with blas_limit(1):
            entered.wait()
            assert left.wait(timeout=30)
            assert _blas_thread_counts() == {1}

    entered = threading.Barrier(2, timeout=30)
    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(first), pool.submit(second)]
        for future in futures:
            future.result()
    assert _blas_limits() == before


# ----------------------------------------------------------------- bad input
def test_y_beyond_float32_is_an_error(data):
    X, _ = data
    y = np.ones(len(X))
    y[3] = 1e39  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="beyond the float32 range.*rows \\[3\\]"):
        ALSRecommender().fit(X, y)
    y = np.full(4, 3e38)  # each fits; their sum does not
    with pytest.raises(ValueError, match="overflows float32"):
        EASERecommender().fit([[1, "a"], [1, "a"], [2, "b"], [2, "a"]], y)
    with pytest.raises(ValueError, match="sample_weight has values beyond the float32 range"):
        EASERecommender().fit(X, sample_weight=np.full(len(X), 1e40))


def test_integer_ids_beyond_int64_are_an_error():
    big = 2**64 + 1
    with pytest.raises(ValueError, match="outside the int64 range.*convert|outside the int64"):
        PopularityRecommender().fit(pd.DataFrame({"user": [1, big], "item": [1, 2]}))
    with pytest.raises(ValueError, match="outside the int64 range"):
        PopularityRecommender().fit([[1, 1], [big, 2]])
    with pytest.raises(ValueError, match="outside the int64 range"):
        PopularityRecommender().fit(np.array([[1, 1], [2**63 + 5, 2]], dtype=np.uint64))


def test_samplers_refuse_an_unfitted_learner():
    import skrec.samplers

    pool = [[1, "a"], [2, "b"]]
    for name in skrec.samplers.available():
        sampler = skrec.samplers.get(name)
        if name == "random":
            assert len(sampler(ALSRecommender(), pool)) == 1  # reads no model
            continue
        with pytest.raises(NotFittedError, match=f"{type(sampler).__name__} needs a fitted"):
            sampler(ALSRecommender(), pool)


def test_entry_points_that_are_not_plugins_name_their_distribution(monkeypatch):
    from importlib.metadata import EntryPoint
    from types import SimpleNamespace

    import skrec._plugins as plugins
    import skrec.augmenters

    eps = [
        EntryPoint("constant", "math:pi", "skrec.augmenters")._for(
            SimpleNamespace(name="odd-dist", version="0.1")
        ),
        EntryPoint("no_resample", "collections:OrderedDict", "skrec.augmenters")._for(
            SimpleNamespace(name="other-dist", version="2.0")
        ),
    ]
    monkeypatch.setattr(
        plugins, "discover_entry_points", lambda g: [e for e in eps if e.group == g]
    )
    skrec.augmenters.registry.refresh()
    try:
        with pytest.raises(TypeError, match="'constant' from odd-dist 0.1 is a float"):
            skrec.augmenters.get("constant")
        with pytest.raises(TypeError, match="'no_resample' from other-dist 2.0.*fit_resample"):
            skrec.augmenters.get("no_resample")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(TypeError, match="odd-dist"):
                EASERecommender(augmenter="constant").fit([[1, "a"], [2, "b"]])
    finally:
        skrec.augmenters.registry.refresh()
