"""The shared figure style and small helpers (panel letters)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

STYLE_FILE = Path(__file__).with_name("biosnn.mplstyle")

__all__ = ["STYLE_FILE", "figure", "panel_letter"]


@contextmanager
def style():
    """Context manager applying ``biosnn.mplstyle``."""
    import matplotlib.pyplot as plt

    with plt.style.context(str(STYLE_FILE)):
        yield


def figure(nrows=1, ncols=1, *, size=(6.0, 3.0), **kw):
    """A new Figure and axes in the bioSNN style (not attached to pyplot state)."""
    from matplotlib.figure import Figure
    import matplotlib.pyplot as plt

    with plt.style.context(str(STYLE_FILE)):
        fig = Figure(figsize=size, layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def panel_letter(ax, letter: str) -> None:
    """Bold panel letter at the top-left corner of ``ax``."""
    ax.text(-0.12, 1.05, letter, transform=ax.transAxes, fontsize=11, fontweight="bold",
            va="bottom", ha="left")
