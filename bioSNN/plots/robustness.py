"""Robustness (``robustness-mnist`` runs): test accuracy of the converted SNN and its ANN
twin against the level of each perturbation, mean and 95 % CI over the noise draws.

Pure functions of a saved run (:class:`bioSNN.results.Results`).
"""
from __future__ import annotations

import numpy as np

from ..stats import mean_ci95
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_robustness", "accuracy_curve"]

# (data variable suffix, level coordinate, panel title, x label); the run's data
# names its perturbations the same way (bioSNN.protocols.robustness_mnist.PERTURBATIONS)
_PANELS = (
    ("gaussian", "gaussian_sigma", "Gaussian pixel noise", "noise s.d. sigma (intensity)"),
    ("salt_pepper", "salt_pepper_p", "salt-and-pepper noise", "pixel probability p"),
    ("deletion", "deletion_p", "input spike deletion", "deletion probability p"),
    ("jitter", "jitter_steps", "input spike jitter", "jitter s.d. (time steps)"),
)


def accuracy_curve(da, dim: str):
    """``(levels, mean, ci95 half-width)`` of an accuracy variable ``(repeat, dim)``,
    in percent (:func:`bioSNN.stats.mean_ci95` over the repeats at each level)."""
    levels = da[dim].values
    stats = np.array([mean_ci95(da.isel({dim: i}).values)[:2] for i in range(levels.size)])
    return levels, stats[:, 0] * 100, stats[:, 1] * 100


def plot_robustness(results, ax=None):
    """Four panels (one per perturbation): accuracy (%) vs level, SNN and ANN twin as
    lines with their 95 % CI bands. With ``ax`` given, only the Gaussian panel there."""
    import matplotlib.pyplot as plt

    data = results.data
    own = ax is None
    curves = {(net, name): accuracy_curve(data[f"{net}_accuracy_{name}"], dim)
              for name, dim, _, _ in _PANELS for net in ("snn", "ann")}
    # one accuracy axis for all panels (comparable), down to the lowest band minus 2 points
    low = min(float(np.nanmin(m - np.nan_to_num(h))) for _, m, h in curves.values())
    bottom = max(0.0, 5 * np.floor((low - 2) / 5))
    with plt.style.context(str(STYLE_FILE)):
        if own:
            fig, axes = figure(2, 2, size=(6.4, 4.8))
            panels = list(zip(axes.flat, _PANELS))
        else:
            fig, panels = ax.figure, [(ax, _PANELS[0])]
        for i, (a, (name, dim, title, xlabel)) in enumerate(panels):
            for net, color, label in (("snn", "C0", f"SNN (IF, T = {data.attrs['steps']})"),
                                      ("ann", "C1", "ANN twin")):
                x, m, h = curves[net, name]
                a.plot(x, m, "o-", color=color, ms=3, label=label)
                if np.isfinite(h).any():
                    a.fill_between(x, m - h, m + h, color=color, alpha=0.2, lw=0)
            a.set_title(title, fontsize=8)
            a.set_xlabel(xlabel)
            a.set_ylabel("test accuracy (%)")
            a.set_ylim(bottom, 100)
            if own:
                panel_letter(a, "ABCD"[i])
            if i == 0:
                a.legend(loc="lower left", fontsize=6)
        if own:
            fig.suptitle(f"n = {data['test_label'].size} test images, "
                         f"{data.attrs['repeats']} noise draws per level (mean, 95 % CI)",
                         fontsize=7)
    return fig
