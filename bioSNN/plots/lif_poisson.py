"""LIF neurons driven by Poisson input: input raster, membrane potential, output raster."""
from __future__ import annotations

import numpy as np
from brian2 import Hz

from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_lif_poisson_trace"]

N_TRACES = 3
"""Membrane potentials shown in panel B (the first neurons)."""

SPIKE_STROKE_MV = 8.0
"""Height (mV) of the stroke drawn above V_th at each output spike (the recorded v
jumps from threshold to reset within one step and never shows the spike itself)."""


def plot_lif_poisson_trace(results):
    """Figure: (A) input raster, (B) v(t) with V_th and spikes, (C) output raster.

    Panel B shows the membrane potential of the first :data:`N_TRACES` neurons, one
    axis each; panel C shows the spikes of all neurons.

    Parameters
    ----------
    results : Results
        A saved ``lif-poisson-trace`` run.

    Returns
    -------
    matplotlib.figure.Figure
        7 x 7 inches; one colour per LIF neuron in (B) and (C).
    """
    import matplotlib.pyplot as plt

    data, p = results.data, results.spec.params
    neurons = data["neuron"].values
    shown = neurons[:N_TRACES]
    ratios = [1.6] + [2.7 / len(shown)] * len(shown) + [0.4 + 0.15 * len(neurons)]
    fig, axes = figure(len(ratios), 1, size=(7.0, 7.0), sharex=True,
                       gridspec_kw={"height_ratios": ratios})
    axes = list(axes[:, 0])
    ax_in, ax_vs, ax_out = axes[0], axes[1:-1], axes[-1]
    t = data["time"].values
    t_end = float(t[-1] + (t[1] - t[0])) if len(t) > 1 else float(t[-1])
    V_th, E_L = float(data["V_th"]), float(data["E_L"])
    out_i = data["spike_neuron"].values.astype(int)
    out_t = data["spike_time"].values
    with plt.style.context(str(STYLE_FILE)):
        ax_in.plot(data["input_spike_time"].values, data["input_spike_index"].values, "|",
                   color="0.2", ms=2.0, mew=0.6)
        ax_in.set_ylim(-0.5, data.sizes["input"] - 0.5)
        ax_in.set_ylabel("input neuron")
        ax_in.set_title(f"Poisson input: {data.sizes['input']} trains at "
                        f"{float(p.input_rate / Hz):g} Hz", loc="left")
        panel_letter(ax_in, "A")

        v_lo = min(float(data["v"].values[: len(shown)].min()), E_L) - 1.0
        for ax, k in zip(ax_vs, shown):
            color = f"C{k % 8}"
            ax.plot(t, data["v"].values[k], color=color, lw=0.8)
            ax.vlines(out_t[out_i == k], V_th, V_th + SPIKE_STROKE_MV, color=color, lw=0.8)
            ax.axhline(V_th, color="0.3", ls="--", lw=0.8)
            ax.set_ylim(v_lo, V_th + SPIKE_STROKE_MV)
            ax.set_ylabel(f"neuron {k}\nv (mV)")
        ax_vs[0].set_title(f"LIF membrane potential: threshold V_th = {V_th:g} mV (dashed), "
                           "spikes as strokes", loc="left")
        panel_letter(ax_vs[0], "B")

        for k in neurons:
            sel = out_i == k
            ax_out.plot(out_t[sel], np.full(sel.sum(), k), "|", color=f"C{k % 8}", ms=7, mew=1.2)
        ax_out.set_ylim(-0.5, len(neurons) - 0.5)
        ax_out.set_yticks(neurons)
        ax_out.set_ylabel("LIF neuron")
        ax_out.set_xlabel("time (ms)")
        ax_out.set_xlim(0, t_end)
        ax_out.set_title("output spikes", loc="left")
        panel_letter(ax_out, "C")
    return fig
