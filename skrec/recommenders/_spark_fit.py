"""How :class:`~skrec.recommenders.SparkALSRecommender` trains: in Spark, from local or Spark data.

``train_als`` maps skrec's parameters to Spark's ``ALS`` (see the estimator's
Notes) and fits it; ``fit_frame`` is the whole fit of a Spark DataFrame (data
contract checks, ids, aggregation, popularity, the calibration sample), done
by Spark jobs so that only per-id results reach the driver; ``driver_state``
pulls what stayed in Spark, for pickling and ``to_als``.
"""

from __future__ import annotations

import time
import weakref

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_random_state

from skrec.recommenders._calibration import CALIBRATION_PAIRS, fit_platt
from skrec.recommenders._spark_data import (
    as_matrix,
    as_numpy,
    check_classic,
    check_spark_interactions,
    from_spark,
    import_spark,
    index_ids,
    quiet,
    to_spark,
)

__all__ = ["SPARK_SIDE", "driver_state", "fit_frame", "pull_factors", "train_als"]

#: Fitted attributes that are JVM handles: never pickled, never copied into an ALSRecommender.
SPARK_SIDE = ("spark_model_", "_spark_train", "_spark_users", "_spark_session", "_release")
#: The smallest rating handed to Spark for a positive of confidence 1 (see the Notes).
_EPS = 1e-6


def ratings_for(est, frame, n_rows: int, n_positive: int):
    """Spark's rating column and ALS parameters for ``frame`` (u, i, w) (see Notes)."""
    sql, _ = import_spark()
    F = sql.functions
    w = F.col("w").cast("double")
    if est.parametrization == "spark":
        rating, reg, alpha = w, float(est.regularization), float(est.alpha)
    else:
        excess = F.lit(float(est.alpha)) * F.abs(w) - F.lit(1.0)
        rating = F.when(w > 0, F.greatest(excess, F.lit(_EPS))).otherwise(
            -F.greatest(excess, F.lit(0.0))
        )
        mean_positives = 2.0 * n_positive / n_rows if n_positive else 1.0
        reg, alpha = float(est.regularization) / mean_positives, 1.0
    return frame.select("u", "i", rating.cast("float").alias("r")), reg, alpha


def train_als(est, frame, shape, n_positive: int):
    with quiet():  # pyspark.ml warns about pandas >= 3 when it is imported
        from pyspark.ml.recommendation import ALS  # noqa: PLC0415 (optional dependency)

    ratings, reg, alpha = ratings_for(est, frame, shape[0] + shape[1], n_positive)
    est.spark_params_ = {
        "rank": int(est.factors),
        "maxIter": int(est.iterations),
        "regParam": reg,
        "alpha": alpha,
        "implicitPrefs": True,
        "nonnegative": bool(est.nonnegative),
        "numUserBlocks": int(est.num_user_blocks),
        "numItemBlocks": int(est.num_item_blocks),
        "checkpointInterval": int(est.checkpoint_interval),
        "intermediateStorageLevel": est.intermediate_storage_level,
        "finalStorageLevel": est.final_storage_level,
        "seed": est._seed(),
    }
    start = time.perf_counter()
    als = ALS(userCol="u", itemCol="i", ratingCol="r", coldStartStrategy="nan")
    als.setParams(**est.spark_params_)
    with quiet():
        model = als.fit(ratings)
    est._log(
        f"ALS fitted: {shape[0]:,} users x {shape[1]:,} items, rank {est.factors}, "
        f"{est.iterations} iterations, regParam {reg:.4g}",
        start,
    )
    est.spark_model_ = model
    return model


def pull_factors(est, factors_frame, n_rows: int) -> np.ndarray:
    """A factor table of Spark (id, features) as a dense (n_rows, factors) array."""
    cols = from_spark(factors_frame)
    out = np.zeros((n_rows, est.factors), dtype=np.float32)
    ids = as_numpy(cols["id"]).astype(np.int64)
    out[ids] = as_matrix(cols["features"], est.factors)
    return out


