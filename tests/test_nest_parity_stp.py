"""Tsodyks-Markram STP and Vogels-Sprekeler iSTDP against NEST 3.10 on identical spike trains.

Skipped without ``nest``. Spike generators drive ``parrot_neuron`` s (1 ms delay, taken
off the generator times); the plastic connection runs from a presynaptic parrot to port
1 of a postsynaptic parrot (not repeated). Spike times are whole 0.1 ms steps on both
sides (NEST ``resolution`` = Brian2 dt).

* ``tsodyks2_synapse`` vs :class:`TsodyksMarkram`: after every presynaptic spike NEST's
  ``u``, ``x`` (read between spikes, by simulating in pieces) and the sent weight
  (``weight_recorder``) against bioSNN's ``u``, ``x`` and ``w * r``. NEST keeps ``x``
  before the release, bioSNN after it: ``x_bio = x_nest (1 - u_nest)``.
* ``vogels_sprekeler_synapse`` vs :func:`vogels_sprekeler_rule`: the weight after every
  presynaptic spike (NEST updates lazily, there), positive and negative (``Wmax < 0``)
  weights, trains that reach both bounds. All of NEST's delay is dendritic: the synapse
  sees a postsynaptic spike one delay after the parrot emits it, so the postsynaptic
  generator times are shifted by ``-DELAY_MS``; the postsynaptic parrot's
  ``tau_minus`` is the rule's ``tau``. A flush spike 2 s after the trains gives NEST's
  final weights, ``max(w_bio - eta alpha, 0)`` exactly (the flush spike's own depression).
  With a longer NEST delay D (2.5 ms), bioSNN gets the same spikes at the synapse from
  a postsynaptic-pathway delay D (``syn.post.delay``) and no presynaptic delay.
* The one difference by definition (NEST discards zero-lag pairs, bioSNN counts one,
  ``+eta``) is tested as an exact formula.

``.venv/bin/python tests/test_nest_parity_stp.py`` prints the measured differences.
"""
from __future__ import annotations

import numpy as np
import pytest
from brian2 import Hz, Network, StateMonitor, defaultclock, ms, prefs

from bioSNN.plasticity import (TsodyksMarkram, make_plastic_synapses, make_stp_synapses,
                               vogels_sprekeler_rule)
from _nest_parity import DT_MS, ms_of, nest_kernel, nest_parrots, relative, spike_group

nest = pytest.importorskip("nest")

DELAY_MS = 0.1
FLUSH_MS = 2000.0
RTOL = 1e-9
W_STP = 2.5


# --------------------------------------------------------------------------
# Tsodyks-Markram
# --------------------------------------------------------------------------
STP_PARTS = {
    "depressing": TsodyksMarkram.depressing(),
    "facilitating": TsodyksMarkram.facilitating(),
    "mixed": TsodyksMarkram(U=0.3, tau_rec=200 * ms, tau_facil=300 * ms),
}


def stp_trains(seed: int = 2):
    """Presynaptic trains (steps of 0.1 ms), any two spikes >= 1 ms apart."""
    trains = [
        list(range(50, 50 + 25 * 500, 500)),              # 20 Hz
        list(range(50, 50 + 30 * 100, 100)),              # 100 Hz
        [50, 100, 150, 200, 2200, 2250, 2300, 9000],      # bursts and recovery
    ]
    rng = np.random.default_rng(seed)
    for _ in range(3):  # ~ 20 Hz Poisson-like with a 1 ms dead time
        isi = 10 + rng.exponential(500, 30).astype(int)
        trains.append((50 + np.cumsum(isi)).tolist())
    return trains


def stp_biosnn(stp, trains):
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    src = spike_group(trains)
    syn = make_stp_synapses(src, src, stp, on_pre_effect="")
    syn.connect(j="i")
    syn.w = W_STP
    mon = StateMonitor(syn, ["u", "x", "r"], record=True, when="end")
    Network(src, syn, mon).run((max(map(max, trains)) + 2) * DT_MS * ms, namespace={})
    return [{"u": np.asarray(mon.u[k])[s], "x": np.asarray(mon.x[k])[s],
             "weight": W_STP * np.asarray(mon.r[k])[s]} for k, s in enumerate(trains)]


