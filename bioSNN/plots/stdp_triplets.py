"""Weight change after pre-post-pre and post-pre-post triplets (Wang et al. 2005 protocol).

A pure function of a saved ``stdp-triplets`` run.
"""
from __future__ import annotations

from .style import STYLE_FILE, figure

__all__ = ["plot_stdp_triplets"]


def plot_stdp_triplets(results):
    """Figure: Δw (% of the initial weight) per triplet pattern, as bars.

    Parameters
    ----------
    results : Results
        A saved ``stdp-triplets`` run (``dw_percent`` over ``pattern``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    data = results.data
    names = [str(x) for x in data["pattern"].values]
    dw = data["dw_percent"].values
    a, b = data.attrs.get("delta_t1_ms", 0), data.attrs.get("delta_t2_ms", 0)
    fig, axes = figure(1, 1, size=(4.0, 3.2))
    ax = axes[0, 0]
    with plt.style.context(str(STYLE_FILE)):
        ax.axhline(0, color="0.6", lw=0.5)
        ax.bar(range(len(names)), dw, color=["C0", "C3"][: len(names)], width=0.6)
        for k, v in enumerate(dw):
            ax.text(k, v, f"{v:+.1f} %", ha="center", va="bottom" if v >= 0 else "top",
                    fontsize=7)
        ax.set_xticks(range(len(names)), [f"{n}\n({a:g}, {b:g} ms)" for n in names])
        ax.set_ylabel("Δw (% of initial weight)")
        ax.set_title(f"{data.attrs.get('timing', '')}, {int(data.attrs.get('n_repetitions', 0))} "
                     "triplets", loc="left", fontsize=8)
    return fig
