"""Figures: one module per figure, each a pure function of saved Results."""
from __future__ import annotations

import importlib
from typing import Callable

__all__ = ["load_plot"]


def load_plot(ref: str | Callable) -> Callable:
    """The drawing function named ``"module:function"`` (imported on demand, so that
    registering figures does not import matplotlib or the plot modules); a callable is
    returned as is."""
    if callable(ref):
        return ref
    module, _, func = ref.partition(":")
    return getattr(importlib.import_module(module), func)
