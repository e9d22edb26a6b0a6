r"""Parity of bioSNN's plasticity rules with NEST's synapse models on identical spike trains.

``.venv/bin/python benchmarks/nest_parity.py`` (needs ``nest-simulator==3.10.0``) drives,
for every case below, a bioSNN rule (Brian2, numpy target) and its NEST counterpart with
the same presynaptic and postsynaptic spike trains, and prints the parity table: the
largest relative difference of the weights after the run and after every presynaptic
spike (where NEST updates, and its ``weight_recorder`` reports, the weight).

How the two sides are made to see the same spikes at the synapse
----------------------------------------------------------------
* NEST: spike generators drive ``parrot_neuron`` s (1 ms connection delay, subtracted
  from the generator times), the plastic connection goes from a presynaptic parrot to
  port 1 of a postsynaptic parrot (spikes on port 1 are not repeated). All its delay is
  dendritic: the synapse sees a postsynaptic spike ``DELAY_MS`` after the parrot emits
  it, so the postsynaptic generator times are shifted by ``-DELAY_MS``.
* Spike times are whole steps of 0.1 ms on both sides (NEST ``resolution`` = Brian2 dt).
* NEST applies potentiation lazily, at the next presynaptic spike: one extra
  presynaptic spike 2 s after the trains (NEST side only) flushes it; its own
  depression is below 1e-25 of A- and is not counted.

Parameter mapping (NEST ``stdp_*_synapse`` -> bioSNN)
-----------------------------------------------------
``Wmax`` = ``w_max`` (NEST's lower bound is 0), ``lambda`` = ``A_plus / w_max``,
``alpha`` = ``A_minus / A_plus``; ``mu_plus``/``mu_minus`` 0 -> ``WeightBounds``, 1 ->
``MultiplicativeWeights``, (0, 1) -> ``AdditivePotentiationMultiplicativeDepression``,
other -> ``GutigWeights``; ``tau_plus`` on the synapse, ``tau_minus`` on the
postsynaptic neuron. Triplet: ``Aplus, Aplus_triplet, Aminus, Aminus_triplet`` =
``A2_plus, A3_plus, A2_minus, A3_minus``; ``tau_plus_triplet`` = ``tau_x``; neuron
``tau_minus_triplet`` = ``tau_y``.

Where the models differ by definition (the ``DIFFERENCES`` rows, exact formulas):
NEST discards zero-lag pairs (bioSNN: one pre-before-post pair, ``+A_plus``), and NEST's
``stdp_nn_symm``/``stdp_nn_restr`` pair postsynaptic spikes before the first
presynaptic spike with a virtual presynaptic spike at t = 0 (bioSNN: no pair). The
parity trains avoid both (no simultaneous spikes, every train starts with a pre spike).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from brian2 import Network, SpikeGeneratorGroup, StateMonitor, defaultclock, ms, prefs

from bioSNN.plasticity import (AdditivePotentiationMultiplicativeDepression, GutigWeights,
                               MultiplicativeWeights, NearestPreCentredTiming,
                               NearestRestrictedTiming, NearestSymmetricTiming, STDPRule,
                               STDPTiming, TripletTiming, WeightBounds, make_plastic_synapses)

DT_MS = 0.1
DELAY_MS = 0.1  # the plastic connection's (dendritic) delay in NEST
PARROT_DELAY_MS = 1.0
FLUSH_MS = 2000.0
W_MAX = 2.0
PAIR = dict(tau_plus=16.8 * ms, tau_minus=33.7 * ms, A_plus=0.2, A_minus=0.22)
TRIPLET = dict(tau_plus=16.8 * ms, tau_minus=33.7 * ms, tau_x=101 * ms, tau_y=125 * ms,
               A2_plus=0.04, A3_plus=0.15, A2_minus=0.08, A3_minus=0.03)


@dataclass(frozen=True)
class Case:
    """One bioSNN rule and the NEST model with the mapped parameters."""

    name: str
    rule: STDPRule
    nest_model: str
    synapse: dict
    neuron: dict = field(default_factory=dict)


def _ms(q) -> float:
    return float(q / ms)


def pair_case(name, timing_cls, weights, nest_model, mu_plus, mu_minus) -> Case:
    timing = timing_cls(**PAIR)
    synapse = {"tau_plus": _ms(timing.tau_plus), "lambda": timing.A_plus / W_MAX,
               "alpha": timing.A_minus / timing.A_plus, "mu_plus": mu_plus,
               "mu_minus": mu_minus, "Wmax": W_MAX}
    return Case(name, STDPRule(timing, weights), nest_model, synapse,
                {"tau_minus": _ms(timing.tau_minus)})


def triplet_case() -> Case:
    t = TripletTiming(**TRIPLET)
    synapse = {"tau_plus": _ms(t.tau_plus), "tau_plus_triplet": _ms(t.tau_x),
               "Aplus": t.A2_plus, "Aplus_triplet": t.A3_plus, "Aminus": t.A2_minus,
               "Aminus_triplet": t.A3_minus, "Wmax": W_MAX}
    return Case("triplet all-to-all, additive", STDPRule(t, WeightBounds(0.0, W_MAX)),
                "stdp_triplet_synapse", synapse,
                {"tau_minus": _ms(t.tau_minus), "tau_minus_triplet": _ms(t.tau_y)})


def cases() -> list[Case]:
    add, mult = WeightBounds(0.0, W_MAX), MultiplicativeWeights(0.0, W_MAX)
    return [
        pair_case("all-to-all, additive", STDPTiming, add, "stdp_synapse", 0.0, 0.0),
        pair_case("all-to-all, multiplicative", STDPTiming, mult, "stdp_synapse", 1.0, 1.0),
        pair_case("all-to-all, van Rossum", STDPTiming,
                  AdditivePotentiationMultiplicativeDepression(0.0, W_MAX), "stdp_synapse",
                  0.0, 1.0),
        pair_case("all-to-all, Gutig mu+ 0.4 mu- 0.7", STDPTiming,
                  GutigWeights(0.0, W_MAX, 0.4, 0.7), "stdp_synapse", 0.4, 0.7),
        pair_case("nn symmetric, additive", NearestSymmetricTiming, add,
                  "stdp_nn_symm_synapse", 0.0, 0.0),
        pair_case("nn symmetric, multiplicative", NearestSymmetricTiming, mult,
                  "stdp_nn_symm_synapse", 1.0, 1.0),
        pair_case("nn pre-centred, additive", NearestPreCentredTiming, add,
                  "stdp_nn_pre_centered_synapse", 0.0, 0.0),
        pair_case("nn pre-centred, Gutig", NearestPreCentredTiming,
                  GutigWeights(0.0, W_MAX, 0.4, 0.7), "stdp_nn_pre_centered_synapse", 0.4, 0.7),
        pair_case("nn restricted, additive", NearestRestrictedTiming, add,
                  "stdp_nn_restr_synapse", 0.0, 0.0),
        pair_case("nn restricted, multiplicative", NearestRestrictedTiming, mult,
                  "stdp_nn_restr_synapse", 1.0, 1.0),
        triplet_case(),
    ]


def parity_trains(seed: int = 1, n_random: int = 6, steps: int = 5000):
    """Pre and post trains (steps of 0.1 ms), one synapse per pair of trains.

    Every train starts with a presynaptic spike and no pre and post spike share a step
    (the two cases where NEST and bioSNN differ by definition).
    """
    pre = [
        [50, 150],                                 # LTP pair, then LTD pair
        [50, 100, 110, 120, 130, 300],             # pre burst, post, post burst
        [50, 200, 700],
        list(range(50, 4000, 250)),                # heavy LTP: reaches Wmax
        [50] + list(range(108, 4000, 250)),        # heavy LTD: reaches 0
    ]
    post = [
        [100],
        [200, 350, 360, 370, 380],
        [210, 220, 230, 600],
        list(range(70, 4000, 250)),
        list(range(90, 4000, 250)),
    ]
    rng = np.random.default_rng(seed)
    for _ in range(n_random):  # ~ 30 Hz, bursts by chance
        a = sorted(set(rng.integers(60, steps, rng.poisson(15)).tolist()))
        b = sorted(set(rng.integers(60, steps, rng.poisson(15)).tolist()) - set(a))
        pre.append([50] + a)
        post.append(b)
    return pre, post


def w_init(n: int) -> np.ndarray:
    return W_MAX * (0.25 + 0.5 * np.arange(n) / max(n - 1, 1))


def run_biosnn(rule: STDPRule, pre, post, w0):
    """Final weights and the weight after every presynaptic spike (per synapse)."""
    saved = prefs.codegen.target, defaultclock.dt
    prefs.codegen.target, defaultclock.dt = "numpy", DT_MS * ms
    try:
        groups = []
        for trains in (pre, post):
            idx = np.concatenate([np.full(len(s), k) for k, s in enumerate(trains)]).astype(int)
            steps = np.concatenate([np.asarray(s, dtype=float) for s in trains])
            groups.append(SpikeGeneratorGroup(len(trains), idx, steps * DT_MS * ms))
        syn = make_plastic_synapses(*groups, rule, on_pre_effect="")
        syn.connect(j="i")
        syn.w = w0
        mon = StateMonitor(syn, "w", record=True, when="end")
        n_steps = max(max(s) for s in pre + post if s) + 2
        Network(*groups, syn, mon).run(n_steps * DT_MS * ms, namespace={})
        trace = np.asarray(mon.w)
        return np.asarray(syn.w[:]), [trace[k, np.asarray(s, dtype=int)] for k, s in enumerate(pre)]
    finally:
        prefs.codegen.target, defaultclock.dt = saved


def run_nest(case: Case, pre, post, w0):
    """Final NEST weights (after the flush spike) and the weight after every pre spike."""
    import nest

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.resolution = DT_MS
    n = len(pre)
    t_end = max(max(s) for s in pre + post if s) * DT_MS
    flush = t_end + FLUSH_MS
    gens = nest.Create("spike_generator", 2 * n)
    for k in range(n):
        times = [s * DT_MS - PARROT_DELAY_MS for s in pre[k]] + [flush - PARROT_DELAY_MS]
        gens[k].set(spike_times=np.round(times, 6), allow_offgrid_times=True)
        post_times = [s * DT_MS - DELAY_MS - PARROT_DELAY_MS for s in post[k]]
        gens[n + k].set(spike_times=np.round(post_times, 6), allow_offgrid_times=True)
    parrots = nest.Create("parrot_neuron", 2 * n)
    if case.neuron:
        parrots[n:].set(case.neuron)
    nest.Connect(gens, parrots, "one_to_one", syn_spec={"delay": PARROT_DELAY_MS})
    recorder = nest.Create("weight_recorder")
    model = "parity_" + case.nest_model
    nest.CopyModel(case.nest_model, model, {"weight_recorder": recorder})
    for k in range(n):  # one connection per synapse, each with its own initial weight
        nest.Connect(parrots[k], parrots[n + k], syn_spec={
            "synapse_model": model, "receptor_type": 1, "delay": DELAY_MS,
            "weight": float(w0[k]), **case.synapse})
    nest.Simulate(flush + 5.0)
    conns = nest.GetConnections(parrots[:n], parrots[n:], synapse_model=model)
    by_source = dict(zip(np.atleast_1d(conns.get("source")), np.atleast_1d(conns.get("weight"))))
    ids = list(parrots[:n].tolist())
    w_final = np.array([by_source[i] for i in ids])
    ev = recorder.events
    per_event = []
    for i in ids:
        sel = ev["senders"] == i
        order = np.argsort(ev["times"][sel], kind="stable")
        per_event.append(np.asarray(ev["weights"][sel])[order][:-1])  # without the flush
    return w_final, per_event


def relative(a, b) -> np.ndarray:
    """|a - b| relative to |b|, with a floor of 1e-3 Wmax for weights at (or near) 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-3 * W_MAX)


