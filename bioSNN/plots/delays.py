"""Learnable delays (``delay-learning`` runs): learned vs planted delays per synapse, and
the training curves with the annealed kernel width.

Pure functions of a saved run (:class:`bioSNN.results.Results`); the panel functions take
an optional ``ax``.
"""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure, own_axes

__all__ = ["plot_delay_scatter", "plot_delay_recovery", "plot_training_curves"]

_COLOURS = {"learned": "C0", "fixed": "C1"}
_LABELS = {"learned": "learned delays (DCLS)", "fixed": "fixed random delays"}



def plot_delay_scatter(results, model: str = "learned", ax=None):
    """Rounded delay of every synapse against its planted delay (steps), the band of
    +-1 step shaded; a small deterministic offset separates coincident points."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (3.2, 3.0))
    dt = float(data.attrs["dt_ms"])
    k = int(data.attrs["max_delay_steps"])
    planted = data["planted_delay"].values.ravel() / dt
    rounded = np.round(data["delay"].sel(model=model).values.ravel() / dt)
    within = np.abs(rounded - planted) <= 1
    offset = (np.arange(planted.size) % 7 - 3) * 0.06
    with plt.style.context(str(STYLE_FILE)):
        ax.fill_between([-1, k], [-2, k - 1], [0, k + 1], color="0.9", lw=0)
        ax.plot([-1, k], [-1, k], color="0.5", lw=0.8)
        ax.scatter(planted + offset, rounded - offset, s=5, color=_COLOURS.get(model, "k"),
                   alpha=0.7, lw=0)
        ax.set_xlim(-1, k)
        ax.set_ylim(-1, k)
        ax.set_aspect("equal")
        ax.set_xlabel("planted delay (steps)")
        ax.set_ylabel("delay after training (steps)")
        ax.set_title(f"{_LABELS.get(model, model)}: {100 * within.mean():.0f}% within 1 step",
                     fontsize=8)
    return fig


def plot_delay_recovery(results):
    """Learned (left) and fixed random (right) delays against the planted ones: the
    ``delays`` figure of ``delay-learning``."""
    fig, axes = figure(1, 2, size=(6.4, 3.2))
    for ax, m in zip(axes[0], [str(v) for v in results.data["model"].values]):
        plot_delay_scatter(results, m, ax=ax)
    return fig


def plot_training_curves(results, ax=None):
    """Training (dashed: during the epoch, with the Gaussian kernel of that moment) and test
    (solid: after the epoch, rounded integer delays) accuracy of both networks; the kernel
    width sigma of the learned delays (grey, right axis)."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (5.0, 3.0))
    epoch = data["epoch"].values
    with plt.style.context(str(STYLE_FILE)):
        for m in [str(v) for v in data["model"].values]:
            c = _COLOURS.get(m, "k")
            test = data["test_accuracy_curve"].sel(model=m).values
            smooth = " (Gaussian kernel)" if m == "learned" else ""
            rounded = ", rounded" if m == "learned" else ""
            ax.plot(epoch, 100 * data["train_accuracy"].sel(model=m).values, "--", color=c,
                    label=f"{_LABELS.get(m, m)} train{smooth}")
            ax.plot(epoch, 100 * test, "-o", ms=2.5, color=c,
                    label=f"{_LABELS.get(m, m)} test{rounded} ({100 * test[-1]:.1f}% final)")
        ax.axhline(100 / data.sizes["class"], color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=6, loc="lower right")
        ax2 = ax.twinx()
        ax2.plot(epoch, data["sigma"].values, color="0.4", lw=0.8)
        ax2.set_yscale("log")
        ax2.set_ylabel("kernel width sigma (steps)", color="0.4")
    return fig
