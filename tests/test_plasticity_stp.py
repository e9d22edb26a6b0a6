"""Tsodyks-Markram short-term plasticity (``bioSNN.plasticity.short_term``).

Tiers (STYLE.md 11): the Brian2 synapses (numpy target) on regular trains against the
recursion of Tsodyks et al. (1998) and its closed form for ``u`` (float rounding);
the steady state against the analytic formula; the qualitative behaviour of depressing
and facilitating synapses across frequencies (Tsodyks & Markram 1997; Markram et al.
1998); composition with an STDP rule; parameter checks.
"""
from __future__ import annotations

import numpy as np
import pytest
from brian2 import (Hz, Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, defaultclock,
                    mV, ms, prefs)

from bioSNN.plasticity import (STDPRule, TsodyksMarkram, make_plastic_synapses,
                               make_stp_synapses, tm_regular_train, tm_regular_train_u,
                               tm_steady_state)

DT_MS = 1.0  # STP depends only on the intervals; a coarse clock keeps the runs short
RATES_HZ = (5, 20, 50, 100)  # whole numbers of steps per interval
PARTS = {
    "depressing": TsodyksMarkram.depressing(),
    "facilitating": TsodyksMarkram.facilitating(),
    "mixed": TsodyksMarkram(U=0.3, tau_rec=200 * ms, tau_facil=300 * ms),
}


def simulate_regular(stp, rates_hz, n_spikes):
    """u, x (after release) and r after every spike, one synapse per rate."""
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    steps = [10 + np.arange(n_spikes) * int(round(1e3 / DT_MS / f)) for f in rates_hz]
    idx = np.concatenate([np.full(n_spikes, k) for k in range(len(rates_hz))])
    src = SpikeGeneratorGroup(len(rates_hz), idx, np.concatenate(steps) * DT_MS * ms)
    syn = make_stp_synapses(src, src, stp, on_pre_effect="")
    syn.connect(j="i")
    mon = StateMonitor(syn, ["u", "x", "r"], record=True, when="end")
    Network(src, syn, mon).run((max(s[-1] for s in steps) + 2) * DT_MS * ms, namespace={})
    return [{name: np.asarray(getattr(mon, name)[k])[s] for name in ("u", "x", "r")}
           for k, s in enumerate(steps)]


@pytest.mark.parametrize("name", sorted(PARTS))
def test_regular_train_equals_recursion(name):
    stp = PARTS[name]
    n = 40
    sims = simulate_regular(stp, RATES_HZ, n)
    for f, sim in zip(RATES_HZ, sims):
        u, x, eff = tm_regular_train(stp, f * Hz, n)
        np.testing.assert_allclose(sim["r"], eff, rtol=1e-12, atol=0)
        np.testing.assert_allclose(sim["u"], u, rtol=1e-12, atol=0)
        np.testing.assert_allclose(sim["x"], x * (1 - u), rtol=1e-12, atol=0)  # after release
        assert sim["r"][0] == stp.U  # a rested synapse needs no initialisation


@pytest.mark.parametrize("name", sorted(PARTS))
def test_closed_form_u_and_steady_state(name):
    stp = PARTS[name]
    for f in RATES_HZ:
        u, x, eff = tm_regular_train(stp, f * Hz, 400)
        np.testing.assert_allclose(tm_regular_train_u(stp, f * Hz, 400), u, rtol=1e-13)
        u_ss, x_ss, eff_ss = tm_steady_state(stp, f * Hz)
        # fixed point of the recursion, and the recursion converges to it
        assert stp.U + u_ss * (1 - stp.U) * (np.exp(-1 / f / float(stp.tau_facil))
                                            if stp.facilitates else 0) == pytest.approx(u_ss)
        assert 1 + (x_ss - u_ss * x_ss - 1) * np.exp(-1 / f / float(stp.tau_rec)) \
            == pytest.approx(x_ss, rel=1e-13)
        assert eff[-1] == pytest.approx(eff_ss, rel=1e-12)
    # the vectorised steady state agrees with the scalar one
    e_vec = tm_steady_state(stp, np.array(RATES_HZ) * Hz)[2]
    np.testing.assert_allclose(e_vec, [tm_steady_state(stp, f * Hz)[2] for f in RATES_HZ])


def test_brian_reaches_analytic_steady_state():
    stp = PARTS["mixed"]
    sims = simulate_regular(stp, (50, 100), 150)
    for f, sim in zip((50, 100), sims):
        assert sim["r"][-1] == pytest.approx(float(tm_steady_state(stp, f * Hz)[2]), rel=1e-9)


def test_hand_computed_two_spikes():
    # facilitating preset, 20 ms apart: u2 = U + U(1-U) e^{-20/1000}, x2 = 1 - U e^{-20/100}
    stp = PARTS["facilitating"]
    U = 0.1
    u2 = U + U * (1 - U) * np.exp(-0.02)
    x2 = 1 - U * np.exp(-0.2)
    u, x, eff = tm_regular_train(stp, 50 * Hz, 2)
    assert (u[1], x[1], eff[1]) == pytest.approx((u2, x2, u2 * x2), rel=1e-15)


