"""Plugin registries: discovery, failures, conflicts, the example plugin, the checks."""

import importlib.util
import sys
from importlib.metadata import EntryPoint
from types import SimpleNamespace

import numpy as np
import pytest

import skrec._plugins as plugins
import skrec.augmenters
import skrec.samplers
from skrec import EASERecommender
from skrec._plugins import PluginConflictError, PluginWarning, Registry
from skrec.augmenters import BaseAugmenter
from skrec.datasets import make_interactions
from skrec.samplers import BaseSampler, select_top
from skrec.utils.estimator_checks import check_augmenter, check_sampler

EXAMPLE_INSTALLED = importlib.util.find_spec("skrec_example_plugin") is not None
needs_example = pytest.mark.skipif(
    not EXAMPLE_INSTALLED,
    reason="example plugin not installed: pip install -e plugins/skrec-example-plugin",
)


# -------------------------------------------------- fake entry points
class GoodAugmenter(BaseAugmenter):
    def _fit_resample(self, data):
        return data.to_frame(), data.y_or_ones().copy()


def entry_point(name, value, group, dist=None, version="1.0"):
    ep = EntryPoint(name, value, group)
    if dist is not None:
        ep = ep._for(SimpleNamespace(name=dist, version=version))
    return ep


@pytest.fixture
def fake_eps(monkeypatch):
    """Replace entry-point discovery by a list the test controls; count calls."""
    state = {"eps": [], "calls": 0}

    def discover(group):
        state["calls"] += 1
        return [ep for ep in state["eps"] if ep.group == group]

    monkeypatch.setattr(plugins, "discover_entry_points", discover)
    for reg in (skrec.samplers.registry, skrec.augmenters.registry):
        reg.refresh()
    yield state
    for reg in (skrec.samplers.registry, skrec.augmenters.registry):
        reg.refresh()


GROUP = "skrec.augmenters"
GOOD = f"{__name__}:GoodAugmenter"


def test_discovery_is_lazy_and_cached(fake_eps):
    fake_eps["eps"] = [entry_point("good", GOOD, GROUP, "good-dist", "2.1")]
    reg = Registry(GROUP, BaseAugmenter, required="fit_resample", kind="augmenter")
    assert fake_eps["calls"] == 0
    assert reg.available() == {"good": "good-dist 2.1"}
    assert isinstance(reg.get("good"), GoodAugmenter)
    assert fake_eps["calls"] == 1
    reg.refresh()
    reg.available()
    assert fake_eps["calls"] == 2


def test_broken_plugin_warns_with_its_distribution_and_is_skipped(fake_eps):
    fake_eps["eps"] = [
        entry_point("broken", "skrec_no_such_module_xyz:Thing", GROUP, "broken-dist", "0.3"),
        entry_point("good", GOOD, GROUP, "good-dist"),
    ]
    with pytest.warns(PluginWarning, match=r"broken-dist 0\.3.*ModuleNotFoundError"):
        names = skrec.augmenters.available()
    assert "broken" not in names and names["good"] == "good-dist 1.0"
    assert names["crop"] == "built-in"
    assert isinstance(skrec.augmenters.get("good"), GoodAugmenter)
    with pytest.raises(ValueError, match="unknown augmenter 'broken'.*'crop'"):
        skrec.augmenters.get("broken")


def test_two_distributions_claiming_one_name(fake_eps):
    fake_eps["eps"] = [
        entry_point("dup", GOOD, GROUP, "dist-a", "1.0"),
        entry_point("dup", GOOD, GROUP, "dist-b", "2.0"),
        entry_point("good", GOOD, GROUP, "good-dist"),
    ]
    with pytest.warns(PluginWarning, match="dist-a 1.0 and dist-b 2.0"):
        names = skrec.augmenters.available()
    assert names["dup"] == "conflict: dist-a 1.0 | dist-b 2.0"
    with pytest.raises(PluginConflictError, match="dist-a 1.0 and dist-b 2.0"):
        skrec.augmenters.get("dup")
    assert isinstance(skrec.augmenters.get("good"), GoodAugmenter)  # the rest keep working


