"""Checks that a sampler or augmenter honours the skrec plugin contracts.

Public through :mod:`skrec.utils.estimator_checks`. Like
:func:`sklearn.utils.estimator_checks.check_estimator`, but for the two kinds
of skrec plugins. Each check builds its own small synthetic data and a
small fitted recommender (no modAL needed) and raises :class:`AssertionError`
with a message naming the broken rule:

- the object is clonable (``get_params`` / ``clone`` round trip);
- the same ``random_state`` gives the same output, and when the object has a
  ``random_state`` a different one changes it (on data built with ties, e.g.
  duplicated pool rows), so a seed is neither ignored nor bypassed by a global
  random generator; without ``random_state`` the output must be deterministic;
- outputs have the documented shapes and types; batches are distinct rows;
- inputs are never modified;
- augmenters keep ids valid: every output item exists in the input, and every
  output user too, or is a documented pseudo-user
  (:func:`skrec.augmenters.pseudo_user_id`).
"""

from __future__ import annotations

import copy
from typing import NoReturn

import numpy as np
import pandas as pd
from sklearn.base import clone

__all__ = ["check_augmenter", "check_sampler"]

_SEEDS = (1, 2, 3, 4, 5)


def _name(obj) -> str:
    return type(obj).__name__


def _fail(obj, message: str) -> NoReturn:
    raise AssertionError(f"{_name(obj)}: {message}")


def _check_clone(obj) -> None:
    if not hasattr(obj, "get_params"):
        _fail(
            obj,
            "has no get_params(); derive it from skrec.samplers.BaseSampler or "
            "skrec.augmenters.BaseAugmenter (sklearn BaseEstimator) so it can be cloned",
        )
    try:
        params = obj.get_params(deep=False)
        twin = clone(obj)
    except Exception as exc:
        _fail(
            obj,
            f"cannot be cloned ({type(exc).__name__}: {exc}); __init__ must store its "
            "arguments unchanged under the same names",
        )
    if type(twin) is not type(obj):
        _fail(obj, f"clone() returned a {_name(twin)}")
    twin_params = twin.get_params(deep=False)
    if set(twin_params) != set(params):
        _fail(obj, f"get_params() differs after clone: {sorted(params)} vs {sorted(twin_params)}")
    for key, value in params.items():
        if repr(twin_params[key]) != repr(value):
            _fail(obj, f"parameter {key!r} is {twin_params[key]!r} after clone, not {value!r}")


def _instance(plugin, conforms, failure: str):
    """The object to check: ``plugin`` itself, or a class instantiated with no arguments.

    It must pass ``conforms`` (else the check fails with ``failure``) and be clonable.
    """
    obj = plugin() if isinstance(plugin, type) else plugin
    if not conforms(obj):
        _fail(obj, failure)
    _check_clone(obj)
    return obj


def _synthetic(n_users: int, n_items: int, n_interactions: int):
    """Small clustered interactions with some explicit negatives, always the same."""
    from skrec.datasets import make_interactions  # noqa: PLC0415 (keeps this module cheap to import)

    return make_interactions(
        n_users=n_users,
        n_items=n_items,
        n_interactions=n_interactions,
        n_clusters=3,
        negative_fraction=0.1,
        random_state=0,
    )


def _snapshot(*objs):
    return [copy.deepcopy(o) for o in objs]


def _same(a, b) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series):
        return isinstance(b, type(a)) and a.equals(b) and list(a.dtypes) == list(b.dtypes)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if a is None or b is None:
        return a is b
    if hasattr(a, "toarray"):  # sparse matrix
        return a.shape == b.shape and (a != b).nnz == 0
    return repr(a) == repr(b)


def _check_unchanged(obj, before: list, after: list, what: list[str]) -> None:
    for b, a, label in zip(before, after, what):
        if not _same(b, a):
            _fail(obj, f"modified its input {label}; it must work on copies")


