"""Oracle simulation of an active-learning loop, and fast refits between rounds."""

from __future__ import annotations

import copy
import time
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skrec.active._curve import LearningCurve
from skrec.metrics import make_ranking_scorer
from skrec.utils._sklearn_compat import HasMethods, Interval, StrOptions, validate_params
from skrec.utils.validation import check_interactions

__all__ = ["simulate", "warm_refits"]

# Parameter names, by estimator family, of the number of passes a refit makes.
_PASSES = ("iterations", "max_epochs")


def _estimators(obj) -> list:
    """The estimators inside a modAL Committee, an ActiveLearner, or ``obj`` itself."""
    if hasattr(obj, "learner_list"):
        return [learner.estimator for learner in obj.learner_list]
    if hasattr(obj, "estimator") and hasattr(obj, "teach"):
        return [obj.estimator]
    return [obj]


def warm_refits(learner, *, iterations: int = 2):
    """Make every later ``teach`` continue from the current model.

    modAL refits its estimator on all labels after each ``teach``. For an
    estimator with a ``warm_start`` parameter (``ALSRecommender``) this sets
    ``warm_start=True`` and lowers its number of passes (``iterations``, or
    ``max_epochs`` for torch estimators) to ``iterations``: each round then
    starts from the factors of the previous one and only refines them. Call it
    after the first, full fit. Estimators without ``warm_start`` (EASE,
    popularity: closed forms) are left as they are.

    Parameters
    ----------
    learner : modAL ActiveLearner, Committee or skrec recommender
        A fitted learner; for a Committee every member's estimator is changed.
    iterations : int, default=2
        Passes of each later refit.

    Returns
    -------
    learner
        The same object, changed in place.

    Raises
    ------
    ValueError
        If an estimator that would be changed is not fitted yet.

    Examples
    --------
    >>> from modAL.models import ActiveLearner
    >>> from skrec import ALSRecommender
    >>> from skrec.active import warm_refits
    >>> from skrec.datasets import make_interactions
    >>> X = make_interactions(n_users=50, n_items=30, n_interactions=400, random_state=0).X
    >>> X = X[["user", "item"]].to_numpy()
    >>> learner = ActiveLearner(ALSRecommender(factors=8, random_state=0),
    ...                         X_training=X[:300], y_training=[1] * 300)
    >>> learner = warm_refits(learner, iterations=2)
    >>> learner.estimator.warm_start, learner.estimator.iterations
    (True, 2)
    """
    if not isinstance(iterations, Integral) or isinstance(iterations, bool) or iterations < 1:
        raise ValueError(f"iterations must be a positive integer, got {iterations!r}")
    for est in _estimators(learner):
        params = est.get_params(deep=True)
        warm = [key for key in params if key.rsplit("__", 1)[-1] == "warm_start"]
        if not warm:
            continue
        try:
            check_is_fitted(est)
        except NotFittedError:
            raise ValueError(
                f"{type(est).__name__} is not fitted: warm_refits shortens the refits that "
                "follow the first fit, so fit the learner (X_training=...) before calling it"
            ) from None
        passes = [key for key in params if key.rsplit("__", 1)[-1] in _PASSES]
        est.set_params(**dict.fromkeys(warm, True), **dict.fromkeys(passes, iterations))
    return learner


@contextmanager
def _global_seed(seed: int):
    # modAL breaks ties and samples with numpy's global generator; restore it afterwards.
    state = np.random.get_state()  # noqa: NPY002 (modAL only uses the legacy generator)
    np.random.seed(seed)  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


def _rows(X, idx: np.ndarray):
    return X.iloc[idx] if isinstance(X, pd.DataFrame) else X[idx]


def _as_table(X):
    """DataFrames and arrays as given; other tables as an object array (ids unchanged)."""
    if isinstance(X, pd.DataFrame | np.ndarray):
        return X
    data = check_interactions(X)
    cols = [data.users, data.items] + ([data.timestamps] if data.timestamps is not None else [])
    out = np.empty((len(data), len(cols)), dtype=object)
    for j, col in enumerate(cols):
        out[:, j] = col
    return out


