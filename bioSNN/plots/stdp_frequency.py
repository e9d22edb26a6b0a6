"""Weight change vs pairing frequency for ±Δt pairings, with Sjöström et al.'s (2001) data.

A pure function of a saved ``stdp-frequency`` run; the data points and their source
come from :mod:`bioSNN.features.stdp_frequency`.
"""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure

__all__ = ["plot_stdp_frequency"]

_LABELS = {"triplet-all-to-all": "triplet rule, all-to-all (Pfister & Gerstner 2006)",
           "triplet-minimal": "triplet rule, minimal nearest-spike (Pfister & Gerstner 2006)",
           "pair": "pair rule (all-to-all)"}


def plot_stdp_frequency(results):
    """Figure: Δw (% of the initial weight) vs pairing frequency, model lines per lag and
    the data points (mean ± SEM) of Sjöström et al. (2001).

    Parameters
    ----------
    results : Results
        A saved ``stdp-frequency`` run (``dw_percent`` over ``lag`` (ms) and
        ``frequency`` (Hz)).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ..features.stdp_frequency import SJOSTROM_2001, crossing_frequency

    data = results.data
    lags, freqs, dw = data["lag"].values, data["frequency"].values, data["dw_percent"].values
    timing = str(data.attrs.get("timing", ""))
    fig, axes = figure(1, 1, size=(5.6, 3.8))
    ax = axes[0, 0]
    with plt.style.context(str(STYLE_FILE)):
        ax.axhline(0, color="0.6", lw=0.5)
        for i, lag in enumerate(lags):
            color = "C3" if lag > 0 else "C0"
            ax.plot(freqs, dw[i], "-o", color=color, ms=3.5, lw=1.2,
                    label=f"model, Δt = {lag:+g} ms")
            ref = SJOSTROM_2001.get(float(lag))
            if ref is not None:
                ax.errorbar(SJOSTROM_2001["frequency_Hz"], ref["mean"], yerr=ref["sem"],
                            fmt="s", color=color, mfc="white", ms=4.5, capsize=2.5, lw=0.8,
                            label=f"Sjöström et al. 2001, Δt = {lag:+g} ms")
        neg = np.flatnonzero(lags < 0)
        cross = crossing_frequency(freqs, dw[neg[0]]) if len(neg) else None
        if cross is not None:
            ax.axvline(cross, color="C0", lw=0.6, ls=":")
            ax.text(cross, ax.get_ylim()[0], f" LTD→LTP at {cross:.3g} Hz", color="C0",
                    fontsize=7, va="bottom")
        ax.set_xlabel("pairing frequency (Hz)")
        ax.set_ylabel("Δw (% of initial weight)")
        n = int(data.attrs.get("n_pairings", 0))
        ax.set_title(f"{_LABELS.get(timing, timing)}, {n} pairings", loc="left", fontsize=8)
        ax.legend(loc="upper left", fontsize=6.5)
    return fig
