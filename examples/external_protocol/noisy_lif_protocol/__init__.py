r"""Protocol kind ``noisy-lif``: the seed LIF neuron under a noisy current.

``n_neurons`` independent LIF neurons (rest -65 mV, threshold -58 mV, tau_m 10 ms,
5 ms refractory) receive the same mean current ``I_mean`` plus independent membrane
noise of standard deviation ``sigma`` (Brian2's ``xi``, seeded by the run's ``brian2``
stream). The summary is the mean firing rate and the coefficient of variation of the
inter-spike intervals: with the mean drive below threshold the neurons fire irregularly
(CV near 1), with it above they fire regularly (CV near 0).

An example of a kind defined outside bioSNN: this module and the spec ``noisy-lif.toml``
are all it takes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import Network, SpikeMonitor, mV, ms, nA, second

from bioSNN.neurons import lif_group
from bioSNN.params import LIFParams
from bioSNN.protocols import BrianProtocol, ParamConflict, param, register

__all__ = ["NoisyLIF", "NoisyLIFParams", "plot_isi"]


@dataclass(frozen=True)
class NoisyLIFParams:
    n_neurons: int = param(20, min=1, max=10_000, doc="independent neurons (trials)")
    I_mean: object = param(0.06 * nA, min=0, doc="mean input current")
    sigma: object = param(3 * mV, min=0, doc="standard deviation of the membrane noise")
    duration: object = param(2 * second, min=0, min_inclusive=False, doc="simulated time")
    dt: object = param(0.1 * ms, min=0, min_inclusive=False, doc="integration time step")

    def check(self):
        if self.duration < 100 * self.dt:
            raise ParamConflict("duration", f"must cover at least 100 steps of dt ({self.dt})")


@register
class NoisyLIF(BrianProtocol):
    """The seed LIF neuron under a noisy current: rate and ISI CV."""

    kind = "noisy-lif"
    Params = NoisyLIFParams
    headline = ("rate_Hz", "isi_cv")
    figures = {"isi": "noisy_lif_protocol:plot_isi"}

    def simulate(self, ctx):
        p = self.params
        group = lif_group(p.n_neurons, LIFParams.SEED, name="lif", sigma=p.sigma)
        group.I = p.I_mean
        spikes = SpikeMonitor(group, name="spikes")
        net = Network(group, spikes)
        net.run(p.duration, report=ctx.report, report_period=1 * second, namespace={})
        return xr.Dataset(
            {"spike_neuron": ("spike", np.asarray(spikes.i[:], dtype=np.int64), {"units": "1"}),
             "spike_time": ("spike", np.asarray(spikes.t[:] / ms), {"units": "ms"})},
            attrs={"n_neurons": p.n_neurons, "duration_s": float(p.duration / second)})

    @staticmethod
    def summarize(data, params):
        return isi_features(data)


def isi_features(data: xr.Dataset) -> dict:
    """Mean rate (Hz) over all neurons and the CV of the pooled per-neuron ISIs."""
    n, T = int(data.attrs["n_neurons"]), float(data.attrs["duration_s"])
    i, t = data["spike_neuron"].values, data["spike_time"].values
    isis = np.concatenate([np.diff(np.sort(t[i == k])) for k in range(n)]) if len(t) else []
    isis = np.asarray(isis, dtype=float)
    cv = float(isis.std() / isis.mean()) if len(isis) > 1 else float("nan")
    return {"rate_Hz": len(t) / (n * T), "isi_cv": cv, "n_spikes": int(len(t)),
            "n_isis": int(len(isis))}


def plot_isi(results):
    """Raster of the first neurons and the ISI histogram (a pure function of the run)."""
    import matplotlib.pyplot as plt

    data = results.data
    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    i, t = data["spike_neuron"].values, data["spike_time"].values
    shown = i < 10
    a.plot(t[shown], i[shown], "|", ms=6)
    a.set(xlabel="time (ms)", ylabel="neuron", title="A  raster")
    isis = np.concatenate([np.diff(np.sort(t[i == k])) for k in np.unique(i)]) if len(t) else []
    b.hist(isis, bins=40)
    s = results.summary
    b.set(xlabel="ISI (ms)", ylabel="count",
          title=f"B  rate {s['rate_Hz']:.1f} Hz, CV {s['isi_cv']:.2f}")
    fig.tight_layout()
    return fig
