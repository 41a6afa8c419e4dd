"""Top-n recommendations of a Spark-fitted ALS model, computed on the executors.

The item side of the model (item factors, ids, popularity, calibration: what
scores a user against the catalogue) is broadcast once. The user side (each
user's factors and training items) stays partitioned in Spark. Every executor
task turns a batch of user rows into a small fitted
:class:`~skrec.recommenders.ALSRecommender` holding the broadcast item side and
that batch's users, and calls its ``recommend``: the one implementation of
skrec's ranking semantics (seen items excluded, candidate lists, cold users by
popularity, ties in index order) runs on the executors unchanged.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from skrec.recommenders._spark_data import as_matrix, as_numpy, import_spark, quiet, to_spark
from skrec.recommenders._spark_fit import SPARK_SIDE
from skrec.utils.validation import IdIndex

__all__ = [
    "ItemSide",
    "item_side",
    "recommend_frame",
    "spark_type",
    "user_rows",
    "user_rows_from_arrays",
]

#: Fitted attributes that describe users; everything else a fitted model holds is item side.
USER_SIDE = ("users_", "_user_index", "user_factors_", "interactions_", "_seen", "_no_positive")

# Spark SQL type names -> Arrow types, for the id columns of the results.
_ARROW_TYPES = {
    "string": "string",
    "int": "int32",
    "bigint": "int64",
    "smallint": "int16",
    "tinyint": "int8",
    "double": "float64",
    "float": "float32",
    "boolean": "bool_",
}


def spark_type(ids: np.ndarray, what: str) -> str:
    """The Spark SQL type of a column holding ``ids`` (the driver's id array)."""
    kind = ids.dtype.kind
    if kind in "iu":
        return "bigint"
    if kind == "f":
        return "double"
    if kind == "b":
        return "boolean"
    if len(ids) and all(isinstance(v, str) for v in ids):
        return "string"
    raise TypeError(
        f"the {what} ids mix types ({sorted({type(v).__name__ for v in ids})}); a Spark column "
        "holds one type: use all-int or all-string ids to get results as a Spark DataFrame"
    )


def _arrow_type(name: str):
    _, pa = import_spark()
    return getattr(pa, _ARROW_TYPES[name])()


class ItemSide:
    """What the executors need to rank items for any user: broadcast once per call.

    Parameters
    ----------
    params : dict
        Constructor parameters of the :class:`ALSRecommender` built per batch.
    fitted : dict
        The fitted state of the model minus its user side (:data:`USER_SIDE`).
    """

    def __init__(self, params: dict, fitted: dict):
        self.params = params
        self.fitted = fitted

    def model_for(self, factors: np.ndarray, seen: sp.csr_matrix, no_positive: np.ndarray):
        """A fitted ALSRecommender whose users are ``0..len(factors)-1``."""
        from skrec.recommenders._als import ALSRecommender  # noqa: PLC0415 (executor side)

        model = ALSRecommender(**self.params)
        model.__dict__.update(self.fitted)
        users = np.arange(len(factors))
        model.users_ = users
        model._user_index = IdIndex(users)
        model.user_factors_ = factors
        model.interactions_ = model._seen = seen
        model._no_positive = no_positive
        return model


def _seen_matrix(col, n_items: int) -> sp.csr_matrix:
    """Users' training items (a pyarrow list column, nulls for none) as a 0/1 CSR matrix."""
    import pyarrow.compute as pc  # noqa: PLC0415

    lengths = as_numpy(pc.fill_null(pc.list_value_length(col), 0)).astype(np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = as_numpy(col.flatten()).astype(np.int32) if indptr[-1] else np.empty(0, np.int32)
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(lengths), n_items))


def _rank_batches(batches, *, side, n, exclude_seen, items, k, n_items, item_type, positions):
    """mapInArrow body: user rows in, their top-n out (ids and scores, or candidate positions)."""
    import pyarrow as pa  # noqa: PLC0415 (executor side)
    import pyarrow.compute as pc  # noqa: PLC0415

    side = side.value
    cand_index = None
    if positions:
        cand_ids = side.fitted["items_"] if items is None else items
        cand_index = _first_positions(cand_ids)
    out_type = None if positions else getattr(pa, item_type)()
    for batch in batches:
        m = batch.num_rows
        if m == 0:
            continue
        factors = as_matrix(batch.column("features"), k)
        seen = _seen_matrix(batch.column("seen"), n_items)
        no_positive = ~as_numpy(pc.fill_null(batch.column("pos"), False)).astype(bool)
        model = side.model_for(factors, seen, no_positive)
        ids, scores = model.recommend(np.arange(m), n=n, exclude_seen=exclude_seen, items=items)
        width = ids.shape[1]
        offsets = pa.array(np.arange(0, m * width + 1, width, dtype=np.int32))
        flat_scores = pa.array(scores.ravel().astype(np.float64))
        if positions:
            where = pa.array(cand_index(ids.ravel()).astype(np.int32))
            yield pa.RecordBatch.from_arrays(
                [
                    batch.column("u"),
                    pa.ListArray.from_arrays(offsets, where),
                    pa.ListArray.from_arrays(offsets, flat_scores),
                ],
                names=["u", "pos", "score"],
            )
        else:
            flat_ids = pa.array(ids.ravel().tolist(), type=out_type)
            recs = pa.StructArray.from_arrays([flat_ids, flat_scores], names=["item", "score"])
            yield pa.RecordBatch.from_arrays(
                [batch.column("user"), pa.ListArray.from_arrays(offsets, recs)],
                names=["user", "recommendations"],
            )


