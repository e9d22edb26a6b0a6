"""Gallery of the Izhikevich (2003) presets' responses to current steps."""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_izhikevich_gallery"]


def plot_izhikevich_gallery(results):
    """Figure: one panel per recorded neuron, v (mV) over time with the input below.

    Parameters
    ----------
    results : Results
        A saved ``izhikevich-patterns`` run.
    """
    import matplotlib.pyplot as plt

    data = results.data
    labels = [str(x) for x in data["neuron"].values]
    ncols = 3
    nrows = int(np.ceil(len(labels) / ncols))
    fig, axes = figure(nrows, ncols, size=(9.0, 1.9 * nrows), sharex=True)
    t = data["time"].values
    with plt.style.context(str(STYLE_FILE)):
        for k, label in enumerate(labels):
            ax = axes.flat[k]
            ax.plot(t, data["v"].values[k], color="C0", lw=0.8)
            I = data["I"].values[k]
            span = max(np.abs(I).max(), 1e-9)
            ax.plot(t, -100 + 15 * I / span, color="C1", lw=0.8)
            ax.set_ylim(-125, 40)
            ax.set_title(label, loc="left")
            if k % ncols == 0:
                ax.set_ylabel("v (mV)")
            if k >= len(labels) - ncols:
                ax.set_xlabel("time (ms)")
            panel_letter(ax, chr(ord("A") + k))
        for ax in list(axes.flat)[len(labels):]:
            ax.set_visible(False)
        fig.suptitle("Izhikevich (2003) presets; input step (orange, scaled) below", fontsize=9)
    return fig