def _evaluate(learner, scorer, X_eval, y_eval) -> float:
    if X_eval is None:
        return float("nan")
    values = []
    for est in _estimators(learner):
        try:
            check_is_fitted(est)
        except NotFittedError:
            return float("nan")
        values.append(float(scorer(est, X_eval, y_eval)))
    return float(np.mean(values))


@validate_params(
    {
        "learner": [HasMethods(["query", "teach"]), callable],
        "X_pool": ["array-like"],
        "y_pool": ["array-like"],
        "X_test": ["array-like", StrOptions({"pool"})],
        "y_test": ["array-like", None],
        "n_queries": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "groups": ["array-like", None],
        "metric": [str, callable],
        "k": [Interval(Integral, 1, None, closed="left")],
        "seeds": ["array-like"],
        "X_initial": ["array-like", None],
        "y_initial": ["array-like", None],
        "only_new": ["boolean"],
        "name": [str, None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def simulate(
    learner,
    X_pool,
    y_pool,
    *,
    X_test,
    y_test=None,
    n_queries: int = 20,
    batch_size: int = 1,
    groups=None,
    metric="ndcg",
    k: int = 10,
    seeds=(0, 1, 2),
    X_initial=None,
    y_initial=None,
    only_new: bool = False,
    name: str | None = None,
    verbose: bool = True,
) -> LearningCurve:
    """Run an active-learning loop against an oracle that knows ``y_pool``.

    For each seed: build a fresh learner, measure the metric, then ``n_queries``
    times query ``batch_size`` rows of the unlabelled pool, reveal their labels
    from ``y_pool``, ``teach`` them, and measure again.

    Parameters
    ----------
    learner : modAL ActiveLearner or Committee, or callable
        A learner (each seed runs on a deep copy of it), or a factory
        ``learner(seed) -> learner`` (to seed the estimator and the sampler too).
    X_pool : array-like of shape (n_pool, 2 or 3) or DataFrame
        Unlabelled ``(user, item)`` rows to choose from.
    y_pool : array-like of shape (n_pool,)
        The oracle's answers: feedback as in ``fit`` (> 0 relevant, <= 0 not).
    X_test : array-like or DataFrame, or "pool"
        Held-out interactions for the metric. ``"pool"`` evaluates, after each
        round, against the positive rows of the pool not revealed yet (the
        protocol of new-user preference elicitation).
    y_test : array-like of shape (n_test,), default=None
        Feedback of ``X_test``; only ``y > 0`` rows count (all when None).
    n_queries : int, default=20
        Rounds of query + teach (fewer when the pool runs out).
    batch_size : int, default=1
        Rows labelled per round (per group with ``groups``).
    groups : array-like of shape (n_pool,), default=None
        Query each group's rows separately: each round takes ``batch_size`` rows
        from every group, then teaches them all at once (for instance one pool
        per new user, ``groups=X_pool[:, 0]``). ``labels`` then counts labels
        per group.
    metric : str or callable, default="ndcg"
        A ranking metric name of :func:`skrec.metrics.make_ranking_scorer`
        (at ``k``), or a scorer ``metric(estimator, X, y) -> float``. For a
        Committee it is the mean over the members' estimators.
    k : int, default=10
        Cut-off of a named metric.
    seeds : sequence of int, default=(0, 1, 2)
        One run per seed; numpy's global generator (which modAL's tie-breaking
        uses) is seeded with it for the run and restored afterwards.
    X_initial, y_initial : array-like, default=None
        Labels taught before the first measurement and not counted in
        ``labels``; ``y_initial=None`` means all positive.
    only_new : bool, default=False
        Passed to ``teach``.
    name : str, default=None
        Name of the curve; defaults to the query strategy's name.
    verbose : bool, default=True
        Show a progress bar.

    Returns
    -------
    LearningCurve
        ``labels`` (0, ``batch_size``, ...) against the metric, per seed, with
        the wall-clock time of each round.

    Examples
    --------
    >>> import numpy as np
    >>> from modAL.models import ActiveLearner
    >>> from modAL.uncertainty import uncertainty_sampling
    >>> from skrec import PopularityRecommender
    >>> from skrec.active import simulate
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([rng.integers(0, 20, 300), rng.integers(0, 15, 300)])
    >>> y = rng.integers(0, 2, 300)
    >>> learner = ActiveLearner(PopularityRecommender(), uncertainty_sampling,
    ...                         X_training=X[:100], y_training=y[:100])
    >>> curve = simulate(learner, X[100:250], y[100:250], X_test=X[250:], y_test=y[250:],
    ...                  n_queries=3, batch_size=5, seeds=(0, 1), verbose=False)
    >>> curve.labels.tolist(), curve.scores.shape
    ([0, 5, 10, 15], (2, 4))
    """
    from tqdm.auto import tqdm  # noqa: PLC0415 (only the loop needs it)

    X_pool = _as_table(X_pool)
    y_pool = check_interactions(X_pool, y_pool, name="X_pool").y
    seeds = [int(s) for s in np.asarray(seeds, dtype=np.int64).ravel()]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    scorer = make_ranking_scorer(metric, k=k) if isinstance(metric, str) else metric
    if isinstance(X_test, str):
        X_test = None
    else:
        X_test = _as_table(X_test)
        check_interactions(X_test, y_test, name="X_test")
    if groups is None:
        members = [np.arange(len(y_pool))]
    else:
        groups = np.asarray(groups, dtype=object).ravel()
        if len(groups) != len(y_pool):
            raise ValueError(f"groups has {len(groups)} entries but X_pool has {len(y_pool)} rows")
        members = list(
            pd.Series(np.arange(len(groups))).groupby(groups, sort=False).indices.values()
        )
    largest = max(len(m) for m in members)
    n_rounds = min(n_queries, -(-largest // batch_size))
    labels = np.minimum(np.arange(n_rounds + 1) * batch_size, largest)
    if X_initial is not None:
        X_initial = _as_table(X_initial)
        y_initial = check_interactions(X_initial, y_initial, name="X_initial").y_or_ones()

    scores = np.full((len(seeds), n_rounds + 1), np.nan)
    times = np.zeros((len(seeds), n_rounds))
    bar = tqdm(total=len(seeds) * n_rounds, desc=name or "simulate", disable=not verbose)
    for s, seed in enumerate(seeds):
        with _global_seed(seed):
            model = copy.deepcopy(learner) if hasattr(learner, "teach") else learner(seed)
            if name is None:
                strategy = getattr(model, "query_strategy", None)
                name = getattr(strategy, "__name__", type(strategy).__name__)
                bar.set_description(name)
            if X_initial is not None:
                model.teach(X_initial, y_initial, only_new=only_new)
            hidden = np.ones(len(y_pool), dtype=bool)
            scores[s, 0] = _score(model, scorer, X_pool, y_pool, hidden, X_test, y_test)
            for r in range(n_rounds):
                start = time.perf_counter()
                chosen = _query(model, X_pool, hidden, members, batch_size)
                hidden[chosen] = False
                model.teach(_rows(X_pool, chosen), y_pool[chosen], only_new=only_new)
                times[s, r] = time.perf_counter() - start
                scores[s, r + 1] = _score(model, scorer, X_pool, y_pool, hidden, X_test, y_test)
                bar.update()
                bar.set_postfix(metric=f"{scores[s, r + 1]:.4f}")
    bar.close()
    metric_name = (
        f"{metric}@{k}" if isinstance(metric, str) else getattr(metric, "__name__", "score")
    )
    return LearningCurve(labels, scores, tuple(seeds), metric_name, name, times)


def _query(model, X_pool, hidden, members, batch_size) -> np.ndarray:
    """Pool positions chosen this round: up to ``batch_size`` per group."""
    chosen = []
    for rows in members:
        candidates = rows[hidden[rows]]
        if not len(candidates):
            continue
        n = min(batch_size, len(candidates))
        idx, _ = model.query(_rows(X_pool, candidates), n_instances=n)
        chosen.append(candidates[np.unique(np.asarray(idx, dtype=np.int64).ravel())])
    return np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)


def _score(model, scorer, X_pool, y_pool, hidden, X_test, y_test) -> float:
    if X_test is not None:
        return _evaluate(model, scorer, X_test, y_test)
    remaining = np.flatnonzero(hidden & (y_pool > 0))
    return _evaluate(model, scorer, _rows(X_pool, remaining) if len(remaining) else None, None)
