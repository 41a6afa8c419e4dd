"""Everything skrec takes from scikit-learn's private modules, in one file.

Parameter validation is done one way across skrec: scikit-learn's constraint system.

Estimators (recommenders, samplers, augmenters) declare
``_parameter_constraints`` and are checked by :func:`fit_context` (on ``fit``)
or ``self._validate_params()``; functions (metrics, generators) use
:func:`validate_params`; splitters, which are not estimators, call
:func:`check_init_params` from ``__init__``. Everything here comes from
scikit-learn's private ``sklearn.utils._param_validation`` and
``sklearn.base._fit_context``, the HTML-repr block of meta-estimators and the
successive-halving searches come from private scikit-learn modules too: this
module is the only place in skrec that imports private scikit-learn names, so
a change there breaks one file.
"""

from __future__ import annotations

import inspect

from sklearn.base import _fit_context as fit_context
from sklearn.model_selection._search_successive_halving import (
    HalvingGridSearchCV as _HalvingGridSearchCV,
)
from sklearn.model_selection._search_successive_halving import (
    HalvingRandomSearchCV as _HalvingRandomSearchCV,
)
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils.metaestimators import _BaseComposition as BaseComposition

try:  # scikit-learn >= 1.7
    from sklearn.utils._repr_html.estimator import _VisualBlock as VisualBlock
except ImportError:  # pragma: no cover - scikit-learn 1.6
    from sklearn.utils._estimator_html_repr import _VisualBlock as VisualBlock

__all__ = [
    "BaseComposition",
    "SklearnHalvingGridSearchCV",
    "SklearnHalvingRandomSearchCV",
    "HasMethods",
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "VisualBlock",
    "check_init_params",
    "check_param",
    "fit_context",
    "validate_params",
]


# scikit-learn exports the successive-halving searches only after
# ``from sklearn.experimental import enable_halving_search_cv``, which adds them to
# sklearn.model_selection for the whole process; skrec takes them from their module.
SklearnHalvingGridSearchCV = _HalvingGridSearchCV
SklearnHalvingRandomSearchCV = _HalvingRandomSearchCV


def check_param(name: str, value, constraints: list, caller: str):
    """Check one parameter against scikit-learn constraints; return it unchanged.

    For helpers that validate a value on behalf of a public function.

    Examples
    --------
    >>> from numbers import Integral
    >>> from skrec.utils._sklearn_compat import Interval, check_param
    >>> check_param("k", 10, [Interval(Integral, 1, None, closed="left")], "ndcg_at_k")
    10
    """
    validate_parameter_constraints({name: constraints}, {name: value}, caller_name=caller)
    return value


def check_init_params(obj) -> None:
    """Check the ``__init__`` arguments stored on ``obj`` against ``_parameter_constraints``.

    For objects that are not scikit-learn estimators (the splitters), which
    validate when built, as scikit-learn's own splitters do.

    Parameters
    ----------
    obj : object
        Has ``_parameter_constraints`` and stores each ``__init__`` argument
        under its own name.

    Raises
    ------
    InvalidParameterError
        A ``ValueError`` and ``TypeError`` naming the parameter and what it accepts.

    Examples
    --------
    >>> from numbers import Integral
    >>> from skrec.utils._sklearn_compat import Interval, check_init_params
    >>> class Folds:
    ...     _parameter_constraints = {"n_splits": [Interval(Integral, 2, None, closed="left")]}
    ...     def __init__(self, n_splits=5):
    ...         self.n_splits = n_splits
    ...         check_init_params(self)
    >>> Folds(1)
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'n_splits' parameter of Folds must be an int in the range [2, inf). Got 1 instead.
    """  # noqa: E501
    names = [
        p.name
        for p in inspect.signature(type(obj).__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    validate_parameter_constraints(
        obj._parameter_constraints,
        {name: getattr(obj, name) for name in names},
        caller_name=type(obj).__name__,
    )
