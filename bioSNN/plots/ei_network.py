"""The activity figure of an excitatory/inhibitory network (Brunel 2000, the Vogels &
Abbott 2005 benchmarks): (A) raster of the first E and I neurons, (B) population rate,
(C) per-neuron rate and (D) ISI-CV histograms over the analysis window. One layout for
every such kind; each kind supplies its title and its population-rate panel."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..features.population import isi_cv, neuron_rates
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["num", "plot_ei_activity"]


def num(value, fmt: str) -> str:
    """A summary number as text; "n/a" for one that could not be measured (NaN is saved
    as null)."""
    return "n/a" if value is None or not np.isfinite(value) else format(value, fmt)


def plot_ei_activity(i, t, n_e: int, n_i: int, t_start: float, t_stop: float,
                     shown_t0: float, *, n_raster: tuple[int, int], title: str,
                     draw_population: Callable, marker: tuple[float, float] = (3.0, 0.7),
                     cv_reference: bool = False, neurons: str = "neurons"):
    """Figure of an E/I network's spikes ``(i, t)`` (ms): neurons ``0 .. n_e-1``
    excitatory (C0), the next ``n_i`` inhibitory (C3).

    Parameters
    ----------
    t_start, t_stop : float
        Analysis window (ms) of the histograms.
    shown_t0 : float
        Start (ms) of the raster and rate panels (they end at ``t_stop``).
    n_raster : (int, int)
        E and I neurons shown in the raster (the first of each).
    title : str
        Title of the raster panel (the run's measures).
    draw_population : callable
        ``draw_population(ax)`` draws panel B and its title; the axis limits and labels
        are set here.
    marker : (float, float)
        Raster tick size and width.
    cv_reference : bool
        A dotted line at CV 1 (Poisson).
    neurons : str
        What the spikes are of, for the CV panel's title (e.g. "recorded neurons").

    Returns
    -------
    matplotlib.figure.Figure
        7 x 6 inches.
    """
    import matplotlib.pyplot as plt

    i = np.asarray(i, dtype=np.int64)
    t = np.asarray(t, dtype=float)
    n = n_e + n_i
    rates = neuron_rates(i, t, n, t_start, t_stop)
    cv = isi_cv(i, t, n, t_start, t_stop)
    fig, axes = figure(3, 2, size=(7.0, 6.0), gridspec_kw={"height_ratios": [2.2, 1.0, 1.4]})
    with plt.style.context(str(STYLE_FILE)):
        gs = axes[0, 0].get_gridspec()
        for ax in (*axes[0], *axes[1]):
            ax.remove()
        ax_r = fig.add_subplot(gs[0, :])
        ax_p = fig.add_subplot(gs[1, :], sharex=ax_r)
        ax_rate, ax_cv = axes[2]

        k_e, k_i = min(n_raster[0], n_e), min(n_raster[1], n_i)
        sel_t = (t >= shown_t0) & (t < t_stop)
        for lo, k, colour in ((0, k_e, "C0"), (n_e, k_i, "C3")):
            m = sel_t & (i >= lo) & (i < lo + k)
            row = np.where(i[m] < n_e, i[m], i[m] - n_e + k_e)
            ax_r.plot(t[m], row, "|", color=colour, ms=marker[0], mew=marker[1])
        ax_r.set_ylim(-0.5, k_e + k_i - 0.5)
        ax_r.set_ylabel("neuron")
        ax_r.set_title(title, loc="left")
        panel_letter(ax_r, "A")

        draw_population(ax_p)
        ax_p.set_xlim(shown_t0, t_stop)
        ax_p.set_xlabel("time (ms)")
        ax_p.set_ylabel("rate (Hz)")
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
        if cv_reference:
            ax_cv.axvline(1.0, color="0.5", lw=0.6, ls=":")
        ax_cv.set_xlabel("ISI CV")
        ax_cv.set_title(f"{int(np.isfinite(cv).sum())} of {n} {neurons} with >= 3 spikes",
                        loc="left")
        panel_letter(ax_cv, "D")
    return fig