def compare(case: Case, pre=None, post=None) -> dict:
    pre, post = parity_trains() if pre is None else (pre, post)
    w0 = w_init(len(pre))
    start = time.perf_counter()
    w_bio, ev_bio = run_biosnn(case.rule, pre, post, w0)
    w_nest, ev_nest = run_nest(case, pre, post, w0)
    per_event = max(float(relative(b, n_).max(initial=0.0)) for b, n_ in zip(ev_bio, ev_nest))
    return {
        "case": case.name, "nest": case.nest_model, "w_bio": w_bio, "w_nest": w_nest,
        "rel_final": float(relative(w_bio, w_nest).max()), "rel_event": per_event,
        "n_events": sum(len(e) for e in ev_nest),
        "at_bounds": int(np.sum((w_nest == 0.0) | (w_nest == W_MAX))),
        "seconds": time.perf_counter() - start,
    }


# --------------------------------------------------------------------------
# Documented differences: both sides and the exact expected difference
# --------------------------------------------------------------------------
def zero_lag_difference() -> dict:
    """All-to-all additive, two zero-lag pairs (10 and 30 ms) and a normal LTP pair.

    bioSNN counts each zero-lag pair as pre-before-post (+A_plus), NEST discards it:
    w_bio - w_nest = 2 A_plus (no clipping).
    """
    case = cases()[0]
    pre, post = [[100, 200, 300]], [[100, 250, 300]]
    w_bio, _ = run_biosnn(case.rule, pre, post, [1.0])
    w_nest, _ = run_nest(case, pre, post, [1.0])
    expected = 2 * case.rule.timing.A_plus
    return {"case": "zero-lag pairs (all-to-all)", "nest": case.nest_model,
            "difference": float(w_bio[0] - w_nest[0]), "expected": expected}


