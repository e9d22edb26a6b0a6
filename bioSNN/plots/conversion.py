"""ANN -> SNN conversion (``conversion-mnist`` runs): test accuracy of the converted
spiking network against the number of time steps T, beside the ANN's accuracy, and
synaptic operations per inference against T beside the ANN's multiply-accumulates.

Pure functions of a saved run (:class:`bioSNN.results.Results`).
"""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure

__all__ = ["plot_accuracy_vs_steps"]


def plot_accuracy_vs_steps(results, ax=None):
    """Accuracy (%) vs T (log axis) with the ANN as a line and its -0.3 point band;
    with its own figure, a second panel of operations per inference vs T."""
    import matplotlib.pyplot as plt

    data = results.data
    label = data["test_label"].values
    steps = data["steps"].values
    snn = np.array([(data["snn_prediction"].sel(steps=t).values == label).mean()
                    for t in steps]) * 100
    ann = float((data["ann_prediction"].values == label).mean()) * 100
    own = ax is None
    with plt.style.context(str(STYLE_FILE)):
        if own:
            fig, axes = figure(1, 2, size=(6.4, 2.6))
            ax, ax2 = axes[0, 0], axes[0, 1]
        else:
            fig = ax.figure
        ax.axhspan(ann - 0.3, ann, color="C1", alpha=0.15, lw=0)
        ax.axhline(ann, color="C1", label=f"ANN {ann:.2f} %")
        ax.plot(steps, snn, "o-", color="C0", ms=3, label="SNN (IF, subtract reset)")
        ax.set_xscale("log")
        ax.set_xlabel("time steps T")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(max(0.0, min(snn.min(), ann) - 2), 100)
        ax.legend(loc="lower right", fontsize=6)
        ax.set_title(f"{data.attrs['encoding']} input, {data.attrs['readout']} readout, "
                     f"n = {label.size}", fontsize=7)
        if own:
            ops = data["synops"].sum("layer").values
            ax2.plot(steps, ops, "o-", color="C0", ms=3, label="SNN synaptic ops")
            ax2.axhline(float(data.attrs["ann_macs"]), color="C1", label="ANN MACs")
            ax2.set_xscale("log")
            ax2.set_yscale("log")
            ax2.set_xlabel("time steps T")
            ax2.set_ylabel("operations per inference")
            ax2.legend(loc="lower right", fontsize=6)
    return fig
