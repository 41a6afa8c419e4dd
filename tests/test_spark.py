"""SparkALSRecommender on a local Spark (``local[2]``), one session for the whole file.

What is checked, against independent references where there is one:

* the parameter mapping: Spark's user factors solve implicit's own normal
  equations (``implicit.cpu.als.user_factor``, implicit's reference code) on
  data where the mapping is exact; the unmapped ``parametrization="spark"``
  does not;
* ``parametrization="spark"`` equals a raw ``pyspark.ml`` ALS on the same rows;
* a Spark DataFrame follows the data contract (string ids, explicit negatives,
  duplicates summed, cancelling rows dropped) exactly as the local path does;
* it trains and recommends without being collected: the session's
  ``spark.driver.maxResultSize`` is smaller than the data, which a plain
  ``collect`` proves, and fit, recommend and recommend_all still work;
* recommend after a Spark fit (ranked on the executors) equals ``to_als()``;
* pickling needs no session (nor pyspark); clone shares a session;
  GridSearchCV runs unmodified; bad Spark input gets clear errors.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

pyspark = pytest.importorskip(
    "pyspark", reason="pyspark is not installed (pip install 'scikit-recommend[spark]')"
)
pytest.importorskip(
    "pyarrow", reason="pyarrow is not installed (pip install 'scikit-recommend[spark]')"
)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from skrec import ALSRecommender, SparkALSRecommender  # noqa: E402
from skrec.metrics import make_ranking_scorer  # noqa: E402
from skrec.model_selection import PerUserKFold  # noqa: E402

SMALL = dict(factors=4, iterations=3, num_user_blocks=2, num_item_blocks=2, random_state=0)
#: Smaller than the test data of test_spark_dataframe_is_never_collected.
MAX_RESULT = "1m"


@pytest.fixture(scope="module")
def spark():
    old = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers import this environment's skrec
    running = SparkSession.getActiveSession()
    if running is not None:  # started by another test: its settings are not these
        running.stop()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("skrec-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.driver.maxResultSize", MAX_RESULT)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        if old is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = old


def contract_data(seed=0):
    """String ids, explicit negatives, duplicates, a cancelled pair, an all-negative user."""
    rng = np.random.default_rng(seed)
    n = 900
    users = rng.integers(0, 70, n)
    items = (users % 5) * 8 + rng.integers(0, 12, n)  # clustered: something to learn
    y = rng.integers(1, 4, n).astype(float)
    y[rng.random(n) < 0.15] = 0.0  # explicit negatives
    X = pd.DataFrame({"user": [f"u{u}" for u in users], "item": [f"i{i}" for i in items]})
    extra = pd.DataFrame(
        {
            "user": ["u0", "u0", "u1", "u1", "neg", "neg"],
            "item": ["i0", "i0", "i3", "i3", "i1", "i2"],
        }
    )
    X = pd.concat([X, extra], ignore_index=True)
    y = np.concatenate([y, [2.0, 1.5, 1.0, -1.0, 0.0, -2.0]])  # duplicate, cancel, negatives
    return X, y


def as_spark(spark, X, y=None):
    frame = X[["user", "item"]].copy()
    if y is not None:
        frame["rating"] = y
    return spark.createDataFrame(list(frame.itertuples(index=False)), list(frame.columns))


#: Spark's own parametrization, so that the local fit can be compared with a raw pyspark ALS.
RAW = dict(SMALL, parametrization="spark", regularization=0.1, alpha=2.0)


@pytest.fixture(scope="module")
def fitted(spark):
    """The same rows fitted from pandas and from a Spark DataFrame."""
    X, y = contract_data()
    local = SparkALSRecommender(**RAW).fit(X, y)
    remote = SparkALSRecommender(**RAW).fit(as_spark(spark, X, y))
    return X, y, local, remote


# ------------------------------------------------------------------ imports
def test_import_skrec_does_not_import_pyspark():
    code = (
        "import sys, skrec; from skrec import SparkALSRecommender; SparkALSRecommender();"
        "print([m for m in ('pyspark', 'py4j') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------- the objective
def regular_data(n=30, degree=4, seed=0):
    """Every user and every item has exactly ``degree`` positives; weights 1-3, plus negatives."""
    rng = np.random.default_rng(seed)
    taken = np.zeros((n, n), dtype=bool)
    for _ in range(degree):
        while True:
            perm = rng.permutation(n)
            if not taken[np.arange(n), perm].any():
                taken[np.arange(n), perm] = True
                break
    u, i = np.nonzero(taken)
    w = rng.integers(1, 4, len(u)).astype(float)
    free = np.argwhere(~taken)
    neg = free[rng.choice(len(free), size=25, replace=False)]
    X = np.vstack([np.column_stack([u, i]), neg])
    y = np.concatenate([w, -rng.integers(1, 3, len(neg)).astype(float)])
    return X, y


def implicit_user_factors(est, alpha, regularization):
    """Each user's factors solved by implicit's reference code from the fitted item factors."""
    from implicit.cpu.als import user_factor

    Y = est.item_factors_.astype(np.float64)
    Cui = (alpha * est.interactions_).tocsr()
    return np.vstack(
        [
            user_factor(Y, Y.T @ Y, Cui, u, regularization, Y.shape[1])
            for u in range(est.interactions_.shape[0])
        ]
    )


def test_spark_solves_implicits_equations(spark):
    """Spark's last half-step (users from the final item factors) solves implicit's system.

    On data where every row has the same number of positives the mapping of
    ``regularization`` is exact, so Spark's user factors must equal what
    implicit computes from Spark's item factors: confidences ``alpha * w``
    (the ``c - 1`` ratings), negatives and the regularisation all agree.
    """
    X, y = regular_data()
    alpha, lam = 2.0, 0.3
    params = dict(factors=3, iterations=2, regularization=lam, alpha=alpha, spark=spark)
    est = SparkALSRecommender(**params, num_user_blocks=2, num_item_blocks=2, random_state=1)
    est.fit(X, y)
    reference = implicit_user_factors(est, alpha, lam)
    np.testing.assert_allclose(est.user_factors_, reference, rtol=2e-3, atol=2e-5)
    assert est.spark_params_["alpha"] == 1.0
    assert est.spark_params_["regParam"] == pytest.approx(lam / 4)

    # The same numbers given to Spark as its own parameters solve another system.
    raw = SparkALSRecommender(**params, parametrization="spark", random_state=1).fit(X, y)
    reference = implicit_user_factors(raw, alpha, lam)
    assert np.abs(raw.user_factors_ - reference).max() > 0.05


def test_spark_parametrization_equals_raw_pyspark_als(spark, fitted):
    from pyspark.ml.recommendation import ALS

    est = fitted[2]
    R = est.interactions_.tocoo()
    rows = list(zip(R.row.tolist(), R.col.tolist(), R.data.tolist()))
    frame = spark.createDataFrame(rows, "u int, i int, r float")
    raw = ALS(
        rank=4, maxIter=3, regParam=0.1, alpha=2.0, implicitPrefs=True, seed=0,
        numUserBlocks=2, numItemBlocks=2, userCol="u", itemCol="i", ratingCol="r",
    ).fit(frame)  # fmt: skip
    factors = {r["id"]: r["features"] for r in raw.userFactors.collect()}
    expected = np.array([factors[u] for u in range(len(est.users_))])
    np.testing.assert_allclose(est.user_factors_, expected, rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------- data contract
def test_spark_input_follows_the_data_contract(fitted):
    X, y, local, remote = fitted
    np.testing.assert_array_equal(remote.users_, local.users_)
    np.testing.assert_array_equal(remote.items_, local.items_)
    assert remote.users_.dtype == object and "neg" in set(remote.users_)
    np.testing.assert_array_equal(remote.item_popularity_, local.item_popularity_)
    np.testing.assert_array_equal(remote._no_positive, local._no_positive)
    assert remote._no_positive[local._user_index.get_indexer(["neg"])[0]]
    assert remote.interactions_ is None  # the interactions stayed in Spark
    pulled = remote.to_als().interactions_
    assert (pulled != local.interactions_).nnz == 0  # duplicates summed, the cancelled pair gone
    u0, i0 = local._user_index.get_indexer(["u0"])[0], local._item_index.get_indexer(["i0"])[0]
    assert pulled[u0, i0] == pytest.approx(local.interactions_[u0, i0])
    # The same ALS input gives the same model.
    np.testing.assert_allclose(remote.item_factors_, local.item_factors_, rtol=1e-4, atol=1e-6)
    # The calibration is fitted on a sample drawn by Spark instead of numpy: close, not equal.
    gap = np.abs(remote.predict_proba(X)[:, 1] - local.predict_proba(X)[:, 1])
    assert gap.mean() < 0.03


def test_to_als_serves_identically(fitted):
    X, y, local, remote = fitted
    users = local.users_[::3]
    for est, calls in ((local, ({}, {"exclude_seen": False}, {"items": local.items_[:7]})),
                       (remote, ({"exclude_seen": False},))):  # fmt: skip
        als = est.to_als()
        assert isinstance(als, ALSRecommender)
        for kwargs in calls:
            a_ids, a_scores = als.recommend(users, n=5, **kwargs)
            b_ids, b_scores = est.recommend(users, n=5, **kwargs)
            np.testing.assert_allclose(a_scores, b_scores, rtol=1e-5, atol=1e-6)
            assert (a_ids == b_ids).mean() > 0.98  # exact but for float ties
        np.testing.assert_allclose(als.predict_proba(X), est.predict_proba(X), rtol=1e-5)
        np.testing.assert_array_equal(als.embed_items(est.items_), est.embed_items(est.items_))
        assert np.array_equal(als.model_.item_factors, est.item_factors_)


def test_recommend_on_executors_keeps_skrecs_semantics(fitted):
    X, y, local, remote = fitted
    served = remote.to_als()
    users = np.array(["u3", "nobody", "neg", "u3", "u10"], dtype=object)
    ids, scores = remote.recommend(users, n=4)
    ref_ids, ref_scores = served.recommend(users, n=4)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5)
    np.testing.assert_array_equal(ids[0], ids[3])
    seen = set(X.loc[X["user"] == "u3", "item"])
    assert not seen & set(ids[0])  # exclude_seen
    np.testing.assert_array_equal(ids[1], ids[2])  # unknown and all-negative: popularity
    cand = np.array(["i1", "i2", "i5", "zzz"], dtype=object)
    ids, _ = remote.recommend(["u3", "u10"], n=10, exclude_seen=False, items=cand)
    assert ids.shape == (2, 4) and set(ids[0]) == set(cand)
    remote.set_params(handle_unknown="error")
    try:
        with pytest.raises(ValueError, match="users not seen in fit"):
            remote.recommend(["nobody"])
        with pytest.raises(ValueError, match="items not seen in fit"):
            remote.recommend(["u3"], items=cand)
    finally:
        remote.set_params(handle_unknown="popular")


def test_decision_function_fetches_user_factors(fitted):
    X, y, local, remote = fitted
    np.testing.assert_allclose(
        remote.decision_function(X), remote.to_als().decision_function(X), rtol=1e-5, atol=1e-6
    )


# ------------------------------------------------------ never collected
def test_spark_dataframe_is_never_collected(spark, tmp_path):
    """Input larger than the driver may collect trains, recommends and writes results."""
    big = spark.range(100_000).select(  # random values: Spark compresses what it collects
        (F.abs(F.hash("id")) % 997).alias("user"),
        (F.abs(F.hash(F.col("id") + 1)) % 251).alias("item"),
        (1 + 2 * F.rand(0)).alias("rating"),
    )
    with pytest.raises(Exception, match="maxResultSize"):
        big.collect()  # the session refuses to collect the input
    est = SparkALSRecommender(**SMALL).fit(big)
    assert len(est.users_) == 997 and len(est.items_) == 251
    assert est.interactions_ is None
    out = tmp_path / "recs"
    est.recommend_all(n=5).write.parquet(str(out))
    recs = spark.read.parquet(str(out))
    assert recs.count() == 997
    flat = recs.select("user", F.explode("recommendations").alias("r")).select(
        "user", F.col("r.item").alias("item"), F.col("r.score").alias("score")
    )
    assert flat.groupBy("user").count().filter(F.col("count") != 5).count() == 0
    assert flat.join(big, ["user", "item"]).count() == 0  # seen items excluded, checked in Spark
    ids, scores = est.recommend([0, 1, 2], n=5)
    assert ids.shape == (3, 5) and np.all(np.diff(scores, axis=1) <= 0)


def test_recommend_all_matches_recommend(fitted):
    X, y, local, remote = fitted
    for est in (local, remote):
        rows = est.recommend_all(n=3).collect()
        assert len(rows) == len(est.users_)
        got = {r["user"]: [x["item"] for x in r["recommendations"]] for r in rows}
        ids, _ = est.recommend(est.users_, n=3)
        expected = dict(zip(est.users_, ids.tolist()))
        assert sum(got[u] == expected[u] for u in est.users_) >= len(est.users_) - 2


# --------------------------------------------------- pickle, clone, search
def test_pickle_needs_no_session(fitted, tmp_path):
    X, y, local, remote = fitted
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(remote))
    users = remote.users_[:5]
    ids, _ = remote.recommend(users, n=3)
    code = textwrap.dedent(
        f"""
        import pickle, sys
        est = pickle.loads(open({str(path)!r}, "rb").read())
        ids, _ = est.recommend({users.tolist()!r}, n=3)
        print(ids.tolist())
        print([m for m in ("pyspark", "py4j") if m in sys.modules])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0] == str(ids.tolist())
    assert lines[1] == "[]"  # unpickled and served without importing Spark
    assert hasattr(remote, "spark_model_")  # pickling left the fitted model as it was


