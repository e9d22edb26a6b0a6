"""Weight distributions after STDP under Poisson input (Song et al. 2000 protocol).

A pure function of a saved ``stdp-weight-distribution`` run.
"""
from __future__ import annotations

import numpy as np

from ..features.weight_distribution import N_BINS, histogram, shape
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_weight_distributions"]


def plot_weight_distributions(results):
    """Figure: (A) the final weight histogram of each rule, with its shape; (B) the
    fraction of weights in the lowest and highest tenth of the range over time.

    Parameters
    ----------
    results : Results
        A saved ``stdp-weight-distribution`` run.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    data = results.data
    rules = [str(r) for r in data["rule"].values]
    edges = np.linspace(0.0, 1.0, N_BINS + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig, axes = figure(1, 2, size=(7.0, 3.0))
    a, b = axes[0, 0], axes[0, 1]
    t = data["snapshot_time"].values
    with plt.style.context(str(STYLE_FILE)):
        width = 0.1 / len(rules)
        for k, rule in enumerate(rules):
            h = histogram(data["w_hat"].values[k])
            rate = float(data["post_rate"].values[k])
            a.bar(centres + (k - (len(rules) - 1) / 2) * width, 100 * h, width=width,
                  color=f"C{k}", label=f"{rule}: {shape(h)}, {rate:.0f} Hz")
            snaps = data["w_snapshot"].values[k]                      # (time, synapse)
            low = 100 * np.mean(snaps < edges[1], axis=1)
            high = 100 * np.mean(snaps >= edges[-2], axis=1)
            b.plot(t, low, color=f"C{k}", lw=1.2, label=f"{rule}, lowest tenth")
            b.plot(t, high, color=f"C{k}", lw=1.2, ls="--", label=f"{rule}, highest tenth")
        a.set_xlabel("final weight (w - w_min) / (w_max - w_min)")
        a.set_ylabel("synapses (%)")
        a.set_xlim(0, 1)
        a.legend(fontsize=6, frameon=False, loc="upper center")
        a.set_title(f"{data.sizes['synapse']} Poisson inputs at "
                    f"{data.attrs.get('input_rate_Hz', 0):g} Hz, "
                    f"{data.attrs.get('duration_s', 0):g} s", loc="left", fontsize=8)
        b.set_xlabel("time (s)")
        b.set_ylabel("synapses in the outer tenth (%)")
        b.set_ylim(0, 100)
        b.legend(fontsize=5, frameon=False, ncol=1)
        panel_letter(a, "A")
        panel_letter(b, "B")
    return fig
