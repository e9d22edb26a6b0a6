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
from brian2 import (Hz, Mohm, Network, Quantity, SpikeMonitor, StateMonitor, defaultclock, mV,
                    ms, nA, second)

from ..analytic import lif_first_spike_time, lif_rate
from ..neurons import lif_group
from ..params import LIFParams
from .base import Protocol
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
class LIFFICurve(Protocol):
    """f-I curve of the LIF neuron vs :func:`bioSNN.analytic.lif_rate`."""

    kind = "lif-fi-curve"
    Params = LIFFIParams

    def simulate(self, streams, report):
        p = self.params
        defaultclock.dt = p.dt
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
        net.run(p.duration, report=report, report_period=1 * second, namespace={})
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



def fi_features(data: xr.Dataset, params: LIFFIParams) -> dict:
    """Headline numbers of an f-I run (pure function of the saved data).

    Returns
    -------
    dict
        ``rheobase_nA`` (analytic) and ``rheobase_measured_nA`` (smallest current
        that fired), ``max_abs_isi_error_ms`` / ``max_abs_first_spike_error_ms``
        against the analytic values, ``isi_within_dt`` (bool), ``silent_below_rheobase``
        (bool), ``rate_at_I_max_Hz``, ``saturation_rate_Hz`` (1/t_ref), ``dt_ms``.
    """
    m = measured_rates(data)
    I = data["current"].values
    rate_a = data["rate_analytic"].values
    rheo = float(params.lif.rheobase / nA)
    dt_ms = float(params.dt / ms)
    fired = m["spike_count"] > 0
    valid = m["spike_count"] >= 2
    with np.errstate(divide="ignore"):
        isi_a = np.where(rate_a > 0, 1000.0 / np.where(rate_a > 0, rate_a, 1), np.inf)
    isi_err = np.abs(m["mean_isi_ms"][valid] - isi_a[valid])
    fs_err = np.abs(m["first_spike_ms"][fired] - data["first_spike_analytic"].values[fired])
    return {
        "n_currents": int(len(I)),
        "dt_ms": dt_ms,
        "rheobase_nA": rheo,
        "rheobase_measured_nA": float(I[fired].min()) if fired.any() else None,
        "silent_below_rheobase": bool(not fired[I < rheo].any()),
        "n_firing": int(fired.sum()),
        "max_abs_isi_error_ms": float(isi_err.max()) if isi_err.size else None,
        "max_abs_first_spike_error_ms": float(fs_err.max()) if fs_err.size else None,
        "isi_within_dt": bool(isi_err.size and isi_err.max() <= dt_ms + 1e-9),
        "rate_at_I_max_Hz": float(m["rate_Hz"][-1]),
        "analytic_rate_at_I_max_Hz": float(rate_a[-1]),
        "saturation_rate_Hz": float(1.0 / params.t_ref * second) if params.t_ref > 0 else None,
    }


def measured_rates(data: xr.Dataset) -> dict[str, np.ndarray]:
    """Per-current spike count, first spike (ms), mean ISI (ms) and steady rate (Hz).

    The steady rate is 1/mean ISI where a neuron fired twice or more, else 0.
    """
    n = data.sizes["current"]
    i = data["spike_neuron"].values.astype(int)
    t = data["spike_time"].values
    count = np.bincount(i, minlength=n)
    first = np.full(n, np.nan)
    mean_isi = np.full(n, np.nan)
    for k in np.flatnonzero(count):
        tk = t[i == k]
        first[k] = tk[0]
        if len(tk) >= 2:
            mean_isi[k] = (tk[-1] - tk[0]) / (len(tk) - 1)
    rate = np.where(np.isfinite(mean_isi), 1000.0 / np.where(np.isfinite(mean_isi), mean_isi, 1), 0.0)
    return {"spike_count": count, "first_spike_ms": first, "mean_isi_ms": mean_isi, "rate_Hz": rate}


LIFFICurve.figures = {"fi-curve": "bioSNN.plots.lif_fi:plot_fi_curve"}
