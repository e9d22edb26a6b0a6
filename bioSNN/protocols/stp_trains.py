r"""Protocol ``stp-trains``: EPSP trains through depressing and facilitating synapses
(Tsodyks & Markram 1997; Markram, Wang & Tsodyks 1998).

Regular presynaptic trains of ``n_spikes`` spikes at each frequency of
``frequencies_Hz``, then one test spike ``recovery`` after the last (Markram et al.'s
protocol: 8 pulses and a recovery pulse), reach one Tsodyks–Markram synapse
(:class:`~bioSNN.plasticity.TsodyksMarkram`, tsodyks2 formulation) of each type per
frequency, in one Brian2 network:

``depressing``
    ``TsodyksMarkram.depressing()``: U 0.67, τ_rec 450 ms, no facilitation.
``facilitating``
    ``TsodyksMarkram.facilitating()``: U 0.1, τ_rec 100 ms, τ_facil 1000 ms.

Each synapse drives its own passive membrane (no threshold): an exponential synaptic
current :math:`\tau_s \dot I = -I`, :math:`I \leftarrow I + J\,r` at each spike of
efficacy :math:`r = u x`, and :math:`\tau_m \dot v = E_L - v + I` (``tau_m`` 50 ms,
``tau_s`` 3 ms, ``J`` 20 mV: the first EPSP of a rested depressing synapse ~0.7 mV).
The efficacy of every spike is read from the synapse right after the spike and
compared with the recursion of Tsodyks et al. (1998) and the analytic steady state
(:func:`~bioSNN.plasticity.tm_regular_train`, :func:`~bioSNN.plasticity.tm_steady_state`).

References
----------
Tsodyks MV, Markram H (1997). The neural code between neocortical pyramidal neurons
depends on neurotransmitter release probability. PNAS 94:719-723.
Markram H, Wang Y, Tsodyks M (1998). Differential signaling via the same axon of
neocortical pyramidal neurons. PNAS 95:5323-5328.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, NeuronGroup, Quantity, SpikeGeneratorGroup, StateMonitor, mV,
                    ms, second)

from ..features.stp_trains import train_features
from ..plasticity import TsodyksMarkram, make_stp_synapses, tm_regular_train, tm_steady_state
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict
from .stdp_frequency import parse_frequencies

__all__ = ["STPTrains", "STPTrainsParams", "SYNAPSES", "train_schedule"]

#: The synapse types, in the order of the run's ``synapse`` dimension.
SYNAPSES = MappingProxyType({"depressing": TsodyksMarkram.depressing(),
                             "facilitating": TsodyksMarkram.facilitating()})

_MEMBRANE = """
dv/dt = (E_L - v + I) / tau_m : volt
dI/dt = -I / tau_s : volt
"""
_START_MS = 10.0


@dataclass(frozen=True)
class STPTrainsParams:
    frequencies_Hz: str = param("5 10 20 40", doc="train frequencies in Hz, ascending, "
                                                  "separated by spaces")
    n_spikes: int = param(10, min=2, max=1000, doc="spikes per train")
    recovery: Quantity = param(500 * ms, unit=ms, min=0, min_inclusive=False,
                               doc="interval from the train's last spike to the test spike")
    tau_m: Quantity = param(50 * ms, unit=ms, min=0, min_inclusive=False,
                            doc="membrane time constant of the passive readout neuron")
    tau_s: Quantity = param(3 * ms, unit=ms, min=0, min_inclusive=False,
                            doc="synaptic current decay")
    E_L: Quantity = param(-70 * mV, unit=mV, doc="resting potential")
    J: Quantity = param(20 * mV, unit=mV, min=0, doc="current jump per unit efficacy")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="time step; periods and the recovery interval must be whole "
                             "multiples")

    def frequencies(self) -> np.ndarray:
        return parse_frequencies(self.frequencies_Hz)

    def check(self):
        freqs = self.frequencies()
        dt_ms = float(self.dt / ms)
        for f in freqs:
            steps = 1000.0 / f / dt_ms
            if abs(steps - round(steps)) > 1e-6:
                raise ParamConflict("frequencies_Hz", f"the period of {f:g} Hz is not a whole "
                                    f"number of time steps dt ({self.dt})")
        steps = float(self.recovery / ms) / dt_ms
        if abs(steps - round(steps)) > 1e-6:
            raise ParamConflict("recovery", f"must be a whole number of time steps dt ({self.dt})")


def train_schedule(p: STPTrainsParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generator index, time step of every spike and the end step, one generator per
    (synapse type, frequency) in that order (type-major); each train starts at 10 ms,
    its test spike follows ``recovery`` after its last spike."""
    dt_ms = float(p.dt / ms)
    start = int(round(_START_MS / dt_ms))
    rec = int(round(float(p.recovery / ms) / dt_ms))
    idx, steps = [], []
    for k in range(len(SYNAPSES)):
        for j, f in enumerate(p.frequencies()):
            period = int(round(1000.0 / f / dt_ms))
            train = start + period * np.arange(p.n_spikes)
            steps.append(np.append(train, train[-1] + rec))
            idx.append(np.full(p.n_spikes + 1, k * len(p.frequencies()) + j))
    steps = np.concatenate(steps)
    return np.concatenate(idx), steps, int(steps.max())


