"""Vogels & Abbott (2005) / Brette et al. (2007) benchmark activity: raster of a subset,
population rate, per-neuron rate and ISI CV histograms."""
from __future__ import annotations

import numpy as np

from ..features.population import population_rate
from .ei_network import num, plot_ei_activity

__all__ = ["plot_vogels_abbott_activity", "N_RASTER", "WINDOW_MS"]

N_RASTER = (160, 40)
"""Neurons shown in the raster: the first excitatory and the first inhibitory ones."""

WINDOW_MS = 500.0
"""Span of the raster and rate panels: the last WINDOW_MS of the run."""


def plot_vogels_abbott_activity(results):
    """Figure: (A) raster of a subset, (B) population rate of all neurons (``bin_ms``
    bins), (C) per-neuron rates, (D) per-neuron ISI CVs (both over the analysis window);
    the layout of :func:`~bioSNN.plots.ei_network.plot_ei_activity`.

    Parameters
    ----------
    results : Results
        A saved ``vogels-abbott`` run.

    Returns
    -------
    matplotlib.figure.Figure
        7 x 6 inches; excitatory neurons in C0, inhibitory in C3.
    """
    data, p = results.data, results.spec.params
    n_e, n_i = int(data.attrs["n_exc"]), int(data.attrs["n_inh"])
    t_stop = float(data.attrs["duration_ms"])
    t_start = float(data.attrs["transient_ms"])
    i = data["spike_neuron"].values.astype(np.int64)
    t = data["spike_time"].values
    shown_t0 = max(0.0, t_stop - WINDOW_MS)
    s = results.summary

    def population(ax):
        bin_ms = float(s["bin_ms"])
        centres, pop = population_rate(t, n_e + n_i, shown_t0, t_stop, bin_ms)
        ax.plot(centres, pop, color="0.2", lw=0.6)
        if t_start > shown_t0:
            ax.axvspan(shown_t0, t_start, color="0.9", lw=0)
        ax.set_title(f"population rate, all neurons ({bin_ms:g} ms bins); "
                     f"{num(s['synaptic_events_per_s'] / 1e6, '.2f')} M synaptic events/s",
                     loc="left")

    kind = "CUBA" if p.synapse == "current" else "COBA"
    title = (f"{kind}, N = {n_e + n_i}: E {num(s['rate_exc_Hz'], '.1f')} Hz, "
             f"I {num(s['rate_inh_Hz'], '.1f')} Hz, CV {num(s['cv_mean'], '.2f')}, "
             f"rate modulation {num(s['rate_modulation'], '.2f')} (state {s['state']})")
    return plot_ei_activity(i, t, n_e, n_i, t_start, t_stop, shown_t0, n_raster=N_RASTER,
                            title=title, draw_population=population, marker=(2.0, 0.6),
                            cv_reference=True)
