"""The one registry of protocol kinds (kind name -> Protocol class).

Built-in kinds live in modules listed in ``_BUILTIN_MODULES`` and register
themselves with :func:`register` when imported; they are imported on first use.
"""
from __future__ import annotations

import importlib

__all__ = ["register", "get_kind", "kind_names"]

_KINDS: dict[str, type] = {}
_BUILTIN_MODULES = (
    "bioSNN.protocols.lif_fi_curve",
    "bioSNN.protocols.izhikevich_patterns",
    "bioSNN.protocols.lif_poisson_trace",
    "bioSNN.protocols.fewshot",
    "bioSNN.protocols.rstdp_classification",
    "bioSNN.protocols.distal_reward",
    "bioSNN.protocols.stdp_window",
    "bioSNN.protocols.membrane_probe",
    "bioSNN.protocols.replay_crossval",
)
_loaded = False


def register(cls):
    """Class decorator: register a :class:`~bioSNN.protocols.base.Protocol` subclass
    under its ``kind``."""
    if cls.kind in _KINDS and _KINDS[cls.kind] is not cls:
        raise ValueError(f"protocol kind {cls.kind!r} registered twice")
    _KINDS[cls.kind] = cls
    return cls


def _load_builtins():
    global _loaded
    if not _loaded:
        _loaded = True
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)


def get_kind(kind: str) -> type:
    """The Protocol class of ``kind``; ``KeyError`` when unknown."""
    _load_builtins()
    return _KINDS[kind]


def kind_names() -> list[str]:
    """All registered kinds, sorted."""
    _load_builtins()
    return sorted(_KINDS)
