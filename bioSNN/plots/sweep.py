"""Summary figure of a parameter sweep: a metric against each swept parameter.

A pure function of the saved sweep table (``<out>/sweeps/<id>/table.csv``, see
:mod:`bioSNN.sweep`): one panel per swept parameter; in each, the metric's mean over
seeds ± the half-width of its 95 % confidence interval (Student t with n − 1 degrees of
freedom, :func:`bioSNN.stats.mean_ci95`) against that parameter, one line per
combination of the *other* swept parameters, and every seed's value as a faint dot.
Failed points and missing values are left out.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_sweep"]

_MAX_LEGEND = 12


def _x_positions(column):
    """Numeric x values and tick labels (None when the column is numeric)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(float).to_numpy(), None
    cats = list(dict.fromkeys(column.astype(str)))
    return np.array([cats.index(v) for v in column.astype(str)], dtype=float), cats


def plot_sweep(table, metric: str, axes: Sequence[Mapping], *, title: str | None = None):
    """Figure: ``metric`` vs each swept parameter, mean ± 95 % CI over seeds.

    Parameters
    ----------
    table : pandas.DataFrame
        The sweep table as read from ``table.csv`` (columns ``status``, ``seed``, each
        parameter's value column and numeric column, the metric).
    metric : str
        Column to plot (a numeric summary metric; its unit is in its name, e.g. ``_Hz``).
    axes : sequence of mapping
        The swept parameters as in ``sweep.json``: ``name`` (value column, e.g.
        ``"200 ms"``), ``column`` (numeric column, e.g. ``tau_c_ms``), ``unit``
        (display unit or None).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per swept parameter (one panel of the metric per seed when only seeds
        are swept).
    """
    import matplotlib.pyplot as plt

    from ..stats import mean_ci95

    ok = table[(table["status"] == "ok") & np.isfinite(table[metric].astype(float))]
    n_seeds = int(table["seed"].nunique())
    n_panels = max(1, len(axes))
    fig, grid = figure(1, n_panels, size=(max(4.6, 3.9 * n_panels), 3.4))
    with plt.style.context(str(STYLE_FILE)):
        if not axes:
            ax = grid[0, 0]
            y = ok[metric].astype(float).to_numpy()
            ax.plot(ok["seed"], y, "o", color="C0", label="one run per seed")
            mean, half, n = mean_ci95(y)
            if n:
                ax.axhline(mean, color="C1", label=f"mean (n = {n})")
                if n > 1:
                    ax.axhspan(mean - half, mean + half, color="C1", alpha=0.2, lw=0,
                               label="95% CI (t)")
            ax.set_xlabel("seed")
            ax.set_ylabel(metric)
            ax.legend(loc="best")
        for k, spec in enumerate(axes):
            ax = grid[0, k]
            others = [a for a in axes if a is not spec]
            groups = ok.groupby([a["name"] for a in others], sort=False) if others else [((), ok)]
            xcol = spec["column"]
            _, cats = _x_positions(table[xcol])
            for j, (combo, sub) in enumerate(groups):
                combo = combo if isinstance(combo, tuple) else (combo,)
                xs, _ = _x_positions(sub[xcol]) if cats is None else (
                    np.array([cats.index(str(v)) for v in sub[xcol]], dtype=float), None)
                y = sub[metric].astype(float).to_numpy()
                colour = f"C{j % 8}"
                label = ", ".join(f"{a['name']} = {v}" for a, v in zip(others, combo)) or None
                if j >= _MAX_LEGEND:
                    label = None
                ax.plot(xs, y, ".", color=colour, alpha=0.35, ms=4)
                ux = np.unique(xs)
                stats = [mean_ci95(y[xs == x]) for x in ux]
                means = np.array([s[0] for s in stats])
                halves = np.array([s[1] for s in stats])
                ax.errorbar(ux, means, yerr=np.where(np.isfinite(halves), halves, 0.0),
                            color=colour, marker="o", ms=4, capsize=3, lw=1.2, label=label)
            if cats is not None:
                ax.set_xticks(range(len(cats)), cats)
            else:
                vals = table[xcol].astype(float)
                if (vals > 0).all() and vals.max() / vals.min() >= 10:
                    ax.set_xscale("log")
            unit = spec.get("unit")
            ax.set_xlabel(f"{spec['name']} ({unit})" if unit else spec["name"])
            ax.set_ylabel(metric)
            if others and len(groups) > 1:
                ax.legend(loc="best", fontsize="x-small")
            if n_panels > 1:
                panel_letter(ax, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[k % 26])
        fig.suptitle((title + "\n" if title else "") +
                     f"{metric}: mean ± 95% CI (t) over seeds (up to n = {n_seeds})",
                     fontsize="medium")
    return fig
