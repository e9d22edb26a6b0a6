r"""Protocol ``istdp-balance``: inhibitory STDP balances a tuned excitatory input (Vogels,
Sprekeler et al. 2011, Fig. 1).

One conductance-based LIF neuron (C 200 pF, g_L 10 nS, E_L −60 mV, threshold −50 mV,
reset −60 mV, 5 ms refractory; E_E 0 mV, τ_E 5 ms; E_I −80 mV, τ_I 10 ms: Vogels et
al.'s) receives ``n_groups`` input groups of ``n_exc`` excitatory and ``n_inh``
inhibitory afferents. Every afferent of a group fires as an inhomogeneous Poisson
process (``rand() < r_g(t) dt``) at the group's rate

.. math:: r_g(t) = r_{base} + r_{scale}\,[x_g(t)]_+,

where :math:`x_g` is unit-variance noise low-pass filtered with ``signal_tau`` (50 ms),
drawn from the run's ``numpy`` stream. The excitatory weights are fixed and tuned: group
:math:`g` has :math:`g_{exc}\,(0.3 + 1.1/(1 + (g - P)^4))` with ``preferred`` P = 4.5,
±10 % per synapse (the tuning curve of Vogels et al.). The inhibitory weights start
uniform and weak (``w_inh_init`` 0.1 × ``g_inh``) and learn by the rule of the
``[parameters.plasticity]`` table (:class:`~bioSNN.plasticity.PlasticityTable`), by default
:func:`~bioSNN.plasticity.vogels_sprekeler_rule` (``tau`` 20 ms, target rate ``rho0``
5 Hz, ``eta`` 0.05; additive in [0, ``w_max`` 100]).

The run reproduces the two results of the paper's Fig. 1: the postsynaptic rate goes to
about ρ0, and the inhibitory weights become co-tuned with the excitatory ones (Pearson r
of the group profiles), so that inhibition follows excitation (detailed balance).
``eta`` (0.05) is large against the paper's 1e-4 (in its units) so that this happens in
tens of seconds of simulated time rather than minutes.

References
----------
Vogels TP, Sprekeler H, Zenke F, Clopath C, Gerstner W (2011). Inhibitory plasticity
balances excitation and inhibition in sensory pathways and memory networks. Science
334:1569-1573.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, NeuronGroup, Quantity, SpikeMonitor, StateMonitor, Synapses,
                    TimedArray, mV, ms, nS, pF, second)

from ..features.istdp_balance import EARLY_S, balance_features
from ..plasticity import PlasticityTable, STDPRule, make_plastic_synapses, vogels_sprekeler_rule
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["ISTDPBalance", "ISTDPBalanceParams", "group_signals", "tuning"]

_NEURON = """
dv/dt = (g_L * (E_L - v) + ge * (E_E - v) + gi * (E_I - v)) / C_m : volt (unless refractory)
dge/dt = -ge / tau_E : siemens
dgi/dt = -gi / tau_I : siemens
"""
_SIGNAL_DT = 1 * ms
#: The rule of Vogels et al. (2011) with this protocol's rate: the parts a table leaves out.
_VOGELS_RULE = vogels_sprekeler_rule(tau=20 * ms, rho0=5 * Hz, eta=0.05, w_max=100.0)
DEFAULT_RULE = PlasticityTable.from_table({
    "timing": "vogels-sprekeler", "tau": "20 ms", "rho0": "5 Hz", "eta": 0.05,
    "weights": "additive", "w_min": 0.0, "w_max": 100.0})


def tuning(n_groups: int, preferred: float) -> np.ndarray:
    """Excitatory tuning curve 0.3 + 1.1 / (1 + (g - P)^4) over the groups g."""
    g = np.arange(n_groups)
    return 0.3 + 1.1 / (1.0 + (g - preferred) ** 4)


def group_signals(p, rng: np.random.Generator) -> np.ndarray:
    """Rates (Hz) of every group on a 1 ms grid, shape (steps, n_groups)."""
    n = int(round(float(p.duration / _SIGNAL_DT))) + 2
    a = float(np.exp(-float(_SIGNAL_DT / p.signal_tau)))
    x = np.zeros((n, p.n_groups))
    noise = rng.standard_normal((n, p.n_groups))
    x[0] = noise[0]
    for k in range(1, n):
        x[k] = a * x[k - 1] + np.sqrt(1 - a * a) * noise[k]
    return float(p.rate_base / Hz) + float(p.rate_scale / Hz) * np.clip(x, 0, None)


@dataclass(frozen=True)
class ISTDPBalanceParams:
    n_groups: int = param(8, min=2, max=64, doc="input groups (signal channels)")
    n_exc: int = param(100, min=1, max=10000, doc="excitatory afferents per group")
    n_inh: int = param(25, min=1, max=10000, doc="inhibitory afferents per group")
    rate_base: Quantity = param(2 * Hz, unit=Hz, min=0, doc="rate floor of every afferent")
    rate_scale: Quantity = param(20 * Hz, unit=Hz, min=0, doc="rate per unit of the rectified "
                                                             "group signal")
    signal_tau: Quantity = param(50 * ms, unit=ms, min=0, min_inclusive=False,
                                 doc="correlation time of the group signals")
    preferred: float = param(4.5, doc="preferred group P of the excitatory tuning curve")
    g_exc: Quantity = param(0.14 * nS, unit=nS, min=0, doc="excitatory conductance jump at "
                                                           "tuning 1")
    g_inh: Quantity = param(0.35 * nS, unit=nS, min=0, doc="inhibitory conductance jump per "
                                                           "unit weight")
    w_inh_init: float = param(0.1, min=0, doc="initial inhibitory weight (all synapses); "
                                               "small: the neuron starts above rho0")
    plasticity: PlasticityTable = param(
        DEFAULT_RULE, table=PlasticityTable,
        doc="the inhibitory synapses' rule (default: Vogels-Sprekeler, tau 20 ms, rho0 5 Hz, "
            "eta 0.05, additive in [0, 100])")
    duration: Quantity = param(60 * second, unit=second, min=0, min_inclusive=False,
                               doc="simulated time")
    snapshots: int = param(20, min=2, max=1000, doc="inhibitory weight snapshots")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step")

    def check(self):
        if not self.duration >= 4 * EARLY_S * second:
            raise ParamConflict("duration", f"must be at least {4 * EARLY_S:g} s (the early "
                                f"rate is read over the first {EARLY_S:g} s, the late rate "
                                "over the last quarter)")
        if self.plasticity.modulation not in (None, "none"):
            raise ParamConflict("plasticity", "this protocol delivers no reward or dopamine; "
                                "remove modulation from the table")
        rule = self.rule
        if not rule.bounds.w_min <= self.w_inh_init <= rule.bounds.w_max:
            raise ParamConflict("w_inh_init", f"must lie within the rule's bounds "
                                f"[{rule.bounds.w_min:g}, {rule.bounds.w_max:g}]")

    @property
    def rule(self) -> STDPRule:
        """The inhibitory synapses' rule (the table's parts over Vogels-Sprekeler's)."""
        return self.plasticity.rule(_VOGELS_RULE)

    @property
    def rho0(self):
        """The rule's target rate (NaN when its timing has none)."""
        return getattr(self.rule.timing, "rho0", float("nan") * Hz)


