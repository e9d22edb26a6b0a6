"""The one registry of protocol kinds (kind name -> Protocol class).

Kinds register themselves with :func:`register` when their module is imported. Looked
up on first use: every module of the ``bioSNN.protocols`` package (the built-in kinds),
then the modules that installed packages name in the entry-point group
``bioSNN.protocols``. A spec can also name its kind's module (top-level key ``module``),
imported by :func:`import_kind_module` before the lookup.
"""
from __future__ import annotations

import importlib
import pkgutil
import warnings

__all__ = ["register", "get_kind", "kind_names", "import_kind_module", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "bioSNN.protocols"
_KINDS: dict[str, type] = {}
_ENGINE_MODULES = {"base", "registry", "schema", "spec"}  # the engine, not kinds
_loaded = False


def register(cls):
    """Class decorator: register a :class:`~bioSNN.protocols.base.Protocol` subclass
    under its ``kind``."""
    if cls.kind in _KINDS and _KINDS[cls.kind] is not cls:
        old = _KINDS[cls.kind]
        if (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
            raise ValueError(f"protocol kind {cls.kind!r} registered twice: by "
                             f"{old.__module__}.{old.__qualname__} and "
                             f"{cls.__module__}.{cls.__qualname__}")
    _KINDS[cls.kind] = cls  # (a module imported again, e.g. reloaded, replaces its class)
    return cls


def _load_builtins():
    global _loaded
    if _loaded:
        return
    _loaded = True
    from importlib.metadata import entry_points

    from .. import protocols as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in _ENGINE_MODULES and not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()  # a module whose classes register themselves, or a kind class
        except Exception as err:  # one broken plugin must not take down every command
            warnings.warn(f"bioSNN: protocol plugin {ep.name!r} ({ep.value}) did not load: "
                          f"{type(err).__name__}: {err}", stacklevel=2)


def import_kind_module(module: str) -> None:
    """Import the module a spec names (``module = "mypkg.protocols"``) so that its kinds
    register. Raises ``ImportError`` as :func:`importlib.import_module` does."""
    _load_builtins()
    importlib.import_module(module)


def get_kind(kind: str) -> type:
    """The Protocol class of ``kind``; ``KeyError`` when unknown."""
    _load_builtins()
    return _KINDS[kind]


def kind_names() -> list[str]:
    """All registered kinds, sorted."""
    _load_builtins()
    return sorted(_KINDS)
