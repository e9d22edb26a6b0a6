r"""Protocol kind ``distal-reward``: Izhikevich (2007) solving the distal reward problem.

A random network of Izhikevich neurons (``n_exc`` regular-spiking excitatory and
``n_inh`` fast-spiking inhibitory, each neuron projecting to ``n_targets`` random
others; excitatory synapses have random delays of 1..``delay_max``) is driven by
thalamic input (every millisecond, in total, ``thalamic_rate`` spikes that each make one
random neuron jump by ``I_thal``). Excitatory synapses are plastic:

* pair-STDP (A+ 1, A- 1.5, 20 ms windows) feeds an eligibility trace ``c`` that
  decays with ``tau_c`` = 1 s (event-driven); ``c``, the dopamine and the weight
  update below are the part :class:`~bioSNN.plasticity.DopamineModulation`;
* extracellular dopamine ``d`` (one global variable) decays with ``tau_d`` = 200 ms,
  on top of a tonic level ``d_tonic``; each reward adds ``da_pulse`` (every neuron
  sees it as ``dopa``, so that synapses read ``dopa_post``);
* weights follow :math:`\dot w = \eta\, c\, d` (``eta`` per second), integrated every
  ``update_period`` with the exact integral of the two exponentials over the period
  (``c`` and ``d`` decay exactly between events; a spike or pulse inside the period is
  counted from the next one), and clipped to ``[0, w_max]``.

One excitatory synapse is *chosen* at random. Whenever its postsynaptic neuron fires
within ``window`` (0 < delta t <= 10 ms) after the chosen synapse's presynaptic spike
*arrives*, a reward is scheduled ``reward_delay_min``..``reward_delay_max`` (uniform,
Brian2's seeded generator) later; while a reward is pending, further pairings are not
rewarded again. All of this runs inside one Brian2 network: a "detector" synapse pair
writes the pending reward time into a one-neuron dopamine group, whose threshold
``t >= reward_at`` delivers the pulse.

Expected (Izhikevich 2007, Fig. 1): the chosen synapse grows to ``w_max`` while the
distribution of the other weights stays where it was or drifts down, although the
reward comes 1-3 s after the pairing, when many other synapses have fired.

Reference: Izhikevich, E. M. (2007). Solving the distal reward problem through linkage
of STDP and dopamine signaling. Cerebral Cortex 17:2443-2452.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, Quantity, SpikeGeneratorGroup, SpikeMonitor,
                    StateMonitor, Synapses, mV, ms, second)

from ..neurons import izhikevich_group
from ..params import IzhikevichParams
from ..plasticity import (DopamineModulation, STDPRule, STDPTiming, WeightBounds,
                          make_plastic_synapses)
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["DistalReward", "DistalRewardParams", "distal_features"]


@dataclass(frozen=True)
class DistalRewardParams:
    n_exc: int = param(800, min=2, doc="excitatory (RS) neurons")
    n_inh: int = param(200, min=0, doc="inhibitory (FS) neurons")
    n_targets: int = param(100, min=1, doc="random postsynaptic targets per neuron (inhibitory: excitatory only)")
    duration: Quantity = param(3600 * second, unit=second, min=0, min_inclusive=False,
                               doc="simulated time (the paper: 1 hour)")
    dt: Quantity = param(0.5 * ms, unit=ms, min=0, min_inclusive=False, max=1, doc="time step")
    w_init: float = param(1.0, min=0, doc="initial excitatory weight (v jump in mV)")
    w_max: float = param(4.0, min=0, min_inclusive=False, doc="maximal excitatory weight")
    w_inh: Quantity = param(1 * mV, unit=mV, min=0, doc="inhibitory v jump (magnitude)")
    delay_max: Quantity = param(20 * ms, unit=ms, min=1, doc="excitatory delays uniform in 1 ms .. delay_max (1 ms steps)")
    thalamic_rate: Quantity = param(1000 * Hz, unit=Hz, min=0, max=1000,
                                    doc="thalamic input spikes per second, each to one random neuron (at most one per ms)")
    I_thal: Quantity = param(20 * mV, unit=mV, min=0, doc="v jump of a thalamic input spike")
    tau_plus: Quantity = param(20 * ms, unit=ms, min=0, min_inclusive=False, doc="STDP potentiation window")
    tau_minus: Quantity = param(20 * ms, unit=ms, min=0, min_inclusive=False, doc="STDP depression window")
    A_plus: float = param(1.0, min=0, doc="eligibility per pre-before-post pair")
    A_minus: float = param(1.5, min=0, doc="eligibility lost per post-before-pre pair")
    tau_c: Quantity = param(1 * second, unit=ms, min=0, min_inclusive=False, doc="eligibility time constant")
    tau_d: Quantity = param(200 * ms, unit=ms, min=0, min_inclusive=False, doc="dopamine decay time constant")
    da_pulse: float = param(0.5, min=0, doc="dopamine added by one reward")
    d_tonic: float = param(0.01, min=0, doc="tonic dopamine level")
    eta: Quantity = param(1 / second, unit=1 / second, min=0,
                          doc="learning rate: dw/dt = eta * c * d")
    window: Quantity = param(10 * ms, unit=ms, min=0, min_inclusive=False,
                             doc="post must fire within this time after the chosen pre spike arrives")
    reward_delay_min: Quantity = param(1 * second, unit=second, min=0, doc="shortest reward delay")
    reward_delay_max: Quantity = param(3 * second, unit=second, min=0, doc="longest reward delay")
    update_period: Quantity = param(10 * ms, unit=ms, min=0, min_inclusive=False,
                                    doc="weights integrate c*d every ... (exact within the period)")
    record_every: Quantity = param(10 * second, unit=second, min=0, min_inclusive=False,
                                   doc="sampling period of the weight traces")
    n_sample: int = param(200, min=1, doc="other synapses whose weight traces are recorded")
    n_raster: int = param(100, min=0, doc="neurons whose spikes are recorded (first n_raster)")

    def check(self):
        if self.reward_delay_max < self.reward_delay_min:
            raise ParamConflict("reward_delay_max", f"must be >= reward_delay_min ({self.reward_delay_min})")
        if self.w_init > self.w_max:
            raise ParamConflict("w_init", f"must be <= w_max ({self.w_max})")
        if self.n_targets >= self.n_exc + self.n_inh:
            raise ParamConflict("n_targets", "must be smaller than the number of neurons")
        for name in ("update_period", "record_every"):
            steps = float(getattr(self, name) / self.dt)
            if abs(steps - round(steps)) > 1e-6:
                raise ParamConflict(name, f"must be a whole number of time steps dt ({self.dt})")
        if self.duration < self.record_every:
            raise ParamConflict("duration", f"must cover at least one record_every ({self.record_every})")

    @property
    def rule(self) -> STDPRule:
        dopamine = DopamineModulation(self.tau_c, self.tau_d, self.eta, self.da_pulse,
                                      self.d_tonic, self.update_period, dopamine_variable="dopa")
        return STDPRule(STDPTiming(self.tau_plus, self.tau_minus, self.A_plus, self.A_minus),
                        WeightBounds(0.0, self.w_max), dopamine)


_DETECTOR = """
t_arrival_post = role * t_arrival_post + (1 - role) * t
reward_at_post = fire * (t + delay_min + rand() * (delay_max - delay_min)) + (1 - fire) * reward_at_post
"""


@contextmanager
def _known_order_warning_silenced():
    """Run with every Brian2 log message passed on (after the block, also when it
    raises) except code generation's warning that the detector's first statement "may
    depend on the order of execution". Both detector synapses write to the one dopamine
    neuron; Brian2 runs them in synapse order (the chosen synapse's arrival, index 0,
    before the postsynaptic spike, index 1), which is the intended order: a
    postsynaptic spike in the step of the arrival does not follow it."""
    from brian2.utils.logger import catch_logs

    capture = catch_logs(log_level=logging.DEBUG)
    logs = capture.__enter__()
    try:
        yield
    finally:
        capture.__exit__(None, None, None)
        # Brian2 2.9's uninstall reconnects the old handlers but leaves the capturing
        # one attached: detach it, or re-emitting would feed the list being read
        logging.getLogger("brian2").removeHandler(capture.handler)
        for level, name, message in list(logs):
            if not (name == "brian2.codegen.generators.base" and "t_arrival_post" in message):
                logging.getLogger(name).log(logging.getLevelName(level), message)


@register
class DistalReward(BrianProtocol):
    """Izhikevich (2007) distal reward: one rewarded synapse among many."""

    kind = "distal-reward"
    headline = ("w_chosen_final", "chosen_percentile", "n_rewards")
    figures = {"weights": "bioSNN.plots.distal_reward:plot_distal_reward"}
    @staticmethod
    def recording(data, params, rec):
        """NWB/Neo export: the raster population's size and RS/FS labels."""
        n = min(params.n_raster, params.n_exc + params.n_inh)
        pop = rec.population("raster")
        pop.size = n
        pop.labels = ["RS" if k < params.n_exc else "FS" for k in range(n)]

    populations = {"raster": "Izhikevich (2003) neurons: RS excitatory, then FS inhibitory "
                             "(label); the first n_raster of the network",
                   "chosen_pre": "Izhikevich RS neuron: presynaptic side of the chosen synapse",
                   "chosen_post": "Izhikevich neuron: postsynaptic side of the chosen synapse"}
    Params = DistalRewardParams

    def simulate(self, ctx):
        p = self.params
        rng = ctx.streams.numpy_rng()
        N = p.n_exc + p.n_inh
        rule = p.rule
        dopamine = rule.modulation
        # the dopamine group: d, plus the pending reward that the detector writes
        dop = dopamine.dopamine_group(model_extra="""
            t_arrival : second
            reward_at : second
            """, threshold="reward_at > 0*second and t >= reward_at",
            reset_extra="reward_at = -1*second", name="dopamine")
        dop.reward_at = -1 * second
        dop.t_arrival = -1000 * second
        presets = [IzhikevichParams.RS] * p.n_exc + [IzhikevichParams.FS] * p.n_inh
        neurons = izhikevich_group(presets, model_extra="dopa : 1", name="neurons")
        # every neuron sees the global dopamine as "dopa" (a summed variable over one
        # synapse from the dopamine group: N copies per step, no per-synapse work)
        broadcast = dopamine.dopamine_broadcast(dop, neurons, name="dopamine_broadcast")

        # thalamic input: each spike one random neuron (at most one per millisecond)
        n_ms = int(round(float(p.duration / ms)))
        k = rng.random(n_ms) < float(p.thalamic_rate * ms)
        th_t = np.flatnonzero(k) * 1.0 * ms
        th_i = rng.integers(0, N, size=len(th_t))
        thal = SpikeGeneratorGroup(N, th_i, th_t, name="thalamus")
        thal_syn = Synapses(thal, neurons, on_pre="v_post += I_thal", namespace={"I_thal": p.I_thal},
                            name="thalamic_input")
        thal_syn.connect(j="i")

        def targets(first, n_pre, pool):
            """n_targets distinct random targets from pool (no self-connection) for
            the presynaptic neurons first .. first+n_pre-1 (indices local to the source)."""
            post = [rng.choice(pool[pool != first + k], p.n_targets, replace=False) for k in range(n_pre)]
            return np.repeat(np.arange(n_pre), p.n_targets), np.concatenate(post)

        exc_pre, exc_post = targets(0, p.n_exc, np.arange(N))
        # excitatory neurons are 0 .. n_exc-1, inhibitory n_exc .. N-1
        exc = make_plastic_synapses(neurons, neurons, rule, on_pre_effect="v_post += w * mV",
                                    namespace_extra={"mV": mV}, name="excitatory")
        exc.connect(i=exc_pre, j=exc_post)
        exc.w = p.w_init
        delays = rng.integers(1, int(round(float(p.delay_max / ms))) + 1, size=len(exc_pre))
        exc.delay = delays * ms
        dopamine.add_weight_update(exc, name="dopamine_weight_update")
        objects = [dop, neurons, broadcast, thal, thal_syn, exc]
        if p.n_inh:
            inh_pre, inh_post = targets(p.n_exc, p.n_inh, np.arange(p.n_exc))
            inh = Synapses(neurons, neurons, on_pre="v_post -= w_inh",
                           namespace={"w_inh": p.w_inh}, delay=1 * ms, name="inhibitory")
            inh.connect(i=inh_pre + p.n_exc, j=inh_post)
            objects.append(inh)

        chosen = int(rng.integers(len(exc_pre)))
        c_pre, c_post, c_delay = int(exc_pre[chosen]), int(exc_post[chosen]), int(delays[chosen])
        detector = Synapses(neurons, dop, model="""
            role : 1
            fire = role * int(t - t_arrival_post > 0*ms) * int(t - t_arrival_post <= window) * int(reward_at_post < 0*second) : 1
            """, on_pre=_DETECTOR, namespace={"window": p.window, "delay_min": p.reward_delay_min,
                                               "delay_max": p.reward_delay_max}, name="detector")
        detector.connect(i=[c_pre, c_post], j=[0, 0])
        detector.role = [0, 1]
        detector.delay = [c_delay, 0] * ms  # the pre spike counts when it arrives at the synapse
        others = np.setdiff1d(np.arange(len(exc_pre)), [chosen])
        sample = np.sort(rng.choice(others, min(p.n_sample, len(others)), replace=False))
        w_mon = StateMonitor(exc, "w", record=np.r_[chosen, sample], dt=p.record_every, when="end",
                             name="weight_traces")
        rewards = SpikeMonitor(dop, name="rewards")
        n_rast = min(p.n_raster, N)
        raster = SpikeMonitor(neurons[:max(n_rast, 1)], record=n_rast > 0, name="raster")
        counts = SpikeMonitor(neurons, record=False, name="counts")
        pre_mon = SpikeMonitor(neurons[c_pre:c_pre + 1], name="chosen_pre")
        post_mon = SpikeMonitor(neurons[c_post:c_post + 1], name="chosen_post")
        net = Network(*objects, detector, w_mon, rewards, raster, counts, pre_mon, post_mon)
        with _known_order_warning_silenced():
            net.run(p.duration, report=ctx.report, report_period=10 * second, namespace={})

        w_final = np.asarray(exc.w[:])
        cnt = np.asarray(counts.count[:])
        return xr.Dataset(
            {
                "w_chosen": ("sample_time", np.asarray(w_mon.w[0]), {"units": "1"}),
                "w_sample": (("synapse", "sample_time"), np.asarray(w_mon.w[1:]), {"units": "1"}),
                "w_final": ("exc_synapse", w_final, {"units": "1"}),
                "reward_time": ("reward", np.asarray(rewards.t[:] / second), {"units": "s"}),
                "spike_count": ("neuron", cnt, {"units": "1"}),
                "raster_neuron": ("raster_spike", np.asarray(raster.i[:], dtype=np.int32), {"units": "1"}),
                "raster_time": ("raster_spike", np.asarray(raster.t[:] / second), {"units": "s"}),
                "chosen_pre_spike_time": ("pre_spike", np.asarray(pre_mon.t[:] / second), {"units": "s"}),
                "chosen_post_spike_time": ("post_spike", np.asarray(post_mon.t[:] / second), {"units": "s"}),
            },
            coords={"sample_time": ("sample_time", np.asarray(w_mon.t[:] / second), {"units": "s"})},
            attrs={"chosen_synapse": chosen, "chosen_pre": c_pre, "chosen_post": c_post,
                   "chosen_delay_ms": c_delay, "n_exc_synapses": len(exc_pre),
                   "duration_s": float(p.duration / second)},
        )

    @staticmethod
    def summarize(data, params):
        return distal_features(data, params)


