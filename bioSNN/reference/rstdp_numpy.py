r"""Vectorized NumPy implementation of the ``rstdp-classification`` protocol.

The same network, rule and inputs as
:class:`bioSNN.protocols.rstdp_classification.RSTDPClassification`, written as one
explicit time-step loop in NumPy instead of a Brian2 ``Network``. It serves as an
independent reference (``tests/test_rstdp_reference.py``: identical spike trains and
weights) and as the baseline of the speed benchmark (``benchmarks/rstdp_speed.py``).

Formulation
-----------
* **Inputs** are drawn from the run's numpy stream in exactly the protocol's order
  (labels, class code, spike trains, input -> hidden connectivity and weights,
  hidden -> output weights), so both implementations see identical spikes.
* **Input -> hidden** (fixed, not recurrent): the voltage jumps of one whole trial are
  one sparse x dense product, ``D = S @ W_in`` with ``S`` the (steps x inputs) spike
  matrix of the trial and ``W_in`` the dense (inputs x hidden) weight matrix; step
  ``s`` then adds row ``D[s]``.
* **Traces on neurons.** With all-to-all pairing and the same time constant on every
  synapse, the trace ``apre`` of synapse (i, j) depends on ``i`` only and ``apost``
  on ``j`` only: one vector per layer (decayed by a constant factor per step).
* **Event-driven eligibility.** ``c`` (hidden x output) changes only at spikes, by
  outer products: a hidden spike of ``i`` does ``c[i, :] -= apost``, an output
  spike of ``j`` does ``c[:, j] += apre``. Its decay is the same factor for every
  synapse, so ``c`` is stored relative to the start of the trial,
  :math:`E = c(t)\, e^{(t - t_0)/\tau_c}`, and decayed once, at the reward.
* **Reward once per trial**, from the output spike counts (no per-step readout).

Per-step schedule (Brian2's default ``start, groups, thresholds, synapses, resets,
end``, objects within a slot sorted by ``order`` then name)
------------------------------------------------------------------------------------
``start`` (at ``t = k T``)
    reward of trial ``k - 1``: :math:`w \leftarrow \mathrm{clip}(w + \eta\,
    \ell\,(r - \bar r)\,[j = \text{winner}]\, c(t), 0, w_{max})`, ``c = 0``; then
    :math:`\bar r` and the threshold shifts ``theta``, then counts reset
    (``ell`` = 1 during training).
``groups``
    exact LIF update :math:`v \leftarrow E_L + e^{-dt/\tau_m}(v - E_L)` of
    non-refractory neurons (refractory: ``step - last_spike_step < t_ref/dt``).
``thresholds``
    input spikes of this step; hidden ``v >= V_th``; output ``v >= V_th + theta``.
``synapses``
    ``hidden_output_pre`` (``v_out += w w_scale``, ``apre += A_plus``,
    ``c -= apost``), ``input_hidden_pre`` (``v_hid += D[s]``),
    ``lateral_inhibition_pre`` (``v = clip(v - w_inh, V_r - 10 mV, v)``, one
    spiking output after the other), ``hidden_output_post`` (``apost += A_minus``,
    ``c += apre``). As in Brian2, synaptic writes to ``v`` (flagged ``unless
    refractory``) are dropped for refractory targets, including a neuron that spikes
    in this step.
``resets``
    ``v = V_r``; an output spike in the readout window increments its count.
``end`` (at ``t = k T``)
    normalisation :math:`w \leftarrow \mathrm{clip}(w\, w_{target} / \sum_i w, 0,
    w_{max})`; weights, :math:`\bar r` and ``theta`` are recorded.

Deviations from the Brian2 protocol (all at rounding level, ~1e-16 relative)
--------------------------------------------------------------------------
* Sums of simultaneous voltage jumps are formed first and then added to ``v``
  (Brian2 adds synapse by synapse); traces decay by a per-step factor instead of
  ``exp(-(t - lastupdate)/tau)``; ``c`` is decayed as described above.
* The winner is computed from the counts at the reward (Brian2: output -> output
  summed variables during the last ``settle_steps`` steps; identical values, since
  counts are frozen there).
A threshold crossing decided within ~1e-15 mV could in principle differ; the
reference test checks that spike trains and weights agree exactly/to 1e-9.
"""
from __future__ import annotations

import time

import numpy as np
import xarray as xr
from brian2 import Hz, mV, ms
from scipy import sparse

from ..encoding import (base_patterns, class_rate_patterns, periodic_pattern_trials,
                        poisson_rate_trials, trial_labels)
from ..params import LIFParams
from ..protocols.rstdp_classification import RSTDPParams
from ..seeding import SeedStreams

