"""Few-shot prototypical networks (``fewshot-protonet`` runs): training curves, test
accuracy with 95 % confidence intervals (SNN vs ANN), the t-SNE map of test embeddings
and the firing rates of the spiking layers.

Every function is a pure function of a saved run (:class:`bioSNN.results.Results`). The
panel functions take an optional ``ax`` (then they draw into it and return its figure);
:func:`plot_fewshot_overview` puts the four panels in one figure (the catalogue figure).
"""
from __future__ import annotations

import numpy as np

from ..stats import mean_ci95
from .style import STYLE_FILE, figure, panel_letter, own_axes

__all__ = ["plot_training_curve", "plot_accuracy", "plot_embedding_map", "plot_firing_rates",
           "plot_fewshot_overview", "running_mean"]

_COLOURS = {"snn": "C0", "ann": "C1"}
_LABELS = {"snn": "SNN (CSNN)", "ann": "ANN (ReLU)"}
_MARKERS = "os^Dv<>pPX"


def running_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last ``window`` values at each position (shorter at the start)."""
    x = np.asarray(x, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(x)])
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)





def _models(data):
    return [str(m) for m in data["model"].values]


def plot_training_curve(results, ax=None, window: int | None = None):
    """Query accuracy of the training episodes (running mean) for SNN and ANN, with the
    validation accuracy (markers) and the tested weights' task (dotted line)."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (5.0, 3.2))
    n = data.sizes["task"]
    window = window or max(1, min(50, n // 10))
    task = data["task"].values
    with plt.style.context(str(STYLE_FILE)):
        for m in _models(data):
            acc = data["train_accuracy"].sel(model=m).values
            ax.plot(task, 100 * running_mean(acc, window), color=_COLOURS[m],
                    label=f"{_LABELS[m]} train (mean of {window})")
            val = data["val_accuracy"].sel(model=m).values
            if val.size:
                ax.plot(data["val_task"].values, 100 * val, "o", color=_COLOURS[m], mfc="white",
                        label=f"{_LABELS[m]} validation")
            kept = int(data["kept_task"].sel(model=m))
            if kept != n:
                ax.axvline(kept, color=_COLOURS[m], ls=":", lw=1)
        ax.set_xlabel("training task")
        ax.set_ylabel("query accuracy (%)")
        ax.set_xlim(0, n)
        ax.set_title("meta-training")
        ax.legend(loc="lower right")
    return fig


def plot_accuracy(results, ax=None):
    """Mean test accuracy with its 95 % confidence interval (Student t over episodes, bioSNN.stats) for
    SNN and ANN, over the distribution of per-episode accuracies."""
    import matplotlib.pyplot as plt

    data, p = results.data, results.spec.params
    fig, ax = own_axes(ax, (3.6, 3.2))
    models = _models(data)
    with plt.style.context(str(STYLE_FILE)):
        for k, m in enumerate(models):
            acc = 100 * data["test_accuracy"].sel(model=m).values
            parts = ax.violinplot(acc, positions=[k], widths=0.7, showextrema=False)
            for body in parts["bodies"]:
                body.set_facecolor(_COLOURS[m])
                body.set_alpha(0.25)
            mean, ci, _ = mean_ci95(acc)  # NaN (no bar) for one episode, as in the summary
            ax.errorbar([k], [mean], yerr=[ci], fmt="o", color=_COLOURS[m], capsize=6, ms=5)
            ax.annotate(f"{mean:.1f} ± {ci:.1f}%", (k, mean), xytext=(8, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.axhline(100 / p.n_way, color="0.5", ls=":", lw=1, label="chance")
        ax.set_xticks(range(len(models)), [_LABELS[m] for m in models])
        ax.set_xlim(-0.6, len(models) - 0.1)
        ax.set_ylim(0, 101)
        ax.set_ylabel("test accuracy per episode (%)")
        ax.set_title(f"{p.n_way}-way {p.k_shot}-shot, classes {p.test_classes}\n"
                     f"{data.sizes['episode']} episodes, mean ± 95% CI")
        ax.legend(loc="lower left")
    return fig


def plot_embedding_map(results, ax=None, model: str = "snn"):
    """t-SNE map of the embeddings of test images, coloured by class."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (4.2, 3.6))
    xy = data["embedding_map"].sel(model=model).values
    labels = data["embed_label"].values
    with plt.style.context(str(STYLE_FILE)):
        # palette colours and marker shapes together: classes stay distinct beyond the
        # 8 colours of the colour-blind-safe palette and in greyscale
        for k, c in enumerate(np.unique(labels)):
            sel = labels == c
            ax.scatter(xy[sel, 0], xy[sel, 1], s=9, color=f"C{k % 8}", marker=_MARKERS[k % 10],
                       label=str(c), linewidths=0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("t-SNE 1 (a.u.)")
        ax.set_ylabel("t-SNE 2 (a.u.)")
        ax.set_title(f"{_LABELS[model]} embeddings of test images")
        n_classes = len(np.unique(labels))
        if n_classes <= 12:
            ax.legend(title="class", loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=2,
                      handletextpad=0.1)
        else:  # a legend of dozens of class numbers says nothing
            ax.set_title(f"{_LABELS[model]} embeddings of test images ({n_classes} classes)")
    return fig


def plot_firing_rates(results, ax=None):
    """Distribution of per-neuron firing rates (Hz) in each LIF layer of the SNN over the
    embedded test images, with the layer mean (diamond) and the silent fraction."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (4.2, 3.2))
    layers = data.attrs.get("layers", "lif1,lif2,lif3").split(",")
    dt_ms = float(data.attrs.get("dt_ms", 1.0))
    with plt.style.context(str(STYLE_FILE)):
        for k, layer in enumerate(layers):
            rate = data[f"rate_{layer}"].values
            active = rate[rate > 0]
            if active.size > 1 and np.ptp(active) > 0:
                parts = ax.violinplot(active, positions=[k], widths=0.7, showextrema=False)
                for body in parts["bodies"]:
                    body.set_facecolor("C2")
                    body.set_alpha(0.35)
            ax.plot([k], [rate.mean()], "D", color="C2", ms=5)
            # label above the axis floor even when the mean rate is close to 0 Hz
            y_text = max(rate.mean(), 0.06 * 1000.0 / dt_ms)
            ax.annotate(f"mean {rate.mean():.0f} Hz\nsilent {100 * (rate == 0).mean():.0f}%",
                        (k, y_text), xytext=(10, 0), textcoords="offset points",
                        va="center", fontsize=7)
        ax.set_xticks(range(len(layers)), layers)
        ax.set_xlim(-0.6, len(layers) - 0.1)
        ax.set_ylim(0, 1000.0 / dt_ms * 1.05)
        ax.set_ylabel("firing rate (Hz)")
        ax.set_title(f"SNN firing rates (dt = {dt_ms:g} ms)")
    return fig


def plot_fewshot_overview(results):
    """Catalogue figure: (A) training curve, (B) test accuracy SNN vs ANN with 95 % CI,
    (C) t-SNE map of SNN test embeddings, (D) per-layer firing rates."""
    fig, axes = figure(2, 2, size=(9.0, 6.6))
    plot_training_curve(results, axes[0, 0])
    plot_accuracy(results, axes[0, 1])
    plot_embedding_map(results, axes[1, 0])
    plot_firing_rates(results, axes[1, 1])
    for ax, letter in zip(axes.flat, "ABCD"):
        panel_letter(ax, letter)
    fig.suptitle(f"{results.spec.name} (seed {results.seed}, "
                 f"{results.data.sizes['task']} training tasks)", fontsize=10)
    return fig
