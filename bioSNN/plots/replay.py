"""Brian2 replay of the CSNN (``replay-crossval`` runs): snnTorch vs Brian2 spike counts,
firing rates in Hz against the in-vivo range, and overlaid membrane traces in mV.

Every function is a pure function of a saved run (:class:`bioSNN.results.Results`). The
panel functions take optional axes; :func:`plot_replay_overview` (spike counts and rates)
and :func:`plot_replay_traces` (membrane traces) are the catalogue figures.
"""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_count_scatter", "plot_count_scatter_all", "plot_rate_histograms",
           "plot_membrane_traces", "plot_replay_traces", "plot_replay_overview",
           "IN_VIVO_RATE_HZ"]

#: In-vivo cortical firing rates, mostly 0.1-10 Hz (Buzsaki & Mizuseki 2014).
IN_VIVO_RATE_HZ = (0.1, 10.0)
_SIM = {"snntorch": ("snnTorch", "C0"), "brian2": ("Brian2", "C1")}
_VARIANT = {"constant": "constant image current", "rate": "rate-coded input"}


def _variants(data):
    return [str(v) for v in data["variant"].values]


def _stages(data, lif_only=False):
    key = "lif_stages" if lif_only else "stages"
    return data.attrs[key].split(",")


def plot_count_scatter(results, variant: str = "constant", axes=None):
    """Spike count of every (image, neuron) in snnTorch vs Brian2, one panel per stage.

    Equal counts lie on the diagonal; each distinct pair is one marker, its area and
    colour growing with the number of (image, neuron) pairs it stands for (log scale).
    The panel title gives the fraction of identical neuron-steps.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    data = results.data
    stages = _stages(data)
    if axes is None:
        fig, ax2d = figure(1, len(stages), size=(2.0 * len(stages), 2.3))
        axes = ax2d[0]
    fig = axes[0].figure
    T = data.sizes["step"]
    with plt.style.context(str(STYLE_FILE)):
        for ax, s in zip(axes, stages):
            counts = data[f"count_{s}"].sel(variant=variant)
            a = counts.sel(simulator="snntorch").values.ravel().astype(np.int64)
            b = counts.sel(simulator="brian2").values.ravel().astype(np.int64)
            pairs, n = np.unique(np.stack([a, b]), axis=1, return_counts=True)
            sc = ax.scatter(pairs[0], pairs[1], s=4 + 6 * np.log10(n), c=n, cmap="viridis",
                            norm=LogNorm(vmin=1, vmax=max(2, n.max())), linewidths=0)
            ax.plot([0, T], [0, T], color="0.5", lw=0.6, ls=":", zorder=0)
            ax.set_xlim(-1, T + 1)
            ax.set_ylim(-1, T + 1)
            ax.set_aspect("equal")
            mism = int(data[f"mismatch_{s}"].sel(variant=variant).sum())
            total = data.sizes["image"] * T * data.sizes[f"{s}_neuron"]
            ax.set_title(f"{s}: {100 * (1 - mism / total):.3f}% identical", fontsize=8)
            ax.set_xlabel("snnTorch spikes")
        axes[0].set_ylabel("Brian2 spikes")
        fig.colorbar(sc, ax=list(axes), shrink=0.8, label="(image, neuron) pairs")
    return fig


def plot_count_scatter_all(results):
    """:func:`plot_count_scatter` for every input variant of the run (one row each)."""
    data = results.data
    variants, stages = _variants(data), _stages(data)
    fig, axes = figure(len(variants), len(stages), size=(2.0 * len(stages), 2.4 * len(variants)))
    for k, v in enumerate(variants):
        plot_count_scatter(results, v, axes=axes[k])
        axes[k][0].set_ylabel(f"{_VARIANT[v]}\nBrian2 spikes")
        panel_letter(axes[k][0], "AB"[k] if k < 2 else str(k))
    return fig


def plot_rate_histograms(results, variant: str | None = None, axes=None):
    """Distribution of per-neuron firing rates (Hz, mean over the images) in each LIF
    layer, snnTorch and Brian2 overlaid, against the in-vivo range 0.1-10 Hz (shaded)
    and the maximum 1/dt (dashed). Silent neurons are counted in the legend."""
    import matplotlib.pyplot as plt

    data = results.data
    variant = variant or _variants(data)[0]
    stages = _stages(data, lif_only=True)
    if axes is None:
        fig, ax2d = figure(1, len(stages), size=(3.0 * len(stages), 2.6))
        axes = ax2d[0]
    fig = axes[0].figure
    T, dt_s = data.sizes["step"], data.attrs["dt_ms"] / 1000.0
    r_max = 1.0 / dt_s
    lo = 0.5 / (data.sizes["image"] * T * dt_s)  # half a spike over all images
    bins = np.logspace(np.log10(lo), np.log10(r_max * 1.05), 31)
    with plt.style.context(str(STYLE_FILE)):
        for ax, s in zip(axes, stages):
            ax.axvspan(*IN_VIVO_RATE_HZ, color="0.85", zorder=0, label="in vivo 0.1-10 Hz")
            ax.axvline(r_max, color="0.4", ls="--", lw=0.8, label="1/dt")
            for sim, (label, colour) in _SIM.items():
                counts = data[f"count_{s}"].sel(variant=variant, simulator=sim).values
                rate = counts.mean(axis=0) / (T * dt_s)
                silent = 100 * (rate == 0).mean()
                ax.hist(rate[rate > 0], bins=bins, histtype="step", color=colour,
                        lw=1.6 if sim == "snntorch" else 1.0,
                        ls="-" if sim == "snntorch" else "--",
                        label=f"{label} (silent {silent:.0f}%)")
            ax.set_xscale("log")
            ax.set_xlabel("firing rate (Hz)")
            ax.set_title(f"{s} ({data.sizes[f'{s}_neuron']} neurons)", fontsize=8)
            ax.legend(fontsize=6, loc="upper left")
        axes[0].set_ylabel("neurons")
    return fig


def plot_membrane_traces(results, variant: str = "constant", axes=None):
    """Membrane potential (mV) of the traced neurons of each LIF layer for the first
    image: snnTorch (lines) and Brian2 (dots) overlaid, with rest and threshold."""
    import matplotlib.pyplot as plt

    data = results.data
    stages = _stages(data, lif_only=True)
    if axes is None:
        fig, ax2d = figure(1, len(stages), size=(3.0 * len(stages), 2.6))
        axes = ax2d[0]
    fig = axes[0].figure
    t = data["time"].values
    E_L, V_th = data.attrs["E_L_mV"], data.attrs["V_th_mV"]
    with plt.style.context(str(STYLE_FILE)):
        for ax, s in zip(axes, stages):
            neurons = data[f"trace_neuron_{s}"].sel(variant=variant).values
            v = data[f"v_trace_{s}"].sel(variant=variant)
            ax.axhline(V_th, color="0.3", ls="--", lw=0.8)
            ax.axhline(E_L, color="0.6", ls=":", lw=0.8)
            for k, n in enumerate(neurons):
                if n < 0:
                    continue
                colour = f"C{(k + 2) % 8}"
                ax.plot(t, v.sel(simulator="snntorch").values[k], color=colour, lw=1.2,
                        label=f"#{n} snnTorch")
                ax.plot(t, v.sel(simulator="brian2").values[k], "o", color=colour, ms=2.2,
                        mfc="none", mew=0.6, label=f"#{n} Brian2")
            ax.set_xlabel("time (ms)")
            ax.set_title(f"{s}", fontsize=8)
            ax.legend(fontsize=5, ncol=2, loc="lower right")
        axes[0].set_ylabel("membrane potential (mV)")
        axes[0].annotate(f"V_th {V_th:g} mV", (t[0], V_th), xytext=(0, 2),
                         textcoords="offset points", fontsize=6, color="0.3")
    return fig


def plot_replay_traces(results):
    """Catalogue figure: :func:`plot_membrane_traces` for every input variant (rows)."""
    data = results.data
    variants, stages = _variants(data), _stages(data, lif_only=True)
    fig, axes = figure(len(variants), len(stages), size=(9.0, 2.8 * len(variants)))
    for k, v in enumerate(variants):
        plot_membrane_traces(results, v, axes=axes[k])
        axes[k][0].set_ylabel(f"{_VARIANT[v]}\nmembrane potential (mV)")
        panel_letter(axes[k][0], "AB"[k] if k < 2 else str(k))
    return fig


def plot_replay_overview(results):
    """Catalogue figure: spike-count scatter of every stage (one row per input variant)
    and the firing-rate distributions of the LIF layers (first variant)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    data = results.data
    variants = _variants(data)
    stages, lif = _stages(data), _stages(data, lif_only=True)
    n_rows = len(variants) + 1
    with plt.style.context(str(STYLE_FILE)):
        fig = Figure(figsize=(10.0, 2.5 * n_rows), layout="constrained")
        rows = fig.subfigures(n_rows, 1, height_ratios=[1.0] * len(variants) + [1.1])
        for k, v in enumerate(variants):
            axes = rows[k].subplots(1, len(stages))
            plot_count_scatter(results, v, axes=axes)
            axes[0].set_ylabel(f"{_VARIANT[v]}\nBrian2 spikes")
            panel_letter(axes[0], "ABCD"[k])
            rows[k].suptitle(f"spike counts per (image, neuron), {_VARIANT[v]}; titles: "
                             "identical neuron-steps", fontsize=9)
        axes = rows[-1].subplots(1, len(lif))
        plot_rate_histograms(results, variants[0], axes=axes)
        panel_letter(axes[0], "ABCD"[len(variants)])
        rows[-1].suptitle(f"firing rates per neuron (mean over images), {_VARIANT[variants[0]]}",
                          fontsize=9)
    return fig
