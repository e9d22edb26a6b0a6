"""Phase diagram of Brunel's (2000) model A: the state of every point of a g x eta sweep.

A pure function of the saved sweep table (``<out>/sweeps/<id>/table.csv`` of
``biosnn sweep brunel2000-phase --set g=... --set eta=...``): relative inhibition g on x,
external drive eta = nu_ext / nu_thr on y, each point coloured and marker-shaped (for
greyscale) by the state ``classify_state`` gave it (summary key ``state``), as in
Brunel's Fig. 2 / Fig. 8 layout; the four named points of Fig. 8 and the balance line
g = 4 (inhibition balancing excitation, since N_I = N_E / 4) marked.

Brunel, N. (2000). J Comput Neurosci 8:183-208. Details: ``docs/brunel.md``.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .style import STYLE_FILE, own_axes

__all__ = ["StateStyle", "STATE_STYLES", "NAMED_POINTS", "G_BALANCE", "phase_points",
           "network_title", "plot_brunel_phase"]


@dataclass(frozen=True)
class StateStyle:
    """How one state is drawn: Okabe-Ito colour and a distinct marker."""

    colour: str
    marker: str


STATE_STYLES: dict[str, StateStyle] = {
    "AI": StateStyle("#009E73", "o"),
    "SR": StateStyle("#D55E00", "s"),
    "SI-fast": StateStyle("#0072B2", "^"),
    "SI-slow": StateStyle("#E69F00", "v"),
    "AR": StateStyle("#CC79A7", "D"),
    "silent": StateStyle("#000000", "X"),
    "failed": StateStyle("#999999", "x"),  # the point's run failed: no state
}
"""Every label of :data:`bioSNN.features.population.STATES`, plus ``failed``."""

NAMED_POINTS: dict[str, tuple[float, float]] = {
    "SR": (3.0, 2.0), "SI-fast": (6.0, 4.0), "AI": (5.0, 2.0), "SI-slow": (4.5, 0.9)}
"""The four named points (g, eta) of Brunel's Fig. 8."""

G_BALANCE = 4.0
"""g at which recurrent inhibition balances excitation (C_I g J = C_E J, C_I = C_E / 4)."""


def phase_points(table) -> list[dict]:
    """One entry per (g, eta) of the sweep table: the state over its seeds.

    Parameters
    ----------
    table : pandas.DataFrame
        The sweep table as read from ``table.csv``: columns ``g``, ``eta``, ``status``
        and, when any point succeeded, ``state``.

    Returns
    -------
    list of dict
        ``g``, ``eta`` (floats), ``state`` (the most frequent state among the point's
        successful seeds, ties broken by :data:`STATE_STYLES` order; ``"failed"`` when
        none succeeded), ``n_state`` (seeds with that state), ``n_ok``, ``n`` (seeds),
        sorted by g then eta. Rows without g or eta (a failed point of a parameter
        that was not swept) are left out.

    Raises
    ------
    ValueError
        When a needed column is missing (named in the message).
    """
    for col in ("g", "eta", "status"):
        if col not in table.columns:
            raise ValueError(f"phase diagram: the sweep table has no column {col!r}; "
                             f"expected a brunel2000 sweep table (columns g, eta, status, "
                             f"state)")
    order = list(STATE_STYLES)
    groups: dict[tuple[float, float], list] = {}
    states = table["state"] if "state" in table.columns else [None] * len(table)
    for g, eta, status, state in zip(table["g"], table["eta"], table["status"], states):
        try:
            key = (float(g), float(eta))
        except (TypeError, ValueError):
            continue
        if not all(np.isfinite(key)):
            continue
        ok = status == "ok" and isinstance(state, str) and state != ""
        groups.setdefault(key, []).append(state if ok else None)
    out = []
    for (g, eta), labels in sorted(groups.items()):
        good = [s for s in labels if s is not None]
        if good:
            counts = Counter(good)
            best = max(counts.values())
            state = min((s for s, c in counts.items() if c == best),
                        key=lambda s: order.index(s) if s in order else len(order))
            n_state = best
        else:
            state, n_state = "failed", 0
        out.append({"g": g, "eta": eta, "state": state, "n_state": n_state,
                    "n_ok": len(good), "n": len(labels)})
    return out


