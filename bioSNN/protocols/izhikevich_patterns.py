"""Protocol ``izhikevich-patterns``: the seven Izhikevich (2003) presets under current steps.

Every preset (RS, IB, CH, FS, LTS, TC, RZ) gets a depolarising step of ``I_step``
from ``t_on`` to ``t_off``; TC and LTS additionally get a hyperpolarising step of
``I_hyper`` over the same window, whose release shows their rebound response. All
nine neurons live in one ``NeuronGroup`` (per-neuron a, b, c, d) driven by a 2-D
``TimedArray``, in one explicit ``Network`` run; v and spikes are recorded.

Reference: Izhikevich, E. M. (2003). Simple model of spiking neurons. IEEE TNN
14:1569-1572 (Fig. 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Network, Quantity, SpikeMonitor, StateMonitor, TimedArray, mV,
                    ms, second)

from ..neurons import izhikevich_group
from ..params import IzhikevichParams
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["IzhikevichPatterns", "IzhikevichPatternParams", "neuron_table", "spike_features"]

PRESET_ORDER = ("RS", "IB", "CH", "FS", "LTS", "TC", "RZ")
REBOUND = ("TC", "LTS")


@dataclass(frozen=True)
class IzhikevichPatternParams:
    I_step: Quantity = param(10 * mV, unit=mV,
                             doc="depolarising step (the paper's current, in mV)")
    I_hyper: Quantity = param(-10 * mV, unit=mV, max=0,
                              doc="hyperpolarising step for the TC/LTS rebound neurons")
    t_on: Quantity = param(50 * ms, unit=ms, min=0, doc="step onset")
    t_off: Quantity = param(350 * ms, unit=ms, min=0, doc="step offset")
    duration: Quantity = param(500 * ms, unit=ms, min=0, min_inclusive=False, doc="simulated time")
    v_init: Quantity = param(-65 * mV, unit=mV, doc="initial v (u starts at b*v)")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step (forward Euler)")

    def check(self):
        if not self.t_off > self.t_on:
            raise ParamConflict("t_off", f"must be later than t_on ({self.t_on})")
        if not self.duration > self.t_off:
            raise ParamConflict("duration", f"must be longer than t_off ({self.t_off})")


def neuron_table(p: IzhikevichPatternParams) -> list[tuple[str, str, Quantity]]:
    """(label, preset, step amplitude) of every recorded neuron, in order."""
    rows = [(name, name, p.I_step) for name in PRESET_ORDER]
    rows += [(f"{name}-rebound", name, p.I_hyper) for name in REBOUND]
    return rows


@register
class IzhikevichPatterns(BrianProtocol):
    """Firing patterns of the Izhikevich (2003) presets under step currents."""

    kind = "izhikevich-patterns"
    headline = ("RS_rate_during_step_Hz", "FS_rate_during_step_Hz", "RS_isi_ratio")
    figures = {"gallery": "bioSNN.plots.izhikevich:plot_izhikevich_gallery"}
    populations = {"neurons": "Izhikevich (2003) neuron, one preset per neuron (label)"}
    Params = IzhikevichPatternParams

    def simulate(self, ctx):
        p = self.params
        rows = neuron_table(p)
        n_steps = int(round(float(p.duration / p.dt)))
        t = np.arange(n_steps) * float(p.dt / ms)
        on = (t >= float(p.t_on / ms) - 1e-9) & (t < float(p.t_off / ms) - 1e-9)
        amp = np.array([float(a / mV) for _, _, a in rows])
        stim = on[:, None] * amp[None, :]  # (time, neuron), mV
        I_stim = TimedArray(stim * mV, dt=p.dt, name="I_stim")
        group = izhikevich_group([IzhikevichParams.preset(pre) for _, pre, _ in rows],
                                 current="I_stim(t, i)", namespace={"I_stim": I_stim},
                                 v_init=p.v_init, name="izhikevich")
        spikes = SpikeMonitor(group, name="spikes")
        state = StateMonitor(group, ["v", "u"], record=True, name="state")
        net = Network(group, spikes, state)
        net.run(p.duration, report=ctx.report, report_period=1 * second, namespace={})
        i = np.asarray(spikes.i[:], dtype=np.int64)
        ts = np.asarray(spikes.t[:] / ms)
        order = np.lexsort((ts, i))
        presets = [IzhikevichParams.preset(pre) for _, pre, _ in rows]
        return xr.Dataset(
            {
                "v": (("neuron", "time"), np.asarray(state.v[:] / mV), {"units": "mV"}),
                "u": (("neuron", "time"), np.asarray(state.u[:] / mV), {"units": "mV"}),
                "I": (("neuron", "time"), stim.T.copy(), {"units": "mV",
                                                         "long_name": "input current (paper units)"}),
                "spike_neuron": ("spike", i[order], {"units": "1"}),
                "spike_time": ("spike", ts[order], {"units": "ms"}),
                "a": ("neuron", [float(q.a * ms) for q in presets], {"units": "1/ms"}),
                "b": ("neuron", [q.b for q in presets], {"units": "1"}),
                "c": ("neuron", [float(q.c / mV) for q in presets], {"units": "mV"}),
                "d": ("neuron", [float(q.d / mV) for q in presets], {"units": "mV"}),
            },
            coords={
                "neuron": ("neuron", [r[0] for r in rows], {"units": "1"}),
                "preset": ("neuron", [r[1] for r in rows], {"units": "1"}),
                "time": ("time", np.asarray(state.t[:] / ms), {"units": "ms"}),
            },
        )

    @staticmethod
    def summarize(data, params):
        out = {}
        for label, feats in spike_features(data, params).items():
            for key, value in feats.items():
                out[f"{label}_{key}"] = value
        return out



def spike_features(data: xr.Dataset, params: IzhikevichPatternParams) -> dict[str, dict]:
    """Per neuron: spikes during the step, after its release, first/last ISI (ms),
    ISI ratio last/first (> 1: adaptation) and mean rate during the step (Hz)."""
    t_on, t_off = float(params.t_on / ms), float(params.t_off / ms)
    i = data["spike_neuron"].values.astype(int)
    t = data["spike_time"].values
    out = {}
    for k, label in enumerate(data["neuron"].values):
        tk = t[i == k]
        during = tk[(tk >= t_on) & (tk < t_off)]
        after = tk[tk >= t_off]
        isi = np.diff(during)
        out[str(label)] = {
            "spikes_during_step": int(len(during)),
            "spikes_after_step": int(len(after)),
            "first_isi_ms": float(isi[0]) if len(isi) else None,
            "last_isi_ms": float(isi[-1]) if len(isi) else None,
            "isi_ratio": float(isi[-1] / isi[0]) if len(isi) >= 2 else None,
            "rate_during_step_Hz": float(len(during) / ((t_off - t_on) / 1000.0)),
        }
    return out