def test_a_plugin_cannot_take_over_a_builtin(fake_eps):
    fake_eps["eps"] = [entry_point("crop", GOOD, GROUP, "sneaky-dist")]
    with pytest.warns(PluginWarning):
        skrec.augmenters.available()
    with pytest.raises(PluginConflictError, match="built-in and sneaky-dist 1.0"):
        skrec.augmenters.get("crop")
    with pytest.raises(PluginConflictError, match="built-in and sneaky-dist"):
        EASERecommender(augmenter="crop").fit([[1, 2], [1, 3]])


def test_same_distribution_seen_twice_is_not_a_conflict(fake_eps):
    ep = entry_point("good", GOOD, GROUP, "good-dist")
    fake_eps["eps"] = [ep, ep]
    assert skrec.augmenters.available()["good"] == "good-dist 1.0"


def test_entry_point_without_distribution_is_labelled_by_module(fake_eps):
    fake_eps["eps"] = [entry_point("good", GOOD, GROUP)]
    assert __name__ in skrec.augmenters.available()["good"]


def test_plugin_of_the_wrong_kind(fake_eps):
    fake_eps["eps"] = [entry_point("odd", "builtins:dict", GROUP, "odd-dist")]
    with pytest.raises(TypeError, match="odd.*fit_resample.*BaseAugmenter"):
        skrec.augmenters.get("odd")


def test_unknown_name_lists_installed(fake_eps):
    with pytest.raises(ValueError, match="installed samplers: .*'uncertainty'"):
        skrec.samplers.get("uncertainity")
    with pytest.raises(TypeError, match="string"):
        skrec.samplers.get(3)


def test_register_in_process(fake_eps):
    reg = Registry("skrec.test-register", BaseSampler, required="__call__", kind="sampler")

    @reg.register("first_rows")
    class FirstRows(BaseSampler):
        def _query(self, learner, X_pool, pool, n, rng):
            return np.arange(n)

    assert reg.register("first_rows")(FirstRows) is FirstRows  # idempotent
    assert reg.available()["first_rows"].startswith("registered (")
    assert reg.get("first_rows")(None, [[1, 2], [1, 3]], 2).tolist() == [0, 1]
    with pytest.raises(PluginConflictError, match="already taken"):
        reg.register("first_rows")(type("Other", (BaseSampler,), {}))
    with pytest.raises(PluginConflictError, match="built-in"):
        skrec.samplers.register("random")(FirstRows)
    with pytest.raises(TypeError):
        reg.register("")(FirstRows)


# ------------------------------------------------------ checks fail
class MutatingAugmenter(BaseAugmenter):
    def fit_resample(self, X, y=None):
        X["item"] = X["item"].iloc[::-1].to_numpy()  # in place!
        return X.copy(), np.asarray(y, dtype=float)

    def _fit_resample(self, data):  # the abstract hook; fit_resample above replaces it
        raise AssertionError("not called")


class SeedIgnoringAugmenter(BaseAugmenter):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def _fit_resample(self, data):
        keep = np.random.default_rng(0).random(len(data)) < 0.9  # fixed seed
        return data.take(keep).to_frame(), data.y_or_ones()[keep]


class GlobalRandomAugmenter(SeedIgnoringAugmenter):
    def _fit_resample(self, data):
        keep = np.random.random(len(data)) < 0.9  # noqa: NPY002 (global state, on purpose)
        return data.take(keep).to_frame(), data.y_or_ones()[keep]


class InventingAugmenter(BaseAugmenter):
    def _fit_resample(self, data):
        X = data.to_frame()
        X.loc[0, "item"] = -12345
        return X, data.y_or_ones().copy()


class BadInitAugmenter(GoodAugmenter):
    def __init__(self, rate=0.1):
        self.rate = rate * 2


