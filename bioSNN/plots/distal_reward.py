"""Distal reward (Izhikevich 2007): chosen weight vs the others, rewards, activity."""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_distal_reward"]


def plot_distal_reward(results):
    """Figure: (A) weight of the chosen synapse over time against sampled others, with
    reward times; (B) final weight distribution with the chosen synapse marked; (C)
    rewards per minute; (D) raster of the recorded neurons over the last second.

    Parameters
    ----------
    results : Results
        A saved ``distal-reward`` run.
    """
    import matplotlib.pyplot as plt

    data, p = results.data, results.spec.params
    fig, axes = figure(2, 2, size=(9.0, 6.0))
    with plt.style.context(str(STYLE_FILE)):
        t = data["sample_time"].values
        ax = axes[0, 0]
        ax.plot(t, data["w_sample"].values.T, color="0.75", lw=0.5)
        ax.plot(t, data["w_chosen"].values, color="C1", lw=2, label="chosen synapse")
        rt = data["reward_time"].values
        ax.plot(rt, np.full(len(rt), p.w_max * 1.03), "|", color="C0", ms=5, label="rewards")
        ax.set_ylim(-0.05, p.w_max * 1.08)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("weight (mV jump)")
        ax.set_title("chosen synapse vs sampled others")
        ax.legend(loc="center left")
        panel_letter(ax, "A")

        ax = axes[0, 1]
        w = data["w_final"].values
        chosen = int(data.attrs["chosen_synapse"])
        ax.hist(np.delete(w, chosen), bins=40, range=(0, p.w_max), color="0.6")
        ax.axvline(w[chosen], color="C1", lw=2, label=f"chosen: {w[chosen]:.2f}")
        ax.set_yscale("log")
        ax.set_xlabel("final weight (mV jump)")
        ax.set_ylabel("synapses")
        ax.set_title("final weight distribution")
        ax.legend()
        panel_letter(ax, "B")

        ax = axes[1, 0]
        T = data.attrs["duration_s"]
        width = 60.0 if T >= 600 else max(T / 20, 1.0)
        edges = np.arange(0, T + width, width)
        ax.bar(edges[:-1], np.histogram(rt, edges)[0] / (width / 60.0), width=width, align="edge",
               color="C0")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("rewards per minute")
        ax.set_title("rewards")
        panel_letter(ax, "C")

        ax = axes[1, 1]
        rtime, rn = data["raster_time"].values, data["raster_neuron"].values
        m = rtime >= T - 1.0
        ax.plot((rtime[m] - (T - 1.0)) * 1000, rn[m], ".", ms=1.5, color="k")
        ax.set_xlabel("time in the last second (ms)")
        ax.set_ylabel("neuron")
        ax.set_title(f"activity (exc {results.summary['exc_rate_Hz']:.1f} Hz)")
        panel_letter(ax, "D")
    return fig