def distal_features(data: xr.Dataset, params: DistalRewardParams) -> dict:
    """Chosen weight against the distribution of the others, rewards, rates."""
    chosen = int(data.attrs["chosen_synapse"])
    w = data["w_final"].values
    others = np.delete(w, chosen)
    w_c = float(w[chosen])
    trace = data["w_chosen"].values
    t = data["sample_time"].values
    reached = np.flatnonzero(trace >= 0.9 * params.w_max)
    n_exc, n = params.n_exc, params.n_exc + params.n_inh
    T = data.attrs["duration_s"]
    cnt = data["spike_count"].values
    return {
        "w_chosen_final": w_c,
        "w_chosen_initial": float(params.w_init),
        "w_others_mean": float(others.mean()),
        "w_others_median": float(np.median(others)),
        "w_others_p99": float(np.percentile(others, 99)),
        "fraction_others_at_or_above_chosen": float((others >= w_c - 1e-12).mean()),
        "chosen_percentile": float((others < w_c).mean() * 100),
        "chosen_reached_90pct_w_max_s": float(t[reached[0]]) if len(reached) else None,
        "n_rewards": int(data.sizes["reward"]),
        "exc_rate_Hz": float(cnt[:n_exc].mean() / T),
        "inh_rate_Hz": float(cnt[n_exc:].mean() / T) if n > n_exc else None,
        "duration_s": float(T),
    }
