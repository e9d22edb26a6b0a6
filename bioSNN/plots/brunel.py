"""Brunel (2000) network activity: raster of a subset, population rate, rate and CV
histograms (the layout of Brunel's Fig. 8, plus the single-neuron distributions)."""
from __future__ import annotations

import numpy as np

from ..features.population import isi_cv, neuron_rates
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_brunel_activity", "N_RASTER", "WINDOW_MS"]

N_RASTER = (40, 10)
"""Neurons shown in the raster: the first excitatory and the first inhibitory ones."""

WINDOW_MS = 200.0
"""Span of the raster and rate panels: the last WINDOW_MS of the run."""


def _num(value, fmt: str) -> str:
    """A summary number as text; "n/a" for one that could not be measured (NaN is saved
    as null)."""
    return "n/a" if value is None or not np.isfinite(value) else format(value, fmt)


def plot_brunel_activity(results):
    """Figure: (A) raster of a subset, (B) population rate, (C) per-neuron rates,
    (D) per-neuron ISI CVs (both histograms over the analysis window).

    Parameters
    ----------
    results : Results
        A saved ``brunel2000`` run.

    Returns
    -------
    matplotlib.figure.Figure
        7 x 6 inches; excitatory neurons in C0, inhibitory in C3.
    """
    import matplotlib.pyplot as plt

    data, p = results.data, results.spec.params
    n_e, n_i = int(data.attrs["n_rec_exc"]), int(data.attrs["n_rec_inh"])  # recorded
    t_stop = float(data.attrs["duration_ms"])
    t_start = float(data.attrs["transient_ms"])
    i = data["spike_neuron"].values.astype(np.int64)
    t = data["spike_time"].values
    shown_t0 = max(t_start, t_stop - WINDOW_MS)
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
            ax_r.plot(t[m], row, "|", color=colour, ms=3.0, mew=0.7)
        ax_r.set_ylim(-0.5, k_e + k_i - 0.5)
        ax_r.set_ylabel("neuron")
        ax_r.set_title(f"g = {p.g:g}, eta = {p.eta:g}, N_E = {data.attrs['n_exc']}: state "
                       f"{s['state']} "
                       f"({_num(s['rate_Hz'], '.1f')} Hz, CV {_num(s['cv_mean'], '.2f')}, "
                       f"rate modulation {_num(s['rate_modulation'], '.2f')})", loc="left")
        panel_letter(ax_r, "A")

        bin_ms = float(data.attrs["dt_ms"])
        tt = data["time"].values
        shown = (tt >= shown_t0) & (tt < t_stop)
        ax_p.plot(tt[shown], data["population_rate"].values[shown], color="0.2", lw=0.6)
        ax_p.set_xlim(shown_t0, t_stop)
        ax_p.set_xlabel("time (ms)")
        ax_p.set_ylabel("rate (Hz)")
        ax_p.set_title(f"population rate, all neurons ({bin_ms:g} ms bins); oscillation "
                       f"{_num(s['osc_freq_Hz'], '.0f')} Hz, relative power "
                       f"{_num(s['osc_power'], '.2f')}",
                       loc="left")
        panel_letter(ax_p, "B")

        quantum = 1000.0 / (t_stop - t_start)  # rates are spike counts / window
        width = quantum * max(1, int(np.ceil(max(float(rates.max()), 1.0) / 40 / quantum)))
        edges = (np.arange(int(np.ceil(max(float(rates.max()), 1.0) / width)) + 2) - 0.5) * width
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
        ax_cv.set_xlabel("ISI CV")
        ax_cv.set_title(f"{int(np.isfinite(cv).sum())} of {n_e + n_i} recorded neurons with "
                        ">= 3 spikes", loc="left")
        panel_letter(ax_cv, "D")
    return fig
