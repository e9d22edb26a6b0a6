"""STDP learning window measured in Brian2, with exponential fits and Bi & Poo's window shape.

Bi & Poo (2001, Annu Rev Neurosci 24:139, fit to the data of Bi & Poo 1998, J Neurosci
18:10464) describe the hippocampal window by one exponential per side with time
constants :math:`\\tau_+` = 16.8 ms (potentiation) and :math:`\\tau_-` = 33.7 ms
(depression). Their amplitudes are relative changes of an EPSC, not of a model weight,
so the figure draws that *shape* scaled to the amplitudes fitted to the measured window
(the same convention as the ``stdp-window-bi-poo`` validation test).
"""
from __future__ import annotations

import numpy as np
from brian2 import ms

from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_stdp_window", "BI_POO_TAU_PLUS_MS", "BI_POO_TAU_MINUS_MS"]

BI_POO_TAU_PLUS_MS = 16.8
"""Potentiation time constant of Bi & Poo's (2001) exponential fit (ms)."""
BI_POO_TAU_MINUS_MS = 33.7
"""Depression time constant of Bi & Poo's (2001) exponential fit (ms)."""


def plot_stdp_window(results):
    """Figure: (A) the measured window with its fit and Bi & Poo's shape; (B) measured
    minus the analytic window of the configured rule.

    Parameters
    ----------
    results : Results
        A saved ``stdp-window`` run (variables ``lag`` in ms, ``dw``, ``dw_analytic``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ..features.stdp import analytic_window, fit_window

    data, p = results.data, results.spec.params
    lags, dw = data["lag"].values, data["dw"].values
    fit = fit_window(lags, dw)
    grid = np.linspace(lags.min(), lags.max(), 801)
    fig, axes = figure(1, 2, size=(9.0, 3.4))
    with plt.style.context(str(STYLE_FILE)):
        ax = axes[0, 0]
        ax.axhline(0, color="0.6", lw=0.5)
        ax.axvline(0, color="0.6", lw=0.5)
        ax.plot(grid, analytic_window(grid, p.A_plus, float(p.tau_plus / ms), p.A_minus,
                                      float(p.tau_minus / ms)),
                color="C1", lw=1.0, label=f"pair rule (τ+ {float(p.tau_plus / ms):.3g} ms, "
                f"τ− {float(p.tau_minus / ms):.3g} ms)")
        ax.plot(lags, dw, "o", color="C0", ms=2.5, mfc="none", label="measured (Brian2)")
        if all(np.isfinite(v) for v in fit.values()):
            ax.plot(grid, analytic_window(grid, fit["A_plus"], BI_POO_TAU_PLUS_MS,
                                          fit["A_minus"], BI_POO_TAU_MINUS_MS),
                    color="C2", lw=1.0, ls="--",
                    label=f"Bi & Poo shape (τ+ {BI_POO_TAU_PLUS_MS}, τ− {BI_POO_TAU_MINUS_MS} ms)")
            ax.text(0.02, 0.04, f"fit: A+ {fit['A_plus']:.4g}, τ+ {fit['tau_plus_ms']:.3g} ms\n"
                    f"     A− {fit['A_minus']:.4g}, τ− {fit['tau_minus_ms']:.3g} ms",
                    transform=ax.transAxes, fontsize=7, va="bottom", family="monospace")
        ax.set_xlabel("lag t_post − t_pre (ms)")
        ax.set_ylabel("Δw per pairing (weight units)")
        ax.set_title(f"STDP window, {int(data.attrs.get('n_pairings', p.n_pairings))} pairings "
                     f"at {1 / float(p.pairing_period / ms) * 1000:.3g} Hz", loc="left")
        ax.legend(loc="upper left", fontsize=7)
        panel_letter(ax, "A")

        ax = axes[0, 1]
        resid = dw - data["dw_analytic"].values
        ax.axhline(0, color="0.6", lw=0.5)
        ax.plot(lags, resid, ".", color="C0", ms=3)
        ax.set_xlabel("lag t_post − t_pre (ms)")
        ax.set_ylabel("measured − analytic Δw")
        ax.set_title(f"max |error| {np.max(np.abs(resid)):.2g}", loc="left")
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        panel_letter(ax, "B")
    return fig
