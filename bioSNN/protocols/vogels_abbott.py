r"""Protocol ``vogels-abbott``: the self-sustained E/I networks of Vogels & Abbott (2005)
in the form of benchmarks 1 (COBA) and 2 (CUBA) of Brette et al. (2007).

:math:`N` LIF neurons (a fraction ``exc_fraction`` excitatory, the rest inhibitory),
random connectivity with probability ``p_connect``, exponential synapses, no external
drive. ``synapse = "current"`` (CUBA):

.. math:: C_m \dot V = g_L (E_L - V) + I_e + I_i, \quad
          \tau_{e,i} \dot I_{e,i} = -I_{e,i},

a spike adds :math:`w_{e,i} (E_{e,i} - V_{mean})` to :math:`I_{e,i}` (PyNN's
``VAbenchmarks.py`` weights; 1.62 mV and -9 mV as voltage jumps of :math:`I/g_L`).
``synapse = "conductance"`` (COBA):

.. math:: C_m \dot V = g_L (E_L - V) + g_e (E_e - V) + g_i (E_i - V), \quad
          \tau_{e,i} \dot g_{e,i} = -g_{e,i},

a spike adds :math:`w_{e,i}` to :math:`g_{e,i}`. Threshold :math:`V_t`, reset to
:math:`V_r`, V clamped for :math:`\tau_{ref}` (the synaptic variables keep decaying).

Vogels, T. P. & Abbott, L. F. (2005). J Neurosci 25:10786-10795. Brette, R. et al.
(2007). Simulation of networks of spiking neurons. J Comput Neurosci 23:349-398.
Details: ``docs/vogels_abbott.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, Quantity, SpikeMonitor,
                    StateMonitor, Synapses, mV, ms, nS, pF, second)

from ..features.population import neuron_rates, population_features
from ..units import format_quantity as fq
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["VogelsAbbott", "VogelsAbbottParams", "fixed_probability", "cuba_jumps",
           "cuba_propagators",
           "vogels_abbott_features"]

SYNAPSES = ("current", "conductance")


@dataclass(frozen=True)
class VogelsAbbottParams:
    synapse: str = param("current", choices=SYNAPSES,
                         doc="current: CUBA (benchmark 2); conductance: COBA (benchmark 1)")
    n_neurons: int = param(4000, min=5, max=200000, doc="N neurons, E first")
    exc_fraction: float = param(0.8, min=0, max=1, min_inclusive=False, max_inclusive=False,
                                doc="excitatory fraction: N_E = round(exc_fraction N)")
    p_connect: float = param(0.02, min=0, max=1,
                             doc="connection probability of every ordered pair (no autapses)")
    C_m: Quantity = param(200 * pF, unit=pF, min=0, min_inclusive=False, max=1e6,
                          doc="membrane capacitance (tau_m = C_m / g_L)")
    g_L: Quantity = param(10 * nS, unit=nS, min=0, min_inclusive=False, max=1e6,
                          doc="leak conductance")
    E_L: Quantity = param(-49 * mV, unit=mV, min=-200, max=100,
                          doc="leak reversal potential (CUBA -49 mV, COBA -60 mV)")
    V_t: Quantity = param(-50 * mV, unit=mV, min=-200, max=100, doc="firing threshold")
    V_r: Quantity = param(-60 * mV, unit=mV, min=-200, max=100, doc="reset potential")
    tau_ref: Quantity = param(5 * ms, unit=ms, min=0, max=100,
                              doc="refractory period (V clamped at V_r)")
    tau_e: Quantity = param(5 * ms, unit=ms, min=0, min_inclusive=False, max=1e6,
                            doc="decay time constant of the excitatory synaptic variable")
    tau_i: Quantity = param(10 * ms, unit=ms, min=0, min_inclusive=False, max=1e6,
                            doc="decay time constant of the inhibitory synaptic variable")
    E_e: Quantity = param(0 * mV, unit=mV, min=-200, max=100,
                          doc="excitatory reversal potential")
    E_i: Quantity = param(-80 * mV, unit=mV, min=-200, max=100,
                          doc="inhibitory reversal potential")
    w_exc: Quantity = param(0.27 * nS, unit=nS, min=0, max=1e4,
                            doc="excitatory weight as a conductance (CUBA 0.27, COBA 6 nS)")
    w_inh: Quantity = param(4.5 * nS, unit=nS, min=0, max=1e4,
                            doc="inhibitory weight as a conductance (CUBA 4.5, COBA 67 nS)")
    V_mean: Quantity = param(-60 * mV, unit=mV, min=-200, max=100,
                             doc="CUBA only: current jump = w (E_rev - V_mean)")
    delay: Quantity = param(0 * ms, unit=ms, min=0, max=100,
                            doc="synaptic delay (0: effective in the next step)")
    v_init_min: Quantity = param(-60 * mV, unit=mV, min=-200, max=100,
                                 doc="initial V ~ U(v_init_min, v_init_max), numpy stream")
    v_init_max: Quantity = param(-50 * mV, unit=mV, min=-200, max=100,
                                 doc="upper end of the uniform part of the initial V (<= V_t)")
    v_init_sd: Quantity = param(0 * mV, unit=mV, min=0, max=100,
                                doc="initial V = U(v_init_min, v_init_max) + N(0, v_init_sd)")
    ge_init_mean: Quantity = param(0 * nS, unit=nS, min=0, max=1e5,
                                   doc="initial excitatory conductance ~ N(mean, sd) clipped "
                                       "at 0 (CUBA: the current of that conductance)")
    ge_init_sd: Quantity = param(0 * nS, unit=nS, min=0, max=1e5,
                                 doc="s.d. of the initial excitatory conductance")
    gi_init_mean: Quantity = param(0 * nS, unit=nS, min=0, max=1e5,
                                   doc="initial inhibitory conductance ~ N(mean, sd) clipped at 0")
    gi_init_sd: Quantity = param(0 * nS, unit=nS, min=0, max=1e5,
                                 doc="s.d. of the initial inhibitory conductance")
    n_stim: int = param(0, min=0, max=100000,
                        doc="Poisson sources of the initial kick (0: none; PyNN's COBA: 20)")
    stim_rate: Quantity = param(100 * Hz, unit=Hz, min=0, max=10000,
                                doc="rate of each kick source during stim_duration")
    stim_duration: Quantity = param(50 * ms, unit=ms, min=0,
                                    doc="the kick lasts from 0 to stim_duration")
    p_stim: float = param(0.01, min=0, max=1,
                          doc="probability that a kick source projects to a neuron")
    w_stim: Quantity = param(100 * nS, unit=nS, min=0, max=1e5,
                             doc="kick weight, excitatory, as w_exc (PyNN's COBA: 0.1 uS)")
    duration: Quantity = param(1 * second, unit=ms, min=0, min_inclusive=False,
                               doc="simulated time, transient included")
    transient: Quantity = param(100 * ms, unit=ms, min=0,
                                doc="initial time dropped from the analysis")
    rate_bin: Quantity = param(1 * ms, unit=ms, min=0, min_inclusive=False, max=100,
                               doc="bin of the population rate (synchrony, spectrum)")
    n_trace: int = param(0, min=0, max=100,
                         doc="V and synaptic variables of the first n_trace neurons recorded")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step")

    @property
    def n_exc(self) -> int:
        return int(round(self.exc_fraction * self.n_neurons))

    @property
    def n_inh(self) -> int:
        return self.n_neurons - self.n_exc

    @property
    def tau_m(self) -> Quantity:
        return self.C_m / self.g_L

    def check(self):
        if not 1 <= self.n_exc < self.n_neurons:
            raise ParamConflict("exc_fraction", f"leaves no excitatory or no inhibitory neuron "
                                                f"of {self.n_neurons}")
        if not self.V_r < self.V_t:
            raise ParamConflict("V_r", f"must be below V_t ({fq(self.V_t)})")
        if not self.v_init_max >= self.v_init_min:
            raise ParamConflict("v_init_max",
                                f"must be at least v_init_min ({fq(self.v_init_min)})")
        if not self.v_init_max <= self.V_t:
            raise ParamConflict("v_init_max", f"must be at most V_t ({fq(self.V_t)})")
        if not self.E_i < self.E_e:
            raise ParamConflict("E_i", f"must be below E_e ({fq(self.E_e)})")
        if self.delay > 0 * ms and not self.delay >= self.dt:
            raise ParamConflict("delay", f"must be 0 or at least dt ({fq(self.dt)})")
        steps = float(self.rate_bin / self.dt)
        if not (steps >= 1 - 1e-9 and abs(steps - round(steps)) < 1e-6):
            raise ParamConflict("rate_bin", f"must be a whole multiple of dt ({fq(self.dt)})")
        if self.n_trace > self.n_neurons:
            raise ParamConflict("n_trace", f"must be at most n_neurons ({self.n_neurons})")
        if not self.duration - self.transient >= (100 - 1e-9) * self.rate_bin:
            raise ParamConflict("duration", f"must exceed transient ({fq(self.transient)}) by at "
                                            f"least 100 rate bins ({fq(100 * self.rate_bin)})")


def cuba_jumps(params: VogelsAbbottParams) -> tuple[Quantity, Quantity]:
    r"""CUBA current jumps :math:`w_{e,i} (E_{e,i} - V_{mean})` (amperes): a conductance
    weight turned into a current at the mean membrane potential (PyNN's
    ``VAbenchmarks.py``); divided by :math:`g_L` they are Brian2's CUBA example's
    voltage weights, 60 x 0.27 / 10 = 1.62 mV and -20 x 4.5 / 10 = -9 mV."""
    return (params.w_exc * (params.E_e - params.V_mean),
            params.w_inh * (params.E_i - params.V_mean))


def fixed_probability(n_pre: int, n_post: int, p: float, rng: np.random.Generator, *,
                      self_offset: int | None = None,
                      chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Random connectivity: every ordered pair (pre, post) connected independently with
    probability ``p`` (Bernoulli; in-degrees are Binomial(n_pre, p)).

    ``self_offset``: presynaptic neuron ``p`` and postsynaptic neuron ``q`` are the same
    cell when ``p == q - self_offset``; such pairs are never connected. Draws
    ``n_post * n_pre`` uniforms from ``rng``, ``chunk`` postsynaptic rows at a time.

    Returns
    -------
    (i, j) : int32 arrays, sorted by ``j`` then ``i``.
    """
    if not 0 <= p <= 1:
        raise ValueError(f"fixed_probability: p must be in [0, 1], got {p!r}")
    parts_i, parts_j = [], []
    for start in range(0, n_post, chunk):
        rows = np.arange(start, min(start + chunk, n_post))
        hit = rng.random((len(rows), n_pre)) < p
        if self_offset is not None:
            own = rows - self_offset
            ok = (own >= 0) & (own < n_pre)
            hit[np.flatnonzero(ok), own[ok]] = False
        r, c = np.nonzero(hit)
        parts_j.append((rows[r]).astype(np.int32))
        parts_i.append(c.astype(np.int32))
    if not parts_i:
        return np.empty(0, np.int32), np.empty(0, np.int32)
    return np.concatenate(parts_i), np.concatenate(parts_j)