def _first_positions(cand_ids):
    """A function mapping ids to their first position in ``cand_ids``."""
    import pandas as pd  # noqa: PLC0415

    codes, uniques = pd.factorize(np.asarray(cand_ids, dtype=object), sort=False)
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    index = pd.Index(uniques)

    def lookup(ids):
        return first[index.get_indexer(np.asarray(ids, dtype=object))]

    return lookup


def recommend_frame(
    rows, side: ItemSide, *, n, exclude_seen, items, k, n_items, user_type, item_type, positions
):
    """Top-n of every user row of ``rows`` (columns u, user, features, seen, pos), lazily.

    Returns a Spark DataFrame: ``(u, pos, score)`` when ``positions`` (candidate
    positions, for the driver to collect), else ``(user, recommendations)``
    where ``recommendations`` is an array of ``(item, score)`` structs, best
    first, as Spark's own ``ALSModel.recommendForAllUsers`` returns.
    """
    spark = rows.sparkSession
    broadcast = spark.sparkContext.broadcast(side)
    body = functools.partial(
        _rank_batches,
        side=broadcast,
        n=n,
        exclude_seen=exclude_seen,
        items=items,
        k=k,
        n_items=n_items,
        item_type=_ARROW_TYPES[item_type],
        positions=positions,
    )
    if positions:
        schema = "u int, pos array<int>, score array<double>"
    else:
        schema = f"user {user_type}, recommendations array<struct<item:{item_type},score:double>>"
    with quiet():
        return rows.mapInArrow(body, schema), broadcast


def user_rows_from_arrays(spark, users, factors, seen: sp.csr_matrix, no_positive, num_partitions):
    """The user rows of a model whose factors are on the driver, as a Spark DataFrame."""
    _, pa = import_spark()
    n, k = factors.shape
    flat = pa.array(np.ascontiguousarray(factors, dtype=np.float32).ravel())
    feature_offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    seen = seen.tocsr()
    seen_col = pa.ListArray.from_arrays(
        pa.array(seen.indptr.astype(np.int32)), pa.array(seen.indices.astype(np.int32))
    )
    user_type = _arrow_type(spark_type(users, "user"))
    columns = {
        "u": np.arange(n, dtype=np.int32),
        "user": pa.array(users.tolist(), type=user_type),
        "features": pa.ListArray.from_arrays(feature_offsets, flat),
        "seen": seen_col,
        "pos": ~np.asarray(no_positive, dtype=bool),
    }
    return to_spark(spark, columns, num_partitions)


def item_side(est) -> ItemSide:
    """The item side of a fitted SparkALSRecommender: its state minus users and JVM handles."""
    # One thread per task: an executor runs as many tasks as it has cores.
    params = {"factors": int(est.factors), "handle_unknown": "popular", "n_jobs": 1}
    skip = set(USER_SIDE) | set(SPARK_SIDE) | set(est.get_params(deep=False))
    fitted = {k: v for k, v in vars(est).items() if k not in skip}
    return ItemSide(params, fitted)


def user_rows(est, subset: np.ndarray | None = None):
    """Spark rows (u, user, features, seen, pos) of the users (all, or ``subset``)."""
    sql, _ = import_spark()
    F = sql.functions
    if est._local():
        spark = est._session()
        users = np.arange(len(est.users_)) if subset is None else subset
        return user_rows_from_arrays(
            spark,
            est.users_[users],
            est.user_factors_[users],
            est._seen[users],
            est._no_positive[users],
            est.num_partitions,
        )
    users, train = est._spark_users, est._spark_train
    factors = est.spark_model_.userFactors.withColumnRenamed("id", "u")
    if subset is not None:
        keep = F.broadcast(to_spark(est._spark_session, {"u": subset.astype(np.int32)}))
        users, train, factors = (
            users.join(keep, "u"),
            train.join(keep, "u"),
            factors.join(keep, "u"),
        )
    seen = train.groupBy("u").agg(F.collect_list("i").alias("seen"), (F.max("w") > 0).alias("pos"))
    return users.join(factors, "u", "left").join(seen, "u", "left")
