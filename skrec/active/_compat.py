"""A narrow, version-gated compatibility fix for modAL 0.4 on today's stack.

modAL 0.4.1 (its latest release) breaks on current scikit-learn and pandas in
two places that every ``ActiveLearner`` or ``Committee`` loop goes through:

* ``modAL.models.base`` calls ``check_X_y(..., force_all_finite=...)`` in
  ``teach``/``fit``; scikit-learn 1.6 renamed the argument ``ensure_all_finite``
  and 1.8 removed the old name, so every ``teach`` raises ``TypeError``
  (upstream: https://github.com/modAL-python/modAL/issues/196).
* ``modAL.utils.data.data_vstack`` stacks DataFrames with ``DataFrame.append``,
  which pandas 2.0 removed, and rejects a ``Series`` of labels, so teaching a
  learner whose pool is a DataFrame fails
  (upstream: https://github.com/modAL-python/modAL/pull/172).

Each fix is applied only when a probe of the installed packages shows it is
needed, rebinds a name inside the modAL modules that use it (never inside
scikit-learn or pandas), and is idempotent. Importing :mod:`skrec.active` does
not import modAL: if modAL is already imported the fix is applied at once,
otherwise a one-shot import hook applies it right after ``import modAL``
finishes, whatever the order of the user's imports.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import inspect
import pkgutil
import sys
from collections.abc import Callable

import pandas as pd
import scipy.sparse as sp

__all__ = ["apply_modal_compat", "install_modal_compat", "modal_compat_applied"]

# Set on every wrapper this module installs, so a second apply is a no-op.
_MARK = "__skrec_modal_compat__"
_VALIDATORS = ("check_X_y", "check_array")
_applied: list[str] = []


def modal_compat_applied() -> tuple[str, ...]:
    """The modAL names that :mod:`skrec.active` patched, as qualified names.

    Returns
    -------
    tuple of str
        For instance ``("modAL.models.base.check_X_y", "modAL.utils.data.data_vstack",
        ...)`` on scikit-learn >= 1.8 and pandas >= 2. Empty (falsy) when modAL is
        not installed, not imported yet, or needs no fix.

    Examples
    --------
    >>> import modAL
    >>> import skrec.active
    >>> "modAL.models.base.check_X_y" in skrec.active.modal_compat_applied()
    True
    """
    return tuple(_applied)


def apply_modal_compat() -> tuple[str, ...]:
    """Import modAL and patch it where the probes say it needs it; idempotent.

    :mod:`skrec.active` arranges this on import (an import hook applies it
    right after ``import modAL``); calling it again changes nothing. Without
    modAL installed it does nothing.

    Returns
    -------
    tuple of str
        All names patched so far (see :func:`modal_compat_applied`).

    Examples
    --------
    >>> from skrec.active import apply_modal_compat, modal_compat_applied
    >>> apply_modal_compat() == modal_compat_applied()
    True
    """
    if importlib.util.find_spec("modAL") is None:
        return modal_compat_applied()
    if _sklearn_lacks_force_all_finite():
        for module in _modal_modules_passing_force_all_finite():
            for name in _VALIDATORS:
                target = getattr(module, name, None)
                if _takes_ensure_not_force(target):
                    _rebind(module, name, _accept_force_all_finite(target))
    data = importlib.import_module("modAL.utils.data")
    original = data.data_vstack
    if _vstack_is_broken(original):
        fixed = _stack_pandas(original)
        # `data` first, then the modules that did `from modAL.utils.data import data_vstack`.
        for name, module in sorted(sys.modules.items()):
            if (name == "modAL" or name.startswith("modAL.")) and (
                getattr(module, "data_vstack", None) is original
            ):
                _rebind(module, "data_vstack", fixed)
    return modal_compat_applied()


def install_modal_compat() -> None:
    """Apply the fix now if modAL is imported, else right after it is; idempotent.

    Runs when :mod:`skrec.active` is imported. It never imports modAL itself:
    until something imports modAL, only a one-shot finder sits in
    ``sys.meta_path``; it removes itself at the first ``import modAL``.
    """
    if "modAL" in sys.modules:
        apply_modal_compat()
    elif not any(isinstance(f, _PatchAfterImport) for f in sys.meta_path):
        if importlib.util.find_spec("modAL") is not None:
            sys.meta_path.insert(0, _PatchAfterImport())


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Finds ``modAL`` with the other finders and runs the fix once it has loaded."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "modAL":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenPatch(spec.loader)
        return spec


class _ThenPatch:
    """A loader that delegates to modAL's own and applies the fix after executing it."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        apply_modal_compat()


def _sklearn_lacks_force_all_finite() -> bool:
    from sklearn.utils import check_array, check_X_y  # noqa: PLC0415

    return not all(
        "force_all_finite" in inspect.signature(f).parameters for f in (check_X_y, check_array)
    )


def _modal_modules_passing_force_all_finite():
    """modAL modules whose source mentions ``force_all_finite``, imported."""
    spec = importlib.util.find_spec("modAL")
    for info in pkgutil.walk_packages(spec.submodule_search_locations, "modAL."):
        sub = importlib.util.find_spec(info.name)
        try:
            source = sub.loader.get_source(info.name) if sub and sub.loader else None
        except (ImportError, OSError):
            source = None
        # Without source to read, assume it may pass the old name: the wrapper is inert otherwise.
        if source is not None and "force_all_finite" not in source:
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 (modAL.cluster, modAL.expected_error fail on import)
            continue


def _rebind(module, name: str, wrapper: Callable) -> None:
    setattr(wrapper, _MARK, True)
    setattr(module, name, wrapper)
    _applied.append(f"{module.__name__}.{name}")


def _takes_ensure_not_force(func) -> bool:
    """True for a validator that wants ``ensure_all_finite`` and refuses ``force_all_finite``."""
    if not callable(func) or getattr(func, _MARK, False):
        return False
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return "ensure_all_finite" in params and "force_all_finite" not in params


def _accept_force_all_finite(func: Callable) -> Callable:
    """``func`` with modAL's ``force_all_finite=`` passed on as ``ensure_all_finite=``."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if "force_all_finite" in kwargs:
            value = kwargs.pop("force_all_finite")
            kwargs.setdefault("ensure_all_finite", value)
        return func(*args, **kwargs)

    return wrapper


def _vstack_is_broken(vstack: Callable) -> bool:
    probe = pd.DataFrame({"user": ["u"], "item": ["i"]})
    try:
        out = vstack((probe, probe))
        ok = isinstance(out, pd.DataFrame) and len(out) == 2
        labels = vstack((pd.Series([1]), pd.Series([0])))
        return not (ok and len(labels) == 2)
    except (AttributeError, TypeError):
        return True


def _stack_pandas(vstack: Callable) -> Callable:
    """``vstack`` with pandas blocks joined by ``pd.concat`` (what ``DataFrame.append`` did)."""

    @functools.wraps(vstack)
    def data_vstack(blocks):
        first = blocks[0]
        if isinstance(first, pd.DataFrame | pd.Series) and not any(sp.issparse(b) for b in blocks):
            return pd.concat(list(blocks))
        return vstack(blocks)

    return data_vstack