_EQS = {
    # CUBA: V, I_e, I_i are advanced by the exact propagators of cuba_propagators (a
    # run_regularly operation, NEST's iaf_psc_exp scheme): the same exact solution as
    # Brian2's method="exact", whose symbolic derivation cost ~10 s in every process
    "current": """
        v : volt
        I_e : amp
        I_i : amp
        """,
    "conductance": """
        dv/dt = (g_L*(E_L - v) + g_e*(E_e - v) + g_i*(E_i - v)) / C_m : volt (unless refractory)
        dg_e/dt = -g_e / tau_e : siemens
        dg_i/dt = -g_i / tau_i : siemens
        """,
}
# COBA's g*V terms are not linear with constant coefficients: forward Euler at dt, as
# Brette et al.'s (2007) clock-driven COBA benchmark.
_CUBA_STEP = """
    v = v + int(not_refractory) * (E_L + (v - E_L) * P_m + Q_e * I_e + Q_i * I_i - v)
    I_e = I_e * P_e
    I_i = I_i * P_i
    """
_SYN_VARS = {"current": ("I_e", "I_i"), "conductance": ("g_e", "g_i")}


def cuba_propagators(params: VogelsAbbottParams) -> dict:
    r"""Exact one-step propagators of the CUBA membrane and currents over ``dt``:

    .. math:: V' = E_L + (V - E_L) P_m + Q_e I_e + Q_i I_i, \quad I_s' = P_s I_s,

    :math:`P_m = e^{-dt/\tau_m}`, :math:`P_s = e^{-dt/\tau_s}`,
    :math:`Q_s = \frac{\tau_s}{g_L (\tau_s - \tau_m)} (P_s - P_m)` (the limit
    :math:`\frac{dt}{g_L \tau_m} P_m` when :math:`\tau_s = \tau_m`). V is held while
    refractory; the currents keep decaying.
    """
    dt, tm = params.dt, params.tau_m
    p_m = float(np.exp(-float(dt / tm)))
    out = {"P_m": p_m}
    for s, tau in (("e", params.tau_e), ("i", params.tau_i)):
        p_s = float(np.exp(-float(dt / tau)))
        if abs(float(tau / tm) - 1.0) < 1e-9:
            q = float(dt / tm) * p_m / params.g_L
        else:
            q = float(tau / (tau - tm)) * (p_s - p_m) / params.g_L
        out[f"P_{s}"], out[f"Q_{s}"] = p_s, q
    return out


