"""Per-user metrics, graded relevance, evaluate(), bootstrap intervals, paired tests,
novelty and intra-list diversity: hand-computed cases, ranx's values, scipy and sklearn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import pairwise_distances
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skrec import ALSRecommender, PopularityRecommender
from skrec.datasets import make_interactions
from skrec.metrics import (
    bootstrap_ci,
    catalog_coverage,
    evaluate,
    hit_rate_at_k,
    intra_list_diversity,
    make_ranking_scorer,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    paired_test,
    precision_at_k,
    recall_at_k,
)
from skrec.metrics._stats import _bonferroni, _holm
from skrec.model_selection import PerUserKFold
from tests.test_metrics import METRICS

VARIANTS = [(name, {}) for name in METRICS] + [
    ("ndcg", {"gain": "exponential"}),
    ("map", {"normalize": "relevant"}),
]


def _disc(i):
    return 1.0 / math.log2(i + 2)


# ------------------------------------------------------------------ per user


@pytest.mark.parametrize("k", [1, 3, 10])
@pytest.mark.parametrize(("name", "params"), VARIANTS)
def test_per_user_mean_is_the_metric(name, params, k):
    rng = np.random.default_rng(k)
    y_pred = rng.integers(0, 40, size=(200, 12))
    y_true = [rng.choice(40, size=rng.integers(0, 9), replace=False) for _ in range(200)]
    func = METRICS[name]
    values = func(y_true, y_pred, k=k, per_user=True, **params)
    kept = [len(rel) > 0 for rel in y_true]
    assert values.shape == (sum(kept),)
    assert np.mean(values) == func(y_true, y_pred, k=k, **params)
    # each value is that user's metric alone
    for row in np.flatnonzero(kept)[:20]:
        alone = func([y_true[row]], y_pred[row : row + 1], k=k, **params)
        assert values[np.flatnonzero(kept).tolist().index(row)] == pytest.approx(alone, abs=1e-15)


def test_per_user_hand_computed_and_aligned_with_users_that_have_relevant_items():
    y_true = [["a", "b"], [], ["c"], {"d"}]
    y_pred = [["a", "c", "b"], ["a"], ["x", "c"], ["x", "y", "z"]]
    ndcg = ndcg_at_k(y_true, y_pred, k=3, per_user=True)
    np.testing.assert_allclose(ndcg, [(1 + 0.5) / (1 + _disc(1)), _disc(1), 0.0])
    np.testing.assert_allclose(mrr_at_k(y_true, y_pred, k=3, per_user=True), [1.0, 0.5, 0.0])
    np.testing.assert_allclose(recall_at_k(y_true, y_pred, k=1, per_user=True), [0.5, 0, 0])
    np.testing.assert_allclose(map_at_k(y_true, y_pred, k=3, per_user=True), [5 / 6, 0.5, 0])


def test_per_user_precision_min_is_refused_and_per_user_must_be_bool():
    with pytest.raises(ValueError, match="micro-average"):
        precision_at_k([[1]], [[1]], normalize="min", per_user=True)
    with pytest.raises(TypeError, match="'per_user' parameter"):
        ndcg_at_k([[1]], [[1]], per_user="yes")


def test_map_normalize_relevant_hand_computed():
    # hits at ranks 1 and 3 of k=3, four relevant items
    y_true, y_pred = [[1, 2, 3, 4]], [[1, 9, 2]]
    ap_sum = 1 / 1 + 2 / 3
    assert map_at_k(y_true, y_pred, k=3) == pytest.approx(ap_sum / 3)
    assert map_at_k(y_true, y_pred, k=3, normalize="relevant") == pytest.approx(ap_sum / 4)
    with pytest.raises(ValueError, match="'normalize' parameter"):
        map_at_k(y_true, y_pred, normalize="k")


# ------------------------------------------------------------ graded relevance


def test_graded_ndcg_hand_computed():
    y_true = [{"a": 3, "b": 2, "c": 0, "d": 1}]
    y_pred = [["b", "x", "a", "c", "d"]]
    # linear gain: DCG = 2/1 + 3/2; ideal = 3, 2, 1 at ranks 1..3 (c's grade 0 is not relevant)
    dcg, idcg = 2 + 3 / 2, 3 + 2 * _disc(1) + 1 / 2
    assert ndcg_at_k(y_true, y_pred, k=3) == pytest.approx(dcg / idcg)
    # the 5th slot (d, grade 1) only counts with k=5; the ideal list is the same
    assert ndcg_at_k(y_true, y_pred, k=5) == pytest.approx((dcg + _disc(4)) / idcg)
    # exponential gain: 2**g - 1
    dcg, idcg = 3 + 7 / 2, 7 + 3 * _disc(1) + 1 / 2
    assert ndcg_at_k(y_true, y_pred, k=3, gain="exponential") == pytest.approx(dcg / idcg)
    # k=1: only b at rank 1 against the best grade, a
    assert ndcg_at_k(y_true, y_pred, k=1) == pytest.approx(2 / 3)


def test_grades_of_one_are_binary_relevance_and_other_metrics_use_grade_above_zero():
    rng = np.random.default_rng(0)
    y_pred = rng.integers(0, 30, size=(100, 10))
    sets = [rng.choice(30, size=rng.integers(1, 6), replace=False) for _ in range(100)]
    ones = [dict.fromkeys(rel.tolist(), 1) for rel in sets]
    for k in (1, 5, 10):
        for gain in ("linear", "exponential"):
            got = ndcg_at_k(ones, y_pred, k=k, gain=gain)
            assert got == pytest.approx(ndcg_at_k(sets, y_pred, k=k), abs=1e-14)
    graded = [{**dict.fromkeys(rel.tolist(), 2.5), 99: 0} for rel in sets]  # 99: grade 0
    for name, func in METRICS.items():
        if name != "ndcg":
            assert func(graded, y_pred, k=5) == func(sets, y_pred, k=5), name


def test_user_with_only_zero_grades_is_skipped():
    y_true = [{"a": 0, "b": 0}, {"a": 2}]
    got = ndcg_at_k(y_true, [["a"], ["b", "a"]], k=2, per_user=True)
    np.testing.assert_allclose(got, [_disc(1)])
    with pytest.raises(ValueError, match="no user has any relevant item"):
        ndcg_at_k([{"a": 0}], [["a"]])


def test_graded_and_plain_entries_mix():
    # a plain collection means grade 1 for each of its items
    got = ndcg_at_k([{"a": 2}, ["b"]], [["a"], ["x", "b"]], k=2, per_user=True)
    np.testing.assert_allclose(got, [1.0, _disc(1)])


@pytest.mark.parametrize(
    ("y_true", "exc", "match"),
    [
        ([{"a": -1}], ValueError, r"y_true\[0\] has a relevance grade that is negative"),
        ([["b"], {"a": np.nan}], ValueError, r"y_true\[1\] has a relevance grade"),
        ([{"a": np.inf}], ValueError, "finite and >= 0"),
        ([{"a": "high"}], TypeError, "grades .* must be numbers"),
        ([{"a": None}], TypeError, "grades .* must be numbers"),
    ],
)
def test_bad_grades(y_true, exc, match):
    with pytest.raises(exc, match=match):
        ndcg_at_k(y_true, [["a"]] * len(y_true))


def test_bad_gain():
    with pytest.raises(ValueError, match="'gain' parameter"):
        ndcg_at_k([{"a": 1}], [["a"]], gain="log")


# Values computed by ranx 0.3.21 (``ranx.evaluate(Qrels(QRELS), Run(run), metrics,
# return_mean=False)``, run scores strictly decreasing with rank), rounded to 12 digits.
QRELS = {
    "u1": {"a": 3, "b": 1, "c": 2},
    "u2": {"d": 1},
    "u3": {"a": 1, "e": 2, "f": 1, "g": 3, "h": 1},
    "u4": {"z": 2},
    "u5": {"a": 1, "b": 1},
}
RUNS = {
    "u1": ["b", "x", "a", "y", "c"],
    "u2": ["x", "y", "d", "z", "w"],
    "u3": ["e", "a", "x", "g", "y"],
    "u4": ["a", "b", "c", "d", "e"],
    "u5": ["a", "b"],
}
RANX = {
    "ndcg@3": [0.525004989385, 0.5, 0.552500498938, 0.0, 1.0],
    "ndcg@5": [0.687484712549, 0.5, 0.703116330027, 0.0, 1.0],
    "ndcg_burges@3": [0.47909091486, 0.5, 0.386565657207, 0.0, 1.0],
    "ndcg_burges@5": [0.602649358416, 0.5, 0.65087740192, 0.0, 1.0],
    "recall@3": [0.666666666667, 1.0, 0.4, 0.0, 1.0],
    "recall@5": [1.0, 1.0, 0.6, 0.0, 1.0],
    "precision@3": [0.666666666667, 0.333333333333, 0.666666666667, 0.0, 0.666666666667],
    "precision@5": [0.6, 0.2, 0.6, 0.0, 0.4],
    "hit_rate@3": [1.0, 1.0, 1.0, 0.0, 1.0],
    "hit_rate@5": [1.0, 1.0, 1.0, 0.0, 1.0],
    "mrr@3": [1.0, 0.333333333333, 1.0, 0.0, 1.0],
    "mrr@5": [1.0, 0.333333333333, 1.0, 0.0, 1.0],
    "map@3": [0.555555555556, 0.333333333333, 0.4, 0.0, 1.0],
    "map@5": [0.755555555556, 0.333333333333, 0.55, 0.0, 1.0],
}
# ranx's name -> (skrec function, the options that give ranx's definition)
RANX_NAMES = {
    "ndcg": (ndcg_at_k, {}),
    "ndcg_burges": (ndcg_at_k, {"gain": "exponential"}),
    "recall": (recall_at_k, {}),
    "precision": (precision_at_k, {}),
    "hit_rate": (hit_rate_at_k, {}),
    "mrr": (mrr_at_k, {}),
    "map": (map_at_k, {"normalize": "relevant"}),
}


@pytest.mark.parametrize("metric", sorted(RANX))
def test_agrees_with_ranx_values(metric):
    name, k = metric.split("@")
    func, params = RANX_NAMES[name]
    y_true, y_pred = list(QRELS.values()), [RUNS[u] for u in QRELS]
    got = func(y_true, y_pred, k=int(k), per_user=True, **params)
    np.testing.assert_allclose(got, RANX[metric], rtol=0, atol=1e-11)


# ------------------------------------------------------------------ evaluate


@pytest.fixture(scope="module")
def split():
    data = make_interactions(n_users=150, n_items=80, n_interactions=3000, random_state=0)
    X = data.X[["user", "item"]]
    train, test = next(PerUserKFold(n_splits=4, random_state=0).split(X))
    return X.iloc[train].reset_index(drop=True), X.iloc[test].reset_index(drop=True)


@pytest.fixture(scope="module")
def als(split):
    return ALSRecommender(factors=8, iterations=3, random_state=0).fit(split[0])


def test_evaluate_means_equal_the_scorers(als, split):
    result = evaluate(als, split[1], k=np.array([5, 10]), random_state=0)
    assert list(result.per_user.columns) == [f"{m}@{k}" for m in METRICS for k in (5, 10)]
    assert result.per_user.index.name == "user"
    for column in result.per_user.columns:
        name, k = column.split("@")
        expected = make_ranking_scorer(name, k=int(k))(als, split[1])
        assert result.summary.loc[column, "mean"] == expected, column
        assert result.summary.loc[column, "std"] == result.per_user[column].std(ddof=1)
    assert set(result.summary.columns) == {"mean", "std", "ci_low", "ci_high"}
    assert (result.summary["ci_low"] <= result.summary["mean"]).all()
    assert (result.summary["mean"] <= result.summary["ci_high"]).all()


def test_evaluate_per_user_values_are_the_metrics_of_the_recommendations(als, split):
    test = split[1]
    result = evaluate(als, test, metrics=["ndcg", "recall"], k=10, n_bootstrap=0)
    users = result.per_user.index
    # one row per test user, in order of first appearance
    assert users.tolist() == pd.unique(test["user"]).tolist()
    truth = [test.loc[test["user"] == u, "item"].to_numpy() for u in users]
    ids, _ = als.recommend(users.to_numpy(), n=10)
    np.testing.assert_array_equal(result.per_user["ndcg@10"], ndcg_at_k(truth, ids, per_user=True))
    np.testing.assert_array_equal(result.recommendations.to_numpy(dtype=ids.dtype), ids)
    assert "ci_low" not in result.summary
    coverage = catalog_coverage(result.recommendations, als.items_, k=10)
    assert coverage == catalog_coverage(ids, als.items_, k=10)


def test_evaluate_on_a_pipeline_equals_the_bare_recommender(als, split):
    pipe = make_pipeline(
        FunctionTransformer(), ALSRecommender(factors=8, iterations=3, random_state=0)
    ).fit(split[0])
    metrics = ["ndcg", "map", "novelty", "diversity"]
    bare = evaluate(als, split[1], metrics=metrics, random_state=1)
    wrapped = evaluate(pipe, split[1], metrics=metrics, random_state=1)
    pd.testing.assert_frame_equal(wrapped.per_user, bare.per_user)
    pd.testing.assert_frame_equal(wrapped.summary, bare.summary)


def test_evaluate_beyond_accuracy_columns(als, split):
    result = evaluate(als, split[1], metrics=["novelty", "diversity"], k=5, n_bootstrap=0)
    ids = result.recommendations.to_numpy()
    np.testing.assert_allclose(result.per_user["novelty@5"], novelty(ids, als, k=5, per_user=True))
    expected = intra_list_diversity(ids, als, k=5, per_user=True)
    np.testing.assert_allclose(result.per_user["diversity@5"], expected)
    euclid = evaluate(
        als, split[1], metrics=["diversity"], k=5, n_bootstrap=0,
        metric_params={"diversity": {"metric": "euclidean"}},
    )  # fmt: skip
    expected = intra_list_diversity(ids, als, k=5, metric="euclidean", per_user=True)
    np.testing.assert_allclose(euclid.per_user["diversity@5"], expected)


def test_evaluate_graded_uses_y_as_grades():
    train = [["u1", "a"], ["u1", "b"], ["u2", "a"], ["u3", "c"], ["u3", "a"], ["u4", "d"]]
    rec = PopularityRecommender().fit(train)
    test = [["u1", "c"], ["u1", "d"], ["u2", "c"], ["u2", "b"], ["u2", "b"], ["u4", "e"]]
    y = [1.0, 3.0, 2.0, 1.0, 0.5, 0.0]  # u2's two b rows sum to 1.5; u4's only row is negative
    result = evaluate(rec, test, y, metrics=["ndcg", "recall"], k=3, relevance="graded")
    assert result.per_user.index.tolist() == ["u1", "u2"]
    ids, _ = rec.recommend(["u1", "u2"], n=3)
    grades = [{"c": 1.0, "d": 3.0}, {"c": 2.0, "b": 1.5}]
    expected = ndcg_at_k(grades, ids, k=3, per_user=True)
    np.testing.assert_allclose(result.per_user["ndcg@3"], expected)
    assert not np.allclose(expected, ndcg_at_k([["c", "d"], ["c", "b"]], ids, k=3, per_user=True))
    # recall stays binary
    np.testing.assert_allclose(
        result.per_user["recall@3"], recall_at_k([["c", "d"], ["c", "b"]], ids, k=3, per_user=True)
    )
    exp = evaluate(
        rec, test, y, metrics="ndcg", k=3, relevance="graded",
        metric_params={"ndcg": {"gain": "exponential"}},
    )  # fmt: skip
    expected = ndcg_at_k(grades, ids, k=3, gain="exponential", per_user=True)
    np.testing.assert_allclose(exp.per_user["ndcg@3"], expected)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"metrics": ["ndcg", "auc"]}, ValueError, "unknown metrics"),
        ({"metrics": []}, ValueError, "unknown metrics"),
        ({"metrics": ["ndcg", "ndcg"]}, ValueError, "more than once"),
        ({"k": 0}, ValueError, "'k' parameter"),
        ({"k": [10, 10]}, ValueError, "more than once"),
        ({"k": []}, ValueError, "non-empty sequence"),
        ({"relevance": "ordinal"}, ValueError, "'relevance' parameter"),
        ({"relevance": "graded"}, ValueError, "y is None"),
        ({"metrics": "ndcg", "metric_params": {"map": {}}}, ValueError, "not in metrics"),
        ({"metrics": "map", "metric_params": {"map": {"normalize": "k"}}}, ValueError, "normal"),
        ({"metrics": "ndcg", "metric_params": {"ndcg": {"k": 3}}}, TypeError, "unexpected"),
        ({"metrics": "novelty", "metric_params": {"novelty": {"a": 1}}}, TypeError, "unexpected"),
        ({"metric_params": [("ndcg", {})]}, TypeError, "'metric_params' parameter"),
        ({"n_bootstrap": -1}, ValueError, "'n_bootstrap' parameter"),
        ({"confidence": 1.0}, ValueError, "'confidence' parameter"),
    ],
)
def test_evaluate_rejects_bad_arguments(als, split, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        evaluate(als, split[1], **kwargs)


def test_evaluate_errors_on_data(als, split):
    with pytest.raises(ValueError, match="needs at least 2"):
        evaluate(als, split[1].iloc[:1])
    with pytest.raises(ValueError, match="no positive rows"):
        evaluate(als, split[1], y=np.zeros(len(split[1])))
    with pytest.raises(TypeError, match="cannot rank"):
        evaluate(FunctionTransformer().fit(split[0]), split[1])


# ------------------------------------------------------------- bootstrap_ci


def test_bootstrap_ci_agrees_with_scipy_and_normal_theory():
    values = np.random.default_rng(0).exponential(size=400)  # skewed, like per-user metrics
    low, high = bootstrap_ci(values, n_bootstrap=4000, random_state=0)
    ref = stats.bootstrap(
        (values,), np.mean, n_resamples=4000, method="percentile", random_state=1
    ).confidence_interval
    # Monte-Carlo error of a 4000-resample quantile is ~1% of the width
    width = high - low
    assert abs(low - ref.low) < 0.05 * width and abs(high - ref.high) < 0.05 * width
    half = 1.959964 * values.std(ddof=1) / math.sqrt(len(values))
    assert low == pytest.approx(values.mean() - half, abs=0.1 * width)
    assert high == pytest.approx(values.mean() + half, abs=0.1 * width)


def test_bootstrap_ci_seeded_columns_share_resamples_and_confidence_widens():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.random(50), "b": rng.random(50)})
    low, high = bootstrap_ci(frame, random_state=3)
    assert low.shape == high.shape == (2,)
    # the same resamples: equal up to the order of summation
    assert bootstrap_ci(frame["a"], random_state=3) == pytest.approx((low[0], high[0]), abs=1e-12)
    got = bootstrap_ci(frame.to_numpy()[:, 1], random_state=3)
    assert got == pytest.approx((low[1], high[1]), abs=1e-12)
    narrow = bootstrap_ci(frame["a"], confidence=0.5, random_state=3)
    assert low[0] < narrow[0] < narrow[1] < high[0]
    assert bootstrap_ci([0.5] * 10, random_state=0) == (0.5, 0.5)


@pytest.mark.parametrize(
    ("values", "kwargs", "exc", "match"),
    [
        ([], {}, ValueError, "empty"),
        ([0.1, np.nan], {}, ValueError, "NaN or infinite values at rows \\[1\\]"),
        (["a", "b"], {}, TypeError, "numeric"),
        ([[[1.0]]], {}, ValueError, "1-D"),
        ([0.1, 0.2], {"confidence": 95}, ValueError, "'confidence' parameter"),
        ([0.1, 0.2], {"n_bootstrap": 0}, ValueError, "'n_bootstrap' parameter"),
        ([0.1, 0.2], {"n_bootstrap": 10.0}, TypeError, "'n_bootstrap' parameter"),
    ],
)
def test_bootstrap_ci_errors(values, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bootstrap_ci(values, **kwargs)


# --------------------------------------------------------------- paired_test


def test_holm_and_bonferroni_hand_computed():
    # sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max so far 0.06
    p = np.array([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(_holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(_bonferroni(p), [0.04, 0.16, 0.12, 0.02])
    # statsmodels' multipletests(method="holm") gives [0.06, 0.06, 0.5] and caps at 1
    np.testing.assert_allclose(_holm(np.array([0.02, 0.021, 0.5])), [0.06, 0.06, 0.5])
    np.testing.assert_allclose(_holm(np.array([0.6, 0.7])), [1.0, 1.0])
    np.testing.assert_allclose(_holm(np.array([0.2])), [0.2])


@pytest.fixture
def three_models():
    rng = np.random.default_rng(0)
    users = pd.Index([f"u{i}" for i in range(60)], name="user")
    base = pd.Series(rng.random(60), index=users, name="ndcg@10")
    better = (base + 0.05 + 0.05 * rng.standard_normal(60)).rename("ndcg@10")
    same = (base + 0.05 * rng.standard_normal(60)).rename("ndcg@10")
    return base, better, same


def test_paired_test_t_and_wilcoxon_match_scipy(three_models):
    base, better, same = three_models
    result = paired_test(base, {"better": better, "same": same}, correction=None)
    for name, model in (("better", better), ("same", same)):
        row = result.loc[(name, "ndcg@10")]
        ref = stats.ttest_rel(model, base)
        assert row["statistic"] == pytest.approx(ref.statistic)
        assert row["p_value"] == pytest.approx(ref.pvalue)
        assert row["difference"] == pytest.approx((model - base).mean())
        assert row["n_users"] == 60
    wil = paired_test(base, {"better": better}, method="wilcoxon", zero_method="pratt")
    ref = stats.wilcoxon(better - base, zero_method="pratt")
    assert wil["p_value"].iloc[0] == pytest.approx(ref.pvalue)
    assert wil["statistic"].iloc[0] == pytest.approx(ref.statistic)


def test_paired_t_hand_computed():
    a = np.array([0.1, 0.2, 0.0, 0.3, 0.1, 0.2])
    b = np.array([0.3, 0.4, 0.1, 0.5, 0.2, 0.4])
    d = b - a  # mean 1/6, sample variance (4 * (1/30)^2 + 2 * (2/30)^2) / 5
    t = d.mean() / math.sqrt((4 * (1 / 30) ** 2 + 2 * (2 / 30) ** 2) / 5 / 6)
    row = paired_test(a, b).iloc[0]
    assert row["statistic"] == pytest.approx(t)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(t, df=5))
    assert row.name == ("model", "value")


def test_paired_test_corrections_and_reject(three_models):
    base, better, same = three_models
    models = {"better": better, "same": same, "also_same": same * 1.0}
    raw = paired_test(base, models, correction=None)
    holm = paired_test(base, models, correction="holm", alpha=0.01)
    bonf = paired_test(base, models, correction="bonferroni")
    np.testing.assert_allclose(holm["p_corrected"], _holm(raw["p_value"].to_numpy()))
    np.testing.assert_allclose(bonf["p_corrected"], np.minimum(3 * raw["p_value"], 1))
    assert (holm["p_corrected"] <= bonf["p_corrected"]).all()
    assert holm["reject"].tolist() == (holm["p_corrected"] <= 0.01).tolist()
    assert holm.loc[("better", "ndcg@10"), "reject"]
    assert not holm.loc[("same", "ndcg@10"), "reject"]


def test_paired_test_one_sided(three_models):
    base, better, _ = three_models
    greater = paired_test(base, better, alternative="greater")["p_value"].iloc[0]
    less = paired_test(base, better, alternative="less")["p_value"].iloc[0]
    assert greater < 0.01 < 0.99 < less


def test_paired_test_aligns_users_and_refuses_different_users(three_models):
    base, better, _ = three_models
    shuffled = better.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(paired_test(base, shuffled), paired_test(base, better))
    with pytest.raises(ValueError, match="different users: 1 only in the baseline"):
        paired_test(base, better.iloc[1:])
    renamed = better.rename(index={"u0": "new"})
    with pytest.raises(ValueError, match=r"1 only in model 'model' \(e.g. \['new'\]\)"):
        paired_test(base, renamed)
    with pytest.raises(TypeError, match="both be indexed by user"):
        paired_test(base, better.to_numpy())
    with pytest.raises(ValueError, match="has 59 users but the baseline has 60"):
        paired_test(base.to_numpy(), better.to_numpy()[1:])
    twice = pd.concat([better, better.iloc[:1]])
    with pytest.raises(ValueError, match="more than once"):
        paired_test(base, twice)


def test_paired_test_degenerate_differences_give_clear_results():
    a = np.array([0.1, 0.5, 0.0, 0.3])
    for method in ("t", "wilcoxon"):
        row = paired_test(a, a.copy(), method=method).iloc[0]
        assert (row["statistic"], row["p_value"], row["reject"]) == (0.0, 1.0, False)
    shifted = paired_test(a, a + 0.25).iloc[0]
    assert shifted["statistic"] == np.inf and shifted["p_value"] == 0.0
    assert paired_test(a, a + 0.25, alternative="less")["p_value"].iloc[0] == 1.0
    # Wilcoxon with one non-zero difference (the others dropped): defined, not significant
    row = paired_test(a, a + [0, 0, 0, 0.1], method="wilcoxon").iloc[0]
    assert np.isfinite(row["p_value"]) and not row["reject"]


def test_paired_test_several_metrics_and_evaluate_results(als, split):
    pop = PopularityRecommender().fit(split[0])
    base = evaluate(pop, split[1], metrics=["ndcg", "recall"], k=10, n_bootstrap=0)
    model = evaluate(als, split[1], metrics=["ndcg", "recall"], k=10, n_bootstrap=0)
    result = paired_test(base, {"als": model}, method="wilcoxon")
    assert result.index.tolist() == [("als", "ndcg@10"), ("als", "recall@10")]
    for metric in ("ndcg@10", "recall@10"):
        ref = stats.wilcoxon(model.per_user[metric] - base.per_user[metric])
        assert result.loc[("als", metric), "p_value"] == pytest.approx(ref.pvalue)
        assert result.loc[("als", metric), "baseline"] == base.summary.loc[metric, "mean"]
    single = paired_test(base, model, method="wilcoxon")  # one evaluate() result, not a dict
    np.testing.assert_array_equal(single["p_value"], result["p_value"])
    assert single.index.get_level_values("model").unique().tolist() == ["model"]
    with pytest.raises(ValueError, match="different metric columns"):
        paired_test(base, model.per_user[["ndcg@10"]].assign(map=0.0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "z"}, "'method' parameter"),
        ({"correction": "fdr"}, "'correction' parameter"),
        ({"alternative": "bigger"}, "'alternative' parameter"),
        ({"zero_method": "drop"}, "'zero_method' parameter"),
        ({"alpha": 0.0}, "'alpha' parameter"),
    ],
)
def test_paired_test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        paired_test([0.1, 0.2], [0.2, 0.3], **kwargs)


def test_paired_test_bad_values():
    with pytest.raises(ValueError, match="NaN or infinite"):
        paired_test([0.1, np.nan, 0.2], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="at least 2 users"):
        paired_test([0.1], [0.2])
    with pytest.raises(ValueError, match="models is empty"):
        paired_test([0.1, 0.2], {})
    with pytest.raises(TypeError, match="per-user values"):
        paired_test("abc", [0.1, 0.2, 0.3])
    with pytest.raises(TypeError, match="non-numeric"):
        paired_test(pd.Series(["a", "b"]), pd.Series([0.1, 0.2]))


# ------------------------------------------------------------------- novelty

TRAIN = [[1, "a"], [2, "a"], [3, "a"], [4, "a"], [1, "b"], [2, "b"], [3, "c"], [3, "c"]]


def test_novelty_hand_computed_from_interactions():
    # p(a) = 4/4, p(b) = 2/4, p(c) = 1/4 (a repeated row counts its user once)
    got = novelty([["a", "b"], ["c", "b", "c"], ["a"]], TRAIN, k=3, per_user=True)
    np.testing.assert_allclose(got, [0.5, 1.5, 0.0])
    assert novelty([["a", "b"], ["c", "b", "c"], ["a"]], TRAIN, k=3) == pytest.approx(2 / 3)
    assert novelty([["a", "b"], ["c", "b"]], TRAIN, k=1) == pytest.approx(1.0)


def test_novelty_sources_agree():
    y_pred = [["a", "b"], ["c", "a"]]
    rec = PopularityRecommender().fit(TRAIN)
    expected = novelty(y_pred, TRAIN, k=2)
    assert novelty(y_pred, rec, k=2) == pytest.approx(expected)
    pipe = make_pipeline(FunctionTransformer(), PopularityRecommender()).fit(TRAIN)
    assert novelty(y_pred, pipe, k=2) == pytest.approx(expected)
    probabilities = pd.Series({"a": 1.0, "b": 0.5, "c": 0.25})
    assert novelty(y_pred, probabilities, k=2) == pytest.approx(expected)
    assert novelty(y_pred, probabilities.to_dict(), k=2) == pytest.approx(expected)


def test_novelty_errors():
    with pytest.raises(ValueError, match="never occur in the popularity data .*'z'"):
        novelty([["a", "z"]], TRAIN)
    with pytest.raises(ValueError, match=r"rows \[1\]\) have fewer than 1 distinct"):
        novelty([["a"], [None, None]], TRAIN)
    with pytest.raises(ValueError, match=r"probabilities p\(i\) in \(0, 1\]"):
        novelty([["a"]], {"a": 2.0})
    with pytest.raises(ValueError, match="'k' parameter"):
        novelty([["a"]], TRAIN, k=0)


# ------------------------------------------------------- intra-list diversity


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_intra_list_diversity_matches_sklearn_pairwise_distances(metric):
    rng = np.random.default_rng(0)
    vectors = pd.DataFrame(rng.standard_normal((30, 5)), index=[f"i{j}" for j in range(30)])
    vectors.iloc[3] = 0.0  # a zero vector: distance 1 under cosine, as in sklearn
    y_pred = [
        list(rng.choice(vectors.index, size=rng.integers(2, 9), replace=False)) for _ in "x" * 40
    ]
    y_pred[0] = ["i3", "i4", "i3"]  # a repeated id counts once
    got = intra_list_diversity(y_pred, vectors, k=6, metric=metric, per_user=True)
    expected = []
    for row in y_pred:
        items = list(dict.fromkeys(row[:6]))
        dist = pairwise_distances(vectors.loc[items].to_numpy(), metric=metric)
        expected.append(dist[np.triu_indices(len(items), 1)].mean())
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert got[0] == pytest.approx(1.0 if metric == "cosine" else np.linalg.norm(vectors.iloc[4]))


def test_intra_list_diversity_from_an_estimator(als):
    ids, _ = als.recommend(als.users_[:20], n=5)
    table = pd.DataFrame(als.embed_items(als.items_), index=als.items_)
    expected = intra_list_diversity(ids, table, k=5)
    assert intra_list_diversity(ids, als, k=5) == pytest.approx(expected)
    pipe = make_pipeline(FunctionTransformer(), als)
    assert intra_list_diversity(ids, pipe, k=5) == pytest.approx(expected)


def test_intra_list_diversity_errors():
    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0]}
    with pytest.raises(ValueError, match="fewer than 2 distinct items"):
        intra_list_diversity([["a", "b"], ["a", "a"]], vectors)
    with pytest.raises(ValueError, match="have no embedding .*'z'"):
        intra_list_diversity([["a", "z"]], vectors)
    with pytest.raises(ValueError, match="'metric' parameter"):
        intra_list_diversity([["a", "b"]], vectors, metric="jaccard")
    with pytest.raises(TypeError, match="embeddings must be"):
        intra_list_diversity([["a", "b"]], np.eye(2))
    with pytest.raises(ValueError, match="NaN or infinite"):
        intra_list_diversity([["a", "b"]], {"a": [np.nan, 0.0], "b": [0.0, 1.0]})