@register
class STPTrains(BrianProtocol):
    """Efficacies and EPSPs of regular trains through Tsodyks–Markram synapses."""

    kind = "stp-trains"
    headline = ("max_rel_error_vs_recursion", "depressing_transmitted_rate_Hz",
                "facilitating_max_over_first_20Hz")
    figures = {"trains": "bioSNN.plots.stp_trains:plot_stp_trains"}
    Params = STPTrainsParams

    def simulate(self, ctx):
        p = self.params
        freqs = p.frequencies()
        names = list(SYNAPSES)
        n_gen = len(names) * len(freqs)
        idx, steps, last = train_schedule(p)
        dt = p.dt
        pre = SpikeGeneratorGroup(n_gen, idx, steps * dt, name="pre")
        post = NeuronGroup(n_gen, _MEMBRANE, method="exact", name="post",
                           namespace={"E_L": p.E_L, "tau_m": p.tau_m, "tau_s": p.tau_s})
        post.v = p.E_L
        objects, synapses, monitors = [pre, post], [], []
        for k, name in enumerate(names):
            syn = make_stp_synapses(pre, post, SYNAPSES[name], on_pre_effect="I_post += J * r",
                                    namespace_extra={"J": p.J}, name=f"syn_{name}")
            ids = np.arange(k * len(freqs), (k + 1) * len(freqs))
            syn.connect(i=ids, j=ids)
            mon = StateMonitor(syn, "r", record=True, when="end", name=f"r_{name}")
            objects += [syn, mon]
            synapses.append(syn)
            monitors.append(mon)
        v_mon = StateMonitor(post, "v", record=True, dt=0.5 * ms, name="v")
        net = Network(*objects, v_mon)
        net.run((last + int(round(300 * ms / dt))) * dt, report=ctx.report,
                report_period=1 * second, namespace={})

        n = p.n_spikes
        eff = np.empty((len(names), len(freqs), n))
        rec = np.empty((len(names), len(freqs)))
        ref = np.empty_like(eff)
        steady = np.empty((len(names), len(freqs)))
        for k, name in enumerate(names):
            r = np.asarray(monitors[k].r[:])                       # (frequency, step)
            for j, f in enumerate(freqs):
                own = np.sort(steps[idx == k * len(freqs) + j])
                eff[k, j] = r[j, own[:n]]
                rec[k, j] = r[j, own[n]]
                ref[k, j] = tm_regular_train(SYNAPSES[name], f * Hz, n)[2]
                steady[k, j] = float(tm_steady_state(SYNAPSES[name], f * Hz)[2])
        stp = [SYNAPSES[s] for s in names]
        return xr.Dataset(
            {
                "efficacy": (("synapse", "frequency", "spike"), eff, {
                    "units": "1", "long_name": "efficacy u x of each spike of the train"}),
                "efficacy_recursion": (("synapse", "frequency", "spike"), ref, {
                    "units": "1", "long_name": "recursion of Tsodyks et al. (1998)"}),
                "efficacy_steady_state": (("synapse", "frequency"), steady, {
                    "units": "1", "long_name": "analytic steady-state efficacy"}),
                "recovery_efficacy": (("synapse", "frequency"), rec, {
                    "units": "1", "long_name": "efficacy of the test spike after the train"}),
                "v": (("synapse", "frequency", "time"),
                      np.asarray(v_mon.v[:] / mV).reshape(len(names), len(freqs), -1),
                      {"units": "mV", "long_name": "membrane potential of the readout neuron"}),
                "U": ("synapse", [s.U for s in stp], {"units": "1"}),
                "tau_rec": ("synapse", [float(s.tau_rec / ms) for s in stp], {"units": "ms"}),
                "tau_facil": ("synapse", [float(s.tau_facil / ms) for s in stp], {"units": "ms"}),
            },
            coords={"synapse": ("synapse", names, {"units": "1"}),
                    "frequency": ("frequency", freqs, {"units": "Hz"}),
                    "spike": ("spike", np.arange(1, n + 1), {"units": "1"}),
                    "time": ("time", np.asarray(v_mon.t[:] / ms), {"units": "ms"})},
            attrs={"n_spikes": n, "recovery_ms": float(p.recovery / ms),
                   "start_ms": _START_MS},
        )

    @staticmethod
    def summarize(data, params):
        return train_features(data)
