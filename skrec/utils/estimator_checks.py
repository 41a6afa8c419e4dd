"""The conformance suite: checks that a recommender, sampler or augmenter honours skrec's contract.

For recommenders, the pattern of scikit-learn's and imbalanced-learn's
``estimator_checks``:

* :func:`check_recommender` runs scikit-learn's estimator checks (minus the
  documented expected failures of :data:`SKLEARN_EXPECTED_FAILED_CHECKS`,
  each with its reason) and skrec's recommender checks, and raises one
  :class:`AssertionError` listing every rule that is broken;
* :func:`parametrize_with_checks` makes the same checks one pytest test each,
  for the test suite of skrec or of a package that ships a recommender.

The recommender checks (``skrec.utils._recommender_checks``) fit clones of the
estimator on small synthetic data and check that ``recommend`` is the
brute-force top-n of ``decision_function`` with the seen items excluded and
ties in candidate order, in one block or many; that ``exclude_seen``,
``items=`` and ``handle_unknown`` are honoured; that ``predict ==
(decision_function > 0)`` and ``predict_proba[:, 1]`` is its sigmoid; that
pickling and ``clone`` reproduce ``recommend``; that the same ``random_state``
gives the same output and another one a different output; that no input is
modified; that ``score`` equals :func:`skrec.metrics.ndcg_at_k` on the same
rows; that ``sample_weight`` behaves as repeated rows; that explicit negatives
are excluded; that bad input raises clear errors; and that ``embed_items`` is
consistent. :func:`check_sampler` and :func:`check_augmenter` check the two
plugin contracts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping

from sklearn.utils.estimator_checks import estimator_checks_generator

from skrec.utils._plugin_checks import check_augmenter, check_sampler
from skrec.utils._recommender_checks import RECOMMENDER_CHECKS

__all__ = [
    "SKLEARN_EXPECTED_FAILED_CHECKS",
    "check_augmenter",
    "check_recommender",
    "check_sampler",
    "expected_failed_checks",
    "parametrize_with_checks",
    "recommender_checks",
]

_WIDE_X = (
    "feeds a feature matrix with more than 3 columns; a recommender's X is an interaction "
    "table of 2 or 3 columns (user, item[, timestamp]), so fit rejects it with a ValueError "
    "before the property the check is about is reached"
)
_FEEDBACK_Y = (
    "treats y as class labels; skrec's y is feedback strength (any number: > 0 positive, "
    "<= 0 negative), so a continuous, multi-valued or text y is not a labelling error"
)
_IMPLICIT = (
    "fits on one label and expects that label back; an all-positive y is ordinary implicit "
    "feedback whose negatives are the unobserved (user, item) pairs, so unseen pairs are "
    "rightly predicted 0"
)

#: scikit-learn checks that do not apply to recommenders, with the reason.
SKLEARN_EXPECTED_FAILED_CHECKS: dict[str, str] = {
    "check_n_features_in_after_fitting": _WIDE_X,
    "check_estimators_dtypes": _WIDE_X,
    "check_dtype_object": _WIDE_X,
    "check_fit2d_1sample": _WIDE_X,
    "check_positive_only_tag_during_fit": _WIDE_X,
    "check_all_zero_sample_weights_error": _WIDE_X,
    "check_sample_weight_equivalence_on_dense_data": _WIDE_X
    + " (check_recommender_sample_weight checks the same equivalence on interactions)",
    "check_classifiers_classes": _FEEDBACK_Y + " (string labels)",
    "check_classifiers_regression_target": _FEEDBACK_Y,
    "check_classifier_not_supporting_multiclass": _FEEDBACK_Y,
    "check_classifiers_one_label": _IMPLICIT,
    "check_classifiers_one_label_sample_weights": _IMPLICIT,
}

#: Checks a built-in recommender is known to fail, with the reason.
_IMPLICIT_THREADS = (
    "implicit's SGD draws one random stream per thread (and BPR updates the factors from "
    "all threads at once), so a fit with another n_jobs gives other factors; ranking a "
    "fitted model alone or in blocks agrees (tested in its own tests)"
)
_CLASS_EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "BPRRecommender": {"check_recommender_blocks_agree": _IMPLICIT_THREADS},
    "LMFRecommender": {"check_recommender_blocks_agree": _IMPLICIT_THREADS},
    "TransformerRecommender": {
        "check_recommender_sample_weight": (
            "a sequence model reads each row as one event of the history: a row repeated "
            "three times is three consecutive events (changing the history), whereas weight 3 "
            "triples the loss of predicting that one event, so the two cannot agree"
        ),
    },
}


def expected_failed_checks(estimator) -> dict[str, str]:
    """The checks ``estimator`` is expected to fail, each with its reason.

    scikit-learn's checks of :data:`SKLEARN_EXPECTED_FAILED_CHECKS`, plus the
    ones its class (a built-in recommender) is known to fail.

    Parameters
    ----------
    estimator : recommender
        The estimator to check.

    Returns
    -------
    dict
        Check name -> reason.

    Examples
    --------
    >>> from skrec import EASERecommender
    >>> from skrec.utils.estimator_checks import expected_failed_checks
    >>> "check_classifiers_classes" in expected_failed_checks(EASERecommender())
    True
    """
    failures = dict(_CLASS_EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {}))
    if type(estimator).__name__ == "BPRRecommender" and estimator.sampling != "implicit":
        # skrec's own BPR trainer runs on one thread: its fit does not depend on n_jobs.
        failures.pop("check_recommender_blocks_agree")
    return {**SKLEARN_EXPECTED_FAILED_CHECKS, **failures}


def _merged_failures(estimator, extra) -> dict[str, str]:
    more = extra(estimator) if callable(extra) else (extra or {})
    if not isinstance(more, Mapping):
        raise TypeError(
            "expected_failed_checks must be a dict {check name: reason} or a callable "
            f"estimator -> dict, got {type(more).__name__}"
        )
    return {**expected_failed_checks(estimator), **more}


def _check_name(check) -> str:
    while isinstance(check, functools.partial):
        check = check.func
    return check.__name__


def recommender_checks(estimator, *, sklearn_checks: bool = True) -> Iterable:
    """``(estimator, check)`` pairs of the whole suite; each ``check(estimator)`` raises on failure.

    Parameters
    ----------
    estimator : recommender
        An unfitted recommender (the checks clone it).
    sklearn_checks : bool, default=True
        Include scikit-learn's estimator checks.

    Yields
    ------
    (estimator, callable)
        The estimator and a check taking it.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.utils.estimator_checks import recommender_checks
    >>> names = [c.func.__name__ for _, c in recommender_checks(PopularityRecommender())]
    >>> "check_recommender_ranking_matches_decision_function" in names
    True
    """
    if sklearn_checks:
        yield from estimator_checks_generator(estimator, legacy=True)
    name = type(estimator).__name__
    for check in RECOMMENDER_CHECKS:
        yield estimator, functools.partial(check, name)


def check_recommender(
    estimator,
    *,
    expected_failed_checks: Mapping | Callable | None = None,
    sklearn_checks: bool = True,
) -> None:
    """Check that ``estimator`` honours scikit-learn's and skrec's recommender contracts.

    Parameters
    ----------
    estimator : recommender
        An unfitted recommender, configured small enough to fit in seconds
        (the checks fit it a few dozen times on a 30 x 26 data set).
    expected_failed_checks : dict or callable, default=None
        More checks this estimator is expected to fail, ``{name: reason}``
        (or a callable estimator -> dict), on top of
        :func:`expected_failed_checks`. They are skipped.
    sklearn_checks : bool, default=True
        Also run scikit-learn's estimator checks.

    Raises
    ------
    AssertionError
        Listing every check that failed and why.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.utils.estimator_checks import check_recommender
    >>> check_recommender(PopularityRecommender(), sklearn_checks=False)
    """
    waived = _merged_failures(estimator, expected_failed_checks)
    failures = []
    for est, check in recommender_checks(estimator, sklearn_checks=sklearn_checks):
        name = _check_name(check)
        if name in waived:
            continue
        try:
            check(est)
        except Exception as exc:  # noqa: BLE001 (every broken rule is reported)
            if type(exc).__name__ == "SkipTest":
                continue
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    if failures:
        raise AssertionError(
            f"{type(estimator).__name__} fails {len(failures)} conformance check(s):\n- "
            + "\n- ".join(failures)
        )


def parametrize_with_checks(
    estimators: list,
    *,
    expected_failed_checks: Mapping | Callable | None = None,
    sklearn_checks: bool = True,
):
    """A pytest decorator running the conformance suite, one test per (estimator, check).

    Use it as scikit-learn's :func:`~sklearn.utils.estimator_checks.parametrize_with_checks`::

        @parametrize_with_checks([MyRecommender(k=5)])
        def test_my_recommender(estimator, check):
            check(estimator)

    Expected failures (:func:`expected_failed_checks`, plus ``expected_failed_checks``)
    are marked ``xfail(strict=True)``: a waived check that starts passing
    fails the test, so the list of waivers stays true.

    Parameters
    ----------
    estimators : list of recommenders
        Unfitted recommenders, configured small.
    expected_failed_checks : dict or callable, default=None
        More expected failures, ``{name: reason}`` or a callable estimator -> dict.
    sklearn_checks : bool, default=True
        Also run scikit-learn's estimator checks.

    Returns
    -------
    decorator
        ``pytest.mark.parametrize("estimator, check", ...)``.

    Examples
    --------
    >>> from skrec import PopularityRecommender
    >>> from skrec.utils.estimator_checks import parametrize_with_checks
    >>> mark = parametrize_with_checks([PopularityRecommender()])
    >>> mark.args[0]
    'estimator, check'
    """
    import pytest  # noqa: PLC0415 (a test dependency, only needed here)

    params = []
    for estimator in estimators:
        waived = _merged_failures(estimator, expected_failed_checks)
        for est, check in recommender_checks(estimator, sklearn_checks=sklearn_checks):
            name = _check_name(check)
            test_id = f"{_estimator_id(est)}-{name}"
            if name in waived:
                mark = pytest.mark.xfail(reason=waived[name], strict=True)
                params.append(pytest.param(est, check, id=test_id, marks=mark))
            else:
                params.append(pytest.param(est, check, id=test_id))
    return pytest.mark.parametrize("estimator, check", params)


def _estimator_id(estimator) -> str:
    text = repr(estimator)
    return " ".join(text.split())
