"""Figures of a sweep beyond ``summary.png``: drawn for sweeps of one protocol kind over
given parameters, each a pure function of the saved ``table.csv``.

The catalogue of single-run figures (:mod:`bioSNN.figures`) names one protocol run per
figure and cannot express a sweep; these are drawn by ``biosnn sweep`` into the sweep's
folder, next to ``summary.png``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .definition import Sweep

__all__ = ["SweepFigure", "SWEEP_FIGURES", "sweep_figures_for", "draw_sweep_figures"]


@dataclass(frozen=True)
class SweepFigure:
    """One sweep figure.

    Attributes
    ----------
    name : str
        File stem in the sweep folder (``<name>.png``).
    kind : str
        Protocol kind whose sweeps get it.
    params : tuple of str
        Drawn when the sweep varies all of these parameters.
    draw : str
        ``"module:function"`` of ``f(table, definition) -> Figure``: ``table`` the
        sweep table as read from ``table.csv`` (a pandas DataFrame), ``definition``
        the content of ``sweep.json``.
    description : str
    """

    name: str
    kind: str
    params: tuple
    draw: str
    description: str


SWEEP_FIGURES: tuple[SweepFigure, ...] = (
    SweepFigure("phase", "brunel2000", ("g", "eta"),
                "bioSNN.plots.brunel_phase:plot_brunel_phase",
                "Brunel (2000) phase diagram: the classified state of every (g, eta) point, "
                "the four named points of Fig. 8 and the balance line g = 4"),
)


def sweep_figures_for(sweep: Sweep) -> list[SweepFigure]:
    """The entries of :data:`SWEEP_FIGURES` that apply to ``sweep`` (its kind, and every
    parameter the entry needs is swept)."""
    swept = {ax.name for ax in sweep.axes}
    return [f for f in SWEEP_FIGURES if f.kind == sweep.base.kind and set(f.params) <= swept]


def draw_sweep_figures(folder: str | Path, sweep: Sweep) -> list[Path]:
    """Draw every applicable sweep figure from the saved ``table.csv`` and ``sweep.json``
    of ``folder`` into ``folder``.

    Returns
    -------
    list of Path
        The PNG files written (empty when no entry applies).
    """
    entries = sweep_figures_for(sweep)
    if not entries:
        return []
    import matplotlib

    matplotlib.use("Agg", force=False)
    import json

    import pandas as pd
    from matplotlib import pyplot as plt

    from ..plots import load_plot
    from ..plots.style import save_figure

    folder = Path(folder)
    table = pd.read_csv(folder / "table.csv", keep_default_na=True)
    definition = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
    written = []
    for entry in entries:
        fig = load_plot(entry.draw)(table, definition)
        try:
            written.append(save_figure(fig, folder / f"{entry.name}.png"))
        finally:
            plt.close(fig)
    return written
