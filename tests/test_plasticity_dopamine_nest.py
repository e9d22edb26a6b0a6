"""NESTDopamineModulation: a hand-computed pairing and one dopamine spike, and its checks.

Pre 10 ms, post 20 ms (pre-before-post: c += A+ e^{-10/tau+}), pre 100 ms (post-before-pre:
c -= A- e^{-80/tau-}), one dopamine spike at 50 ms (n = e^{-(t-50)/tau_n} / tau_n), baseline
b > 0. Then w(T) = w0 + int_20^T c(s) (n(s) - b) ds, integrated by hand piece by piece.
(The comparison with NEST itself is ``tests/test_nest_parity_dopamine.py``.)
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from brian2 import Hz, Network, SpikeGeneratorGroup, defaultclock, ms, mV, prefs, second

from bioSNN.plasticity import (NESTDopamineModulation, STDPRule, STDPTiming, WeightBounds,
                               make_plastic_synapses)

A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS = 1.0, 1.5, 20.0, 20.0   # ms
TAU_C, TAU_N, B = 200.0, 100.0, 3e-3                           # ms, ms, 1/ms
W0, T_END = 1.0, 300.0


def by_hand(T=T_END):
    """c(T), n(T) (1/ms) and w(T) from the closed forms (times in ms)."""
    tau_s = 1 / (1 / TAU_C + 1 / TAU_N)

    def n(t):
        return 0.0 if t < 50 else math.exp(-(t - 50) / TAU_N) / TAU_N

    def integral(c_start, t1, t2):
        """int_t1^t2 c_start e^{-(s-t1)/tau_c} (n(s) - b) ds, n continuous on [t1, t2]."""
        dopamine = c_start * n(t1) * tau_s * (1 - math.exp(-(t2 - t1) / tau_s))
        baseline = c_start * B * TAU_C * (1 - math.exp(-(t2 - t1) / TAU_C))
        return dopamine - baseline

    c20 = A_PLUS * math.exp(-10 / TAU_PLUS)
    c50 = c20 * math.exp(-30 / TAU_C)
    c100 = c50 * math.exp(-50 / TAU_C) - A_MINUS * math.exp(-80 / TAU_MINUS)
    w = W0 + integral(c20, 20, 50) + integral(c50, 50, 100) + integral(c100, 100, T)
    return c100 * math.exp(-(T - 100) / TAU_C), n(T), w


def run(modulation, w_bounds=(-10.0, 10.0)):
    prefs.codegen.target, defaultclock.dt = "numpy", 0.1 * ms
    pre = SpikeGeneratorGroup(1, [0, 0], [10, 100] * ms)
    post = SpikeGeneratorGroup(1, [0], [20] * ms)
    da_source = SpikeGeneratorGroup(1, [0], [50] * ms)
    rule = STDPRule(STDPTiming(tau_plus=TAU_PLUS * ms, tau_minus=TAU_MINUS * ms,
                               A_plus=A_PLUS, A_minus=A_MINUS),
                    WeightBounds(*w_bounds), modulation)
    dopamine = modulation.dopamine_group()
    da_syn = modulation.dopamine_synapses(da_source, dopamine)
    syn = make_plastic_synapses(pre, post, rule, on_pre_effect="")
    syn.connect()
    syn.w = W0
    update = modulation.add_weight_update(syn, dopamine)
    Network(pre, post, da_source, dopamine, da_syn, syn, update).run(T_END * ms, namespace={})
    c = float(syn.c[0]) * math.exp(-(T_END * ms - syn.lastupdate[0]) / modulation.tau_c)
    n = float(dopamine.n[0] / Hz) * math.exp(-(T_END * ms - dopamine.t_n[0]) / modulation.tau_n)
    return c, n / 1e3, float(syn.w[0])


def test_pairing_and_one_dopamine_spike_by_hand():
    modulation = NESTDopamineModulation(tau_c=TAU_C * ms, tau_n=TAU_N * ms, b=B * 1e3 * Hz)
    c, n, w = run(modulation)
    c_ref, n_ref, w_ref = by_hand()
    assert n_ref > 0 and abs(w_ref - W0) > 1e-3
    assert c == pytest.approx(c_ref, rel=1e-12)
    assert n == pytest.approx(n_ref, rel=1e-12)
    assert w == pytest.approx(w_ref, rel=1e-12)


def test_weight_is_clipped_each_step():
    """w falls (n = 0 < b), rises after the dopamine spike until n = b at
    t1 = 50 + tau_n ln(1 / (tau_n b)) (c > 0 throughout), then falls. With w_max below the
    peak, w stays at w_max until t1 and then falls as unclipped: w(T) = w_max + w_u(T) -
    w_u(t1), up to the step in which w' changes sign (second order in dt)."""
    modulation = NESTDopamineModulation(tau_c=TAU_C * ms, tau_n=TAU_N * ms, b=B * 1e3 * Hz)
    t1 = 50 + TAU_N * math.log(1 / (TAU_N * B))
    peak, end = by_hand(t1)[2], by_hand()[2]
    assert 100 < t1 < T_END and peak > W0 and peak > end
    w_max = W0 + 0.5 * (peak - W0)
    _, _, w = run(modulation, (-10.0, w_max))
    assert w == pytest.approx(w_max + end - peak, abs=1e-9)
    assert abs(w - end) > 1e-3  # the bound mattered


@pytest.mark.parametrize("kwargs, error, field", [
    ({"tau_c": 200}, TypeError, "tau_c"),
    ({"tau_n": -5 * ms}, ValueError, "tau_n"),
    ({"b": 1.0}, TypeError, "b must"),
    ({"b": 2 * mV}, TypeError, "b must"),
    ({"b": -1 * Hz}, ValueError, "b must"),
])
def test_bad_parameters_name_the_field(kwargs, error, field):
    with pytest.raises(error, match=field):
        NESTDopamineModulation(**kwargs)


def test_weight_update_needs_its_synapses_and_dopamine_group():
    prefs.codegen.target = "numpy"
    modulation = NESTDopamineModulation()
    g = SpikeGeneratorGroup(1, [], [] * ms)
    other = make_plastic_synapses(g, g, STDPRule(modulation=NESTDopamineModulation(b=1 * Hz)),
                                  on_pre_effect="")
    with pytest.raises(ValueError, match="synapses must come from"):
        modulation.add_weight_update(other, modulation.dopamine_group())
    syn = make_plastic_synapses(g, g, STDPRule(modulation=modulation), on_pre_effect="")
    syn.connect()
    with pytest.raises(ValueError, match="dopamine must be"):
        modulation.add_weight_update(syn, g)


def test_equal_parameters_are_equal_and_hash_alike():
    a = NESTDopamineModulation(tau_c=1 * second, b=2 * Hz)
    b = NESTDopamineModulation(tau_c=1000 * ms, b=2 * Hz)
    assert a == b and hash(a) == hash(b)
    assert np.isclose(float(a.namespace()["tau_s"] / ms), 1 / (1 / 1000 + 1 / 200))