@register
class VogelsAbbott(BrianProtocol):
    """Vogels & Abbott (2005) / Brette et al. (2007) CUBA and COBA benchmark networks."""

    kind = "vogels-abbott"
    headline = ("rate_exc_Hz", "rate_inh_Hz", "cv_mean", "rate_modulation", "state",
                "synaptic_events_per_s")
    figures = {"activity": "bioSNN.plots.vogels_abbott:plot_vogels_abbott_activity"}
    populations = {"neurons": "Vogels & Abbott (2005) LIF neuron with exponential synapses "
                              "(current- or conductance-based, parameter synapse); "
                              "excitatory neurons first (cell_type E, I)"}
    Params = VogelsAbbottParams

    def simulate(self, ctx):
        p = self.params
        n, n_e = p.n_neurons, p.n_exc
        x_e, x_i = _SYN_VARS[p.synapse]
        if p.synapse == "current":
            jump_e, jump_i = cuba_jumps(p)
            # initial conductances as currents at V_mean, as the weights
            scale_e, scale_i = p.E_e - p.V_mean, p.E_i - p.V_mean
        else:
            jump_e, jump_i = p.w_exc, p.w_inh
            scale_e = scale_i = 1
        ns = {"C_m": p.C_m, "g_L": p.g_L, "E_L": p.E_L, "V_t": p.V_t, "V_r": p.V_r,
              "tau_e": p.tau_e, "tau_i": p.tau_i, "E_e": p.E_e, "E_i": p.E_i,
              "jump_e": jump_e, "jump_i": jump_i}
        if p.synapse == "current":
            ns.update(cuba_propagators(p))
        neurons = NeuronGroup(n, _EQS[p.synapse], threshold="v > V_t", reset="v = V_r",
                              refractory=p.tau_ref, namespace=ns, name="neurons",
                              method="euler")  # COBA; CUBA has no ODEs
        if p.synapse == "current":
            neurons.run_regularly(_CUBA_STEP, when="groups", order=1, name="cuba_step")
        rng = ctx.streams.numpy_rng()
        v0 = rng.uniform(float(p.v_init_min / mV), float(p.v_init_max / mV), n)
        neurons.v = (v0 + rng.normal(0.0, float(p.v_init_sd / mV), n)) * mV
        g_e0 = np.maximum(rng.normal(float(p.ge_init_mean / nS), float(p.ge_init_sd / nS), n), 0)
        g_i0 = np.maximum(rng.normal(float(p.gi_init_mean / nS), float(p.gi_init_sd / nS), n), 0)
        setattr(neurons, x_e, g_e0 * nS * scale_e)
        setattr(neurons, x_i, g_i0 * nS * scale_i)
        i_e, j_e = fixed_probability(n_e, n, p.p_connect, rng, self_offset=0)
        i_i, j_i = fixed_probability(n - n_e, n, p.p_connect, rng, self_offset=n_e)
        out_degree = np.concatenate([np.bincount(i_e, minlength=n_e),
                                     np.bincount(i_i, minlength=n - n_e)]).astype(np.int32)
        spikes = SpikeMonitor(neurons, name="spikes")
        objects = [neurons, spikes]
        # (Brian2 cannot connect empty arrays: a pathway without synapses is left out)
        pathways = (("exc", neurons[:n_e], x_e, "jump_e", i_e, j_e),
                    ("inh", neurons[n_e:], x_i, "jump_i", i_i, j_i))
        for name, src, var, jump, i_s, j_s in pathways:
            if len(i_s):
                syn = Synapses(src, neurons, on_pre=f"{var}_post += {jump}", delay=p.delay,
                               namespace=ns, name=name)
                syn.connect(i=i_s, j=j_s)
                objects.append(syn)
        n_syn = (len(i_e), len(i_i))
        del pathways, i_e, j_e, i_i, j_i, i_s, j_s
        if p.n_stim:
            # the kick: Poisson sources switched off at stim_duration (brian2 stream)
            ns_stim = {"stim_rate": p.stim_rate, "stim_end": p.stim_duration,
                       "jump_stim": p.w_stim * scale_e}
            stim = PoissonGroup(p.n_stim, rates="stim_rate * int(t < stim_end)",
                                namespace=ns_stim, name="stim")
            i_s, j_s = fixed_probability(p.n_stim, n, p.p_stim, rng)
            if len(i_s):
                kick = Synapses(stim, neurons, on_pre=f"{x_e}_post += jump_stim",
                                namespace=ns_stim, name="kick")
                kick.connect(i=i_s, j=j_s)
                objects += [stim, kick]
        if p.n_trace:
            trace = StateMonitor(neurons, ["v", x_e, x_i], record=np.arange(p.n_trace),
                                 name="trace")
            objects.append(trace)
        net = Network(*objects)
        net.run(p.duration, report=ctx.report, report_period=10 * second, namespace={})

        si = np.asarray(spikes.i[:]).astype(np.int32)
        st = np.asarray(spikes.t[:] / ms)
        order = np.lexsort((si, st))
        syn_unit = "nA" if p.synapse == "current" else "nS"
        variables = {
            "spike_neuron": ("spike", si[order], {"units": "1", "long_name": "neuron (E first)"}),
            "spike_time": ("spike", st[order], {"units": "ms"}),
            "cell_type": ("neuron", np.where(np.arange(n) < n_e, "E", "I"),
                          {"units": "1", "long_name": "excitatory (E) or inhibitory (I)"}),
            "out_degree": ("neuron", out_degree,
                           {"units": "1", "long_name": "outgoing synapses of each neuron"}),
        }
        coords = {"neuron": ("neuron", np.arange(n), {"units": "1"})}
        if p.n_trace:
            coords["time"] = ("time", np.asarray(trace.t[:] / ms), {"units": "ms"})
            coords["trace_neuron"] = ("trace_neuron", np.arange(p.n_trace), {"units": "1"})
            variables["v"] = (("time", "trace_neuron"), np.asarray(trace.v[:] / mV).T,
                              {"units": "mV", "long_name": "membrane potential"})
            div = 1e-9  # nA or nS
            for name, label in ((x_e, "excitatory"), (x_i, "inhibitory")):
                variables[name] = (("time", "trace_neuron"),
                                   np.asarray(getattr(trace, name)[:]).T / div,
                                   {"units": syn_unit, "long_name": f"{label} synaptic "
                                    f"{'current' if p.synapse == 'current' else 'conductance'}"})
        return xr.Dataset(
            variables, coords=coords,
            attrs={"n_exc": n_e, "n_inh": n - n_e, "synapse": p.synapse,
                   "n_syn_exc": n_syn[0], "n_syn_inh": n_syn[1],
                   "transient_ms": float(p.transient / ms),
                   "duration_ms": float(p.duration / ms), "dt_ms": float(p.dt / ms)})

    @staticmethod
    def summarize(data, params):
        return vogels_abbott_features(data, params)