__all__ = ["RSTDPInputs", "make_inputs", "simulate"]


class RSTDPInputs:
    """Everything the protocol draws from the numpy stream, in its order.

    Attributes
    ----------
    labels : ndarray (n_trials,)
    idx : ndarray of int, steps : ndarray of int
        Input spikes (neuron, time step), sorted by step.
    times : Quantity
        The same spike times (as given to Brian2).
    class_code : ndarray (n_classes, n_inputs)
    pre, post : ndarray of int
        Input -> hidden synapses.
    w_in_V : ndarray
        Their weights (volt, as float).
    w_out : ndarray (n_hidden, n_classes)
        Initial hidden -> output weights (unit-less).
    """

    def __init__(self, p: RSTDPParams, rng: np.random.Generator):
        n_trials = p.n_train + p.n_test
        T = p.trial_duration
        self.labels = np.concatenate([trial_labels(rng, p.n_classes, p.n_train),
                                      trial_labels(rng, p.n_classes, p.n_test)])
        if p.input == "periodic":
            patterns = base_patterns(rng, p.n_inputs, p.n_classes, p.pattern_fraction)
            idx, times = periodic_pattern_trials(rng, patterns, self.labels, T,
                                                 p.pattern_period, p.noise_prob, p.dt)
            self.class_code = patterns.astype(float)
        else:
            rates = class_rate_patterns(rng, p.n_inputs, p.n_classes, p.rate_high,
                                        p.rate_low, p.active_fraction)
            idx, times = poisson_rate_trials(rng, rates, self.labels, T, p.dt)
            self.class_code = np.asarray(rates / Hz)
        self.idx, self.times = idx, times
        self.steps = np.rint(np.asarray(times / p.dt)).astype(np.int64)
        self.pre, self.post = np.nonzero(rng.random((p.n_inputs, p.n_hidden)) < p.p_in)
        # Brian2 receives rng values * mV: the same floats as * 1e-3
        self.w_in_V = rng.uniform(0, 2 * float(p.w_in / mV), len(self.pre)) * float(mV)
        self.w_out = rng.uniform(p.w_init_low, p.w_init_high,
                                 p.n_hidden * p.n_classes).reshape(p.n_hidden, p.n_classes)
        self.n_trials = n_trials


def make_inputs(params: RSTDPParams, seed: int) -> RSTDPInputs:
    """The inputs of a protocol run with ``seed`` (same numpy stream)."""
    return RSTDPInputs(params, SeedStreams.from_seed(seed).numpy_rng())


