"""Figures of the validation report: pure functions of saved Results, in the bioSNN style.

Each returns a matplotlib ``Figure`` (not attached to pyplot); the report saves it with
:func:`bioSNN.plots.style.save_figure`.
"""
from __future__ import annotations

import numpy as np

from ..plots.style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_izhikevich_features", "plot_membrane_probe", "plot_fi_validation",
           "plot_stdp_validation", "plot_membrane_regimes", "plot_firing_regime"]


def _styled():
    import matplotlib.pyplot as plt

    return plt.style.context(str(STYLE_FILE))


def plot_izhikevich_features(results):
    """(A) spike raster of every ``izhikevich-patterns`` neuron with detected bursts
    shaded; (B) ISI sequences of the tonic presets (adaptation)."""
    from ..features.izhikevich import step_trains
    from .spikes import detect_bursts, isi_ms

    trains = step_trains(results)
    fig, axes = figure(1, 2, size=(9.0, 3.4))
    with _styled():
        ax = axes[0, 0]
        labels = list(trains)
        for y, label in enumerate(labels):
            tr = trains[label]
            spikes = np.concatenate([tr["during"], tr["after"]])
            ax.vlines(spikes, y - 0.35, y + 0.35, color="C0", lw=0.8)
            part = tr["after"] if label.endswith("rebound") else tr["during"]
            for b in detect_bursts(part):
                ax.axvspan(b.t_start_ms - 1, b.t_end_ms + 1, ymin=(y + 0.1) / len(labels),
                           ymax=(y + 0.9) / len(labels), color="C1", alpha=0.35, lw=0)
        t_on, t_off = trains[labels[0]]["t_on"], trains[labels[0]]["t_off"]
        ax.axvline(t_on, color="0.5", lw=0.6, ls="--")
        ax.axvline(t_off, color="0.5", lw=0.6, ls="--")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlabel("time (ms)")
        ax.set_title("spikes; detected bursts shaded", loc="left")
        panel_letter(ax, "A")
        ax = axes[0, 1]
        for k, label in enumerate(("RS", "FS", "LTS", "IB")):
            isis = isi_ms(trains[label]["during"])
            ax.plot(np.arange(1, len(isis) + 1), isis, "o-", ms=2.5, lw=0.8, color=f"C{k}",
                    label=label)
        ax.set_yscale("log")
        ax.set_xlabel("ISI number")
        ax.set_ylabel("ISI (ms)")
        ax.legend(fontsize=7)
        ax.set_title("ISI sequence during the step", loc="left")
        panel_letter(ax, "B")
    return fig


def plot_membrane_probe(results):
    """(A) normalised response to the small probe step: RZ rings, RS sags, LIF decays;
    (B) spikes in the step vs step amplitude (rheobase ladder) of every Izhikevich preset."""
    from ..features.membrane import membrane_features

    data = results.data
    t = data["time"].values
    t_on = float(data.attrs["t_on_ms"])
    feats = membrane_features(data, results.spec.params)
    fig, axes = figure(1, 2, size=(9.0, 3.2))
    with _styled():
        ax = axes[0, 0]
        sel = (t >= t_on - 10) & (t <= t_on + 120)
        for k, model in enumerate(("LIF", "RS", "LTS", "RZ")):
            m = list(data["model"].values).index(model)
            v = data["v"].values[m, 0].astype(float)
            rest = feats[model]["rest_mV"]
            late = v[(t >= float(data.attrs["t_off_ms"]) - 20) & (t < float(data.attrs["t_off_ms"]))]
            ax.plot(t[sel] - t_on, (v[sel] - rest) / (late.mean() - rest), lw=0.9, color=f"C{k}",
                    label=model)
        ax.axhline(1, color="0.6", lw=0.5, ls="--")
        ax.set_xlabel("time from step onset (ms)")
        ax.set_ylabel("deflection / steady deflection")
        ax.legend(fontsize=7)
        ax.set_title("small probe step", loc="left")
        panel_letter(ax, "A")
        ax = axes[0, 1]
        cells, times = data["spike_cell"].values, data["spike_time"].values
        in_step = (times >= t_on) & (times < float(data.attrs["t_off_ms"]))
        count = np.bincount(cells[in_step], minlength=data.sizes["cell"])
        models, roles = data["cell_model"].values, data["cell_role"].values
        for k, model in enumerate(m for m in data["model"].values if m != "LIF"):
            ladder = np.flatnonzero((models == model) & (roles == "ladder"))
            ax.plot(data["cell_stim_mV"].values[ladder], count[ladder], lw=0.9, color=f"C{k}",
                    label=str(model))
        ax.set_xlabel("step amplitude (paper units, mV)")
        ax.set_ylabel("spikes during the step")
        ax.legend(fontsize=7, ncol=2)
        ax.set_title("rheobase ladder", loc="left")
        panel_letter(ax, "B")
    return fig