def _check_seeds(obj, run, same) -> None:
    """Same seed -> same output; a different seed must matter when there is a seed."""
    params = obj.get_params(deep=False)
    if "random_state" not in params:
        if not same(run(clone(obj)), run(clone(obj))):
            _fail(
                obj,
                "gives different outputs on the same input without a random_state; "
                "take a random_state parameter and draw from it",
            )
        return
    first = run(clone(obj).set_params(random_state=0))
    if not same(first, run(clone(obj).set_params(random_state=0))):
        _fail(
            obj,
            "random_state=0 twice gave different outputs: it does not draw all of its "
            "randomness from random_state (global numpy/random state?)",
        )
    if all(same(first, run(clone(obj).set_params(random_state=s))) for s in _SEEDS):
        _fail(
            obj,
            f"ignores its seed: random_state = {', '.join(map(str, (0, *_SEEDS)))} all gave "
            "the same output "
            "on data with ties; drop the parameter if the output is deterministic",
        )


# ----------------------------------------------------------------- samplers
class _Learner:
    """The part of a modAL ActiveLearner samplers may use."""

    def __init__(self, estimator, X_training, y_training):
        self.estimator = estimator
        self.X_training = X_training
        self.y_training = y_training

    def predict_proba(self, X):
        return self.estimator.predict_proba(X)


class _Committee:
    """The part of a modAL Committee samplers may use."""

    def __init__(self, learner_list):
        self.learner_list = learner_list

    def predict_proba(self, X):
        return np.mean([m.predict_proba(X) for m in self.learner_list], axis=0)


def _sampler_fixture():
    from skrec import EASERecommender  # noqa: PLC0415 (keeps this module cheap to import)

    data = _synthetic(n_users=30, n_items=24, n_interactions=240)
    X, y = data.X[["user", "item"]], data.y
    rec = EASERecommender(l2=10.0).fit(X, y)
    learner = _Learner(rec, X, y)
    committee = _Committee([learner, _Learner(EASERecommender(l2=50.0).fit(X, y), X, y)])
    seen = set(zip(X["user"], X["item"]))
    rows = [(u, i) for u in (0, 1, 2) for i in range(24) if (u, i) not in seen]
    rows += [(1000, i) for i in range(24)]  # a new user
    pool = pd.DataFrame(rows + rows, columns=["user", "item"])  # duplicated rows: ties
    return rec, learner, committee, pool


def check_sampler(sampler) -> None:
    """Check that ``sampler`` honours the skrec sampler contract.

    Parameters
    ----------
    sampler : object
        A sampler instance (or class, instantiated with no arguments):
        ``sampler(learner, X_pool, n_instances=1)`` returns the indices of the
        chosen pool rows.

    Raises
    ------
    AssertionError
        Naming the first rule broken.

    Examples
    --------
    >>> from skrec.samplers import MarginSampler
    >>> from skrec.utils.estimator_checks import check_sampler
    >>> check_sampler(MarginSampler())
    """
    obj = _instance(sampler, callable, "is not callable as sampler(learner, X_pool, n_instances=1)")
    rec, learner, committee, pool = _sampler_fixture()
    n_pool = len(pool)
    forms = {"DataFrame": pool, "ndarray": pool.to_numpy(dtype=object)}
    for who, lrn in (("recommender", rec), ("ActiveLearner", learner), ("Committee", committee)):
        for form, X_pool in forms.items():
            for n in (1, 5, n_pool + 3):
                before = _snapshot(X_pool, learner.X_training, rec.interactions_)
                try:
                    idx = clone(obj).set_params(**_seed(obj))(lrn, X_pool, n_instances=n)
                except Exception as exc:
                    _fail(
                        obj,
                        f"failed on a {who} with a {form} pool and n_instances={n}: "
                        f"{type(exc).__name__}: {exc}",
                    )
                after = [X_pool, learner.X_training, rec.interactions_]
                _check_unchanged(obj, before, after, ["X_pool", "X_training", "interactions_"])
                _check_indices(obj, idx, n, n_pool, f"({who}, {form} pool, n_instances={n})")
    _check_seeds(obj, lambda s: s(learner, pool, n_instances=5), _same)


def _seed(obj) -> dict:
    return {"random_state": 0} if "random_state" in obj.get_params(deep=False) else {}


def _check_indices(obj, idx, n: int, n_pool: int, where: str) -> None:
    if not isinstance(idx, np.ndarray):
        _fail(obj, f"returned {type(idx).__name__}, not an ndarray of row indices {where}")
    if idx.ndim != 1 or idx.dtype.kind not in "iu":
        _fail(obj, f"returned shape {idx.shape} dtype {idx.dtype}; expected 1-D ints {where}")
    if len(idx) != min(n, n_pool):
        _fail(
            obj,
            f"returned {len(idx)} indices, expected min(n_instances, len(X_pool)) = "
            f"{min(n, n_pool)} {where}",
        )
    if len(idx) and (idx.min() < 0 or idx.max() >= n_pool):
        _fail(obj, f"returned indices outside [0, {n_pool}) {where}")
    if len(np.unique(idx)) != len(idx):
        _fail(obj, f"returned repeated indices {where}; a batch must be distinct rows")