def simulate(params: RSTDPParams, seed: int, *, timings: dict | None = None) -> xr.Dataset:
    r"""Run the ``rstdp-classification`` network in NumPy.

    Parameters
    ----------
    params : RSTDPParams
        The protocol's parameters.
    seed : int
        The run's seed (only its numpy stream is used; the protocol draws nothing
        from Brian2's stream).
    timings : dict, optional
        If given, filled with wall times (s): ``inputs`` (drawing the inputs, same
        code as the protocol), ``loop`` (the time-step loop), ``total``.

    Returns
    -------
    xarray.Dataset
        The protocol's data variables (same names, units and layout), so
        :func:`~bioSNN.protocols.rstdp_classification.classification_features`
        applies unchanged.
    """
    t_start = time.perf_counter()
    p = params
    inp = make_inputs(p, seed)
    t_inputs = time.perf_counter()

    lif = LIFParams.SEED
    E_L, V_th, V_r = (float(lif.E_L), float(lif.V_th), float(lif.V_r))
    dt = float(p.dt)
    ref_steps = int(round(float(lif.t_ref) / dt))
    a_m = float(np.exp(-dt / float(lif.tau_m)))
    mE_L = -E_L
    n_h, n_o = p.n_hidden, p.n_classes
    spt, read_steps = p.steps_per_trial, p.steps_per_trial - p.settle_steps
    n_trials = inp.n_trials
    w_scale, w_inh = float(p.w_scale), float(p.w_inh)
    floor_inh = V_r - float(10 * mV)      # the protocol clips inhibition at V_r - 10 mV
    A_plus, A_minus = p.A_plus, p.A_minus
    d_pre = float(np.exp(-dt / float(p.tau_plus)))
    d_post = float(np.exp(-dt / float(p.tau_minus)))
    tau_c = float(p.tau_c)
    eta, w_max = p.eta, p.w_max
    theta_step, theta_max = float(p.theta_step), float(p.theta_max)
    w_target = n_h * 0.5 * (p.w_init_low + p.w_init_high)

    W_in = np.zeros((p.n_inputs, n_h))
    W_in[inp.pre, inp.post] = inp.w_in_V
    W_in = sparse.csr_matrix(W_in)
    # input spikes of each trial: boundaries into the (step-sorted) spike arrays
    bounds = np.searchsorted(inp.steps, np.arange(n_trials + 1) * spt)

    # One state vector for both LIF layers (hidden neurons, then outputs), so that the
    # membrane update and the threshold test are one operation each per step.
    n = n_h + n_o
    v = np.full(n, E_L)
    last = np.full(n, -10 ** 9, dtype=np.int64)     # step of the last spike
    thr = np.full(n, V_th)
    nr = np.ones(n, dtype=bool)                     # not refractory
    tmp = np.empty(n)
    above = np.empty(n, dtype=bool)
    v_h, v_o, nr_h, nr_o = v[:n_h], v[n_h:], nr[:n_h], nr[n_h:]   # views
    c0 = a_m * mE_L
    W = inp.w_out.copy()
    apre = np.zeros(n_h)              # presynaptic traces, one per hidden neuron
    apost = np.zeros(n_o)             # postsynaptic traces, one per output neuron
    E = np.zeros((n_h, n_o))          # eligibility c, scaled by exp((t - t0)/tau_c)
    g_c = np.exp(np.arange(spt) * dt / tau_c).tolist()
    decay_c = float(np.exp(-spt * dt / tau_c))
    count = np.zeros(n_o)
    theta = np.zeros(n_o)
    r_bar = 0.0
    others = ~np.eye(n_o, dtype=bool)
    no_spike = np.zeros(0, dtype=np.int64)

    hid_spikes, out_spikes = [], []   # (step, neuron indices)
    w_snap, r_bar_rec, theta_rec = [], [], []

    for k in range(n_trials + 1):  # k = n_trials: the extra step that rewards the last trial
        s0 = k * spt
        # ---- 'start' at t = k T: reward of trial k-1, baseline, thresholds, counts
        if k > 0:
            learn = 1.0 if k - 1 < p.n_train else 0.0
            win = int(np.argmax(count)) if count.max() > 0 else -1
            is_winner = np.zeros(n_o)
            if win >= 0:
                is_winner[win] = 1.0
            label_wins = 1.0 if win == inp.labels[k - 1] else 0.0
            r = p.reward_correct * label_wins + p.reward_incorrect * (1 - label_wins)
            mod = learn * (r - r_bar) * (is_winner if p.winner_only else np.ones(n_o))
            W = np.clip(W + eta * mod[None, :] * (E * decay_c), 0.0, w_max)
            r_bar += learn * p.baseline_rate * (r - r_bar)
            theta = np.clip(theta + learn * theta_step * (is_winner - 1.0 / n_o),
                            -theta_max, theta_max)
        E[:] = 0.0
        count[:] = 0.0
        thr[n_h:] = V_th + theta
        if k < n_trials:
            lo, hi = bounds[k], bounds[k + 1]
            S = sparse.csr_matrix((np.ones(hi - lo), (inp.steps[lo:hi] - s0, inp.idx[lo:hi])),
                                  shape=(spt, p.n_inputs))
            D = (S @ W_in).toarray()
            n_steps = spt
        else:
            D = np.zeros((1, n_h))
            n_steps = 1
        Ww = W * w_scale
        for sl in range(n_steps):
            s = s0 + sl
            # ---- 'groups': exact LIF update of non-refractory neurons,
            #      v <- E_L + (a v + a (-E_L)) as in Brian2's generated code
            np.greater_equal(s - last, ref_steps, out=nr)
            np.multiply(v, a_m, out=tmp)
            tmp += c0
            tmp += E_L
            np.copyto(v, tmp, where=nr)
            # ---- 'thresholds'
            np.greater_equal(v, thr, out=above)
            above &= nr
            sp = np.flatnonzero(above)
            if sp.size:
                nr[sp] = False                  # a spike starts the refractory period
                split = int(np.searchsorted(sp, n_h))
                sp_h, sp_o = sp[:split], sp[split:] - n_h
            else:
                sp_h = sp_o = no_spike
            # ---- 'synapses' (writes to v are dropped for refractory targets)
            apre *= d_pre
            apost *= d_post
            if sp_h.size:                       # hidden_output_pre
                hid_spikes.append((s, sp_h))
                np.add(v_o, Ww[sp_h].sum(axis=0), out=v_o, where=nr_o)
                apre[sp_h] += A_plus
                E[sp_h] -= apost * g_c[sl]
            np.add(v_h, D[sl], out=v_h, where=nr_h)     # input_hidden_pre
            if sp_o.size:
                out_spikes.append((s, sp_o))
                for i in sp_o:                  # lateral_inhibition_pre
                    tgt = others[i] & nr_o
                    v_o[tgt] = np.clip(v_o[tgt] - w_inh, floor_inh, v_o[tgt])
                apost[sp_o] += A_minus          # hidden_output_post
                E[:, sp_o] += apre[:, None] * g_c[sl]
                if sl < read_steps:             # 'resets': readout counter
                    count[sp_o] += 1
            # ---- 'resets'
            if sp.size:
                v[sp] = V_r
                last[sp] = s
            if sl == 0:
                # ---- 'end' at t = k T: normalisation, then the boundary records
                if p.normalize:
                    W = np.clip(W * w_target / W.sum(axis=0), 0.0, w_max)
                    Ww = W * w_scale
                w_snap.append(W.copy())
                r_bar_rec.append(r_bar)
                theta_rec.append(theta.copy())
    t_loop = time.perf_counter()
    if timings is not None:
        timings.update(inputs=t_inputs - t_start, loop=t_loop - t_inputs,
                       total=t_loop - t_start)
    return _dataset(p, inp, hid_spikes, out_spikes, w_snap, r_bar_rec, theta_rec)


