r"""Protocol ``lif-poisson-trace``: a few LIF neurons driven by Poisson input spikes.

``n_inputs`` independent Poisson spike trains of rate ``input_rate`` (a Brian2
``PoissonGroup``, drawn from the run's ``brian2`` stream) project all-to-all onto
``n_neurons`` seed LIF neurons (:data:`bioSNN.params.LIFParams.SEED`: rest -65 mV,
threshold -58 mV, reset to rest, 10 ms, 5 ms refractory) through voltage-jump
synapses,

.. math:: v_{post} \leftarrow v_{post} + w_{ij} \quad \text{at each spike of input } i,

with weights :math:`w_{ij} \sim U(w_{min}, w_{max})` drawn from the run's ``numpy``
stream. The membrane potential of every LIF neuron, every input spike and every output
spike are recorded: the classic "membrane trace with input and raster" figure.

Between spikes the free membrane follows shot noise; by Campbell's theorem its mean
depolarisation is :math:`N_{in}\, r_{in}\, \bar w\, \tau_m` (6 mV with the defaults,
just below the 7 mV to threshold), so the neurons fire irregularly, driven by the
fluctuations (Gerstner et al. 2014, *Neuronal Dynamics*, ch. 8.2-8.3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, PoissonGroup, Quantity, SpikeMonitor, StateMonitor, Synapses,
                    mV, ms, second)

from ..neurons import lif_group
from ..params import LIFParams
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["LIFPoissonTrace", "LIFPoissonParams", "output_features", "NEURON"]

NEURON = LIFParams.SEED
"""The LIF neuron of this protocol (the seed neuron; its constants are saved in the data)."""


@dataclass(frozen=True)
class LIFPoissonParams:
    n_inputs: int = param(100, min=1, max=100000, doc="number of Poisson input trains")
    input_rate: Quantity = param(20 * Hz, unit=Hz, min=0, max=1000,
                                 doc="rate of every Poisson input")
    n_neurons: int = param(3, min=1, max=20, doc="number of LIF neurons (all recorded)")
    w_min: Quantity = param(0 * mV, unit=mV, min=0,
                            doc="smallest synaptic weight (voltage jump per input spike)")
    w_max: Quantity = param(0.6 * mV, unit=mV, min=0, max=20,
                            doc="largest synaptic weight; weights ~ U(w_min, w_max)")
    duration: Quantity = param(1 * second, unit=ms, min=0, min_inclusive=False,
                               doc="simulated time")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step")

    def check(self):
        if not self.w_max >= self.w_min:
            raise ParamConflict("w_max", f"must be at least w_min ({self.w_min})")
        if not self.duration >= 10 * self.dt:
            raise ParamConflict("duration", f"must cover at least 10 time steps of dt ({self.dt})")


def draw_weights(p: LIFPoissonParams, rng: np.random.Generator) -> np.ndarray:
    """Synaptic weights in mV, shape (n_inputs, n_neurons), uniform in [w_min, w_max]."""
    return rng.uniform(float(p.w_min / mV), float(p.w_max / mV), size=(p.n_inputs, p.n_neurons))


@register
class LIFPoissonTrace(BrianProtocol):
    """Seed LIF neurons driven by Poisson input spikes through voltage-jump synapses."""

    kind = "lif-poisson-trace"
    headline = ("mean_output_rate_Hz", "cv_isi", "mean_v_mV")
    figures = {"trace": "bioSNN.plots.lif_poisson:plot_lif_poisson_trace"}
    populations = {"neurons": "seed LIF neuron (bioSNN.neurons.lif_group, LIFParams.SEED)",
                   "input": "Poisson spike generator (Brian2 PoissonGroup)"}
    Params = LIFPoissonParams

    def simulate(self, ctx):
        p = self.params
        inputs = PoissonGroup(p.n_inputs, rates=p.input_rate, namespace={}, name="inputs")
        lif = lif_group(p.n_neurons, NEURON, name="lif")
        syn = Synapses(inputs, lif, "w : volt", on_pre="v_post += w", namespace={}, name="syn")
        pre, post = np.meshgrid(np.arange(p.n_inputs), np.arange(p.n_neurons), indexing="ij")
        # explicit (i, j) lists fix the synapse order on every target (also cpp_standalone)
        syn.connect(i=pre.ravel(), j=post.ravel())
        weights = draw_weights(p, ctx.streams.numpy_rng())
        syn.w = weights.ravel() * mV
        in_spikes = SpikeMonitor(inputs, name="input_spikes")
        out_spikes = SpikeMonitor(lif, name="output_spikes")
        state = StateMonitor(lif, "v", record=True, name="state")
        net = Network(inputs, lif, syn, in_spikes, out_spikes, state)
        net.run(p.duration, report=ctx.report, report_period=1 * second, namespace={})

        def sorted_spikes(mon):
            i = np.asarray(mon.i[:], dtype=np.int64)
            t = np.asarray(mon.t[:] / ms)
            order = np.lexsort((i, t))  # by time, then index
            return i[order], t[order]

        in_i, in_t = sorted_spikes(in_spikes)
        out_i, out_t = sorted_spikes(out_spikes)
        scalar = {"units": "mV"}
        return xr.Dataset(
            {
                "v": (("neuron", "time"), np.asarray(state.v[:] / mV),
                      {"units": "mV", "long_name": "membrane potential"}),
                "input_spike_index": ("input_spike", in_i, {"units": "1"}),
                "input_spike_time": ("input_spike", in_t, {"units": "ms"}),
                "spike_neuron": ("spike", out_i, {"units": "1", "long_name": "LIF neuron index"}),
                "spike_time": ("spike", out_t, {"units": "ms"}),
                "w": (("input", "neuron"), weights,
                      {"units": "mV", "long_name": "synaptic weight (voltage jump)"}),
                "E_L": ((), float(NEURON.E_L / mV), {**scalar, "long_name": "resting potential"}),
                "V_th": ((), float(NEURON.V_th / mV), {**scalar, "long_name": "spike threshold"}),
                "V_r": ((), float(NEURON.V_r / mV), {**scalar, "long_name": "reset potential"}),
                "tau_m": ((), float(NEURON.tau_m / ms), {"units": "ms"}),
                "t_ref": ((), float(NEURON.t_ref / ms), {"units": "ms"}),
            },
            coords={
                "neuron": ("neuron", np.arange(p.n_neurons), {"units": "1"}),
                "input": ("input", np.arange(p.n_inputs), {"units": "1"}),
                "time": ("time", np.asarray(state.t[:] / ms), {"units": "ms"}),
            },
        )

    @staticmethod
    def summarize(data, params):
        return output_features(data, params)


def output_features(data: xr.Dataset, params: LIFPoissonParams) -> dict:
    """Headline numbers of a run (pure function of the saved data).

    Returns
    -------
    dict
        ``input_rate_Hz`` (nominal) and ``input_rate_measured_Hz`` (input spikes per
        input per second); ``mean_output_rate_Hz`` and per neuron ``neuron<k>_rate_Hz``;
        ``mean_v_mV`` (membrane potential averaged over neurons and time, resets and
        refractory periods included); ``cv_isi`` (coefficient of variation of the
        output inter-spike intervals, pooled over neurons as the mean of the
        per-neuron values, ``neuron<k>_cv_isi``; None with fewer than 3 spikes);
        ``n_output_spikes``; ``mean_weight_mV``; ``predicted_mean_drive_mV``
        (Campbell: n_inputs * rate * mean weight * tau_m, the free-membrane mean
        depolarisation).
    """
    duration_s = float(params.duration / second)
    n_in, n_out = data.sizes["input"], data.sizes["neuron"]
    i = data["spike_neuron"].values.astype(int)
    t = data["spike_time"].values
    rates = np.bincount(i, minlength=n_out) / duration_s
    cvs = []
    for k in range(n_out):
        isi = np.diff(np.sort(t[i == k]))
        cvs.append(float(isi.std() / isi.mean()) if len(isi) >= 2 else None)
    known = [c for c in cvs if c is not None]
    mean_w = float(data["w"].values.mean())
    out = {
        "input_rate_Hz": float(params.input_rate / Hz),
        "input_rate_measured_Hz": float(data.sizes["input_spike"] / (n_in * duration_s)),
        "n_output_spikes": int(len(t)),
        "mean_output_rate_Hz": float(rates.mean()),
        "mean_v_mV": float(data["v"].values.mean()),
        "cv_isi": float(np.mean(known)) if known else None,
        "mean_weight_mV": mean_w,
        "predicted_mean_drive_mV": float(n_in * float(params.input_rate / Hz) * mean_w
                                         * float(data["tau_m"]) / 1000.0),
    }
    for k in range(n_out):
        out[f"neuron{k}_rate_Hz"] = float(rates[k])
        out[f"neuron{k}_cv_isi"] = cvs[k]
    return out
