"""The Spark side of :class:`~skrec.recommenders.SparkALSRecommender`.

Everything here runs Spark jobs on behalf of the estimator: finding or starting
a session, checking an interaction table held in a Spark DataFrame (the data
contract of ``docs/data.md``, evaluated by Spark aggregations so the rows never
reach the driver), mapping its ids to dense indices, and moving small columnar
results between numpy and Spark through Arrow.

What reaches the driver is bounded by the number of distinct users and items
(their ids, per-item counts), never by the number of interactions.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from skrec.utils.validation import IdIndex, check_ids

__all__ = [
    "SparkTable",
    "check_spark_interactions",
    "from_spark",
    "import_spark",
    "index_ids",
    "is_spark_frame",
    "quiet",
    "resolve_session",
    "to_spark",
]

_MAX_REPORTED = 5
#: What skrec sets on a local session it starts itself.
_LOCAL_MASTER = "local[*]"


def import_spark(feature: str = "SparkALSRecommender"):
    """``(pyspark.sql, pyarrow)``, or an ImportError naming ``feature`` and the install line."""
    try:
        import pyarrow

        with quiet():  # pyspark warns about pandas >= 3 when it is imported
            import pyspark.sql
    except ImportError as exc:
        raise ImportError(
            f"{feature} requires pyspark and pyarrow, which could not be imported ({exc}). "
            'Install them with: pip install "scikit-recommend[spark]" (Spark also needs a '
            "Java runtime, 17 or later)"
        ) from exc
    return pyspark.sql, pyarrow


def is_spark_frame(X) -> bool:
    """Whether ``X`` is a Spark DataFrame (False, without importing pyspark, if not loaded)."""
    if "pyspark.sql" not in sys.modules:
        return False
    from pyspark.sql import DataFrame

    return isinstance(X, DataFrame)


def is_session(obj) -> bool:
    """Whether ``obj`` is a SparkSession (False, without importing pyspark, if it is not loaded)."""
    if "pyspark.sql" not in sys.modules:
        return False
    from pyspark.sql import SparkSession

    return isinstance(obj, SparkSession)


@contextmanager
def quiet():
    """Silence pyspark's pandas-version FutureWarning around calls that pass no pandas objects.

    pyspark checks the pandas version on every Arrow transfer and warns about
    pandas >= 3 even when, as here, only pyarrow tables cross.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        yield


def resolve_session(spec, driver_memory: str, verbose: bool):
    """The session a fit on local data uses.

    ``spec`` is a SparkSession (used as is), a dict of Spark settings (given to
    ``SparkSession.builder.config(...).getOrCreate()``, Spark's own semantics:
    an existing session is reused), or None: the active (or default) session,
    else a new local one on every core (``local[*]``) with ``driver_memory``.
    """
    sql, _ = import_spark()
    if is_session(spec):
        return spec
    if isinstance(spec, dict):
        builder = sql.SparkSession.builder
        for key, value in spec.items():
            builder = builder.config(str(key), value)
        return builder.getOrCreate()
    try:
        return sql.SparkSession.active()
    except Exception:  # noqa: BLE001 (pyspark raises its own error class when there is none)
        pass
    if verbose:
        print(
            f"SparkALSRecommender: no active SparkSession; starting a local one "
            f"({_LOCAL_MASTER}, driver memory {driver_memory}). It stays active for later "
            "fits; stop it with SparkSession.active().stop()."
        )
    spark = (
        sql.SparkSession.builder.master(_LOCAL_MASTER)
        .appName("skrec")
        .config("spark.driver.memory", driver_memory)
        .getOrCreate()
    )
    if "PYSPARK_PYTHON" not in os.environ:
        # Python workers run PYSPARK_PYTHON, else whatever "python3" is on PATH, which
        # need not see skrec. In the session started here they run this interpreter.
        spark.sparkContext.pythonExec = sys.executable
    return spark


def check_classic(frame_or_session, what: str = "SparkALSRecommender") -> None:
    """Refuse Spark Connect: recommending runs Python on executors through a broadcast."""
    if type(frame_or_session).__module__.startswith("pyspark.sql.connect"):
        raise TypeError(
            f"{what} needs a classic SparkSession (it broadcasts the item factors to the "
            "executors); Spark Connect sessions are not supported"
        )


# --------------------------------------------------------------- transfers
def to_spark(spark, columns: dict, num_partitions: int | None = None):
    """A Spark DataFrame from numpy (or pyarrow) columns, through one Arrow table."""
    _, pa = import_spark()
    table = pa.table(
        {
            name: col if isinstance(col, pa.Array | pa.ChunkedArray) else pa.array(col)
            for name, col in columns.items()
        }
    )
    with quiet():
        df = spark.createDataFrame(table)
    if num_partitions is not None:
        df = df.repartition(int(num_partitions))
    return df


def from_spark(df) -> dict:
    """The columns of a (small) Spark DataFrame as numpy arrays, through Arrow."""
    with quiet():
        table = df.toArrow()
    out = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        out[name] = col
    return out


def as_numpy(col) -> np.ndarray:
    """A flat pyarrow column as numpy: strings as an object array, numbers as they are."""
    return np.asarray(col.to_numpy(zero_copy_only=False))


def as_matrix(col, width: int, dtype=np.float32) -> np.ndarray:
    """A pyarrow list column (one vector per row, nulls allowed) as a dense 2-D array."""
    n = len(col)
    out = np.zeros((n, width), dtype=dtype)
    if n == 0:
        return out
    valid = ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if valid.any():
        values = col.filter(col.is_valid()).flatten().to_numpy(zero_copy_only=False)
        out[valid] = np.asarray(values, dtype=dtype).reshape(-1, width)
    return out


