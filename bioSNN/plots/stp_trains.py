"""EPSP trains through depressing and facilitating synapses (Markram et al. 1998 protocol).

A pure function of a saved ``stp-trains`` run.
"""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_stp_trains"]


def plot_stp_trains(results):
    """Figure: (A, B) efficacy of each spike of the train per frequency, the recursion of
    Tsodyks et al. (1998) as open circles and the analytic steady state dashed, for the
    depressing and the facilitating synapse; (C) membrane potential of both readout
    neurons during the train closest to 20 Hz.

    Parameters
    ----------
    results : Results
        A saved ``stp-trains`` run.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    data = results.data
    names = [str(s) for s in data["synapse"].values]
    freqs = data["frequency"].values
    spike = data["spike"].values
    fig, axes = figure(1, 3, size=(9.0, 2.9))
    with plt.style.context(str(STYLE_FILE)):
        for k, (ax, name) in enumerate(zip(axes[0, :2], names)):
            for j, f in enumerate(freqs):
                colour = f"C{j}"
                ax.plot(spike, data["efficacy"].values[k, j], "-", color=colour, lw=1.2,
                        label=f"{f:g} Hz")
                ax.plot(spike, data["efficacy_recursion"].values[k, j], "o", mfc="none",
                        color=colour, ms=3.5, mew=0.7)
                ax.axhline(data["efficacy_steady_state"].values[k, j], color=colour, lw=0.7,
                           ls="--")
            ax.set_xlabel("spike in the train")
            ax.set_ylabel("efficacy u·x")
            ax.set_ylim(bottom=0)
            ax.set_title(f"{name}: U {float(data['U'].values[k]):g}, τ_rec "
                         f"{float(data['tau_rec'].values[k]):g} ms, τ_facil "
                         f"{float(data['tau_facil'].values[k]):g} ms", loc="left", fontsize=7)
            ax.legend(fontsize=6, frameon=False)
        c = axes[0, 2]
        j = int(np.argmin(np.abs(freqs - 20.0)))
        t = data["time"].values
        span = t <= data.attrs.get("start_ms", 10.0) + 1000.0 * data.attrs.get("n_spikes", 10) / freqs[j] + 100
        for k, name in enumerate(names):
            c.plot(t[span], data["v"].values[k, j, span], color=f"C{k + 4}", lw=1, label=name)
        c.set_xlabel("time (ms)")
        c.set_ylabel("v (mV)")
        c.set_title(f"readout membrane, {freqs[j]:g} Hz train", loc="left", fontsize=7)
        c.legend(fontsize=6, frameon=False)
        for ax, letter in zip(axes[0], "ABC"):
            panel_letter(ax, letter)
    return fig