def test_clone_shares_the_session_and_grid_search_runs(spark):
    from skrec.datasets import make_interactions

    data = make_interactions(n_users=80, n_items=40, n_interactions=900, random_state=0)
    est = SparkALSRecommender(**SMALL, spark=spark)
    assert clone(est).spark is spark
    search = GridSearchCV(
        est,
        {"regularization": [0.01, 1.0]},
        cv=PerUserKFold(n_splits=2, random_state=0),
        scoring=make_ranking_scorer("ndcg", k=10),
    )
    search.fit(data.X)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and (scores > 0).all()
    assert search.best_estimator_.spark is spark
    assert pickle.loads(pickle.dumps(search.best_estimator_)).spark is None


def test_session_resolution(spark, monkeypatch, capsys):
    from skrec.recommenders._spark_data import resolve_session

    assert resolve_session(spark, "1g", True) is spark
    assert resolve_session({"spark.sql.shuffle.partitions": "2"}, "1g", True) is spark
    assert resolve_session(None, "1g", True) is spark  # the active one
    assert capsys.readouterr().out == ""

    def no_session():
        raise RuntimeError("no active session")

    # Without one a local session is started, and verbose says so. (getOrCreate here
    # returns the running JVM's session: one JVM per process.)
    monkeypatch.setattr(SparkSession, "active", staticmethod(no_session))
    assert resolve_session(None, "3g", True) is spark
    out = capsys.readouterr().out
    assert "starting a local one (local[*], driver memory 3g)" in out


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("rows", "schema", "error", "match"),
    [
        ([("a", None, 1.0)], "user string, item string, rating double", ValueError, "missing"),
        ([("a", "b", float("nan"))], "user string, item string, rating double", ValueError, "NaN"),
        ([("a", "b", "x")], "user string, item string, rating string", TypeError, "numeric"),
        ([([1], "b")], "user array<int>, item string", TypeError, "ints or strings"),
        ([], "user string, item string", ValueError, "empty"),
    ],
)
def test_bad_spark_input_is_named(spark, rows, schema, error, match):
    with pytest.raises(error, match=match):
        SparkALSRecommender(**SMALL).fit(spark.createDataFrame(rows, schema))


def test_y_with_a_spark_dataframe_is_an_error(spark):
    frame = spark.createDataFrame([("a", "b")], "user string, item string")
    with pytest.raises(ValueError, match="rating"):
        SparkALSRecommender(**SMALL).fit(frame, [1.0])
    with pytest.raises(ValueError, match="sample_weight must be None"):
        SparkALSRecommender(**SMALL).fit(frame, sample_weight=[1.0])