def test_depressing_behaviour_across_frequencies():
    stp = PARTS["depressing"]
    rates = np.array([1, 2, 5, 10, 20, 50, 100, 200]) * Hz
    for f in rates:
        eff = tm_regular_train(stp, f, 30)[2]
        assert eff[1] < eff[0] and np.all(np.diff(eff) <= 0)  # depression along the train
    eff_ss = tm_steady_state(stp, rates)[2]
    assert np.all(np.diff(eff_ss) < 0)  # deeper depression at higher rates
    # the transmitted rate f * eff saturates at 1/tau_rec (Tsodyks & Markram 1997) ...
    transmitted = np.asarray(rates / Hz) * eff_ss
    assert np.all(np.diff(transmitted) > 0)
    limit = 1 / float(stp.tau_rec)
    assert transmitted[-1] == pytest.approx(limit, rel=0.02) and transmitted[-1] < limit
    # ... so the steady efficacy falls as 1/f at high rates
    hi = tm_steady_state(stp, np.array([100, 200]) * Hz)[2]
    assert hi[0] / hi[1] == pytest.approx(2.0, rel=0.03)


def test_facilitating_behaviour_across_frequencies():
    stp = PARTS["facilitating"]
    # paired-pulse facilitation at 20-100 Hz, none left at 0.1 Hz
    for f in (20, 50, 100):
        eff = tm_regular_train(stp, f * Hz, 5)[2]
        assert eff[1] > eff[0] and eff[2] > eff[1]
    assert tm_regular_train(stp, 0.1 * Hz, 2)[2][1] == pytest.approx(stp.U, rel=1e-4)
    # steady efficacy peaks at an intermediate rate (Markram et al. 1998) ...
    rates = np.geomspace(0.05, 500, 200) * Hz
    eff_ss = tm_steady_state(stp, rates)[2]
    peak = int(np.argmax(eff_ss))
    assert 0 < peak < len(rates) - 1
    assert 2 < float(rates[peak] / Hz) < 100
    assert eff_ss[peak] > 1.5 * stp.U and eff_ss[0] == pytest.approx(stp.U, rel=0.05)
    # ... while a depressing synapse only depresses
    assert np.all(np.diff(tm_steady_state(PARTS["depressing"], rates[rates > 1 * Hz])[2]) < 0)


def test_effect_on_target_and_composition_with_stdp():
    stp = PARTS["mixed"]
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT_MS * ms
    steps = 10 + np.arange(8) * 20
    src = SpikeGeneratorGroup(1, np.zeros(8, dtype=int), steps * DT_MS * ms)
    tgt = NeuronGroup(2, "v : volt", threshold="False", method="exact")
    alone = make_stp_synapses(src, tgt[:1], stp, namespace_extra={"w_scale": 1 * mV})
    alone.connect()
    alone.w = 2.0
    # STP in front of an STDP rule: same efficacy, w untouched without postsynaptic spikes
    both = make_plastic_synapses(src, tgt[1:], STDPRule(), model_extra=stp.model,
                                 on_pre_effect=stp.on_pre_effect(),
                                 namespace_extra={**stp.namespace(), "w_scale": 1 * mV})
    both.connect()
    both.w = 2.0
    Network(src, tgt, alone, both).run((steps[-1] + 2) * DT_MS * ms, namespace={})
    expected = 2.0 * tm_regular_train(stp, 50 * Hz, 8)[2].sum()
    assert float(tgt.v[0] / mV) == pytest.approx(expected, rel=1e-12)
    assert float(tgt.v[1] / mV) == pytest.approx(expected, rel=1e-12)
    assert float(both.w[0]) == 2.0 and float(both.apre[0]) > 0  # the rule ran, no post spikes


@pytest.mark.parametrize("kwargs, error, field", [
    ({"U": 0.0}, ValueError, "U"),
    ({"U": 1.5}, ValueError, "U"),
    ({"tau_rec": 100.0}, TypeError, "tau_rec"),
    ({"tau_rec": 0 * ms}, ValueError, "tau_rec"),
    ({"tau_facil": -5 * ms}, ValueError, "tau_facil"),
    ({"tau_facil": 5 * mV}, TypeError, "tau_facil"),
])
def test_parameter_checks_name_the_field(kwargs, error, field):
    with pytest.raises(error, match=field):
        TsodyksMarkram(**kwargs)


def test_bad_inputs_of_analytic_functions_and_builder():
    stp = TsodyksMarkram()
    with pytest.raises(TypeError, match="rate"):
        tm_steady_state(stp, 20 * ms)
    with pytest.raises(ValueError, match="rate"):
        tm_regular_train(stp, 0 * Hz, 3)
    with pytest.raises(ValueError, match="n must"):
        tm_regular_train(stp, 10 * Hz, 0)
    with pytest.raises(ValueError, match="rate must be a scalar"):
        tm_regular_train_u(stp, [10, 20] * Hz, 3)
    with pytest.raises(TypeError, match="stp"):
        make_stp_synapses(None, None, object())
    with pytest.raises(ValueError, match="tau_rec"):
        make_stp_synapses(None, None, stp, namespace_extra={"tau_rec": 1 * ms})
    assert hash(stp) == hash(TsodyksMarkram()) and stp == TsodyksMarkram()