def virtual_first_pre_difference(case_index: int = 4) -> dict:
    """nn symmetric (or, ``case_index`` 8, restricted) additive: a post spike at 20 ms
    before the first pre spike (50 ms).

    NEST pairs it with a virtual pre spike at t = 0: w_nest - w_bio =
    A_plus exp(-20 ms / tau_plus) (the pair 50 -> 20 ms depresses on both sides).
    """
    case = cases()[case_index]
    pre, post = [[500]], [[200]]
    w_bio, _ = run_biosnn(case.rule, pre, post, [1.0])
    w_nest, _ = run_nest(case, pre, post, [1.0])
    t = case.rule.timing
    expected = -t.A_plus * math.exp(-20.0 / _ms(t.tau_plus))
    return {"case": f"post before first pre ({case.name.split(',')[0]})", "nest": case.nest_model,
            "difference": float(w_bio[0] - w_nest[0]), "expected": expected}


DIFFERENCES = (zero_lag_difference, virtual_first_pre_difference,
               lambda: virtual_first_pre_difference(8))


def main() -> None:
    rows = [compare(case) for case in cases()]
    print(f"{'bioSNN rule':36} {'NEST model':30} {'events':>6} {'at bound':>8} "
          f"{'max rel final':>13} {'max rel event':>13}")
    for r in rows:
        print(f"{r['case']:36} {r['nest']:30} {r['n_events']:6d} {r['at_bounds']:8d} "
              f"{r['rel_final']:13.2e} {r['rel_event']:13.2e}")
    print("\nfinal weights, synapse 0 and 6 (bioSNN | NEST):")
    for r in rows:
        print(f"  {r['case']:36} {r['w_bio'][0]:.15f} | {r['w_nest'][0]:.15f}   "
              f"{r['w_bio'][6]:.15f} | {r['w_nest'][6]:.15f}")
    print("\ndocumented differences (w_bio - w_nest):")
    for fn in DIFFERENCES:
        d = fn()
        print(f"  {d['case']:40} {d['nest']:24} measured {d['difference']:+.15f} "
              f"expected {d['expected']:+.15f}")


if __name__ == "__main__":
    main()
