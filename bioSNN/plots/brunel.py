"""Brunel (2000) network activity: raster of a subset, population rate, rate and CV
histograms (the layout of Brunel's Fig. 8, plus the single-neuron distributions)."""
from __future__ import annotations

from .ei_network import num, plot_ei_activity

__all__ = ["plot_brunel_activity", "N_RASTER", "WINDOW_MS"]

N_RASTER = (40, 10)
"""Neurons shown in the raster: the first excitatory and the first inhibitory ones."""

WINDOW_MS = 200.0
"""Span of the raster and rate panels: the last WINDOW_MS of the run."""


def plot_brunel_activity(results):
    """Figure: (A) raster of a subset, (B) population rate, (C) per-neuron rates,
    (D) per-neuron ISI CVs (both histograms over the analysis window); the layout of
    :func:`~bioSNN.plots.ei_network.plot_ei_activity`.

    Parameters
    ----------
    results : Results
        A saved ``brunel2000`` run.

    Returns
    -------
    matplotlib.figure.Figure
        7 x 6 inches; excitatory neurons in C0, inhibitory in C3.
    """
    data, p = results.data, results.spec.params
    n_e, n_i = int(data.attrs["n_rec_exc"]), int(data.attrs["n_rec_inh"])  # recorded
    t_stop = float(data.attrs["duration_ms"])
    t_start = float(data.attrs["transient_ms"])
    shown_t0 = max(t_start, t_stop - WINDOW_MS)
    s = results.summary

    def population(ax):
        bin_ms = float(data.attrs["dt_ms"])
        tt = data["time"].values
        shown = (tt >= shown_t0) & (tt < t_stop)
        ax.plot(tt[shown], data["population_rate"].values[shown], color="0.2", lw=0.6)
        ax.set_title(f"population rate, all neurons ({bin_ms:g} ms bins); oscillation "
                     f"{num(s['osc_freq_Hz'], '.0f')} Hz, relative power "
                     f"{num(s['osc_power'], '.2f')}", loc="left")

    title = (f"g = {p.g:g}, eta = {p.eta:g}, N_E = {data.attrs['n_exc']}: state "
             f"{s['state']} ({num(s['rate_Hz'], '.1f')} Hz, CV {num(s['cv_mean'], '.2f')}, "
             f"rate modulation {num(s['rate_modulation'], '.2f')})")
    return plot_ei_activity(data["spike_neuron"].values, data["spike_time"].values, n_e, n_i,
                            t_start, t_stop, shown_t0, n_raster=N_RASTER, title=title,
                            draw_population=population, neurons="recorded neurons")
