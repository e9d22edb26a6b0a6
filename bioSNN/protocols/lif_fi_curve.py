r"""Protocol ``lif-fi-curve``: f-I curve of the LIF neuron against the analytic rate.

One ``NeuronGroup`` holds one LIF neuron per injected constant current (from
``I_min`` to ``I_max``); a single run of ``duration`` records every spike and the
membrane trace of a few neurons. The measured steady rate (1 / mean ISI) is
compared with

.. math:: r(I) = 1 / \left(t_{ref} + \tau_m \ln\frac{R I + E_L - V_r}{R I + E_L - V_{th}}\right)

(:func:`bioSNN.analytic.lif_rate`); with exact integration every measured ISI lies
within one time step of the analytic one, no neuron below rheobase fires, and the
rate approaches ``1/t_ref`` at large currents. With membrane noise (``sigma > 0``,
Euler-Maruyama) the curve is smoothed around rheobase and the analytic formula is
only a reference.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Mohm, Network, Quantity, SpikeMonitor, StateMonitor, mV,
                    ms, nA, second)

from ..analytic import lif_first_spike_time, lif_rate
from ..neurons import lif_group
from ..params import LIFParams
from ..features.lif import fi_features, measured_rates  # noqa: F401 (re-exported)
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["LIFFICurve", "LIFFIParams"]

_SEED = LIFParams.SEED


@dataclass(frozen=True)
class LIFFIParams:
    E_L: Quantity = param(_SEED.E_L, unit=mV, doc="resting potential")
    V_th: Quantity = param(_SEED.V_th, unit=mV, doc="spike threshold")
    V_r: Quantity = param(_SEED.V_r, unit=mV, doc="reset potential (held during t_ref)")
    tau_m: Quantity = param(_SEED.tau_m, unit=ms, min=0, min_inclusive=False,
                            doc="membrane time constant")
    t_ref: Quantity = param(_SEED.t_ref, unit=ms, min=0, doc="absolute refractory period")
    R_m: Quantity = param(_SEED.R_m, unit=Mohm, min=0, min_inclusive=False,
                          doc="membrane resistance")
    I_min: Quantity = param(0 * nA, unit=nA, doc="smallest injected current")
    I_max: Quantity = param(1 * nA, unit=nA, doc="largest injected current")
    n_currents: int = param(41, min=2, max=100000, doc="number of currents (one neuron each)")
    duration: Quantity = param(2 * second, unit=ms, min=0, min_inclusive=False,
                               doc="simulated time")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step")
    n_traces: int = param(3, min=0, max=20, doc="neurons whose membrane trace is recorded")
    sigma: Quantity = param(0 * mV, unit=mV, min=0,
                            doc="membrane noise s.d. (0: deterministic, exact integration)")

    def check(self):
        if not self.I_max > self.I_min:
            raise ParamConflict("I_max", f"must be larger than I_min ({self.I_min})")
        if not self.V_th > self.V_r:
            raise ParamConflict("V_th", f"must lie above V_r ({self.V_r})")
        if not self.duration >= 10 * self.dt:
            raise ParamConflict("duration", f"must cover at least 10 time steps of dt ({self.dt})")

    @property
    def lif(self) -> LIFParams:
        return LIFParams(E_L=self.E_L, V_th=self.V_th, V_r=self.V_r, tau_m=self.tau_m,
                         t_ref=self.t_ref, R_m=self.R_m)

    def currents(self) -> Quantity:
        return np.linspace(float(self.I_min / nA), float(self.I_max / nA), self.n_currents) * nA


def trace_indices(p: LIFFIParams) -> np.ndarray:
    """Neurons whose membrane is recorded: spread over the supra-threshold range."""
    if p.n_traces == 0:
        return np.array([], dtype=int)
    I = np.asarray(p.currents() / nA)
    above = np.flatnonzero(I > float(p.lif.rheobase / nA))
    pool = above if len(above) >= p.n_traces else np.arange(p.n_currents)
    return np.unique(pool[np.linspace(0, len(pool) - 1, p.n_traces).round().astype(int)])


@register
class LIFFICurve(BrianProtocol):
    """f-I curve of the LIF neuron vs :func:`bioSNN.analytic.lif_rate`."""

    kind = "lif-fi-curve"
    headline = ("rate_at_I_max_Hz", "rheobase_nA", "max_abs_isi_error_ms")
    figures = {"fi-curve": "bioSNN.plots.lif_fi:plot_fi_curve"}
    populations = {"neurons": "seed LIF neuron under a constant current, one current per "
                              "neuron (bioSNN.neurons.lif_group)"}
    Params = LIFFIParams

    def simulate(self, ctx):
        p = self.params
        I = p.currents()
        group = lif_group(p.n_currents, p.lif, name="lif", sigma=p.sigma)
        group.I = I
        spikes = SpikeMonitor(group, name="spikes")
        rec = trace_indices(p)
        objects = [group, spikes]
        if len(rec):
            trace = StateMonitor(group, "v", record=rec, name="trace")
            objects.append(trace)
        net = Network(*objects)
        net.run(p.duration, report=ctx.report, report_period=1 * second, namespace={})
        i = np.asarray(spikes.i[:], dtype=np.int64)
        t = np.asarray(spikes.t[:] / ms)
        order = np.lexsort((t, i))
        data = xr.Dataset(
            {
                "spike_neuron": ("spike", i[order], {"units": "1", "long_name": "neuron index"}),
                "spike_time": ("spike", t[order], {"units": "ms"}),
                "rate_analytic": ("current", np.asarray(lif_rate(I, p.lif) / Hz),
                                  {"units": "Hz", "long_name": "analytic steady-state rate"}),
                "first_spike_analytic": ("current",
                                         np.asarray(lif_first_spike_time(I, p.lif) / ms),
                                         {"units": "ms", "long_name": "analytic time to first spike from rest"}),
            },
            coords={"current": ("current", np.asarray(I / nA), {"units": "nA"})},
        )
        if len(rec):
            data["v_trace"] = (("trace", "time"), np.asarray(trace.v[:] / mV), {"units": "mV"})
            data = data.assign_coords(
                trace_current=("trace", np.asarray(I[rec] / nA), {"units": "nA"}),
                time=("time", np.asarray(trace.t[:] / ms), {"units": "ms"}))
        return data

    @staticmethod
    def summarize(data, params):
        return fi_features(data, params)
