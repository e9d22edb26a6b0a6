r"""Protocol ``stdp-weight-distribution``: the weight distribution that STDP under Poisson input
settles into, for several weight dependences side by side (Song, Miller & Abbott 2000;
van Rossum, Bi & Turrigiano 2000; Gütig et al. 2003).

``n_inputs`` independent Poisson trains of rate ``input_rate`` (one Brian2
``PoissonGroup``) drive one conductance-based integrate-and-fire neuron *per rule*
(Song et al. 2000's neuron):

.. math::

    \tau_m \frac{dv}{dt} = E_L - v + g_e (E_e - v), \qquad
    \tau_e \frac{dg_e}{dt} = -g_e, \qquad g_e \leftarrow g_e + g_{max}\, w
    \text{ at each input spike},

with :math:`\tau_m` 20 ms, :math:`E_L` −70 mV, threshold −54 mV, reset −60 mV,
:math:`E_e` 0 mV, :math:`\tau_e` 5 ms and :math:`g_{max}` (in units of the leak
conductance) 0.015. Every neuron receives the *same* input spikes through its own
plastic ``Synapses`` of :mod:`bioSNN.plasticity`: all-to-all pair STDP
(:class:`~bioSNN.plasticity.STDPTiming`, :math:`\tau_\pm` 20 ms,
:math:`A_- = 1.05\,A_+`, Song et al.'s ratio) with one weight dependence per rule, on
:math:`w \in [0, 1]` (units of :math:`g_{max}`), starting uniform in [0, 1]
(``numpy`` stream):

``additive``
    :class:`~bioSNN.plasticity.WeightBounds` (hard bounds): Song et al. 2000; the weights
    compete and split to the two bounds (bimodal).
``van-rossum``
    :class:`~bioSNN.plasticity.AdditivePotentiationMultiplicativeDepression`
    (van Rossum et al. 2000).
``gutig``
    :class:`~bioSNN.plasticity.GutigWeights` with exponent ``mu`` (Gütig et al. 2003;
    0.4 by default, above their critical exponent: unimodal).
``multiplicative``
    :class:`~bioSNN.plasticity.MultiplicativeWeights` (Gütig with :math:`\mu = 1`).

Song et al. used :math:`A_+` = 0.005 and ran for long enough to reach the stationary
distribution; the default here, :math:`A_+` = 0.01 as in Brian2's example of the same
model, reaches it within ~300 s of simulated time (seed 0: every bin of the additive
histogram at 300 s within 1.1 % of the synapses of its value at 1000 s). The shape is read by
:func:`bioSNN.features.weight_distribution.shape`.

References
----------
Song S, Miller KD, Abbott LF (2000). Competitive Hebbian learning through
spike-timing-dependent synaptic plasticity. Nat Neurosci 3:919-926.
van Rossum MCW, Bi GQ, Turrigiano GG (2000). Stable Hebbian learning from spike
timing-dependent plasticity. J Neurosci 20:8812-8821.
Gütig R, Aharonov R, Rotter S, Sompolinsky H (2003). Learning input correlations through
nonlinear temporally asymmetric Hebbian plasticity. J Neurosci 23:3697-3714.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, Quantity, SpikeMonitor,
                    StateMonitor, mV, ms, second)

from ..features.weight_distribution import distribution_features
from ..plasticity import (AdditivePotentiationMultiplicativeDepression, GutigWeights,
                          MultiplicativeWeights, STDPRule, STDPTiming, WeightBounds,
                          make_plastic_synapses)
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["STDPWeightDistribution", "STDPWeightParams", "RULES", "weight_dependence"]

#: The weight dependences a spec can list in ``rules`` (module docstring).
RULES = ("additive", "van-rossum", "gutig", "multiplicative")

_EQUATIONS = """
dv/dt = (E_L - v + ge * (E_e - v)) / tau_m : volt
dge/dt = -ge / tau_e : 1
"""


def weight_dependence(rule: str, mu: float):
    """The :mod:`bioSNN.plasticity` weight dependence of a rule name, on [0, 1]."""
    if rule == "additive":
        return WeightBounds(w_min=0.0, w_max=1.0)
    if rule == "van-rossum":
        return AdditivePotentiationMultiplicativeDepression(w_min=0.0, w_max=1.0)
    if rule == "gutig":
        return GutigWeights(w_min=0.0, w_max=1.0, mu_plus=mu, mu_minus=mu)
    if rule == "multiplicative":
        return MultiplicativeWeights(w_min=0.0, w_max=1.0)
    raise ValueError(f"unknown rule {rule!r}; choose from {', '.join(RULES)}")


@dataclass(frozen=True)
class STDPWeightParams:
    rules: str = param("additive gutig multiplicative",
                       doc="weight dependences side by side, separated by spaces: "
                           + ", ".join(RULES))
    mu: float = param(0.4, min=0, max=1, doc="exponent of the gutig rule (both directions)")
    n_inputs: int = param(1000, min=2, max=100000, doc="Poisson inputs (shared by all rules)")
    input_rate: Quantity = param(15 * Hz, unit=Hz, min=0, min_inclusive=False, max=1000,
                                 doc="rate of every Poisson input")
    A_plus: float = param(0.01, min=0, min_inclusive=False, max=1,
                          doc="potentiation amplitude (fraction of the weight range)")
    depression_ratio: float = param(1.05, min=0, doc="A_minus / A_plus (Song et al.: 1.05)")
    tau_stdp: Quantity = param(20 * ms, unit=ms, min=0, min_inclusive=False,
                               doc="tau_plus = tau_minus of the pair rule")
    g_max: float = param(0.015, min=0, min_inclusive=False, max=1,
                         doc="peak synaptic conductance, in units of the leak conductance")
    tau_m: Quantity = param(20 * ms, unit=ms, min=0, min_inclusive=False, doc="membrane time constant")
    E_L: Quantity = param(-70 * mV, unit=mV, doc="resting potential")
    V_th: Quantity = param(-54 * mV, unit=mV, doc="spike threshold")
    V_reset: Quantity = param(-60 * mV, unit=mV, doc="reset potential")
    E_e: Quantity = param(0 * mV, unit=mV, doc="excitatory reversal potential")
    tau_e: Quantity = param(5 * ms, unit=ms, min=0, min_inclusive=False,
                            doc="excitatory conductance decay")
    duration: Quantity = param(300 * second, unit=second, min=0, min_inclusive=False,
                               doc="simulated time")
    snapshots: int = param(30, min=1, max=1000,
                           doc="weight snapshots recorded over the run (for the time course)")
    dt: Quantity = param(0.1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="integration time step")

    def rule_names(self) -> list[str]:
        return self.rules.replace(",", " ").split()

    def check(self):
        names = self.rule_names()
        if not names:
            raise ParamConflict("rules", f"must list at least one of {', '.join(RULES)}")
        unknown = [r for r in names if r not in RULES]
        if unknown:
            raise ParamConflict("rules", f"unknown rule(s) {', '.join(unknown)}; choose from "
                                f"{', '.join(RULES)}")
        if len(set(names)) != len(names):
            raise ParamConflict("rules", f"lists a rule twice: {self.rules!r}")
        if not self.V_reset < self.V_th:
            raise ParamConflict("V_reset", f"must be below V_th ({self.V_th})")
        if not self.E_L < self.V_th:
            raise ParamConflict("E_L", f"must be below V_th ({self.V_th}): the neuron would "
                                "fire without input")
        if not self.duration >= self.snapshots * 10 * self.dt:
            raise ParamConflict("duration", f"must cover at least 10 time steps per snapshot "
                                f"({self.snapshots} snapshots of dt {self.dt})")

    def rule(self, name: str) -> STDPRule:
        return STDPRule(timing=STDPTiming(tau_plus=self.tau_stdp, tau_minus=self.tau_stdp,
                                          A_plus=self.A_plus,
                                          A_minus=self.depression_ratio * self.A_plus),
                        bounds=weight_dependence(name, self.mu))


@register
class STDPWeightDistribution(BrianProtocol):
    """Stationary weight distributions of pair STDP with several weight dependences."""

    kind = "stdp-weight-distribution"
    headline = ("additive_fraction_low", "additive_fraction_high", "additive_shape",
                "gutig_shape", "multiplicative_shape")
    figures = {"weights": "bioSNN.plots.stdp_weights:plot_weight_distributions"}
    populations = {"inputs": "Poisson spike generator (Brian2 PoissonGroup), shared",
                   "post": "conductance-based integrate-and-fire neuron, one per rule"}
    Params = STDPWeightParams

    def simulate(self, ctx):
        p = self.params
        names = p.rule_names()
        namespace = {"E_L": p.E_L, "E_e": p.E_e, "tau_m": p.tau_m, "tau_e": p.tau_e,
                     "V_th": p.V_th, "V_reset": p.V_reset}
        inputs = PoissonGroup(p.n_inputs, rates=p.input_rate, namespace={}, name="inputs")
        post = NeuronGroup(len(names), _EQUATIONS, threshold="v > V_th", reset="v = V_reset",
                           method="euler", namespace=namespace, name="post")
        post.v = p.E_L
        # one draw for every rule: the rules differ only in their weight dependence
        w0 = ctx.streams.numpy_rng().uniform(0.0, 1.0, size=p.n_inputs)
        every = p.duration / p.snapshots
        objects, synapses, monitors = [inputs, post], [], []
        for k, name in enumerate(names):
            syn = make_plastic_synapses(inputs, post, p.rule(name),
                                        on_pre_effect="ge_post += w * g_max",
                                        namespace_extra={"g_max": p.g_max}, name=f"syn_{k}")
            syn.connect(i=np.arange(p.n_inputs), j=np.full(p.n_inputs, k))
            syn.w = w0
            mon = StateMonitor(syn, "w", record=True, dt=every, name=f"w_{k}")
            synapses.append(syn)
            monitors.append(mon)
            objects += [syn, mon]
        spikes = SpikeMonitor(post, name="post_spikes")
        net = Network(*objects, spikes)
        net.run(p.duration, report=ctx.report, report_period=1 * second, namespace={})

        w = np.stack([np.asarray(s.w[:], dtype=float) for s in synapses])       # (rule, syn)
        snaps = np.stack([np.asarray(m.w[:], dtype=float) for m in monitors])   # (rule, syn, time)
        t_snap = np.asarray(monitors[0].t[:] / second)
        counts = np.bincount(np.asarray(spikes.i[:], dtype=np.int64), minlength=len(names))
        rate = counts / float(p.duration / second)
        return xr.Dataset(
            {
                "w_hat": (("rule", "synapse"), w, {"units": "1", "long_name":
                          "final weight, (w - w_min) / (w_max - w_min), units of g_max"}),
                "w_initial": ("synapse", w0, {"units": "1", "long_name":
                               "initial weight of every rule (uniform in [0, 1])"}),
                "w_snapshot": (("rule", "snapshot_time", "synapse"), snaps.transpose(0, 2, 1),
                               {"units": "1", "long_name": "weights during the run"}),
                "post_rate": ("rule", rate, {"units": "Hz", "long_name":
                              "postsynaptic firing rate over the run"}),
            },
            coords={"rule": ("rule", names, {"units": "1"}),
                    "synapse": ("synapse", np.arange(p.n_inputs), {"units": "1"}),
                    "snapshot_time": ("snapshot_time", t_snap, {"units": "s"})},
            attrs={"mu": p.mu, "A_plus": p.A_plus, "A_minus": p.depression_ratio * p.A_plus,
                   "input_rate_Hz": float(p.input_rate / Hz), "duration_s":
                   float(p.duration / second), "g_max": p.g_max},
        )

    @staticmethod
    def summarize(data, params):
        return distribution_features(data)