def vogels_abbott_features(data: xr.Dataset, params: VogelsAbbottParams) -> dict:
    """:func:`bioSNN.features.population.population_features` of the analysis window
    (``transient`` to ``duration``, all neurons recorded), plus ``rate_median_Hz``,
    ``rate_last_100ms_Hz`` (all neurons, the last 100 ms of the run: is the activity
    still self-sustained), ``n_spikes``, ``n_synapses``, ``synaptic_events_per_s``
    (synaptic events delivered per simulated second over the whole run: the simulator's
    load), ``tau_m_ms`` and, for CUBA, the voltage jumps ``jump_exc_mV`` / ``jump_inh_mV``
    (current jump / g_L)."""
    n_e, n_i = int(data.attrs["n_exc"]), int(data.attrs["n_inh"])
    t0, t1 = float(params.transient / ms), float(params.duration / ms)
    i, t = data["spike_neuron"].values, data["spike_time"].values
    out = population_features(i, t, n_e, n_i, t0, t1, bin_ms=float(params.rate_bin / ms))
    rates = neuron_rates(i, t, n_e + n_i, t0, t1)
    last = neuron_rates(i, t, n_e + n_i, max(t0, t1 - 100.0), t1)
    events = int(data["out_degree"].values[i].sum()) if len(i) else 0
    out.update({
        "synapse": params.synapse,
        "rate_median_Hz": float(np.median(rates)),
        "rate_last_100ms_Hz": float(last.mean()),
        "n_spikes": int(data.sizes["spike"]),
        "n_synapses": int(data.attrs["n_syn_exc"]) + int(data.attrs["n_syn_inh"]),
        "synaptic_events_per_s": events / (t1 / 1000.0),
        "tau_m_ms": float(params.tau_m / ms),
    })
    if params.synapse == "current":
        je, ji = cuba_jumps(params)
        out.update({"jump_exc_mV": float(je / params.g_L / mV),
                    "jump_inh_mV": float(ji / params.g_L / mV)})
    return out