def network_title(definition) -> str:
    """``"<protocol>: N_E .., eps .. (C_E ..), <duration>"`` from a sweep's ``sweep.json``
    (its ``protocol`` and ``base_parameters``; missing entries are left out)."""
    base = definition.get("base_parameters", {})
    parts = []
    if "n_exc" in base:
        parts.append(f"N_E {base['n_exc']}, N_I {int(base['n_exc']) // 4}")
    if "epsilon" in base:
        eps = float(base["epsilon"])
        parts.append(f"eps {eps:g}" + (f" (C_E {round(eps * int(base['n_exc']))})"
                                       if "n_exc" in base else ""))
    if "duration" in base:
        parts.append(f"{base['duration']}" + (f", first {base['transient']} dropped"
                                              if "transient" in base else ""))
    name = definition.get("protocol", "brunel2000")
    mode = " (quick)" if definition.get("mode") == "quick" else ""
    return f"{name}{mode}: " + ", ".join(parts) if parts else f"{name}{mode}"


def plot_brunel_phase(table, definition=None, *, ax=None, title: str | None = None,
                      balance_line: bool = True):
    """Figure: the state of every (g, eta) point of a brunel2000 sweep.

    Parameters
    ----------
    table : pandas.DataFrame
        The saved sweep table (see :func:`phase_points`).
    definition : mapping, optional
        The sweep's ``sweep.json``: the title names the network size from it.
    ax : matplotlib.axes.Axes, optional
        Draw into these axes (default: a new 6.4 x 4.6 in figure).
    title : str, optional
        Title (default: from ``definition``, else a generic one).
    balance_line : bool
        Draw Brunel's balance line g = 4.

    Returns
    -------
    matplotlib.figure.Figure
        One scatter per state present (``label`` and ``gid`` = the state, in
        :data:`STATE_STYLES` colour and marker); the four named points of Fig. 8 as
        open rings (``gid`` ``"named"``) with their names; a point whose seeds
        disagree carries ``n_state/n``.
    """
    import matplotlib.pyplot as plt

    points = phase_points(table)
    fig, ax = own_axes(ax, (6.4, 4.6))
    with plt.style.context(str(STYLE_FILE)):
        present = [s for s in STATE_STYLES if any(p["state"] == s for p in points)]
        present += sorted({p["state"] for p in points} - set(STATE_STYLES))
        for state in present:
            style = STATE_STYLES.get(state, StateStyle("#56B4E9", "P"))
            sel = [p for p in points if p["state"] == state]
            ax.scatter([p["g"] for p in sel], [p["eta"] for p in sel], s=70, c=style.colour,
                       marker=style.marker, edgecolors="none" if style.marker != "x" else None,
                       label=state, gid=state, zorder=3)
        for p in points:
            if p["n"] > 1 and p["n_state"] < p["n"]:
                ax.annotate(f"{p['n_state']}/{p['n']}", (p["g"], p["eta"]),
                            xytext=(6, -9), textcoords="offset points", fontsize=6)
        gs = [p[0] for p in NAMED_POINTS.values()]
        etas = [p[1] for p in NAMED_POINTS.values()]
        ax.scatter(gs, etas, s=230, facecolors="none", edgecolors="k", linewidths=0.9,
                   gid="named", label="named points (Fig. 8)", zorder=4)
        for name, (g, eta) in NAMED_POINTS.items():
            ax.annotate(name, (g, eta), xytext=(8, 6), textcoords="offset points",
                        fontsize=7, fontweight="bold")
        if balance_line:
            ax.axvline(G_BALANCE, color="0.4", ls="--", lw=0.9, zorder=1, gid="balance",
                       label="g = 4 (balance)")
        all_g = [p["g"] for p in points] + gs
        all_eta = [p["eta"] for p in points] + etas
        ax.set_xlim(min(all_g) - 0.6, max(all_g) + 0.9)
        ax.set_ylim(0, max(all_eta) * 1.12)
        ax.set_xlabel("relative inhibition g")
        ax.set_ylabel(r"external drive $\eta = \nu_{ext} / \nu_{thr}$")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
        if title is None:
            title = "Brunel (2000) model A: state per (g, eta)" + (
                "" if definition is None else "\n" + network_title(definition))
        ax.set_title(title, fontsize="small", loc="left")
    return fig
