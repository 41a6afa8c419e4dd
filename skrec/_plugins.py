"""Registries of named plugins: built-ins, in-process registrations and entry points.

One :class:`Registry` per kind of plugin (``skrec.samplers``,
``skrec.augmenters``, ``skrec.recommenders``). It knows three sources of names:

* **built-in** objects shipped with skrec;
* **registered** objects added in-process with :meth:`Registry.register`;
* **entry points** of installed distributions in the registry's group,
  discovered lazily (on the first lookup), loaded once and cached until
  :meth:`Registry.refresh`.

A plugin whose import fails is skipped with a warning that names its
distribution and the error. A name claimed twice (two distributions, or a
distribution and a built-in) is a conflict: a warning at discovery and a
:class:`PluginConflictError` naming both sources when the name is requested.
Other names keep working.
"""

from __future__ import annotations

import inspect
import textwrap
import warnings
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

__all__ = ["Lazy", "PluginConflictError", "PluginWarning", "Registry", "discover_entry_points"]

BUILTIN = "built-in"


class PluginWarning(UserWarning):
    """A plugin could not be loaded or clashes with another one."""


class PluginConflictError(ValueError):
    """Two sources (distributions, built-ins, registrations) claim the same plugin name."""


def discover_entry_points(group: str) -> list[EntryPoint]:
    """The installed entry points of ``group`` (the one place that reads package metadata).

    Parameters
    ----------
    group : str
        Entry-point group, e.g. ``"skrec.samplers"``.

    Returns
    -------
    list of importlib.metadata.EntryPoint
        One per declaration found; tests patch this function.

    Examples
    --------
    >>> from skrec._plugins import discover_entry_points
    >>> isinstance(discover_entry_points("skrec.no-such-group"), list)
    True
    """
    return list(entry_points(group=group))


def _dist_label(ep: EntryPoint) -> str:
    """``"<distribution> <version>"`` of an entry point, or its module when unknown."""
    dist = getattr(ep, "dist", None)
    name = getattr(dist, "name", None) if dist is not None else None
    if name:
        version = getattr(dist, "version", None)
        return f"{name} {version}" if version else str(name)
    return f"<unknown distribution> ({ep.value.split(':')[0]})"


class Lazy:
    """A built-in plugin imported on first use: ``Lazy(lambda: module.Class)``.

    Parameters
    ----------
    loader : callable
        Returns the class or factory.

    Examples
    --------
    >>> from skrec._plugins import Lazy
    >>> Lazy(lambda: dict).load() is dict
    True
    """

    def __init__(self, loader: Callable[[], Callable]):
        self.loader = loader

    def load(self) -> Callable:
        return self.loader()