def fit_frame(est, X):
    """A Spark DataFrame: check, index, aggregate and train in Spark."""
    sql, _ = import_spark()
    F = sql.functions
    check_classic(X)
    if est.augmenter is not None:
        raise ValueError(
            "augmenter works on local interaction tables; it cannot be used when X is a "
            "Spark DataFrame (augment the DataFrame in Spark first)"
        )
    spark = X.sparkSession
    start = time.perf_counter()
    table = check_spark_interactions(X)
    est._user_index, users = index_ids(spark, table.frame, "user", "u")
    est._item_index, items = index_ids(spark, table.frame, "item", "i")
    est.users_, est.items_ = est._user_index.ids, est._item_index.ids
    shape = (len(est.users_), len(est.items_))
    train = (
        table.frame.join(F.broadcast(users), "user")
        .join(F.broadcast(items), "item")
        .groupBy("u", "i")
        .agg(F.sum("w").cast("float").alias("w"))
        .filter(F.col("w") != 0)
    )
    from pyspark import StorageLevel  # noqa: PLC0415

    train = train.persist(getattr(StorageLevel, est.intermediate_storage_level))
    est._spark_session, est._spark_train, est._spark_users = spark, train, users
    est._release = weakref.finalize(est, _unpersist, train)
    est._release.atexit = False
    est.n_features_in_ = 3 if table.has_timestamp else 2
    est._user_type = table.user_type.simpleString()
    est._item_type = table.item_type.simpleString()
    est.interactions_ = est._seen = None

    w = F.col("w")
    counts = train.agg(
        F.sum(F.when(w > 0, 1).otherwise(0)).alias("pos"),
        F.sum(F.when(w < 0, 1).otherwise(0)).alias("neg"),
    ).collect()[0]
    n_positive, n_negative = int(counts["pos"] or 0), int(counts["neg"] or 0)
    positive = train.filter(w > 0)
    pop = from_spark(positive.groupBy("i").count())
    est.item_popularity_ = np.zeros(shape[1], dtype=np.float64)
    est.item_popularity_[as_numpy(pop["i"]).astype(np.int64)] = as_numpy(pop["count"])
    cold = from_spark(users.select("u").join(positive.select("u").distinct(), "u", "left_anti"))
    est._no_positive = np.zeros(shape[0], dtype=bool)
    est._no_positive[as_numpy(cold["u"]).astype(np.int64)] = True
    est._log(
        f"checked and indexed X: {shape[0]:,} users, {shape[1]:,} items, "
        f"{n_positive:,} positive and {n_negative:,} negative pairs",
        start,
    )
    model = train_als(est, train, shape, n_positive)
    est.item_factors_ = pull_factors(est, model.itemFactors, shape[1])
    start = time.perf_counter()
    _calibrate(est, train, n_positive, n_negative)
    est._log("calibrated on a sample", start)
    return est


def _sample_cells(frame, n: int, size: int, seed: int):
    """Up to ``size`` of the ``n`` (u, i) cells of ``frame``, drawn at random, on the driver."""
    sql, _ = import_spark()
    F = sql.functions
    if n > size:
        frame = (
            frame.sample(withReplacement=False, fraction=min(1.0, 2.0 * size / n), seed=seed)
            .orderBy(F.rand(seed))
            .limit(size)
        )
    cols = from_spark(frame.select("u", "i"))
    return as_numpy(cols["u"]).astype(np.int64), as_numpy(cols["i"]).astype(np.int64)


def _calibrate(est, train, n_positive: int, n_negative: int) -> None:
    """The calibration of ``BaseRecommender``, its sample drawn by Spark.

    Up to 5,000 positive and 5,000 negative training cells, and as many
    random (user, item) pairs as positives, those seen in training removed
    by a join; only these pairs and their users' factors reach the driver.
    """
    sql, _ = import_spark()
    w = sql.functions.col("w")
    rng = check_random_state(est._seed())
    pu, pi = _sample_cells(train.filter(w > 0), n_positive, CALIBRATION_PAIRS, rng.randint(1 << 30))
    nu, ni = (np.empty(0, np.int64),) * 2
    if n_negative:
        nu, ni = _sample_cells(
            train.filter(w < 0), n_negative, CALIBRATION_PAIRS, rng.randint(1 << 30)
        )
    n_users, n_items = len(est.users_), len(est.items_)
    n_sample = max(len(pu), 1)
    su = rng.randint(n_users, size=n_sample)
    si = rng.randint(n_items, size=n_sample)
    pairs = to_spark(
        est._spark_session,
        {"u": su.astype(np.int32), "i": si.astype(np.int32), "k": np.arange(n_sample)},
    )
    seen = from_spark(pairs.join(train.select("u", "i"), ["u", "i"]).select("k"))
    unseen = np.ones(n_sample, dtype=bool)
    unseen[as_numpy(seen["k"]).astype(np.int64)] = False
    su, si = su[unseen], si[unseen]
    users = np.concatenate([pu, nu, su])
    items = np.concatenate([pi, ni, si])
    labels = np.concatenate([np.ones(len(pu)), np.zeros(len(nu) + len(su))])
    scores = est._no_nan(est._score_pairs(users, items), "sampled training pairs")
    finite = np.isfinite(scores)
    est.calibration_ = fit_platt(scores[finite], labels[finite])
    est._fallback_calibration = fit_platt(est._popularity_score(items), labels)
    est._score_floor = float(np.min(scores[finite])) if finite.any() else 0.0


def driver_state(est) -> dict:
    """Every fitted attribute, with the user side pulled from Spark when it is there."""
    state = dict(vars(est))
    if not est._local():
        start = time.perf_counter()
        n_users, n_items = len(est.users_), len(est.items_)
        state["user_factors_"] = pull_factors(est, est.spark_model_.userFactors, n_users)
        cols = from_spark(est._spark_train)
        R = sp.csr_matrix(
            (
                as_numpy(cols["w"]).astype(np.float32),
                (as_numpy(cols["u"]).astype(np.int64), as_numpy(cols["i"]).astype(np.int64)),
            ),
            shape=(n_users, n_items),
        )
        R.sort_indices()
        state["interactions_"] = state["_seen"] = R
        est._log(f"pulled {n_users:,} user factors and {R.nnz:,} training pairs", start)
    for name in SPARK_SIDE:
        state.pop(name, None)
    return state


def _unpersist(frame) -> None:
    try:
        frame.unpersist()
    except Exception:  # noqa: BLE001 (the session may already be stopped)
        pass