def _flatten(spikes) -> tuple[np.ndarray, np.ndarray]:
    if not spikes:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64)
    neurons = np.concatenate([n for _, n in spikes]).astype(np.int32)
    steps = np.concatenate([np.full(len(n), s, dtype=np.int64) for s, n in spikes])
    return neurons, steps


def _dataset(p, inp, hid_spikes, out_spikes, w_snap, r_bar_rec, theta_rec) -> xr.Dataset:
    """The protocol's Dataset layout (see ``RSTDPClassification.simulate``)."""
    n_trials = inp.n_trials
    dt_ms = float(p.dt / ms)
    T_ms = float(p.trial_duration / ms)
    o_n, o_s = _flatten(out_spikes)
    h_n, h_s = _flatten(hid_spikes)
    snaps = np.arange(0, p.n_train + 1, p.snapshot_every)
    if snaps[-1] != p.n_train:
        snaps = np.r_[snaps, p.n_train]
    W = np.stack(w_snap)[np.minimum(snaps, len(w_snap) - 1)]
    labels = inp.labels
    first_test = [p.n_train + int(np.flatnonzero(labels[p.n_train:] == c)[0])
                  if (labels[p.n_train:] == c).any() else -1 for c in range(p.n_classes)]
    in_t = np.asarray(inp.times / ms)
    keep = np.isin(np.floor(in_t / T_ms + 1e-9).astype(int), [k for k in first_test if k >= 0])
    return xr.Dataset(
        {
            "label": ("trial", labels, {"units": "1"}),
            "is_test": ("trial", np.arange(n_trials) >= p.n_train, {"units": "1"}),
            "output_spike_neuron": ("output_spike", o_n, {"units": "1"}),
            "output_spike_time": ("output_spike", o_s * dt_ms, {"units": "ms"}),
            "output_spike_step": ("output_spike", o_s, {"units": "1"}),
            "hidden_spike_neuron": ("hidden_spike", h_n, {"units": "1"}),
            "hidden_spike_time": ("hidden_spike", h_s * dt_ms, {"units": "ms"}),
            "hidden_spike_step": ("hidden_spike", h_s, {"units": "1"}),
            "input_spike_neuron": ("input_spike", inp.idx[keep], {"units": "1"}),
            "input_spike_time": ("input_spike", in_t[keep], {"units": "ms"}),
            "raster_trial": ("class", np.asarray(first_test), {"units": "1"}),
            "weights": (("snapshot", "hidden", "output"), W,
                        {"units": "1", "long_name": "hidden->output weight"}),
            "snapshot_trial": ("snapshot", snaps, {"units": "1"}),
            "reward_baseline": ("boundary", np.asarray(r_bar_rec), {"units": "1"}),
            "threshold_shift": (("output", "boundary"), np.asarray(theta_rec).T / float(mV),
                                {"units": "mV"}),
            "class_code": (("class", "input"), inp.class_code,
                           {"units": "Hz" if p.input == "poisson" else "1"}),
        },
        attrs={"trial_duration_ms": T_ms, "dt_ms": dt_ms,
               "readout_ms": dt_ms * (p.steps_per_trial - p.settle_steps),
               "n_input_spikes": int(len(inp.idx)),
               "n_input_hidden_synapses": int(len(inp.pre)),
               "input_hidden_events": int(np.bincount(inp.pre, minlength=p.n_inputs)[inp.idx].sum())},
    )