# --------------------------------------------------------------- augmenters
def _augmenter_inputs():
    data = _synthetic(n_users=25, n_items=20, n_interactions=220)
    timed = data.X.copy()
    named = pd.DataFrame(
        {"user": "u" + data.X["user"].astype(str), "item": "i" + data.X["item"].astype(str)}
    )
    y_strength = np.where(data.y > 0, 1.0 + (np.arange(len(data.y)) % 3), 0.0)
    return {
        "int ids with timestamps": (timed, data.y.astype(np.float64)),
        "string ids without timestamps": (named, y_strength),
    }


def check_augmenter(augmenter) -> None:
    """Check that ``augmenter`` honours the skrec augmenter contract.

    Parameters
    ----------
    augmenter : object
        An augmenter instance (or class, instantiated with no arguments) with
        ``fit_resample(X, y) -> (X_new, y_new)``.

    Raises
    ------
    AssertionError
        Naming the first rule broken.

    Examples
    --------
    >>> from skrec.augmenters import CropAugmenter
    >>> from skrec.utils.estimator_checks import check_augmenter
    >>> check_augmenter(CropAugmenter())
    """
    from skrec import EASERecommender  # noqa: PLC0415
    from skrec.augmenters import is_pseudo_user  # noqa: PLC0415
    from skrec.utils.validation import check_interactions  # noqa: PLC0415

    obj = _instance(augmenter, lambda o: hasattr(o, "fit_resample"), "has no fit_resample(X, y)")
    for label, (X, y) in _augmenter_inputs().items():
        before = _snapshot(X, y)
        try:
            X_new, y_new = clone(obj).set_params(**_seed(obj)).fit_resample(X, y)
        except Exception as exc:
            _fail(obj, f"fit_resample failed on {label}: {type(exc).__name__}: {exc}")
        _check_unchanged(obj, before, [X, y], ["X", "y"])
        if not isinstance(X_new, pd.DataFrame):
            _fail(obj, f"returned X_new of type {type(X_new).__name__}, expected a DataFrame")
        if X_new is X:
            _fail(obj, "returned its input DataFrame itself; return a new one")
        if list(X_new.columns) != list(X.columns):
            _fail(
                obj,
                f"returned columns {list(X_new.columns)} for input columns "
                f"{list(X.columns)} ({label})",
            )
        if not isinstance(y_new, np.ndarray) or y_new.ndim != 1 or y_new.dtype.kind != "f":
            _fail(
                obj,
                f"y_new must be a 1-D float ndarray, got {type(y_new).__name__} "
                f"{getattr(y_new, 'dtype', '')} {getattr(y_new, 'shape', '')}",
            )
        if len(y_new) != len(X_new):
            _fail(obj, f"returned {len(X_new)} rows but {len(y_new)} y values ({label})")
        try:
            check_interactions(X_new, y_new, name="X_new")
        except (TypeError, ValueError) as exc:
            _fail(obj, f"returned invalid interactions ({label}): {exc}")
        items = set(X["item"])
        bad_items = [i for i in pd.unique(X_new["item"]) if i not in items]
        if bad_items:
            _fail(obj, f"returned item ids not in the input: {bad_items[:5]} ({label})")
        users = set(X["user"])
        bad_users = [
            u for u in pd.unique(X_new["user"]) if u not in users and not is_pseudo_user(u, users)
        ]
        if bad_users:
            _fail(
                obj,
                f"returned user ids not in the input (and not pseudo-users "
                f"'<user>#view-<k>'): {bad_users[:5]} ({label})",
            )
    X, y = next(iter(_augmenter_inputs().values()))
    _check_seeds(
        obj, lambda a: a.fit_resample(X, y), lambda a, b: _same(a[0], b[0]) and _same(a[1], b[1])
    )
    try:
        EASERecommender(l2=10.0, augmenter=clone(obj)).fit(X, y)
    except Exception as exc:
        _fail(obj, f"EASERecommender(augmenter=...).fit failed: {type(exc).__name__}: {exc}")
