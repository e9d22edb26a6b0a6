"""The shared figure style and small helpers (panel letters, deterministic saving)."""
from __future__ import annotations

import io
import os
from contextlib import contextmanager
from pathlib import Path

STYLE_FILE = Path(__file__).with_name("biosnn.mplstyle")
DPI = 150
"""Resolution (dots per inch) of every saved PNG."""

__all__ = ["STYLE_FILE", "DPI", "figure", "own_axes", "panel_letter", "save_figure"]

# Metadata that would make two savings of the same figure differ (dates, versions)
# is left out, so the same Results always give byte-identical files.
_METADATA = {"png": {"Software": None},
             "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}}


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



def own_axes(ax, size):
    """``(figure, ax)``: the given axes and their figure, or a new one-panel figure of
    ``size`` (inches) when ``ax`` is None (figure functions drawn alone or into a panel)."""
    if ax is None:
        fig, axes = figure(1, 1, size=size)
        return fig, axes[0, 0]
    return ax.figure, ax

def panel_letter(ax, letter: str) -> None:
    """Bold panel letter at the top-left corner of ``ax``."""
    ax.text(-0.12, 1.05, letter, transform=ax.transAxes, fontsize=11, fontweight="bold",
            va="bottom", ha="left")


def save_figure(fig, path: str | os.PathLike, *, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (PNG or PDF, from the suffix) atomically and deterministically.

    The figure is saved at its own size (``figsize * dpi`` pixels for PNG: no tight
    bounding box; the bioSNN figures use constrained layout), without date or version
    metadata, to a temporary file renamed into place. Saving happens inside the
    bioSNN style, because matplotlib resolves colours given as ``"C0"``, ``"C1"``...
    when drawing, i.e. here: outside the style they would leave the palette.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : path
        Target file; its suffix (``.png`` or ``.pdf``) selects the format.
    dpi : int
        Resolution of raster output (dots per inch).

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    from ..results import atomic_write_bytes

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in _METADATA:
        raise ValueError(f"save_figure: unsupported format {fmt!r} (use .png or .pdf)")
    buf = io.BytesIO()
    with plt.style.context(str(STYLE_FILE)), matplotlib.rc_context({"savefig.bbox": "standard"}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    atomic_write_bytes(path, buf.getvalue())
    return path