def stp_nest(stp, train):
    """NEST u, x after every spike of one train (simulated in pieces) and sent weights."""
    nest_kernel()
    parrots = nest_parrots([train]) + nest.Create("parrot_neuron")
    recorder = nest.Create("weight_recorder")
    nest.CopyModel("tsodyks2_synapse", "parity_tsodyks2", {"weight_recorder": recorder})
    nest.Connect(parrots[0], parrots[1], syn_spec={
        "synapse_model": "parity_tsodyks2", "receptor_type": 1, "delay": DELAY_MS,
        "weight": W_STP, "U": stp.U, "u": stp.U, "x": 1.0, "tau_rec": ms_of(stp.tau_rec),
        "tau_fac": ms_of(stp.tau_facil)})
    conn = nest.GetConnections(parrots[0], parrots[1])
    u, x, now = [], [], 0.0
    for step in train:  # stop 0.5 ms after each spike, before the next (>= 1 ms later)
        until = (step + 5) * DT_MS
        nest.Simulate(round(until - now, 6))
        now = until
        u.append(conn.get("u"))
        x.append(conn.get("x"))
    u, x = np.array(u), np.array(x)
    weights = np.asarray(recorder.events["weights"])[np.argsort(recorder.events["times"])]
    return {"u": u, "x": x, "x_after": x * (1 - u), "weight": weights}


def stp_compare(name):
    stp, trains = STP_PARTS[name], stp_trains()
    bio = stp_biosnn(stp, trains)
    rel = {"u": 0.0, "x": 0.0, "weight": 0.0}
    n_events = 0
    for b, train in zip(bio, trains):
        n = stp_nest(stp, train)
        assert len(n["weight"]) == len(train) == len(b["u"])
        rel["u"] = max(rel["u"], float(relative(b["u"], n["u"]).max()))
        rel["x"] = max(rel["x"], float(relative(b["x"], n["x_after"]).max()))
        rel["weight"] = max(rel["weight"], float(relative(b["weight"], n["weight"]).max()))
        n_events += len(train)
    return rel, n_events


@pytest.mark.parametrize("name", sorted(STP_PARTS))
def test_tsodyks_markram_matches_tsodyks2_synapse(name):
    rel, n_events = stp_compare(name)
    assert n_events > 150
    for quantity, value in rel.items():
        assert value < RTOL, (quantity, value)


# --------------------------------------------------------------------------
# Vogels-Sprekeler
# --------------------------------------------------------------------------
VS = dict(tau=20 * ms, rho0=5 * Hz, eta=0.05)
W_MAX = 1.0


def vs_trains(seed: int = 4, n_random: int = 5, steps: int = 20000):
    """Pre and post trains (0.1 ms steps); no pre and post spike share a step."""
    pre = [
        [50, 150],
        list(range(50, 8000, 200)),                 # post 3 ms after each pre: to Wmax
        list(range(50, 8000, 100)),                 # no post spikes: to 0
        [50, 100, 110, 120, 130, 300],
    ]
    post = [
        [100],
        list(range(80, 8000, 200)),
        [],
        [105, 200, 350, 360, 370],
    ]
    rng = np.random.default_rng(seed)
    for _ in range(n_random):  # ~ 20 Hz each
        a = sorted(set(rng.integers(60, steps, rng.poisson(40)).tolist()))
        b = sorted(set(rng.integers(60, steps, rng.poisson(40)).tolist()) - set(a))
        pre.append([50] + a)
        post.append(b)
    return pre, post


def vs_w0(n):
    return W_MAX * (0.2 + 0.6 * np.arange(n) / max(n - 1, 1))


def vs_biosnn(rule, pre, post, w0, post_delay_steps=0):
    """Weights of bioSNN (final, after every pre spike). ``post_delay_steps``: the post
    spikes are emitted that much earlier and reach the synapse through a delayed
    postsynaptic pathway (Brian2's form of NEST's dendritic delay)."""
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    groups = [spike_group(pre), spike_group(post, post_delay_steps)]
    syn = make_plastic_synapses(*groups, rule, on_pre_effect="")
    syn.connect(j="i")
    syn.w = w0
    if post_delay_steps:
        syn.post.delay = post_delay_steps * DT_MS * ms
    mon = StateMonitor(syn, "w", record=True, when="end")
    n_steps = max(max(s) for s in pre + post if s) + 2
    Network(*groups, syn, mon).run(n_steps * DT_MS * ms, namespace={})
    trace = np.asarray(mon.w)
    return np.asarray(syn.w[:]), [trace[k, np.asarray(s, dtype=int)] for k, s in enumerate(pre)]


