"""Diehl & Cook (2015) receptive fields: the learned input->E weights of every
excitatory neuron as a 28 x 28 image, in a grid, titled with its assigned class."""
from __future__ import annotations

import math

import numpy as np

from .style import STYLE_FILE, figure

__all__ = ["plot_receptive_fields", "receptive_field_grid"]


def receptive_field_grid(weights: np.ndarray, side: int = 28) -> np.ndarray:
    """Tile the weight columns ``(side*side, n)`` into one image of
    ``ceil(sqrt(n))`` columns (empty tiles are NaN)."""
    w = np.asarray(weights, dtype=float)
    n = w.shape[1]
    cols = max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.full((rows * side, cols * side), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        grid[r * side:(r + 1) * side, c * side:(c + 1) * side] = w[:, k].reshape(side, side)
    return grid


def plot_receptive_fields(results):
    """Figure: the learned input->E weights of all N_e neurons (28 x 28 each) in a grid,
    with the test accuracy (vote) in the title.

    Parameters
    ----------
    results : Results
        A saved ``stdp-mnist`` run.

    Returns
    -------
    matplotlib.figure.Figure
        6 x 6.4 inches.
    """
    import matplotlib.pyplot as plt

    data, s = results.data, results.summary
    w = data["weights"].values
    grid = receptive_field_grid(w)
    fig, axes = figure(1, 1, size=(6.0, 6.4))
    ax = np.atleast_1d(axes).ravel()[0]
    with plt.style.context(str(STYLE_FILE)):
        im = ax.imshow(grid, cmap="hot_r", vmin=0, vmax=float(np.nanmax(grid)) or 1.0,
                       interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        acc = s.get("test_accuracy")
        acc_txt = "n/a" if acc is None or not np.isfinite(acc) else f"{100 * acc:.1f} %"
        ax.set_title(f"{w.shape[1]} receptive fields after {s.get('n_train')} training "
                     f"images; test accuracy (vote) {acc_txt}", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="weight (input -> E)")
    return fig