class Registry:
    """Named plugins of one kind, from built-ins, registrations and entry points.

    Parameters
    ----------
    group : str
        Entry-point group searched for plugins (also names the registry in messages).
    base : type
        The base class plugins are expected to derive from (documentation and messages).
    required : str
        The attribute every created plugin must have (``"__call__"`` for samplers,
        ``"fit_resample"`` for augmenters).
    kind : str
        What a plugin is called in messages ("sampler", "augmenter").

    Examples
    --------
    >>> from skrec._plugins import Registry
    >>> reg = Registry("skrec.example-doc", object, required="__call__", kind="thing")
    >>> @reg.register("double")
    ... def make_double(factor=2):
    ...     return lambda x: factor * x
    >>> reg.get("double", factor=3)(5)
    15
    >>> reg.available()["double"].startswith("registered")
    True
    """

    def __init__(self, group: str, base: type, *, required: str, kind: str):
        self.group = group
        self.base = base
        self.required = required
        self.kind = kind
        # name -> list of (source label, object or entry point); more than one is a conflict.
        self._static: dict[str, list[tuple[str, Any]]] = {}
        self._discovered: dict[str, list[tuple[str, Any]]] | None = None

    # -------------------------------------------------------------- sources
    def add_builtin(self, name: str, obj: Callable) -> None:
        """Declare a built-in plugin (used by skrec itself at import time).

        ``obj`` may be a :class:`Lazy` loader: the object is then imported when
        the name is first requested, so declaring it imports nothing.
        """
        self._static.setdefault(name, []).append((BUILTIN, obj))

    def register(self, name: str) -> Callable:
        """Decorator registering a class or factory under ``name`` in this process.

        Parameters
        ----------
        name : str
            Plugin name; must not already be used by a built-in or a registration.

        Returns
        -------
        callable
            The decorator; it returns the decorated object unchanged.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"a {self.kind} name must be a non-empty string, got {name!r}")

        def decorator(obj):
            if not callable(obj):
                raise TypeError(f"{self.kind} {name!r}: expected a class or factory, got {obj!r}")
            for source, existing in self._static.get(name, []):
                if existing is obj:
                    return obj
                raise PluginConflictError(
                    f"{self.kind} name {name!r} is already taken by {source} "
                    f"({_qualname(existing)}); choose another name"
                )
            label = f"registered ({_qualname(obj)})"
            self._static.setdefault(name, []).append((label, obj))
            return obj

        return decorator

    def refresh(self) -> None:
        """Forget the discovered entry points; the next lookup discovers them again."""
        self._discovered = None

    def _discover(self) -> dict[str, list[tuple[str, Any]]]:
        if self._discovered is not None:
            return self._discovered
        found: dict[str, list[tuple[str, Any]]] = {}
        seen: set[tuple[str, str, str]] = set()
        for ep in discover_entry_points(self.group):
            label = _dist_label(ep)
            key = (ep.name, ep.value, label)
            if key in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(key)
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not break the others
                warnings.warn(
                    f"{self.kind} plugin {ep.name!r} from {label} (entry point {ep.value!r} "
                    f"in group {self.group!r}) failed to load and is skipped: "
                    f"{type(exc).__name__}: {exc}",
                    PluginWarning,
                    stacklevel=3,
                )
                continue
            found.setdefault(ep.name, []).append((label, obj))
        self._discovered = found
        for name, claims in self._claims().items():
            if len(claims) > 1:
                warnings.warn(_conflict_message(self, name, claims), PluginWarning, stacklevel=3)
        return found

    def _claims(self) -> dict[str, list[tuple[str, Any]]]:
        out: dict[str, list[tuple[str, Any]]] = {k: list(v) for k, v in self._static.items()}
        for name, claims in (self._discovered or {}).items():
            out.setdefault(name, []).extend(claims)
        return out

    # ------------------------------------------------------------------ API
    def available(self) -> dict[str, str]:
        """Installed plugin names and where each comes from.

        Returns
        -------
        dict
            ``name -> source``: ``"built-in"``, ``"<distribution> <version>"``,
            ``"registered (<module.object>)"``, or ``"conflict: a | b"`` for a
            name claimed more than once (requesting it raises).
        """
        self._discover()
        out = {}
        for name, claims in sorted(self._claims().items()):
            sources = [source for source, _ in claims]
            out[name] = sources[0] if len(sources) == 1 else "conflict: " + " | ".join(sources)
        return out

    def load(self, name: str) -> Callable:
        """The class or factory registered under ``name`` (not instantiated)."""
        return self._claim(name)[1]

    def _claim(self, name: str) -> tuple[str, Callable]:
        """``(source, object)`` of the one claim on ``name``; the object must be callable."""
        if not isinstance(name, str):
            raise TypeError(f"a {self.kind} name must be a string, got {type(name).__name__}")
        self._discover()
        claims = self._claims().get(name)
        if not claims:
            names = ", ".join(repr(n) for n in self.available()) or "none"
            raise ValueError(
                f"unknown {self.kind} {name!r}; installed {self.kind}s: {names}. "
                f"Plugins are found through the entry-point group {self.group!r}"
            )
        if len(claims) > 1:
            raise PluginConflictError(_conflict_message(self, name, claims))
        source, obj = claims[0]
        if isinstance(obj, Lazy):
            obj = obj.load()
        if not callable(obj):
            raise TypeError(
                f"{self.kind} plugin {name!r} from {source} is a {type(obj).__name__} "
                f"({obj!r:.60}), not a class or factory; its entry point in group "
                f"{self.group!r} must name a class deriving from {self.base.__name__} or a "
                "function returning one"
            )
        return source, obj

    def get(self, name: str, **params) -> Any:
        """A new instance of the plugin ``name``, built with ``params``.

        Parameters
        ----------
        name : str
            Plugin name, one of :meth:`available`.
        **params
            Passed to the plugin's class or factory.

        Returns
        -------
        object
            The plugin instance.
        """
        source, factory = self._claim(name)
        obj = factory(**params)
        if not hasattr(obj, self.required) or (
            self.required == "__call__" and isinstance(obj, type)
        ):
            raise TypeError(
                f"{self.kind} plugin {name!r} from {source} ({_qualname(factory)}) produced "
                f"{obj!r:.60}, which has no {self.required!r}; plugins should derive from "
                f"{self.base.__name__}"
            )
        return obj

    def module_functions(
        self, module: str, *, params: str, returns: str, examples: dict[str, str]
    ) -> tuple[Callable, ...]:
        """The functions ``available``, ``get``, ``register`` and ``refresh`` of a plugin package.

        Each forwards to this registry and carries a numpydoc docstring naming
        the package's kind of plugin, so ``skrec.samplers`` and
        ``skrec.augmenters`` expose the same four documented functions.

        Parameters
        ----------
        module : str
            The package the functions belong to (their ``__module__``; doctest
            and Sphinx find them there).
        params : str
            Description of ``get``'s ``**params``.
        returns : str
            Description of the instance ``get`` returns.
        examples : dict
            Doctest text of the ``"available"``, ``"get"`` and ``"register"``
            examples (``refresh``'s is written here).

        Returns
        -------
        tuple of callable
            ``(available, get, register, refresh)``.

        Examples
        --------
        >>> from skrec._plugins import Registry
        >>> reg = Registry("skrec.example-doc-fns", object, required="__call__", kind="thing")
        >>> available, get, register, refresh = reg.module_functions(
        ...     "mypkg", params="Passed on.", returns="A thing.",
        ...     examples={"available": ">>> 1", "get": ">>> 2", "register": ">>> 3"},
        ... )
        >>> available.__module__, available(), get.__doc__.splitlines()[0]
        ('mypkg', {}, 'A new thing instance by name.')
        """
        registry = self

        def available() -> dict[str, str]:
            return registry.available()

        def get(name: str, **params) -> Any:
            return registry.get(name, **params)

        def register(name: str) -> Callable:
            return registry.register(name)

        def refresh() -> None:
            registry.refresh()

        get.__annotations__["return"] = self.base  # the kind's base class, not Any
        fields = {
            "kind": self.kind,
            "a_kind": f"{'an' if self.kind[:1] in 'aeiou' else 'a'} {self.kind}",
            "module": module,
            "params": params,
            "returns": returns,
        }
        functions = (available, get, register, refresh)
        for fn in functions:
            example = textwrap.dedent(examples.get(fn.__name__, "")).strip()
            template = inspect.cleandoc(_MODULE_FUNCTION_DOCS[fn.__name__])
            fn.__doc__ = template.format(**fields, examples=example)
            fn.__module__ = module
            fn.__qualname__ = fn.__name__
        return functions

    def __repr__(self) -> str:
        return f"Registry(group={self.group!r})"


def _qualname(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or "?"
    return f"{module}.{getattr(obj, '__qualname__', repr(obj))}"


def _conflict_message(registry: Registry, name: str, claims: list[tuple[str, Any]]) -> str:
    sources = [source for source, _ in claims]
    builtin = " (a plugin cannot take over a built-in name)" if BUILTIN in sources else ""
    return (
        f"{registry.kind} name {name!r} is claimed by several sources: "
        + " and ".join(sources)
        + f"{builtin}. Uninstall one of them or rename its entry point in group "
        f"{registry.group!r}"
    )


#: Docstring templates of :meth:`Registry.module_functions` (numpydoc, one per function).
_MODULE_FUNCTION_DOCS = dict(
    available="""Installed {kind}s: ``name -> source`` (``"built-in"`` or ``"<dist> <version>"``).

        Returns
        -------
        dict
            Every {kind} name that :func:`get` accepts, sorted.

        Examples
        --------
        {examples}
        """,
    get="""A new {kind} instance by name.

        Parameters
        ----------
        name : str
            One of :func:`available`.
        **params
            {params}

        Returns
        -------
        {kind}
            {returns}

        Raises
        ------
        ValueError
            For an unknown name (the message lists what is installed), or
            :class:`PluginConflictError` for a name claimed by two sources.

        Examples
        --------
        {examples}
        """,
    register="""Decorator registering {a_kind} class or factory in this process.

        Parameters
        ----------
        name : str
            The name :func:`get` will accept.

        Returns
        -------
        callable
            A decorator returning its argument unchanged.

        Examples
        --------
        {examples}
        """,
    refresh="""Forget discovered entry points; the next lookup discovers them again.

        Examples
        --------
        >>> import {module}
        >>> {module}.refresh()
        """,
)