# -------------------------------------------------------------- validation
@dataclass
class SparkTable:
    """A checked Spark interaction table.

    ``frame`` has columns ``user``, ``item`` (the ids as given) and ``w``
    (float, the signed weight of each row: its strength, or ``-max(|y|, 1)``
    for an explicit negative), one row per input row.
    """

    frame: object
    has_timestamp: bool
    user_type: object
    item_type: object


def _columns(X, name: str):
    cols = list(X.columns)
    if "user" in cols and "item" in cols:
        return (
            "user",
            "item",
            ("timestamp" if "timestamp" in cols else None),
            ("rating" if "rating" in cols else None),
        )
    if len(cols) in (2, 3):
        return cols[0], cols[1], (cols[2] if len(cols) == 3 else None), None
    raise ValueError(
        f"{name} is a Spark DataFrame with columns {cols}; it needs columns named 'user' and "
        "'item' (and optionally 'rating', 'timestamp'), or 2-3 columns read by position "
        "(user, item[, timestamp])"
    )


def _examples(X, condition) -> str:
    rows = X.filter(condition).limit(_MAX_REPORTED).collect()
    return ", ".join(str(tuple(r)) for r in rows)


def check_spark_interactions(X, name: str = "X") -> SparkTable:
    """Check a Spark interaction table with Spark aggregations; errors name a few bad rows.

    The same rules as :func:`skrec.utils.validation.check_interactions`: ids are
    ints, strings (or finite floats) and never missing; the optional ``rating``
    column is the feedback ``y`` (numeric and finite; ``<= 0`` is an explicit
    negative); an empty table is an error.
    """
    sql, _ = import_spark()
    F, T = sql.functions, sql.types
    user, item, timestamp, rating = _columns(X, name)
    types = dict(X.dtypes)
    schema = {f.name: f.dataType for f in X.schema.fields}
    id_types = (T.StringType, T.IntegerType, T.LongType, T.ShortType, T.ByteType, T.BooleanType)
    float_types = (T.FloatType, T.DoubleType)
    for col, what in ((user, "user"), (item, "item")):
        if not isinstance(schema[col], id_types + float_types):
            raise TypeError(
                f"{name} {what} ids (column {col!r}) have Spark type {types[col]}; ids must be "
                "ints or strings"
            )
    if rating is not None and not isinstance(schema[rating], T.NumericType):
        raise TypeError(
            f"{name} column 'rating' has Spark type {types[rating]}; the feedback must be "
            "numeric (strengths > 0, <= 0 for explicit negatives)"
        )
    if timestamp is not None and not isinstance(
        schema[timestamp], T.NumericType | T.TimestampType | T.DateType | T.TimestampNTZType
    ):
        raise TypeError(
            f"{name} timestamps (column {timestamp!r}) have Spark type {types[timestamp]}; "
            "they must be numbers or datetimes"
        )

    checks = {}
    for col, what in ((user, "user"), (item, "item")):
        bad = F.col(col).isNull()
        if isinstance(schema[col], float_types):
            bad = bad | F.isnan(col) | (F.abs(F.col(col)) == float("inf"))
        checks[f"{name} {what} ids (column {col!r}) contain missing or non-finite ids"] = bad
    if rating is not None:
        r = F.col(rating)
        bad = r.isNull()
        if isinstance(schema[rating], float_types):
            bad = bad | F.isnan(rating) | (F.abs(r) == float("inf"))
        checks[f"{name} column 'rating' contains missing, NaN or infinite values"] = bad
    aggs = [F.count(F.lit(1)).alias("_n")]
    aggs += [
        F.sum(F.when(c, 1).otherwise(0)).alias(f"_c{j}") for j, c in enumerate(checks.values())
    ]
    with quiet():
        counts = X.agg(*aggs).collect()[0]
    if counts["_n"] == 0:
        raise ValueError(f"{name} is empty: at least one (user, item) row is required")
    for j, (message, condition) in enumerate(checks.items()):
        n_bad = counts[f"_c{j}"]
        if n_bad:
            raise ValueError(f"{message} in {n_bad} rows, e.g. {_examples(X, condition)}")

    if rating is None:
        w = F.lit(1.0)
    else:
        r = F.col(rating).cast("double")
        w = F.when(r > 0, r).otherwise(-F.greatest(-r, F.lit(1.0)))
    frame = X.select(
        F.col(user).alias("user"), F.col(item).alias("item"), w.cast("float").alias("w")
    )
    return SparkTable(frame, timestamp is not None, schema[user], schema[item])


def index_ids(spark, frame, col: str, out: str):
    """Dense indices of the distinct ids of ``frame[col]``, skrec's order (sorted).

    Returns ``(index, mapping)``: the :class:`~skrec.utils.validation.IdIndex`
    built on the driver from the distinct ids (the only per-id data collected,
    as Spark's own ``StringIndexer`` does), and a Spark DataFrame
    ``(col, out)`` mapping each id to its int32 index.
    """
    _, pa = import_spark()
    table = from_spark(frame.select(col).distinct())
    arrow_ids = table[col]
    ids = as_numpy(arrow_ids)
    if ids.dtype.kind == "i":
        ids = ids.astype(np.int64)
    elif ids.dtype.kind == "b":
        ids = ids.astype(bool)
    index = IdIndex(check_ids(ids, f"{col} ids"))
    mapping = to_spark(
        spark,
        {
            col: pa.array(index.ids.tolist(), type=arrow_ids.type),
            out: np.arange(len(index), dtype=np.int32),
        },
    )
    return index, mapping
