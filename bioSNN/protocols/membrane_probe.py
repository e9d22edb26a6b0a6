r"""Protocol ``membrane-probe``: current-clamp probes of the seed LIF neuron and the Izhikevich presets.

The standard slice-electrophysiology protocol, applied to every model neuron of
bioSNN (the seed LIF neuron, :data:`bioSNN.params.LIFParams.SEED`, and the seven
Izhikevich 2003 presets), each model in three roles:

``probe``
    a small hyperpolarising step (``probe_lif`` / ``probe_izh``): resting potential
    before it, membrane time constant (time to 63.2 % of the steady deflection),
    input resistance, and sub-threshold ringing (damped oscillation: resonance);
``ladder``
    ``n_ladder`` depolarising steps from 0 to ``ladder_max_lif`` / ``ladder_max_izh``:
    the rheobase (smallest step that fires) and, on the first spike at rheobase, the
    spike threshold (the membrane potential where dv/dt first exceeds
    ``dvdt_threshold``; for the LIF neuron, whose spike is a hard threshold, the last
    potential before the spike);
``drive``
    a strong step (``drive_lif`` / ``drive_izh``): the absolute refractory period of
    the LIF neuron (time clamped at reset after a spike).

Every step starts at ``t_settle`` (after the neurons relaxed from their initial state)
and lasts ``t_step``; ``t_after`` follows. The LIF neurons and the Izhikevich
neurons are two ``NeuronGroup``\ s in one explicit ``Network``; the stimulus is a
``TimedArray`` (one column per neuron). The Izhikevich input is in the paper's units
(mV, entering dv/dt like u), the LIF input in nA.

The v traces of the probe, drive and rheobase neurons of every model are saved from
``t_settle - 100 ms`` on; every spike of every neuron is saved.

References
----------
Izhikevich, E. M. (2003). Simple model of spiking neurons. IEEE TNN 14:1569-1572.
Tanaka, Y. R. et al. (2011). Local connections of excitatory neurons to
corticothalamic neurons in the rat barrel cortex. J Neurosci 31:18223-18236 (Table 3:
the current-clamp measures this protocol mirrors).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Network, Quantity, SpikeMonitor, StateMonitor, TimedArray, mV,
                    ms, nA, second)

from ..neurons import izhikevich_group, lif_group
from ..params import IzhikevichParams, LIFParams
from ..features.membrane import membrane_features  # noqa: F401 (re-exported)
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["MembraneProbe", "MembraneProbeParams", "MODELS", "LIF_NEURON", "cell_table",
           "membrane_features"]

LIF_NEURON = LIFParams.SEED
"""The LIF neuron probed here (the seed neuron)."""
IZH_PRESETS = ("RS", "IB", "CH", "FS", "LTS", "TC", "RZ")
MODELS = ("LIF",) + IZH_PRESETS
ROLES = ("probe", "rheobase", "drive")  # the saved traces per model
_PRE_MS = 100.0  # saved trace starts this long before the step


@dataclass(frozen=True)
class MembraneProbeParams:
    probe_lif: Quantity = param(-0.02 * nA, unit=nA, max=0, max_inclusive=False,
                                doc="hyperpolarising probe step of the LIF neuron")
    probe_izh: Quantity = param(-0.1 * mV, unit=mV, max=0, max_inclusive=False,
                                doc="hyperpolarising probe step of the Izhikevich neurons (paper units)")
    ladder_max_lif: Quantity = param(0.15 * nA, unit=nA, min=0, min_inclusive=False,
                                     doc="largest rheobase-ladder step, LIF")
    ladder_max_izh: Quantity = param(10 * mV, unit=mV, min=0, min_inclusive=False,
                                     doc="largest rheobase-ladder step, Izhikevich (paper units)")
    n_ladder: int = param(41, min=2, max=2000, doc="ladder steps per model, from 0 to the maximum")
    drive_lif: Quantity = param(1 * nA, unit=nA, min=0, min_inclusive=False,
                                doc="strong step of the LIF drive neuron")
    drive_izh: Quantity = param(20 * mV, unit=mV, min=0, min_inclusive=False,
                                doc="strong step of the Izhikevich drive neurons (paper units)")
    t_settle: Quantity = param(500 * ms, unit=ms, min=100, doc="time before the step (relaxation to rest)")
    t_step: Quantity = param(300 * ms, unit=ms, min=0, min_inclusive=False, doc="step duration")
    t_after: Quantity = param(200 * ms, unit=ms, min=0, doc="time after the step")
    dvdt_threshold: float = param(10.0, min=0, min_inclusive=False,
                                  doc="spike-onset criterion dv/dt (mV/ms) for the threshold")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step")

    def check(self):
        for name in ("t_settle", "t_step", "t_after"):
            steps = float(getattr(self, name) / self.dt)
            if abs(steps - round(steps)) > 1e-6:
                raise ParamConflict(name, f"must be a whole number of time steps dt ({self.dt})")

    @property
    def duration(self) -> Quantity:
        return self.t_settle + self.t_step + self.t_after

    def steps(self, q: Quantity) -> int:
        return int(round(float(q / self.dt)))


def cell_table(p: MembraneProbeParams) -> list[tuple[str, str, float]]:
    """(model, role, step amplitude) of every neuron, LIF neurons first.

    Amplitudes are in nA for the LIF neuron and in mV (paper units) for the
    Izhikevich presets; roles are ``probe``, ``ladder`` and ``drive``.
    """
    rows = []
    for model in MODELS:
        lif = model == "LIF"
        probe = float(p.probe_lif / nA) if lif else float(p.probe_izh / mV)
        top = float(p.ladder_max_lif / nA) if lif else float(p.ladder_max_izh / mV)
        drive = float(p.drive_lif / nA) if lif else float(p.drive_izh / mV)
        rows.append((model, "probe", probe))
        rows += [(model, "ladder", float(a)) for a in np.linspace(0.0, top, p.n_ladder)]
        rows.append((model, "drive", drive))
    return rows


def _stimulus(p: MembraneProbeParams, amps: np.ndarray, unit) -> TimedArray:
    """Step stimulus as a TimedArray on a coarse grid (the step edges only)."""
    a, b, c = p.steps(p.t_settle), p.steps(p.t_step), p.steps(p.t_after)
    block = math.gcd(math.gcd(a, b), c) if c else math.gcd(a, b)
    rows = np.zeros(((a + b + c) // block, len(amps)))
    rows[a // block:(a + b) // block] = amps[None, :]
    return TimedArray(rows * unit, dt=block * p.dt)


@register
class MembraneProbe(BrianProtocol):
    """Rest, membrane time constant, rheobase, threshold, refractoriness and resonance."""

    kind = "membrane-probe"
    headline = ("LIF_tau_m_ms", "LIF_rest_mV", "LIF_threshold_mV")
    figures = {"probe": "bioSNN.protocols.membrane_probe:_fig_probe"}
    populations = {"neurons": "probed cells: the seed LIF neuron and the Izhikevich (2003) "
                              "presets (label: model/probe)"}
    Params = MembraneProbeParams

    def simulate(self, ctx):
        p = self.params
        rows = cell_table(p)
        lif_rows = [r for r in rows if r[0] == "LIF"]
        izh_rows = [r for r in rows if r[0] != "LIF"]
        lif_stim = _stimulus(p, np.array([r[2] for r in lif_rows]), nA)
        izh_stim = _stimulus(p, np.array([r[2] for r in izh_rows]), mV)
        lif = lif_group(len(lif_rows), LIF_NEURON, current="lif_stim(t, i)",
                        namespace={"lif_stim": lif_stim}, method="exact", name="lif")
        izh = izhikevich_group([IzhikevichParams.preset(r[0]) for r in izh_rows],
                               current="izh_stim(t, i)", namespace={"izh_stim": izh_stim},
                               name="izhikevich")
        mons = [SpikeMonitor(lif, name="lif_spikes"), SpikeMonitor(izh, name="izh_spikes")]
        states = [StateMonitor(lif, "v", record=True, name="lif_v"),
                  StateMonitor(izh, "v", record=True, name="izh_v")]
        net = Network(lif, izh, *mons, *states)
        net.run(p.duration, report=ctx.report, report_period=1 * second, namespace={})

        n_lif = len(lif_rows)
        spike_cell = np.concatenate([np.asarray(mons[0].i[:], np.int64),
                                     np.asarray(mons[1].i[:], np.int64) + n_lif])
        spike_time = np.concatenate([np.asarray(mons[0].t[:] / ms), np.asarray(mons[1].t[:] / ms)])
        order = np.lexsort((spike_time, spike_cell))
        spike_cell, spike_time = spike_cell[order], spike_time[order]
        t = np.asarray(states[0].t[:] / ms)
        keep = t >= float(p.t_settle / ms) - _PRE_MS - 1e-9
        v_all = np.concatenate([np.asarray(states[0].v[:] / mV), np.asarray(states[1].v[:] / mV)])

        models = np.array([r[0] for r in rows])
        roles = np.array([r[1] for r in rows])
        t_on, t_off = float(p.t_settle / ms), float((p.t_settle + p.t_step) / ms)
        in_step = (spike_time >= t_on) & (spike_time < t_off)
        count = np.bincount(spike_cell[in_step], minlength=len(rows))
        trace_cell = np.zeros((len(MODELS), len(ROLES)), dtype=np.int64)
        for m, model in enumerate(MODELS):
            cells = np.flatnonzero(models == model)
            ladder = cells[roles[cells] == "ladder"]
            firing = ladder[count[ladder] > 0]
            trace_cell[m] = (cells[roles[cells] == "probe"][0],
                             firing[0] if len(firing) else ladder[-1],
                             cells[roles[cells] == "drive"][0])
        v_traces = v_all[trace_cell.ravel()][:, keep].reshape(len(MODELS), len(ROLES), -1)
        lif_mask = models == "LIF"
        amps = np.array([r[2] for r in rows])
        return xr.Dataset(
            {
                "v": (("model", "role", "time"), v_traces.astype(np.float32),
                      {"units": "mV", "long_name": "membrane potential of the probe, rheobase "
                       "and drive neurons"}),
                "trace_cell": (("model", "role"), trace_cell,
                               {"units": "1", "long_name": "cell shown in each trace"}),
                "spike_cell": ("spike", spike_cell, {"units": "1"}),
                "spike_time": ("spike", spike_time, {"units": "ms"}),
                "cell_stim_nA": ("cell", np.where(lif_mask, amps, np.nan),
                                 {"units": "nA", "long_name": "step amplitude (LIF cells)"}),
                "cell_stim_mV": ("cell", np.where(lif_mask, np.nan, amps),
                                 {"units": "mV", "long_name": "step amplitude (Izhikevich cells, "
                                  "paper units)"}),
                "E_L": ((), float(LIF_NEURON.E_L / mV), {"units": "mV"}),
                "V_th": ((), float(LIF_NEURON.V_th / mV), {"units": "mV"}),
                "V_r": ((), float(LIF_NEURON.V_r / mV), {"units": "mV"}),
                "tau_m": ((), float(LIF_NEURON.tau_m / ms), {"units": "ms"}),
                "t_ref": ((), float(LIF_NEURON.t_ref / ms), {"units": "ms"}),
            },
            coords={
                "model": ("model", list(MODELS), {"units": "1"}),
                "role": ("role", list(ROLES), {"units": "1"}),
                "time": ("time", t[keep], {"units": "ms"}),
                "cell": ("cell", np.arange(len(rows)), {"units": "1"}),
                "cell_model": ("cell", models.tolist(), {"units": "1"}),
                "cell_role": ("cell", roles.tolist(), {"units": "1"}),
            },
            attrs={"t_on_ms": t_on, "t_off_ms": t_off, "dt_ms": float(p.dt / ms)},
        )

    @staticmethod
    def summarize(data, params):
        out = {}
        for model, feats in membrane_features(data, params).items():
            for key, value in feats.items():
                out[f"{model}_{key}"] = value
        return out


def _fig_probe(results):
    from ..plots.style import STYLE_FILE, figure

    import matplotlib.pyplot as plt

    data = results.data
    t = data["time"].values
    fig, axes = figure(len(ROLES), len(MODELS), size=(12.0, 5.0), sharex=True)
    with plt.style.context(str(STYLE_FILE)):
        for m, model in enumerate(data["model"].values):
            for r, role in enumerate(ROLES):
                ax = axes[r, m]
                ax.plot(t, data["v"].values[m, r], color="C0", lw=0.6)
                if r == 0:
                    ax.set_title(str(model), loc="left")
                if m == 0:
                    ax.set_ylabel(f"{role}\nv (mV)")
                if r == len(ROLES) - 1:
                    ax.set_xlabel("time (ms)")
    return fig
