"""Vogels & Abbott (2005) / Brette et al. (2007) benchmark activity: raster of a subset,
population rate, per-neuron rate and ISI CV histograms."""
from __future__ import annotations

import numpy as np

from ..features.population import isi_cv, neuron_rates, population_rate
from .brunel import _num
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_vogels_abbott_activity", "N_RASTER", "WINDOW_MS"]

N_RASTER = (160, 40)
"""Neurons shown in the raster: the first excitatory and the first inhibitory ones."""

WINDOW_MS = 500.0
"""Span of the raster and rate panels: the last WINDOW_MS of the run."""


def plot_vogels_abbott_activity(results):
    """Figure: (A) raster of a subset, (B) population rate of all neurons (``rate_bin``
    bins), (C) per-neuron rates, (D) per-neuron ISI CVs (both over the analysis window).

    Parameters
    ----------
    results : Results
        A saved ``vogels-abbott`` run.

    Returns
    -------
    matplotlib.figure.Figure
        7 x 6 inches; excitatory neurons in C0, inhibitory in C3.
    """
    import matplotlib.pyplot as plt

    data, p = results.data, results.spec.params
    n_e, n_i = int(data.attrs["n_exc"]), int(data.attrs["n_inh"])
    t_stop = float(data.attrs["duration_ms"])
    t_start = float(data.attrs["transient_ms"])
    i = data["spike_neuron"].values.astype(np.int64)
    t = data["spike_time"].values
    shown_t0 = max(0.0, t_stop - WINDOW_MS)
    rates = neuron_rates(i, t, n_e + n_i, t_start, t_stop)
    cv = isi_cv(i, t, n_e + n_i, t_start, t_stop)
    s = results.summary
    fig, axes = figure(3, 2, size=(7.0, 6.0), gridspec_kw={"height_ratios": [2.2, 1.0, 1.4]})
    with plt.style.context(str(STYLE_FILE)):
        gs = axes[0, 0].get_gridspec()
        for ax in (*axes[0], *axes[1]):
            ax.remove()
        ax_r = fig.add_subplot(gs[0, :])
        ax_p = fig.add_subplot(gs[1, :], sharex=ax_r)
        ax_rate, ax_cv = axes[2]

        k_e, k_i = min(N_RASTER[0], n_e), min(N_RASTER[1], n_i)
        sel_t = (t >= shown_t0) & (t < t_stop)
        for lo, k, colour in ((0, k_e, "C0"), (n_e, k_i, "C3")):
            m = sel_t & (i >= lo) & (i < lo + k)
            row = np.where(i[m] < n_e, i[m], i[m] - n_e + k_e)
            ax_r.plot(t[m], row, "|", color=colour, ms=2.0, mew=0.6)
        ax_r.set_ylim(-0.5, k_e + k_i - 0.5)
        ax_r.set_ylabel("neuron")
        kind = "CUBA" if p.synapse == "current" else "COBA"
        ax_r.set_title(f"{kind}, N = {n_e + n_i}: E {_num(s['rate_exc_Hz'], '.1f')} Hz, "
                       f"I {_num(s['rate_inh_Hz'], '.1f')} Hz, CV {_num(s['cv_mean'], '.2f')}, "
                       f"rate modulation {_num(s['rate_modulation'], '.2f')} "
                       f"(state {s['state']})", loc="left")
        panel_letter(ax_r, "A")

        bin_ms = float(s["bin_ms"])
        centres, pop = population_rate(t, n_e + n_i, shown_t0, t_stop, bin_ms)
        ax_p.plot(centres, pop, color="0.2", lw=0.6)
        if t_start > shown_t0:
            ax_p.axvspan(shown_t0, t_start, color="0.9", lw=0)
        ax_p.set_xlim(shown_t0, t_stop)
        ax_p.set_xlabel("time (ms)")
        ax_p.set_ylabel("rate (Hz)")
        ax_p.set_title(f"population rate, all neurons ({bin_ms:g} ms bins); "
                       f"{_num(s['synaptic_events_per_s'] / 1e6, '.2f')} M synaptic events/s",
                       loc="left")
        panel_letter(ax_p, "B")

        quantum = 1000.0 / (t_stop - t_start)  # rates are spike counts / window
        top = max(float(rates.max()), 1.0)
        width = quantum * max(1, int(np.ceil(top / 40 / quantum)))
        edges = (np.arange(int(np.ceil(top / width)) + 2) - 0.5) * width
        ax_rate.hist([rates[:n_e], rates[n_e:]], bins=edges, color=["C0", "C3"],
                     label=["E", "I"], stacked=True)
        ax_rate.set_xlabel("firing rate (Hz)")
        ax_rate.set_ylabel("neurons")
        ax_rate.legend(loc="upper right")
        panel_letter(ax_rate, "C")

        cv_e, cv_i = cv[:n_e], cv[n_e:]
        cv_e, cv_i = cv_e[np.isfinite(cv_e)], cv_i[np.isfinite(cv_i)]
        top = max(1.5, float(np.nanmax(cv)) * 1.02) if np.isfinite(cv).any() else 1.5
        ax_cv.hist([cv_e, cv_i], bins=np.linspace(0, top, 41), color=["C0", "C3"],
                   stacked=True)
        ax_cv.axvline(1.0, color="0.5", lw=0.6, ls=":")
        ax_cv.set_xlabel("ISI CV")
        ax_cv.set_title(f"{int(np.isfinite(cv).sum())} of {n_e + n_i} neurons with >= 3 "
                        "spikes", loc="left")
        panel_letter(ax_cv, "D")
    return fig
