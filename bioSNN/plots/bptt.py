"""BPTT-trained CSNN classifier (``bptt-mnist`` runs): training loss and accuracy per
epoch with the test accuracy, and spikes and synaptic operations per layer beside the
ANN's multiply-accumulates.

Pure functions of a saved run (:class:`bioSNN.results.Results`).
"""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, figure

__all__ = ["plot_training"]


def plot_training(results, ax=None):
    """Training loss and accuracy (%) per epoch with the test accuracy as a line; with its
    own figure, a second panel of spikes and synaptic operations per inference by layer
    (log axis) with the ANN's MACs and, for current input, the first layer's MACs."""
    import matplotlib.pyplot as plt

    data = results.data
    epochs = data["epoch"].values
    train_acc = data["train_accuracy"].values * 100
    test_acc = float((data["prediction"].values == data["test_label"].values).mean()) * 100
    own = ax is None
    with plt.style.context(str(STYLE_FILE)):
        if own:
            fig, axes = figure(1, 2, size=(6.4, 2.6))
            ax, ax2 = axes[0, 0], axes[0, 1]
        else:
            fig = ax.figure
        ax.plot(epochs, train_acc, "o-", color="C0", ms=3, label="train (during epoch)")
        ax.axhline(test_acc, color="C1", label=f"test {test_acc:.2f} %")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.set_xticks(epochs)
        ax.set_ylim(max(0.0, min(train_acc.min(), test_acc) - 2), 100)
        loss_ax = ax.twinx()
        loss_ax.plot(epochs, data["train_loss"].values, "s--", color="C2", ms=3,
                     label="train loss")
        loss_ax.set_ylabel("training loss", color="C2")
        loss_ax.tick_params(axis="y", colors="C2")
        lines = ax.get_legend_handles_labels()
        more = loss_ax.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower right", fontsize=6)
        ax.set_title(f"{data.attrs['encoding']} input, {data.attrs['loss']} loss, "
                     f"T = {int(data.attrs['num_steps'])}, n = {data['test_label'].size}",
                     fontsize=7)
        if own:
            layers = [str(v) for v in data["layer"].values]
            x = np.arange(len(layers))
            spikes = data["spike_count"].values
            ops = data["synops"].values
            ax2.bar(x - 0.2, np.where(spikes > 0, spikes, np.nan), 0.4, color="C0",
                    label="spikes")
            ax2.bar(x + 0.2, np.where(ops > 0, ops, np.nan), 0.4, color="C3",
                    label="synaptic ops sent")
            ax2.axhline(float(data.attrs["ann_macs"]), color="C1", label="ANN MACs")
            if data.attrs["encoding"] == "current":
                first = float(data.attrs["first_layer_macs"]) * int(data.attrs["num_steps"])
                ax2.axhline(first, color="C1", ls=":", label="conv1 MACs (current input)")
            ax2.set_yscale("log")
            top = max(float(np.nanmax(np.r_[spikes, ops, 1.0])),
                      float(data.attrs["ann_macs"]) * int(data.attrs["num_steps"]))
            ax2.set_ylim(0.5, top * 300)             # room for the legend above the bars
            ax2.set_xticks(x)
            ax2.set_xticklabels(layers)
            ax2.set_ylabel("per inference")
            ax2.legend(loc="upper center", ncol=2, fontsize=5.5)
    return fig
