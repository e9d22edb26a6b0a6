"""LIF f-I curve against the analytic rate, with example membrane traces."""
from __future__ import annotations

import numpy as np
from brian2 import ms, mV, nA

from ..features.lif import measured_rates
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_fi_curve"]


def plot_fi_curve(results):
    """Figure: (A) measured vs analytic f-I curve; (B) membrane traces.

    Parameters
    ----------
    results : Results
        A saved ``lif-fi-curve`` run.
    """
    import matplotlib.pyplot as plt

    data, p = results.data, results.spec.params
    has_traces = "v_trace" in data
    fig, axes = figure(1, 2 if has_traces else 1, size=(9.0, 3.2) if has_traces else (4.5, 3.2))
    with plt.style.context(str(STYLE_FILE)):
        ax = axes[0, 0]
        I = data["current"].values
        m = measured_rates(data)
        I_fine = np.linspace(I.min(), I.max(), 400)
        from ..analytic import lif_rate

        ax.plot(I_fine, np.asarray(lif_rate(I_fine * nA, p.lif)), color="C0", label="analytic r(I)")
        ax.plot(I, m["rate_Hz"], "o", mfc="none", color="C1", label="Brian2 (1 / mean ISI)")
        ax.axvline(float(p.lif.rheobase / nA), color="0.5", ls=":", lw=1, label="rheobase")
        if p.t_ref > 0:
            ax.axhline(float(1 / p.t_ref / (1 / ms)) * 1000, color="0.5", ls="--", lw=1,
                       label="1 / t_ref")
        ax.set_xlabel("injected current I (nA)")
        ax.set_ylabel("firing rate (Hz)")
        ax.set_title("LIF f–I curve")
        ax.legend(loc="lower right")
        panel_letter(ax, "A")
        if has_traces:
            ax = axes[0, 1]
            t = data["time"].values
            window = t <= min(t[-1], 50.0)
            for k, cur in enumerate(data["trace_current"].values):
                ax.plot(t[window], data["v_trace"].values[k, window], lw=1,
                        label=f"I = {cur:.2f} nA")
            ax.axhline(float(p.V_th / mV), color="0.5", ls=":", lw=1, label="V_th")
            ax.set_xlabel("time (ms)")
            ax.set_ylabel("membrane potential v (mV)")
            ax.set_title("membrane traces")
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
            panel_letter(ax, "B")
    return fig