@register
class ISTDPBalance(BrianProtocol):
    """Inhibitory STDP co-tunes inhibition with a tuned excitatory input."""

    kind = "istdp-balance"
    headline = ("cotuning_r_final", "rate_last_Hz", "inhibitory_over_excitatory_current")
    figures = {"balance": "bioSNN.plots.istdp_balance:plot_istdp_balance"}
    populations = {"afferents": "inhomogeneous Poisson afferents (Brian2 NeuronGroup, "
                                "threshold rand() < r dt)",
                   "post": "conductance-based LIF neuron (Vogels et al. 2011)"}
    Params = ISTDPBalanceParams

    def simulate(self, ctx):
        p = self.params
        rng = ctx.streams.numpy_rng()
        rates = group_signals(p, rng)
        G, ne, ni = p.n_groups, p.n_exc, p.n_inh
        exc_group = np.repeat(np.arange(G), ne)
        inh_group = np.repeat(np.arange(G), ni)
        w_exc = tuning(G, p.preferred)[exc_group] * (1 + 0.1 * rng.standard_normal(G * ne))
        w_exc = np.clip(w_exc, 0, None)
        signal = TimedArray(rates * Hz, dt=_SIGNAL_DT, name="group_rate")
        afferents = NeuronGroup(G * (ne + ni), "grp : integer (constant)",
                                threshold="rand() < group_rate(t, grp) * dt",
                                namespace={"group_rate": signal}, name="afferents")
        afferents.grp = np.concatenate([exc_group, inh_group])
        post = NeuronGroup(1, _NEURON, threshold="v > V_th", reset="v = V_r",
                           refractory=5 * ms, method="euler", name="post",
                           namespace={"g_L": 10 * nS, "E_L": -60 * mV, "E_E": 0 * mV,
                                      "E_I": -80 * mV, "C_m": 200 * pF, "tau_E": 5 * ms,
                                      "tau_I": 10 * ms, "V_th": -50 * mV, "V_r": -60 * mV})
        post.v = -60 * mV
        exc = Synapses(afferents[:G * ne], post, "w : 1", on_pre="ge_post += w * g_exc",
                       namespace={"g_exc": p.g_exc}, name="exc")
        exc.connect(i=np.arange(G * ne), j=np.zeros(G * ne, dtype=int))
        exc.w = w_exc
        rule = p.rule
        inh = make_plastic_synapses(afferents[G * ne:], post, rule,
                                    on_pre_effect="gi_post += w * g_inh",
                                    namespace_extra={"g_inh": p.g_inh}, name="inh")
        inh.connect(i=np.arange(G * ni), j=np.zeros(G * ni, dtype=int))
        inh.w = p.w_inh_init
        spikes = SpikeMonitor(post, name="post_spikes")
        weights = StateMonitor(inh, "w", record=np.arange(G * ni),
                               dt=p.duration / p.snapshots, name="w_inh")
        state = StateMonitor(post, ["v", "ge", "gi"], record=[0], dt=1 * ms, name="state")
        net = Network(afferents, post, exc, inh, spikes, weights, state)
        net.run(p.duration, report=ctx.report, report_period=1 * second, namespace={})

        v = np.asarray(state.v[0] / mV)
        i_e = np.asarray(state.ge[0] / nS) * (0.0 - v)            # nS * mV = pA
        i_i = np.asarray(state.gi[0] / nS) * (-80.0 - v)
        return xr.Dataset(
            {
                "w_exc": ("exc_synapse", w_exc, {"units": "1", "long_name":
                          "excitatory weight (units of g_exc)"}),
                "exc_group": ("exc_synapse", exc_group, {"units": "1"}),
                "inh_group": ("inh_synapse", inh_group, {"units": "1"}),
                "w_inh": (("snapshot_time", "inh_synapse"), np.asarray(weights.w[:]).T,
                          {"units": "1", "long_name": "inhibitory weight (units of g_inh)"}),
                "post_spike_time": ("post_spike", np.asarray(spikes.t[:] / ms),
                                    {"units": "ms"}),
                "I_exc": ("current_time", i_e, {"units": "pA", "long_name":
                          "excitatory synaptic current g_E (E_E - v)"}),
                "I_inh": ("current_time", i_i, {"units": "pA", "long_name":
                          "inhibitory synaptic current g_I (E_I - v)"}),
                "group_rate": (("signal_time", "group"), rates[::10],
                               {"units": "Hz", "long_name": "afferent rate of each group "
                                "(every 10 ms)"}),
            },
            coords={"snapshot_time": ("snapshot_time", np.asarray(weights.t[:] / second),
                                      {"units": "s"}),
                    "current_time": ("current_time", np.asarray(state.t[:] / ms),
                                     {"units": "ms"}),
                    "signal_time": ("signal_time", np.arange(rates[::10].shape[0]) * 10.0,
                                    {"units": "ms"}),
                    "group": ("group", np.arange(G), {"units": "1"})},
            attrs={"n_groups": G, "duration_s": float(p.duration / second),
                   "rho0_Hz": float(p.rho0 / Hz),
                   "rule": p.plasticity.describe()},
        )

    @staticmethod
    def summarize(data, params):
        return balance_features(data)