def vs_nest(timing, pre, post, w0, sign=1.0, delay_ms=DELAY_MS):
    """Final NEST weights (after the flush spike) and the weight after every pre spike."""
    nest_kernel()
    n = len(pre)
    t_end = max(max(s) for s in pre + post if s) * DT_MS
    flush = t_end + FLUSH_MS
    flush_step = round(flush / DT_MS)
    parrots = nest_parrots([list(s) + [flush_step] for s in pre]) + nest_parrots(post, delay_ms)
    parrots[n:].set(tau_minus=ms_of(timing.tau))
    recorder = nest.Create("weight_recorder")
    nest.CopyModel("vogels_sprekeler_synapse", "parity_vs", {"weight_recorder": recorder})
    for k in range(n):
        nest.Connect(parrots[k], parrots[n + k], syn_spec={
            "synapse_model": "parity_vs", "receptor_type": 1, "delay": delay_ms,
            "weight": sign * float(w0[k]), "Wmax": sign * W_MAX, **timing.nest_params()})
    nest.Simulate(flush + 5.0)
    conns = nest.GetConnections(parrots[:n], parrots[n:])
    by_source = dict(zip(np.atleast_1d(conns.get("source")), np.atleast_1d(conns.get("weight"))))
    ids = list(parrots[:n].tolist())
    ev = recorder.events
    per_event = []
    for i in ids:
        sel = ev["senders"] == i
        order = np.argsort(ev["times"][sel], kind="stable")
        per_event.append(sign * np.asarray(ev["weights"][sel])[order][:-1])  # without flush
    return sign * np.array([by_source[i] for i in ids]), per_event


def vs_compare(sign=1.0, delay_steps=1):
    """NEST with a dendritic delay of ``delay_steps``; bioSNN without delay (1 step: the
    post times shifted) or with the same delay on its postsynaptic pathway."""
    rule = vogels_sprekeler_rule(w_max=W_MAX, **VS)
    pre, post = vs_trains()
    w0 = vs_w0(len(pre))
    w_bio, ev_bio = vs_biosnn(rule, pre, post, w0, 0 if delay_steps == 1 else delay_steps)
    w_nest, ev_nest = vs_nest(rule.timing, pre, post, w0, sign, delay_steps * DT_MS)
    floor = 1e-3 * W_MAX  # weights at (or near) 0
    rel_event = max(float(relative(b, n_, floor).max(initial=0.0))
                    for b, n_ in zip(ev_bio, ev_nest))
    expected_final = np.maximum(w_bio - rule.timing.eta * rule.timing.alpha, 0.0)
    return {"rel_event": rel_event, "rel_final": float(relative(expected_final, w_nest,
                                                                floor).max()),
            "n_events": sum(len(e) for e in ev_nest), "w_nest": w_nest,
            "ev_nest": ev_nest, "w_bio": w_bio}


@pytest.mark.parametrize("sign, delay_steps", [(1.0, 1), (-1.0, 1), (1.0, 25)],
                         ids=["positive", "negative-Wmax", "dendritic-delay-2.5ms"])
def test_vogels_sprekeler_matches_nest(sign, delay_steps):
    row = vs_compare(sign, delay_steps)
    assert row["n_events"] > 300
    assert row["rel_event"] < RTOL, row["rel_event"]
    assert row["rel_final"] < RTOL, row["rel_final"]
    events = np.concatenate(row["ev_nest"])
    timing = vogels_sprekeler_rule(w_max=W_MAX, **VS).timing
    assert np.any(events == 0.0)  # lower bound reached
    # upper bound: clipped at Wmax by a post spike, then the pre spike's depression
    assert np.any(np.abs(events - (W_MAX - timing.eta * timing.alpha)) < 1e-15)


def vs_zero_lag_difference():
    """Pre 10, 30 ms; post 10 (simultaneous), 20 ms. bioSNN counts the zero-lag pair
    (+eta in the post pathway of the step at 10 ms), NEST does not: after both pre
    spikes w_bio - w_nest = eta exactly (no bound reached); the pairs 10 -> 20 and
    post 10 -> pre 30 count on both sides."""
    rule = vogels_sprekeler_rule(w_max=W_MAX, **VS)
    pre, post = [[100, 300]], [[100, 200]]
    _, ev_bio = vs_biosnn(rule, pre, post, [0.5])
    _, ev_nest = vs_nest(rule.timing, pre, post, [0.5])
    return float(ev_bio[0][1] - ev_nest[0][1]), rule.timing.eta, float(ev_bio[0][0] - ev_nest[0][0])


def test_zero_lag_difference_is_exactly_eta():
    difference, eta, first = vs_zero_lag_difference()
    assert first == pytest.approx(eta, rel=RTOL)
    assert difference == pytest.approx(eta, rel=RTOL)


if __name__ == "__main__":
    for name in sorted(STP_PARTS):
        rel, n = stp_compare(name)
        print(f"tsodyks2 {name:13} events {n:4d}  " + "  ".join(
            f"max rel {k} {v:.2e}" for k, v in rel.items()))
    for sign, delay in ((1.0, 1), (-1.0, 1), (1.0, 25)):
        r = vs_compare(sign, delay)
        print(f"vogels_sprekeler sign {sign:+.0f} delay {delay * DT_MS:.1f} ms  events {r['n_events']}  max rel event "
              f"{r['rel_event']:.2e}  final {r['rel_final']:.2e}")
    d, eta, first = vs_zero_lag_difference()
    print(f"zero-lag: measured {first:.17g}, {d:.17g} expected {eta}")
