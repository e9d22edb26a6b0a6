"""Inhibitory STDP of Vogels, Sprekeler et al. (2011) (``bioSNN.plasticity.inhibitory``).

Tiers (STYLE.md 11): hand-computed weight changes of a few pre/post spikes (including
the order of facilitation, depression and clipping at both bounds); the trace-based
Brian2 synapses against a trace-free pair sum on random trains (two formulations);
a small network (LIF neurons, Poisson excitation, plastic Poisson inhibition) whose
postsynaptic rate converges to rho0 from above and from below; parameter checks.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, PoissonInput, SpikeGeneratorGroup,
                    SpikeMonitor, StateMonitor, defaultclock, mV, ms, nS, pF, prefs, second,
                    seed)

from bioSNN.plasticity import (MultiplicativeWeights, STDPRule, VogelsSprekelerTiming,
                               make_plastic_synapses, vogels_sprekeler_rule)

DT_MS = 0.1
ETA, TAU_MS, RHO0_HZ = 0.01, 20.0, 3.0
ALPHA = 2 * RHO0_HZ * TAU_MS / 1000  # 0.12


def run_pairs(rule, pre_ms, post_ms, w0):
    """Weight after the run and after every step, one synapse (pre_ms, post_ms: lists)."""
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    groups = [SpikeGeneratorGroup(1, np.zeros(len(s), dtype=int), np.asarray(s) * ms)
              for s in (pre_ms, post_ms)]
    syn = make_plastic_synapses(*groups, rule, on_pre_effect="")
    syn.connect()
    syn.w = w0
    mon = StateMonitor(syn, "w", record=0, when="end")
    Network(*groups, syn, mon).run((max(pre_ms + post_ms) + 1) * ms, namespace={})
    return float(syn.w[0]), np.asarray(mon.w[0])


def rule(w_max=1.0):
    return vogels_sprekeler_rule(tau=TAU_MS * ms, rho0=RHO0_HZ * Hz, eta=ETA, w_max=w_max)


def test_alpha_and_nest_parameters():
    t = VogelsSprekelerTiming(tau=20 * ms, rho0=3 * Hz, eta=0.01)
    assert t.alpha == pytest.approx(0.12, rel=1e-15)
    assert t.nest_params() == pytest.approx({"tau": 20.0, "alpha": 0.12, "eta": 0.01})
    assert VogelsSprekelerTiming().nest_params()["alpha"] == pytest.approx(0.12)  # NEST default


def test_hand_computed_pairs():
    # pre 10, post 15, pre 30, post 31, post 50 (ms); w0 = 0.5, no bound reached
    w, _ = run_pairs(rule(), [10.0, 30.0], [15.0, 31.0, 50.0], 0.5)
    e = math.exp
    expected = 0.5
    expected += ETA * 0.0 - ETA * ALPHA                          # pre 10: no post trace yet
    expected += ETA * e(-5 / 20)                                 # post 15: pre 10
    expected += ETA * e(-15 / 20) - ETA * ALPHA                  # pre 30: post 15
    expected += ETA * (e(-21 / 20) + e(-1 / 20))                 # post 31: pre 10, 30
    expected += ETA * (e(-40 / 20) + e(-20 / 20))                # post 50: pre 10, 30
    assert w == pytest.approx(expected, rel=1e-13)
    # both orders potentiate by the same amount (symmetric window)
    w_pre_post, _ = run_pairs(rule(), [10.0], [17.0], 0.5)
    w_post_pre, _ = run_pairs(rule(), [17.0], [10.0], 0.5)
    assert w_pre_post == pytest.approx(w_post_pre, rel=1e-14)
    assert w_pre_post == pytest.approx(0.5 + ETA * (e(-7 / 20) - ALPHA), rel=1e-14)


def test_order_of_updates_and_clipping_at_both_bounds():
    # near 0: a pre spike first facilitates (post trace), then depresses by eta alpha
    w, _ = run_pairs(rule(), [10.0], [5.0], 0.0005)
    assert w == pytest.approx(0.0005 + ETA * math.exp(-5 / 20) - ETA * ALPHA, rel=1e-13)
    # (depressing first would clip to 0 and give 0 + eta e^{-1/4})
    # near w_max: facilitation clips at w_max, then the depression acts
    w, _ = run_pairs(rule(w_max=1.0), [10.0], [5.0], 0.999)
    assert w == pytest.approx(1.0 - ETA * ALPHA, rel=1e-14)
    # a lone pre spike at 0 stays at 0
    w, _ = run_pairs(rule(), [10.0], [200.0], 0.0)
    assert w == pytest.approx(ETA * math.exp(-190 / 20), rel=1e-12)


def test_simultaneous_spikes_count_once_at_zero_lag():
    w, _ = run_pairs(rule(), [10.0], [10.0], 0.5)
    assert w == pytest.approx(0.5 - ETA * ALPHA + ETA * 1.0, rel=1e-14)


def pair_sum(pre_ms, post_ms, w0):
    """Trace-free reference: w0 + eta [sum over all pairs exp(-|dt|/tau) - alpha n_pre]."""
    total = sum(math.exp(-abs(a - b) / TAU_MS) for a in pre_ms for b in post_ms)
    return w0 + ETA * (total - ALPHA * len(pre_ms))


def test_traces_equal_pair_sum_on_random_trains():
    rng = np.random.default_rng(7)
    for _ in range(3):
        pre = sorted(set(np.round(rng.uniform(1, 1000, 25), 1).tolist()))
        post = sorted(set(np.round(rng.uniform(1, 1000, 25), 1).tolist()) - set(pre))
        w, trace = run_pairs(rule(w_max=10.0), pre, post, 5.0)
        assert 0 < trace.min() and trace.max() < 10.0  # no clipping: the sum is exact
        assert w == pytest.approx(pair_sum(pre, post, 5.0), rel=1e-12)


def test_composes_with_other_weight_dependences():
    soft = STDPRule(VogelsSprekelerTiming(tau=TAU_MS * ms, rho0=RHO0_HZ * Hz, eta=ETA),
                    MultiplicativeWeights(0.0, 1.0))
    w, _ = run_pairs(soft, [10.0], [15.0], 0.25)
    w1 = 0.25 - 0.25 * ETA * ALPHA                       # pre: f-(w) = w
    assert w == pytest.approx(w1 + (1 - w1) * ETA * math.exp(-5 / 20), rel=1e-13)


N_POST, N_INH = 20, 50


def test_postsynaptic_rate_converges_to_rho0():
    """Half the neurons start without inhibition (~30 Hz), half with strong inhibition
    (silent); after 3 s of plasticity both fire at rho0 = 10 Hz within 25 % (1 s window,
    10 neurons: ~100 spikes, Poisson standard error ~10 %)."""
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    seed(3)
    rho0 = 10 * Hz
    eqs = """dv/dt = (g_l*(E_l - v) + g_e*(E_e - v) + g_i*(E_i - v)) / C : volt (unless refractory)
    dg_e/dt = -g_e / tau_e : siemens
    dg_i/dt = -g_i / tau_i : siemens"""
    ns = dict(g_l=10 * nS, E_l=-60 * mV, E_e=0 * mV, E_i=-80 * mV, C=200 * pF,
              tau_e=5 * ms, tau_i=10 * ms)
    post = NeuronGroup(N_POST, eqs, threshold="v > -50*mV", reset="v = -60*mV",
                       refractory=5 * ms, method="euler", namespace=ns)
    post.v = -60 * mV
    exc = PoissonInput(post, "g_e", 200, 10 * Hz, weight=0.3 * nS)
    inh = PoissonGroup(N_POST * N_INH, 10 * Hz)
    syn = make_plastic_synapses(
        inh, post, vogels_sprekeler_rule(tau=20 * ms, rho0=rho0, eta=0.1, w_max=10.0),
        on_pre_effect="g_i_post += w * w_scale", namespace_extra={"w_scale": 1 * nS})
    syn.connect(j="i // n_inh", namespace={"n_inh": N_INH})
    strong = np.asarray(syn.j) >= N_POST // 2
    syn.w = np.where(strong, 1.5, 0.0)
    spikes = SpikeMonitor(post)
    Network(post, exc, inh, syn, spikes).run(4 * second, namespace={})

    t, i = np.asarray(spikes.t / second), np.asarray(spikes.i)

    def rate(a, b, upper):
        sel = (t >= a) & (t < b) & ((i >= N_POST // 2) == upper)
        return np.sum(sel) / (N_POST // 2) / (b - a)

    assert rate(0, 0.5, False) > 2 * float(rho0) and rate(0, 0.5, True) < 0.2 * float(rho0)
    for upper in (False, True):
        assert rate(3, 4, upper) == pytest.approx(float(rho0), rel=0.25)
    w = np.asarray(syn.w)
    assert w[strong].mean() == pytest.approx(w[~strong].mean(), rel=0.3)  # same fixed point


@pytest.mark.parametrize("kwargs, error, field", [
    ({"tau": 20.0}, TypeError, "tau"),
    ({"tau": -1 * ms}, ValueError, "tau"),
    ({"rho0": 3.0}, TypeError, "rho0"),
    ({"rho0": 0 * Hz}, ValueError, "rho0"),
    ({"eta": -0.1}, ValueError, "eta"),
    ({"eta": 1 * mV}, TypeError, "eta"),
])
def test_parameter_checks_name_the_field(kwargs, error, field):
    with pytest.raises(error, match=field):
        VogelsSprekelerTiming(**kwargs)


def test_hashable_and_equal():
    assert VogelsSprekelerTiming() == VogelsSprekelerTiming()
    assert len({VogelsSprekelerTiming(), VogelsSprekelerTiming()}) == 1
