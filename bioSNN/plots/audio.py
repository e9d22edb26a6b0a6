"""Spoken digits (``audio-fsdd`` runs): for one test recording per digit, the filterbank
level above its input spike raster, and the learning curves of the SNN and its ANN twin.

Pure functions of a saved run (:class:`bioSNN.results.Results`); the panel functions take
an optional ``ax``.
"""
from __future__ import annotations

import numpy as np

from .style import STYLE_FILE, own_axes

__all__ = ["plot_spectrogram", "plot_spike_raster", "plot_learning_curves",
           "plot_audio_overview"]

_COLOURS = {"snn": "C0", "ann": "C1"}
_LABELS = {"snn": "SNN (recurrent LIF)", "ann": "ANN (GRU)"}



def plot_spectrogram(results, example: int = 0, ax=None, labels: bool = True):
    """Filterbank level (frames x mel channels, 0-1) of example recording ``example``."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (3.0, 2.4))
    lv = data["example_level"].values[example]
    t = data["frame_time"].values
    hop = float(data.attrs.get("hop_ms", t[1] - t[0] if len(t) > 1 else 10.0))
    with plt.style.context(str(STYLE_FILE)):
        ax.imshow(lv.T, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1,
                  extent=(t[0], t[-1] + hop, -0.5, lv.shape[1] - 0.5), interpolation="nearest")
        ax.set_title(f"'{int(data['example_digit'].values[example])}' "
                     f"({str(data['example_name'].values[example])})", fontsize=7)
        if labels:
            ax.set_ylabel("mel channel")
    return fig


def plot_spike_raster(results, example: int = 0, ax=None, labels: bool = True):
    """Input spikes of example ``example`` on the channel axis: delta ON (red) and OFF
    (blue) events, or rate spikes (black)."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (3.0, 2.4))
    spk = data["example_spikes"].values[example]
    t = data["frame_time"].values
    n_ch = int(data.attrs["channels"])
    frame, inp = np.nonzero(spk)
    with plt.style.context(str(STYLE_FILE)):
        if data.attrs.get("encoding") == "delta":
            on = inp < n_ch
            ax.plot(t[frame[on]], inp[on], "|", color="C3", ms=2, mew=0.6, label="ON")
            ax.plot(t[frame[~on]], inp[~on] - n_ch, "|", color="C0", ms=2, mew=0.6,
                    label="OFF")
        else:
            ax.plot(t[frame], inp, "|", color="k", ms=2, mew=0.6)
        ax.set_xlim(t[0], t[-1])
        ax.set_ylim(-0.5, n_ch - 0.5)
        ax.set_xlabel("time (ms)")
        if labels:
            ax.set_ylabel("channel")
    return fig


def plot_learning_curves(results, ax=None):
    """Training (dashed) and test (solid) accuracy per epoch of the SNN and the ANN."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, ax = own_axes(ax, (5.0, 3.0))
    epoch = data["epoch"].values
    with plt.style.context(str(STYLE_FILE)):
        for m in [str(v) for v in data["model"].values]:
            c = _COLOURS.get(m, "k")
            test = data["test_accuracy_curve"].sel(model=m).values
            ax.plot(epoch, 100 * data["train_accuracy"].sel(model=m).values, "--", color=c,
                    label=f"{_LABELS.get(m, m)} train")
            ax.plot(epoch, 100 * test, "-o", ms=2.5, color=c,
                    label=f"{_LABELS.get(m, m)} test ({100 * test[-1]:.1f}% final)")
        ax.axhline(10, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.legend(fontsize=7, loc="lower right")
    return fig


def plot_audio_overview(results):
    """One test recording per digit (filterbank level above its spike raster) and the
    learning curves: the ``overview`` figure of ``audio-fsdd``."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    n = int(results.data.sizes["example"])
    with plt.style.context(str(STYLE_FILE)):
        fig = Figure(figsize=(max(6.0, 1.5 * n), 7.0), layout="constrained")
        grid = fig.add_gridspec(3, max(n, 1), height_ratios=[1, 1, 1.4])
        for k in range(n):
            plot_spectrogram(results, k, ax=fig.add_subplot(grid[0, k]), labels=k == 0)
            plot_spike_raster(results, k, ax=fig.add_subplot(grid[1, k]), labels=k == 0)
        ax = fig.add_subplot(grid[2, :])
        plot_learning_curves(results, ax=ax)
        enc = results.data.attrs.get("encoding", "")
        fig.suptitle(f"FSDD ({results.data.attrs.get('split', '')} split): log-mel level "
                     f"(top), {enc} input spikes (middle), accuracy (bottom)", fontsize=9)
    return fig
