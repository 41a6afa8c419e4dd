"""``stacklevel`` that points a warning at the user's code, however deep the call."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["user_stacklevel"]

#: Packages whose frames lie between a user's call and skrec's warning.
_LIBRARIES = ("skrec", "sklearn", "skorch", "imblearn")


def user_stacklevel() -> int:
    """``stacklevel`` for a warning issued by the calling function.

    It counts frames up to the first one outside skrec, scikit-learn, skorch
    and imbalanced-learn, so the warning names the user's line (their call of
    ``fit``, or of the search that fits) whatever wrappers (``_fit_context``,
    a Pipeline, skorch's training loop) lie in between. Only libraries already
    imported are considered; nothing is imported here.
    """
    inside = tuple(
        str(Path(module.__file__).resolve().parent)
        for module in (sys.modules.get(name) for name in _LIBRARIES)
        if module is not None and getattr(module, "__file__", None)
    )
    frame, level = sys._getframe(1), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(inside):
        frame, level = frame.f_back, level + 1
    return level
