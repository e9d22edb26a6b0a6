r"""Protocol kind ``rstdp-classification``: spike-pattern classification learned by R-STDP.

The whole protocol is one Brian2 ``Network`` run over all trials (training, then
testing); input switching, the readout, the reward and the weight updates all happen
inside the simulation, so it runs unchanged on the numpy, cython and cpp_standalone
targets.

Network (every mechanism is a spec parameter)
---------------------------------------------
* **Input** (``SpikeGeneratorGroup``, ``n_inputs``): per trial, the class's spike
  pattern, generated in advance from the run's numpy stream
  (:mod:`bioSNN.encoding`):

  - ``input = "periodic"`` (the seed's task): each class a fixed sparse base pattern
    (``pattern_fraction`` of the inputs) firing every ``pattern_period``, plus
    Bernoulli noise with probability ``noise_prob`` per input and time step;
  - ``input = "poisson"``: each class a rate vector, a random ``active_fraction`` of
    the inputs at ``rate_high`` and the rest at ``rate_low``.

* **Hidden layer** (``n_hidden`` seed LIF neurons): a fixed random projection,
  input -> hidden with probability ``p_in`` and weights uniform in
  ``[0, 2 w_in]`` (a voltage jump per spike). It is not plastic: the projection
  turns each class into a distinct population code.
* **Output layer** (``n_classes`` LIF neurons): hidden -> output all-to-all,
  plastic by R-STDP (:mod:`bioSNN.plasticity`): pair-STDP traces (``tau_plus``,
  ``tau_minus``, ``A_plus``, ``A_minus``) feed an eligibility trace ``c``
  (``tau_c``); weights are unit-less in ``[0, w_max]`` and act as ``w * w_scale``.
  Lateral inhibition (``w_inh``) between outputs makes them compete
  (soft winner-take-all).
* **Readout and reward, in the network**: each output counts its spikes during the
  readout window of a trial (all but its last ``settle_steps`` steps). Output ->
  output "comparison" synapses compute, as summed variables, how many outputs beat
  each one (more spikes, ties to the lower index) and whether the label's output is
  the winner (``label`` is a ``TimedArray`` of the trial classes). A trial with no
  output spike is incorrect. At each trial end a ``run_regularly`` operation applies
  :math:`\Delta w = \eta\, r\, c` with :math:`r` = ``reward_correct`` or
  ``reward_incorrect`` during training (0 during testing), clips ``w`` to
  ``[0, w_max]`` and resets ``c`` (each reward sees one trial), then the counts are
  reset. With ``baseline_rate > 0`` the weight change is modulated by the reward
  prediction error :math:`r - \bar r` instead of :math:`r`, where :math:`\bar r`
  is a running mean of the trial rewards (:math:`\bar r \mathrel{+}=
  \text{baseline\_rate}\,(r - \bar r)` after each training trial): a critic as in
  Fremaux, Sprekeler & Gerstner (2010, J Neurosci 30:13326) and the dopamine-as-RPE
  account (Schultz et al. 1997). Without it, the positive mean reward at chance
  level (1/3 x 1 - 2/3 x 0.2 > 0) potentiates every causal synapse and the outputs
  saturate.

Results: output and hidden spikes of every trial, the input raster of the first test
trial of each class, hidden -> output weights every ``snapshot_every`` training
trials, labels; the summary gives train/test accuracy, the learning curve's last
block, mean rates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import (Hz, Network, NeuronGroup, Quantity, SpikeGeneratorGroup, SpikeMonitor,
                    StateMonitor, Synapses, TimedArray, mV, ms, second)

from ..encoding import (base_patterns, class_rate_patterns, periodic_pattern_trials,
                        poisson_rate_trials, trial_labels)
from ..neurons import lif_equations, lif_group, lif_namespace
from ..params import LIFParams
from ..plasticity import (RewardModulation, STDPRule, STDPTiming, WeightBounds,
                          add_reward_operation, make_plastic_synapses)
from ..features.learning import trial_predictions, classification_features, learning_curve  # noqa: F401 (re-exported)
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["RSTDPClassification", "RSTDPParams", "trial_predictions", "classification_features"]


@dataclass(frozen=True)
class RSTDPParams:
    # task
    input: str = param("periodic", choices=("periodic", "poisson"),
                       doc="input code: periodic noisy patterns or Poisson rate patterns")
    n_inputs: int = param(1156, min=1, doc="input neurons (34 x 34 in the seed)")
    n_hidden: int = param(100, min=1, doc="hidden LIF neurons")
    n_classes: int = param(3, min=2, doc="classes = output neurons")
    n_train: int = param(300, min=1, doc="training trials (freshly generated)")
    n_test: int = param(150, min=1, doc="held-out test trials (no learning)")
    trial_duration: Quantity = param(300 * ms, unit=ms, min=0, min_inclusive=False,
                                     doc="duration of one trial")
    dt: Quantity = param(1 * ms, unit=ms, min=0, min_inclusive=False, max=1,
                         doc="time step (as in the seed)")
    # periodic patterns
    pattern_fraction: float = param(0.05, min=0, max=1, min_inclusive=False,
                                    doc="fraction of inputs in a class's base pattern")
    pattern_period: Quantity = param(10 * ms, unit=ms, min=0, min_inclusive=False,
                                     doc="base pattern repeats every ...")
    noise_prob: float = param(0.01, min=0, max=1, doc="noise spike probability per input and step")
    # Poisson rate patterns
    rate_high: Quantity = param(100 * Hz, unit=Hz, min=0, doc="rate of a class's active inputs")
    rate_low: Quantity = param(5 * Hz, unit=Hz, min=0, doc="rate of the other inputs")
    active_fraction: float = param(0.2, min=0, max=1, min_inclusive=False,
                                   doc="fraction of inputs active for a class")
    # connectivity
    p_in: float = param(0.1, min=0, max=1, min_inclusive=False,
                        doc="input -> hidden connection probability")
    w_in: Quantity = param(0.5 * mV, unit=mV, min=0, doc="mean input -> hidden weight (uniform in [0, 2 w_in])")
    w_scale: Quantity = param(0.3 * mV, unit=mV, min=0, min_inclusive=False,
                              doc="voltage jump of a hidden -> output synapse of weight 1")
    w_init_low: float = param(0.3, min=0, doc="initial hidden -> output weights: uniform low bound")
    w_init_high: float = param(0.7, min=0, doc="initial hidden -> output weights: uniform high bound")
    w_inh: Quantity = param(3 * mV, unit=mV, min=0, doc="lateral inhibition between outputs (per spike)")
    # R-STDP
    tau_plus: Quantity = param(20 * ms, unit=ms, min=0, min_inclusive=False, doc="STDP potentiation window")
    tau_minus: Quantity = param(20 * ms, unit=ms, min=0, min_inclusive=False, doc="STDP depression window")
    A_plus: float = param(1.0, min=0, doc="eligibility per pre-before-post pair at zero lag")
    A_minus: float = param(1.05, min=0, doc="eligibility lost per post-before-pre pair at zero lag")
    tau_c: Quantity = param(1 * second, unit=ms, min=0, min_inclusive=False, doc="eligibility time constant")
    eta: float = param(0.01, min=0, doc="learning rate (weight change per unit reward x eligibility)")
    reward_correct: float = param(1.0, doc="reward of a correct trial")
    reward_incorrect: float = param(-0.2, doc="reward of an incorrect trial (or no output spike)")
    theta_step: Quantity = param(0.05 * mV, unit=mV, min=0,
                                 doc="homeostatic threshold step per training trial (0: off)")
    theta_max: Quantity = param(10 * mV, unit=mV, min=0, doc="bound of the homeostatic threshold shift")
    normalize: bool = param(True, doc="keep each output's summed input weight at its initial mean (synaptic scaling)")
    winner_only: bool = param(True, doc="only the winning output's synapses learn (ideal winner-take-all)")
    baseline_rate: float = param(0.1, min=0, max=1,
                                 doc="reward baseline update rate per trial (0: modulate by the raw reward)")
    w_max: float = param(2.0, min=0, min_inclusive=False, doc="upper weight bound (lower: 0)")
    # readout and records
    settle_steps: int = param(3, min=2, doc="last steps of a trial not counted (lets the in-network readout settle)")
    block: int = param(30, min=1, doc="trials per point of the learning curve")
    snapshot_every: int = param(30, min=1, doc="training trials between weight snapshots")

    def check(self):
        if self.w_init_high < self.w_init_low:
            raise ParamConflict("w_init_high", f"must be >= w_init_low ({self.w_init_low})")
        if self.w_init_high > self.w_max:
            raise ParamConflict("w_init_high", f"must be <= w_max ({self.w_max})")
        steps = float(self.trial_duration / self.dt)
        if abs(steps - round(steps)) > 1e-6:
            raise ParamConflict("trial_duration", f"must be a whole number of time steps dt ({self.dt})")
        if round(steps) <= self.settle_steps + 1:
            raise ParamConflict("settle_steps", "leaves no readout window in a trial")
        if self.input == "periodic":
            per = float(self.pattern_period / self.dt)
            if abs(per - round(per)) > 1e-6:
                raise ParamConflict("pattern_period", f"must be a whole number of steps dt ({self.dt})")
        elif float(self.rate_high * self.dt) > 1 or float(self.rate_low * self.dt) > 1:
            raise ParamConflict("dt", "rate * dt must stay <= 1 for Bernoulli spike generation")

    @property
    def steps_per_trial(self) -> int:
        return int(round(float(self.trial_duration / self.dt)))

    @property
    def rule(self) -> STDPRule:
        return STDPRule(timing=STDPTiming(self.tau_plus, self.tau_minus, self.A_plus, self.A_minus),
                        bounds=WeightBounds(0.0, self.w_max),
                        modulation=RewardModulation(self.tau_c, self.eta, self.reward_correct,
                                                    self.reward_incorrect))


_OUTPUT_EXTRA = """
theta : volt
w_total : 1
count : 1
n_above : 1
label_wins : 1
r_bar : 1
r_trial = reward_correct * label_wins + reward_incorrect * (1 - label_wins) : 1
is_winner = int(n_above < 0.5) * int(count > 0) : 1
"""


@register
class RSTDPClassification(BrianProtocol):
    """Pattern classification by reward-modulated STDP in one Brian2 network."""

    kind = "rstdp-classification"
    headline = ("test_accuracy", "train_accuracy", "hidden_rate_Hz")
    figures = {"overview": "bioSNN.plots.rstdp:plot_rstdp_overview"}
    @staticmethod
    def recording(data, params, rec):
        """NWB/Neo export: one trial per input presentation (label, train/test)."""
        from ..exchange import Intervals

        T = float(np.asarray(params.trial_duration))
        n = data.sizes["trial"]
        rec.t_stop = max(rec.t_stop, n * T)
        rec.intervals.append(Intervals(
            name="trials", start=np.arange(n) * T, stop=np.arange(1, n + 1) * T,
            columns={"label": data["label"].values.astype(np.int64),
                     "is_test": data["is_test"].values.astype(bool)},
            descriptions={"label": "class of the trial's input pattern",
                          "is_test": "test trial (plasticity off), else training"}))
        for name, dim in (("input", "input"), ("hidden", "hidden"), ("output", "output")):
            if dim in data.sizes:
                rec.population(name).size = int(data.sizes[dim])

    populations = {"input": "spike generator (Brian2 SpikeGeneratorGroup): the trial's "
                            "input pattern",
                   "hidden": "seed LIF neuron (bioSNN.neurons, LIFParams.SEED)",
                   "output": "seed LIF neuron with an adaptive threshold shift (R-STDP "
                             "readout)"}
    Params = RSTDPParams

    def simulate(self, ctx):
        p = self.params
        rng = ctx.streams.numpy_rng()
        n_trials = p.n_train + p.n_test
        T = p.trial_duration
        labels = np.concatenate([trial_labels(rng, p.n_classes, p.n_train),
                                 trial_labels(rng, p.n_classes, p.n_test)])
        if p.input == "periodic":
            patterns = base_patterns(rng, p.n_inputs, p.n_classes, p.pattern_fraction)
            idx, times = periodic_pattern_trials(rng, patterns, labels, T, p.pattern_period,
                                                 p.noise_prob, p.dt)
            class_code = patterns.astype(float)
        else:
            rates = class_rate_patterns(rng, p.n_inputs, p.n_classes, p.rate_high, p.rate_low,
                                        p.active_fraction)
            idx, times = poisson_rate_trials(rng, rates, labels, T, p.dt)
            class_code = np.asarray(rates / Hz)
        lif = LIFParams.SEED
        inp = SpikeGeneratorGroup(p.n_inputs, idx, times, name="input")
        hidden = lif_group(p.n_hidden, lif, name="hidden")
        syn_in = Synapses(inp, hidden, "w : volt", on_pre="v_post += w", name="input_hidden")
        pre, post = np.nonzero(rng.random((p.n_inputs, p.n_hidden)) < p.p_in)
        syn_in.connect(i=pre, j=post)
        syn_in.w = rng.uniform(0, 2 * float(p.w_in / mV), len(pre)) * mV

        # Output layer: LIF + spike counter gated to the readout window.
        spt, read_steps = p.steps_per_trial, p.steps_per_trial - p.settle_steps
        label_ta = TimedArray(labels.astype(float), dt=T, name="label_ta")
        learn_ta = TimedArray(np.r_[np.ones(p.n_train), np.zeros(p.n_test + 1)], dt=T, name="learn_ta")
        ns_out = lif_namespace(lif)
        ns_out.update({"spt": spt, "read_steps": read_steps, "reward_correct": p.reward_correct,
                       "reward_incorrect": p.reward_incorrect, "baseline_rate": p.baseline_rate,
                       "learn_ta": learn_ta,
                       "theta_step": p.theta_step, "theta_max": p.theta_max,
                       "win_share": 1.0 / p.n_classes})
        output = NeuronGroup(
            p.n_classes, lif_equations() + _OUTPUT_EXTRA, threshold="v >= V_th + theta",
            reset="v = V_r\ncount += int((timestep(t, dt) % spt) < read_steps)",
            refractory=lif.t_ref, method="exact", namespace=ns_out, name="output")
        output.v = lif.E_L
        compare = Synapses(output, output, """
            n_above_post = int(count_pre > count_post or (count_pre == count_post and i < j)) : 1 (summed)
            label_wins_post = int(abs(i - label_ta(t)) < 0.5) * int(n_above_pre < 0.5) * int(count_pre > 0) : 1 (summed)
            """, namespace={"label_ta": label_ta}, name="compare")
        compare.connect()
        inhib = Synapses(output, output, on_pre="v_post = clip(v_post - w_inh, V_r - 10*mV, v_post)",
                         namespace={"w_inh": p.w_inh, "V_r": lif.V_r}, name="lateral_inhibition")
        inhib.connect(condition="i != j")

        w_target = p.n_hidden * 0.5 * (p.w_init_low + p.w_init_high)
        syn_out = make_plastic_synapses(
            hidden, output, p.rule, namespace_extra={"w_scale": p.w_scale, "learn_ta": learn_ta,
                                                     "w_target": w_target},
            model_extra="w_total_post = w : 1 (summed)", name="hidden_output")
        # explicit all-to-all indices: lengths are known without reading back from the
        # device (cpp_standalone cannot read values before the run)
        hi, oj = np.repeat(np.arange(p.n_hidden), p.n_classes), np.tile(np.arange(p.n_classes), p.n_hidden)
        syn_out.connect(i=hi, j=oj)
        syn_out.w = rng.uniform(p.w_init_low, p.w_init_high, len(hi))
        # At t = k T ('start'): reward for trial k-1 (its label_wins was computed in the
        # last steps of that trial), then counts reset for trial k.
        # The modulating signal is the reward prediction error r - r_bar (r_bar: running
        # mean reward, kept identically on every output neuron).
        gate = " * is_winner_post" if p.winner_only else ""
        reward = f"learn_ta(t - 0.5*dt) * (r_trial_post - r_bar_post){gate}"
        add_reward_operation(syn_out, T, reward=reward, consume=True, name="reward")
        if p.normalize:
            # 'end' of the reward step: w_total (summed in 'groups') already holds the
            # rewarded weights, so the division restores the target sum exactly
            syn_out.run_regularly("w = clip(w * w_target / w_total_post, 0, w_max)", dt=T,
                                  when="end", name="normalize")
        output.run_regularly(
            "r_bar += learn_ta(t - 0.5*dt) * int(t > 0*ms) * baseline_rate * (r_trial - r_bar)\n"
            "theta = clip(theta + learn_ta(t - 0.5*dt) * int(t > 0*ms) * theta_step * (is_winner - win_share), -theta_max, theta_max)\n"
            "count = 0", dt=T, when="start", order=1, name="end_of_trial")

        out_mon = SpikeMonitor(output, name="output_spikes")
        hid_mon = SpikeMonitor(hidden, name="hidden_spikes")
        snaps = np.arange(0, p.n_train + 1, p.snapshot_every)
        if snaps[-1] != p.n_train:
            snaps = np.r_[snaps, p.n_train]
        # Weights, reward baseline and thresholds sampled at trial boundaries ('end' of
        # the step at k*T: after the reward and normalisation of trial k-1).
        w_mon = StateMonitor(syn_out, "w", record=True, dt=T, when="end", name="weights")
        o_mon = StateMonitor(output, ["r_bar", "theta"], record=True, dt=T, when="end",
                             name="output_state")
        net = Network(inp, hidden, syn_in, output, compare, inhib, syn_out, out_mon, hid_mon,
                      w_mon, o_mon)
        # one extra step so the reward of the last trial (at n_trials * T) is applied
        net.run(n_trials * T + p.dt, report=ctx.report, report_period=2 * second, namespace={})

        w_all = np.asarray(w_mon.w[:])  # (n_syn, n_samples): sample k = end of step k*T
        # sample at time k*T (when='end') holds the weights after the reward of trial k-1
        w_t = w_all[:, np.minimum(snaps, w_all.shape[1] - 1)]
        si, sj = np.asarray(syn_out.i[:]), np.asarray(syn_out.j[:])
        W = np.zeros((len(snaps), p.n_hidden, p.n_classes))
        W[:, si, sj] = w_t.T
        t_out = np.asarray(out_mon.t[:] / ms)
        t_hid = np.asarray(hid_mon.t[:] / ms)
        # input raster of the first test trial of each class
        first_test = [p.n_train + int(np.flatnonzero(labels[p.n_train:] == c)[0])
                      if (labels[p.n_train:] == c).any() else -1 for c in range(p.n_classes)]
        in_t = np.asarray(times / ms)
        T_ms = float(T / ms)
        keep = np.isin(np.floor(in_t / T_ms + 1e-9).astype(int), [k for k in first_test if k >= 0])
        return xr.Dataset(
            {
                "label": ("trial", labels, {"units": "1"}),
                "is_test": ("trial", np.arange(n_trials) >= p.n_train, {"units": "1"}),
                "output_spike_neuron": ("output_spike", np.asarray(out_mon.i[:], dtype=np.int32), {"units": "1"}),
                "output_spike_time": ("output_spike", t_out, {"units": "ms"}),
                "hidden_spike_neuron": ("hidden_spike", np.asarray(hid_mon.i[:], dtype=np.int32), {"units": "1"}),
                "hidden_spike_time": ("hidden_spike", t_hid, {"units": "ms"}),
                "input_spike_neuron": ("input_spike", idx[keep], {"units": "1"}),
                "input_spike_time": ("input_spike", in_t[keep], {"units": "ms"}),
                "raster_trial": ("class", np.asarray(first_test), {"units": "1"}),
                "weights": (("snapshot", "hidden", "output"), W, {"units": "1", "long_name": "hidden->output weight"}),
                "snapshot_trial": ("snapshot", snaps, {"units": "1"}),
                "reward_baseline": ("boundary", np.asarray(o_mon.r_bar[0]), {"units": "1",
                                    "long_name": "r_bar after the reward of trial k-1, at t = k T"}),
                "threshold_shift": (("output", "boundary"), np.asarray(o_mon.theta[:] / mV),
                                    {"units": "mV", "long_name": "homeostatic threshold shift at t = k T"}),
                "class_code": (("class", "input"), class_code,
                               {"units": "Hz" if p.input == "poisson" else "1"}),
            },
            attrs={"trial_duration_ms": T_ms, "dt_ms": float(p.dt / ms),
                   "readout_ms": float(p.dt / ms) * (p.steps_per_trial - p.settle_steps)},
        )

    @staticmethod
    def summarize(data, params):
        return classification_features(data, params)