def plot_fi_validation(results):
    """(A) measured rate vs the analytic f-I curve with rheobase and 1/t_ref;
    (B) |mean ISI - 1/r(I)| per current against one time step."""
    from brian2 import Hz, nA, second

    from ..analytic import lif_rate
    from ..features.lif import measured_rates

    data = results.data
    p = results.spec.params
    I = data["current"].values
    m = measured_rates(data)
    fig, axes = figure(1, 2, size=(9.0, 3.2))
    with _styled():
        ax = axes[0, 0]
        fine = np.linspace(I.min(), I.max(), 1001)
        ax.plot(fine, np.asarray(lif_rate(fine * nA, p.lif) / Hz), color="C1", lw=1.0,
                label="analytic r(I)")
        ax.plot(I, m["rate_Hz"], "o", color="C0", ms=3, label="Brian2")
        ax.axvline(float(p.lif.rheobase / nA),
                   color="0.5", ls="--", lw=0.7, label="rheobase")
        if p.t_ref > 0:
            ax.axhline(float(1 / p.t_ref * second), color="C2", ls=":", lw=0.8, label="1/t_ref")
        ax.set_xlabel("current (nA)")
        ax.set_ylabel("rate (Hz)")
        ax.legend(fontsize=7)
        panel_letter(ax, "A")
        ax = axes[0, 1]
        rate_a = data["rate_analytic"].values
        valid = (m["spike_count"] >= 2) & (rate_a > 0)
        err = np.abs(m["mean_isi_ms"][valid] - 1000.0 / rate_a[valid])
        ax.plot(I[valid], err, "o", color="C0", ms=3)
        ax.axhline(float(p.dt * 1000 / second), color="C3", ls="--", lw=0.8, label="dt")
        ax.set_xlabel("current (nA)")
        ax.set_ylabel("|mean ISI - 1/r(I)| (ms)")
        ax.legend(fontsize=7)
        panel_letter(ax, "B")
    return fig


def plot_stdp_validation(results):
    """Measured weight change per pairing vs lag with the fitted exponentials, and the
    Bi & Poo (2001) window shape (tau+ 16.8 ms, tau- 33.7 ms) scaled to the fitted amplitudes."""
    from brian2 import ms

    from ..features.stdp import analytic_window, fit_window

    data = results.data
    lags, dw = data["lag"].values, data["dw"].values
    fit = fit_window(lags, dw)
    grid = np.linspace(lags.min(), lags.max(), 801)
    fig, axes = figure(1, 1, size=(5.5, 3.4))
    with _styled():
        ax = axes[0, 0]
        ax.axhline(0, color="0.6", lw=0.5)
        ax.axvline(0, color="0.6", lw=0.5)
        ax.plot(lags, dw, "o", color="C0", ms=2.5, label="measured (Brian2)")
        if all(np.isfinite(v) for v in fit.values()):
            ax.plot(grid, analytic_window(grid, fit["A_plus"], fit["tau_plus_ms"], fit["A_minus"],
                                          fit["tau_minus_ms"]),
                    color="C1", lw=1.0, label=f"fit: tau+ {fit['tau_plus_ms']:.3g}, "
                    f"tau- {fit['tau_minus_ms']:.3g} ms")
            ax.plot(grid, analytic_window(grid, fit["A_plus"], 16.8, fit["A_minus"], 33.7),
                    color="C2", lw=0.8, ls="--", label="Bi & Poo shape (16.8 / 33.7 ms)")
        ax.set_xlabel("t_post - t_pre (ms)")
        ax.set_ylabel("Δw per pairing")
        ax.legend(fontsize=7, loc="lower right")
        p = results.spec.params
        ax.set_title(f"STDP window; rule configured with tau+ {float(p.tau_plus / ms):.3g} ms, "
                     f"tau- {float(p.tau_minus / ms):.3g} ms", loc="left", fontsize=8)
    return fig


def plot_membrane_regimes(results):
    """Rest, membrane time constant and threshold of every probed model (dots) against
    the range of cortical layer means (dark band) and the mean -/+ s.d. envelope (light)."""
    from ..features.membrane import membrane_features
    from .regimes import REGIME_TABLE

    feats = membrane_features(results.data, results.spec.params)
    models = list(feats)
    quantities = ("rest", "tau-m", "threshold", "refractory")
    fig, axes = figure(1, len(quantities), size=(11.0, 3.0))
    with _styled():
        for k, q in enumerate(quantities):
            key, label, (lo, hi), env, units, _, _ = REGIME_TABLE[q]
            ax = axes[0, k]
            if env is not None:
                ax.axhspan(*env, color="C2", alpha=0.12, lw=0)
            ax.axhspan(lo, hi, color="C2", alpha=0.35, lw=0)
            for x, model in enumerate(models):
                v = feats[model][key]
                if v is not None:
                    ax.plot(x, v, "o", color="C0", ms=4)
            ax.set_xticks(range(len(models)), models, rotation=60, fontsize=7)
            ax.set_ylabel(f"{label} ({units})")
            panel_letter(ax, chr(ord("A") + k))
        fig.suptitle("models (dots) vs cortical pyramidal cells: range of layer means (dark), "
                     "mean ± s.d. (light)", fontsize=8)
    return fig


def plot_firing_regime(population):
    """(A) firing rates (log axis; silent neurons counted in the title) and (B) ISI CVs of
    a population against the in-vivo ranges."""
    from matplotlib.ticker import MaxNLocator

    rates = population.rates_Hz()
    cvs = population.cvs()
    fig, axes = figure(1, 2, size=(8.0, 3.0))
    with _styled():
        ax = axes[0, 0]
        ax.axvspan(0.1, 10.0, color="C2", alpha=0.25, lw=0)
        positive = rates[rates > 0]
        if len(positive):
            bins = np.logspace(-2, 3, 26)
            ax.hist(positive, bins=bins, color="C0")
        ax.set_xscale("log")
        ax.set_xlabel("rate (Hz)")
        ax.set_ylabel("neurons")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        silent = int(np.sum(rates == 0))
        ax.set_title(f"{population.label}: rates ({silent} silent)", loc="left")
        panel_letter(ax, "A")
        ax = axes[0, 1]
        ax.axvspan(0.5, 1.0, color="C2", alpha=0.25, lw=0)
        if len(cvs):
            ax.hist(cvs, bins=np.linspace(0, 2, 21), color="C0")
        ax.set_xlabel("ISI CV")
        ax.set_ylabel("neurons")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("ISI CV (in-vivo range shaded)", loc="left")
        panel_letter(ax, "B")
    return fig
