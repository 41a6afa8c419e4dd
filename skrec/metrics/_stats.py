"""Uncertainty of per-user results: bootstrap intervals and paired significance tests.

Both work on per-user values (``evaluate(...).per_user``, or any metric with
``per_user=True``): users are the sampling unit, so an interval says how much
the mean would move on another draw of users, and a paired test compares two
models on the *same* users.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.utils import check_random_state

from ..utils._sklearn_compat import Interval, StrOptions, validate_params

__all__ = ["bootstrap_ci", "paired_test"]

_CHUNK = 1 << 22  # resampled values held at once, whatever the number of users


#: Constraints shared by the functions that resample.
RESAMPLING = {
    "confidence": [Interval(Real, 0, 1, closed="neither")],
    "random_state": ["random_state"],
}


def _as_values(values, name: str) -> np.ndarray:
    """Per-user values as a float64 array of shape (n_users, n_columns), finite."""
    if hasattr(values, "per_user"):  # an evaluate() result
        values = values.per_user
    arr = values.to_numpy() if isinstance(values, pd.DataFrame | pd.Series) else values
    try:
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric per-user values") from None
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (one value per user) or 2-D, got ndim={arr.ndim}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: at least one user is required")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.reshape(len(arr), -1).any(axis=1))
        raise ValueError(f"{name} contains NaN or infinite values at rows {rows[:5].tolist()}")
    return arr if arr.ndim == 2 else arr[:, None]


@validate_params(
    {**RESAMPLING, "n_bootstrap": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def bootstrap_ci(
    values,
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    random_state=None,
) -> tuple:
    """Percentile bootstrap confidence interval of the mean over users.

    Users are resampled with replacement ``n_bootstrap`` times; the interval
    runs between the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
    quantiles of the resampled means. Columns of 2-D input share the same
    resamples, so their intervals come from the same draws of users.

    Parameters
    ----------
    values : array-like of shape (n_users,) or (n_users, n_columns)
        Per-user values (a metric with ``per_user=True``, a column of
        ``evaluate(...).per_user``, or the whole frame).
    n_bootstrap : int, default=1000
        Number of resamples.
    confidence : float, default=0.95
        Coverage of the interval, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the resampling.

    Returns
    -------
    low, high : float, or ndarray of shape (n_columns,) for 2-D ``values``
        The interval's bounds.

    Raises
    ------
    ValueError
        For empty values, NaN or infinite values, or ``confidence`` outside (0, 1).

    See Also
    --------
    evaluate : reports this interval for every metric column.
    paired_test : whether two models differ on the same users.

    Notes
    -----
    With few users, or a metric that is 0 for most of them, the percentile
    interval is approximate (it is exact only asymptotically); a constant
    column gives the degenerate interval ``(value, value)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skrec.metrics import bootstrap_ci
    >>> ndcg = np.random.default_rng(0).uniform(size=500)
    >>> low, high = bootstrap_ci(ndcg, random_state=0)
    >>> bool(low < ndcg.mean() < high), round(high - low, 2)
    (True, 0.05)
    """
    arr = _as_values(values, "values")
    n_bootstrap = int(n_bootstrap)
    alpha = 1.0 - float(confidence)
    rng = check_random_state(random_state)
    n = len(arr)
    means = np.empty((n_bootstrap, arr.shape[1]))
    step = max(1, _CHUNK // (n * arr.shape[1]))
    for start in range(0, n_bootstrap, step):
        stop = min(start + step, n_bootstrap)
        idx = rng.randint(0, n, size=(stop - start, n))
        means[start:stop] = arr[idx].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=0)
    # A constant column: every resample has the same mean up to rounding.
    constant = np.ptp(arr, axis=0) == 0
    low[constant] = high[constant] = arr[0, constant]
    if np.ndim(values) == 1 or isinstance(values, pd.Series):
        return float(low[0]), float(high[0])
    return low, high


# ------------------------------------------------------------ multiple testing


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (as statsmodels' ``multipletests(method="holm")``)."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def _bonferroni(p: np.ndarray) -> np.ndarray:
    return np.minimum(len(p) * p, 1.0)


_CORRECTIONS = {"holm": _holm, "bonferroni": _bonferroni, None: lambda p: p.copy()}


# ------------------------------------------------------------ paired tests


def _as_frame(result, name: str) -> tuple[pd.DataFrame, bool]:
    """Per-user values as a DataFrame; the flag says whether its index names users."""
    if hasattr(result, "per_user"):
        result = result.per_user
    if isinstance(result, pd.DataFrame):
        frame, indexed = result, True
    elif isinstance(result, pd.Series):
        frame, indexed = result.to_frame(result.name if result.name is not None else "value"), True
    else:
        if isinstance(result, Mapping | str | bytes) or not hasattr(result, "__len__"):
            raise TypeError(
                f"{name} must be per-user values: an evaluate() result, a DataFrame or Series "
                f"indexed by user, or a 1-D array; got {type(result).__name__}"
            )
        arr = np.asarray(result)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one value per user), got shape {arr.shape}")
        frame, indexed = pd.DataFrame({"value": arr}), False
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"{name} is empty")
    if indexed and not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"{name} lists users more than once: {dup}")
    numeric = frame.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & ~frame.isna().to_numpy()
    if bad.any():
        raise TypeError(
            f"{name} has non-numeric values in columns {list(frame.columns[bad.any(0)])}"
        )
    values = numeric.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        rows = frame.index[~np.isfinite(values).all(axis=1)][:5].tolist()
        raise ValueError(f"{name} contains NaN or infinite values for users {rows}")
    return numeric.astype(np.float64), indexed


def _align(base: pd.DataFrame, base_indexed: bool, other: pd.DataFrame, indexed: bool, name: str):
    if base_indexed != indexed:
        raise TypeError(
            f"the baseline and {name} must both be indexed by user (DataFrame/Series/"
            "evaluate() results, aligned by user id) or both be plain arrays (paired by position)"
        )
    if not indexed:
        if len(other) != len(base):
            raise ValueError(
                f"{name} has {len(other)} users but the baseline has {len(base)}; paired "
                "tests need the same users"
            )
        return other.set_axis(base.index)
    if not other.index.equals(base.index):
        only_base = base.index.difference(other.index)
        only_other = other.index.difference(base.index)
        if len(only_base) or len(only_other):
            raise ValueError(
                f"{name} and the baseline were evaluated on different users: "
                f"{len(only_base)} only in the baseline (e.g. {only_base[:3].tolist()}), "
                f"{len(only_other)} only in {name} (e.g. {only_other[:3].tolist()}); "
                "evaluate both models on the same held-out data"
            )
        other = other.loc[base.index]
    return other


def _columns(base: pd.DataFrame, other: pd.DataFrame, name: str) -> list[tuple[str, str]]:
    """(baseline column, model column) pairs to compare."""
    if base.shape[1] == 1 and other.shape[1] == 1:
        return [(base.columns[0], other.columns[0])]
    if set(base.columns) != set(other.columns):
        raise ValueError(
            f"{name} and the baseline have different metric columns: only in the baseline "
            f"{sorted(map(str, set(base.columns) - set(other.columns)))}, only in {name} "
            f"{sorted(map(str, set(other.columns) - set(base.columns)))}"
        )
    return [(c, c) for c in base.columns]


def _one_test(a: np.ndarray, b: np.ndarray, method: str, alternative: str, zero_method: str):
    """(statistic, p-value) comparing ``b`` with ``a``; defined when degenerate."""
    diff = b - a
    if not diff.any():  # identical per-user values: no evidence of any difference
        return 0.0, 1.0
    if method == "t":
        if np.ptp(diff) <= 1e-12 * np.abs(diff).max():
            # a constant non-zero shift (up to rounding): t is infinite, p its limit 0
            sign = np.sign(diff[0])
            one_sided_wrong = alternative == ("greater" if sign < 0 else "less")
            return float(sign * np.inf), 1.0 if one_sided_wrong else 0.0
        result = stats.ttest_rel(b, a, alternative=alternative)
    else:
        result = stats.wilcoxon(diff, zero_method=zero_method, alternative=alternative)
    statistic, p = float(result.statistic), float(result.pvalue)
    if not (np.isfinite(p) and not np.isnan(statistic)):
        raise ValueError(
            f"the {method!r} test is undefined on these differences (statistic={statistic}, "
            f"p={p}); try method='t' or more users"
        )
    return statistic, p


@validate_params(
    {
        "method": [StrOptions({"t", "wilcoxon"})],
        "correction": [StrOptions({"holm", "bonferroni"}), None],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "alternative": [StrOptions({"two-sided", "greater", "less"})],
        "zero_method": [StrOptions({"wilcox", "pratt", "zsplit"})],
    },
    prefer_skip_nested_validation=True,
)
def paired_test(
    baseline,
    models,
    *,
    method: str = "t",
    correction: str | None = "holm",
    alpha: float = 0.05,
    alternative: str = "two-sided",
    zero_method: str = "wilcox",
) -> pd.DataFrame:
    """Paired significance tests of one or more models against a baseline, on the same users.

    For every model and every metric column, the per-user differences
    ``model - baseline`` are tested for a zero mean (paired t-test,
    :func:`scipy.stats.ttest_rel`) or a zero median (Wilcoxon signed-rank
    test, :func:`scipy.stats.wilcoxon`). The p-values of all the comparisons
    in one call form the family that ``correction`` adjusts.

    Parameters
    ----------
    baseline : evaluate() result, DataFrame, Series or 1-D array-like
        Per-user results of the reference model. DataFrames and Series are
        indexed by user (as ``evaluate(...).per_user``) and each column is a
        metric; plain arrays are paired with the models' values by position.
    models : per-user results like ``baseline``, or a mapping name -> such results
        The models to compare with the baseline; a single result is named
        ``"model"``. Indexed results must cover exactly the baseline's users
        (they are aligned by user id) and the same metric columns.
    method : {"t", "wilcoxon"}, default="t"
        The paired t-test, or the Wilcoxon signed-rank test (no normality
        assumption; per-user ranking metrics are often far from normal).
    correction : {"holm", "bonferroni"} or None, default="holm"
        Adjustment of the p-values for multiple comparisons: Holm's
        step-down method (controls the family-wise error rate like
        Bonferroni, and is uniformly more powerful), Bonferroni's, or none.
        With a single comparison every choice gives the raw p-value.
    alpha : float, default=0.05
        Family-wise significance level of ``reject``.
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        ``"greater"``: the model is better than the baseline (larger values).
    zero_method : {"wilcox", "pratt", "zsplit"}, default="wilcox"
        How the Wilcoxon test treats users with a zero difference (see
        :func:`scipy.stats.wilcoxon`); ``"wilcox"`` drops them.

    Returns
    -------
    DataFrame
        One row per (model, metric), indexed by them, with columns
        ``n_users``, ``baseline`` and ``mean`` (the mean of each side),
        ``difference`` (mean of ``model - baseline``), ``statistic``,
        ``p_value``, ``p_corrected`` and ``reject`` (``p_corrected <= alpha``).

    Raises
    ------
    ValueError
        When the models were evaluated on different users or metrics, for
        NaN values, fewer than two users, or a test that is undefined.
    TypeError
        When one side is indexed by user and the other is a plain array.

    Notes
    -----
    Degenerate differences give a defined answer, never NaN: when every
    user's difference is zero the statistic is 0 and p is 1 (no evidence of
    a difference, whatever the test); for the t-test, a difference that is
    the same non-zero value for every user (up to rounding) gives an
    infinite statistic and p = 0 (the limit of the test), or p = 1 for a
    one-sided alternative in the other direction.

    Examples
    --------
    >>> import pandas as pd
    >>> from skrec.metrics import paired_test
    >>> users = pd.Index([1, 2, 3, 4, 5, 6], name="user")
    >>> base = pd.Series([0.1, 0.2, 0.0, 0.3, 0.1, 0.2], index=users, name="ndcg@10")
    >>> als = pd.Series([0.3, 0.4, 0.1, 0.5, 0.2, 0.4], index=users, name="ndcg@10")
    >>> ease = pd.Series([0.2, 0.1, 0.0, 0.4, 0.1, 0.2], index=users, name="ndcg@10")
    >>> result = paired_test(base, {"als": als, "ease": ease})
    >>> result[["difference", "p_value", "p_corrected", "reject"]].round(4)
    ... # doctest: +NORMALIZE_WHITESPACE
                   difference  p_value  p_corrected  reject
    model metric
    als   ndcg@10      0.1667   0.0005       0.0010    True
    ease  ndcg@10      0.0167   0.6109       0.6109   False
    """
    base, base_indexed = _as_frame(baseline, "baseline")
    if len(base) < 2:
        raise ValueError(f"paired tests need at least 2 users, got {len(base)}")
    if isinstance(models, Mapping) and not hasattr(models, "per_user"):  # not one evaluate()
        if not models:
            raise ValueError("models is empty: give at least one model to compare")
        named = dict(models)
    else:
        named = {"model": models}
    rows, index = [], []
    for model_name, result in named.items():
        label = f"model {model_name!r}"
        frame, indexed = _as_frame(result, label)
        frame = _align(base, base_indexed, frame, indexed, label)
        for base_col, col in _columns(base, frame, label):
            a, b = base[base_col].to_numpy(), frame[col].to_numpy()
            statistic, p = _one_test(a, b, method, alternative, zero_method)
            index.append((model_name, base_col))
            rows.append(
                {
                    "n_users": len(a),
                    "baseline": float(a.mean()),
                    "mean": float(b.mean()),
                    "difference": float((b - a).mean()),
                    "statistic": statistic,
                    "p_value": p,
                }
            )
    out = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["model", "metric"]))
    out["p_corrected"] = _CORRECTIONS[correction](out["p_value"].to_numpy())
    out["reject"] = out["p_corrected"] <= alpha
    return out
