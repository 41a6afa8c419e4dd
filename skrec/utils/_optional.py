"""Optional dependencies: import on use, fail with the install line."""

from __future__ import annotations

import importlib
from types import ModuleType

_EXTRAS = {
    "torch": "transformer",
    "skorch": "transformer",
    "sentence_transformers": "text",
    "modAL": "active",
    "matplotlib": "active",
    "implicit": "",
    "imblearn": "all",
    "dask": "all",
    "distributed": "all",
}


def import_optional(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise an ImportError naming ``feature`` and the install line.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"torch"``.
    feature : str
        What needs it, e.g. ``"TransformerRecommender"``.

    Returns
    -------
    module
        The imported module.

    Examples
    --------
    >>> from skrec.utils._optional import import_optional
    >>> import_optional("numpy", "examples").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = _EXTRAS.get(top, "all")
        target = f"scikit-recommend[{extra}]" if extra else "scikit-recommend"
        raise ImportError(
            f"{feature} requires the optional dependency {top!r}, which could not be imported "
            f'({exc}). Install it with: pip install "{target}"'
        ) from exc
