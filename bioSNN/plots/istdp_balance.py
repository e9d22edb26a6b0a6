"""Inhibitory plasticity co-tunes inhibition with excitation (Vogels et al. 2011, Fig. 1).

A pure function of a saved ``istdp-balance`` run.
"""
from __future__ import annotations

import numpy as np

from ..features.istdp_balance import balance_features, group_profile
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_istdp_balance"]


def plot_istdp_balance(results):
    """Figure: (A) the mean excitatory and inhibitory weight of each input group, the
    inhibitory profile at the start, midway and at the end (each normalised to its
    mean); (B) the postsynaptic rate in bins of max(1 s, T/60) against the rule's target rho0;
    (C) the excitatory and the (sign-flipped) inhibitory synaptic current over the last
    second, 10 ms means.

    Parameters
    ----------
    results : Results
        A saved ``istdp-balance`` run.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    data = results.data
    n = int(data.attrs["n_groups"])
    groups = np.arange(n)
    exc = group_profile(data["w_exc"].values, data["exc_group"].values, n)
    snaps = data["w_inh"].values
    times = data["snapshot_time"].values
    T = float(data.attrs["duration_s"])
    fig, axes = figure(1, 3, size=(9.0, 2.9))
    with plt.style.context(str(STYLE_FILE)):
        a, b, c = axes[0]
        a.plot(groups, exc / exc.mean(), "k-o", ms=3, lw=1.4, label="excitatory")
        for k, shade in zip((0, len(snaps) // 2, len(snaps) - 1), ("0.75", "0.5", "C3")):
            inh = group_profile(snaps[k], data["inh_group"].values, n)
            a.plot(groups, inh / inh.mean() if inh.mean() > 0 else inh, "-s", ms=2.5, lw=1,
                   color=shade, label=f"inhibitory, {times[k]:.0f} s")
        a.set_xlabel("input group")
        a.set_ylabel("mean weight / mean over groups")
        a.legend(fontsize=6, frameon=False)
        r = balance_features(data)["cotuning_r_final"]
        a.set_title(f"co-tuning r = {r:.2f}" if np.isfinite(r)
                    else "co-tuning r undefined (uniform inhibition)", loc="left", fontsize=7)
        spikes = data["post_spike_time"].values / 1000.0
        width = max(1.0, T / 60)
        edges = np.arange(0.0, T + 1e-9, width)
        counts, _ = np.histogram(spikes, edges)
        b.step(edges[:-1], counts / np.diff(edges), where="post", color="C0", lw=1)
        b.axhline(float(data.attrs["rho0_Hz"]), color="C3", ls="--", lw=0.8, label="ρ0")
        b.set_xlabel("time (s)")
        b.set_ylabel("rate (Hz)")
        b.set_ylim(bottom=0)
        b.set_title(f"postsynaptic rate, {width:g} s bins", loc="left", fontsize=7)
        b.legend(fontsize=6, frameon=False)
        tc = data["current_time"].values
        last = tc >= 1000.0 * (T - 1.0)
        m = int(last.sum()) // 10 * 10
        t10 = tc[last][:m].reshape(-1, 10).mean(axis=1) / 1000.0
        ie = data["I_exc"].values[last][:m].reshape(-1, 10).mean(axis=1)
        ii = -data["I_inh"].values[last][:m].reshape(-1, 10).mean(axis=1)
        c.plot(t10, ie, color="k", lw=1, label="excitatory")
        c.plot(t10, ii, color="C3", lw=1, label="−inhibitory")
        c.set_xlabel("time (s)")
        c.set_ylabel("current (pA)")
        c.set_title("last second, 10 ms means", loc="left", fontsize=7)
        c.legend(fontsize=6, frameon=False)
        for ax, letter in zip(axes[0], "ABC"):
            panel_letter(ax, letter)
    return fig
