"""R-STDP classification: learning curve, weights before/after, rasters per class."""
from __future__ import annotations

import numpy as np

from ..features.learning import learning_curve, trial_predictions
from .style import STYLE_FILE, figure, panel_letter

__all__ = ["plot_rstdp_overview"]


def plot_rstdp_overview(results):
    """Figure: (A) training accuracy per block and test accuracy; (B, C) hidden -> output
    weights at the first and last snapshot; bottom row: input, hidden and output
    rasters of the first test trial of each class (time in ms within the trial).

    Parameters
    ----------
    results : Results
        A saved ``rstdp-classification`` run.
    """
    import matplotlib.pyplot as plt

    data, p = results.data, results.spec.params
    n_cls = data.sizes["class"]
    ncols = max(3, n_cls if n_cls <= 5 else 5)
    n_raster_rows = 1 if n_cls <= 5 else 2
    fig, axes = figure(1 + n_raster_rows, ncols, size=(2.6 * ncols, 2.6 * (1 + n_raster_rows)))
    with plt.style.context(str(STYLE_FILE)):
        ax = axes[0, 0]
        x, acc = learning_curve(data, p.block)
        ax.plot(x, acc, "o-", label=f"training (blocks of {p.block})")
        summ = results.summary
        ax.axhline(summ["test_accuracy"], color="C1", ls="--", label=f"test {summ['test_accuracy']:.2f}")
        ax.axhline(1.0 / n_cls, color="0.5", ls=":", label="chance")
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("training trial")
        ax.set_ylabel("accuracy")
        ax.set_title("learning curve")
        ax.legend(loc="lower right")
        panel_letter(ax, "A")
        W = data["weights"].values
        # hidden neurons ordered by the output they end up driving most
        h_order = np.lexsort((-W[-1].max(axis=1), W[-1].argmax(axis=1)))
        for k, (idx, title) in enumerate([(0, "weights before"), (-1, "weights after")]):
            ax = axes[0, 1 + k]
            im = ax.imshow(W[idx][h_order].T, aspect="auto", vmin=0, vmax=p.w_max,
                           interpolation="nearest")
            ax.set_xlabel("hidden neuron (by preferred output)")
            ax.set_ylabel("output neuron")
            ax.set_yticks(range(n_cls))
            ax.set_title(f"{title} (trial {int(data['snapshot_trial'].values[idx])})")
            panel_letter(ax, "BC"[k])
        fig.colorbar(im, ax=axes[0, 2], label="w (unit-less)")
        for ax in axes[0, 3:]:
            ax.set_visible(False)
        T = data.attrs["trial_duration_ms"]
        # inputs ordered by the class whose code drives them most (patterns visible)
        code = data["class_code"].values
        in_rank = np.empty(code.shape[1], dtype=int)
        in_rank[np.lexsort((-code.max(axis=0), code.argmax(axis=0)))] = np.arange(code.shape[1])
        counts, pred = trial_predictions(data)
        rasters = data["raster_trial"].values
        letter = ord("D")
        for c in range(n_cls):
            ax = axes[1 + c // ncols, c % ncols]
            k = int(rasters[c])
            if k < 0:
                ax.set_visible(False)
                continue
            t0 = k * T
            n_in, n_hid = data.sizes["input"], p.n_hidden
            # stack: inputs (bottom), hidden, outputs (top) on one index axis
            ti, ii = data["input_spike_time"].values, data["input_spike_neuron"].values
            m = (ti >= t0) & (ti < t0 + T)
            ax.plot(ti[m] - t0, in_rank[ii[m]], ",", color="0.6")
            th, ih = data["hidden_spike_time"].values, data["hidden_spike_neuron"].values
            m = (th >= t0) & (th < t0 + T)
            ax.plot(th[m] - t0, n_in + ih[m] * (n_in / 4 / n_hid), "|", color="C0", ms=2)
            to, io = data["output_spike_time"].values, data["output_spike_neuron"].values
            m = (to >= t0) & (to < t0 + T)
            top = n_in * 1.25
            ax.plot(to[m] - t0, top + (io[m] + 0.5) * (n_in / 4 / n_cls), "|", color="C1", ms=4)
            ax.set_ylim(0, n_in * 1.5)
            ax.set_yticks([n_in / 2, n_in * 1.125, n_in * 1.375],
                          ["input\n(by class)", "hidden", "output"])
            ax.set_xlabel("time in trial (ms)")
            ax.set_title(f"class {c}: predicted {pred[k]}", loc="left")
            panel_letter(ax, chr(letter))
            letter += 1
        for j in range(n_cls, n_raster_rows * ncols):
            axes[1 + j // ncols, j % ncols].set_visible(False)
    return fig