class MutatingSampler(BaseSampler):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):  # __call__ below replaces it
        raise AssertionError("not called")

    def __call__(self, learner, X_pool, n_instances=1):
        if hasattr(X_pool, "iloc"):
            X_pool.iloc[0, 1] = X_pool.iloc[1, 1]
        else:
            X_pool[0, 1] = X_pool[1, 1]
        return np.random.default_rng(self.random_state).permutation(len(X_pool))[:n_instances]


class SeedIgnoringSampler(BaseSampler):
    def __init__(self, random_state=None):
        self.random_state = random_state

    def _query(self, learner, X_pool, pool, n, rng):
        return select_top(learner.predict_proba(X_pool)[:, 1], n, np.random.default_rng(0))


class RepeatingSampler(BaseSampler):
    def _query(self, learner, X_pool, pool, n, rng):
        return np.zeros(n, dtype=np.int64)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (MutatingAugmenter(), "modified its input X"),
        (SeedIgnoringAugmenter(), "ignores its seed"),
        (GlobalRandomAugmenter(), "random_state=0 twice gave different outputs"),
        (InventingAugmenter(), "item ids not in the input"),
        (BadInitAugmenter(), "cannot be cloned"),
    ],
)
def test_check_augmenter_catches(obj, message):
    with pytest.raises(AssertionError, match=message):
        check_augmenter(obj)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (MutatingSampler(), "modified its input X_pool"),
        (SeedIgnoringSampler(), "ignores its seed"),
        (RepeatingSampler(), "repeated indices"),
        (lambda learner, X_pool, n_instances=1: np.arange(n_instances), "get_params"),
    ],
)
def test_check_sampler_catches(obj, message):
    with pytest.raises(AssertionError, match=message):
        check_sampler(obj)


# -------------------------------------------------- the example plugin
@needs_example
def test_example_plugin_is_discovered():
    skrec.samplers.refresh()
    skrec.augmenters.refresh()
    assert skrec.samplers.available()["coldness"].startswith("skrec-example-plugin ")
    assert skrec.augmenters.available()["drop_random"].startswith("skrec-example-plugin ")
    check_sampler(skrec.samplers.get("coldness"))
    check_augmenter(skrec.augmenters.get("drop_random"))


@needs_example
def test_example_augmenter_in_grid_search():
    from sklearn.model_selection import GridSearchCV

    import skrec.metrics
    import skrec.model_selection

    data = make_interactions(n_users=40, n_items=30, n_interactions=500, random_state=0)
    search = GridSearchCV(
        EASERecommender(l2=10.0),
        {"augmenter": [None, "drop_random"]},
        cv=skrec.model_selection.PerUserKFold(2, random_state=0),
        scoring=skrec.metrics.make_ranking_scorer(),
    ).fit(data.X, data.y)
    assert [p["augmenter"] for p in search.cv_results_["params"]] == [None, "drop_random"]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@needs_example
def test_example_sampler_in_active_learning_loop():
    from modAL.models import ActiveLearner

    import skrec.active  # noqa: F401  (applies the modAL compatibility fix)

    data = make_interactions(n_users=30, n_items=25, n_interactions=300, random_state=0)
    X, y = data.X[["user", "item"]].to_numpy(), (data.y > 0).astype(int)
    pool_X, pool_y = X[100:], y[100:]
    learner = ActiveLearner(
        estimator=EASERecommender(l2=10.0),
        query_strategy=skrec.samplers.get("coldness", random_state=0),
        X_training=X[:100],
        y_training=y[:100],
    )
    for _ in range(3):
        idx, rows = learner.query(pool_X, n_instances=5)
        assert len(set(idx.tolist())) == 5
        learner.teach(rows, pool_y[idx])
        pool_X, pool_y = np.delete(pool_X, idx, axis=0), np.delete(pool_y, idx)
    assert len(learner.X_training) == 115


def test_importing_skrec_loads_no_plugin():
    import subprocess

    code = (
        "import sys, skrec, skrec.samplers, skrec.augmenters;"
        "print('skrec_example_plugin' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
