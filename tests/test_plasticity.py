"""Tests of bioSNN.plasticity: pair STDP and reward-modulated STDP.

Tiers (STYLE.md 11): parameter checks; hand-computed values (one LTP pair, the
decay of the eligibility trace); bounds under heavy potentiation/depression;
and, NEST ``test_stdp_synapse.py`` style, Brian2 weights against the
independent NumPy reference in ``tests/_stdp_reference.py`` for many synapses
at once (Poisson trains plus edge cases), on the numpy, cython and
cpp_standalone targets.
"""
from __future__ import annotations

import gc
import math

import numpy as np
import pytest
from brian2 import (
    Network,
    NeuronGroup,
    SpikeGeneratorGroup,
    StateMonitor,
    TimedArray,
    defaultclock,
    get_device,
    mV,
    ms,
    prefs,
    second,
    set_device,
)
from brian2.devices.device import reset_device, runtime_device

from bioSNN.plasticity import (
    RewardModulation,
    STDPRule,
    STDPTiming,
    WeightBounds,
    add_reward_operation,
    apply_reward,
    eligibility_at,
    make_plastic_synapses,
)

from _stdp_reference import (
    Params,
    rstdp_pair_reference,
    stdp_event_reference,
    stdp_pair_sum,
)

DT = 0.1 * ms
DT_S = 1e-4
ATOL = 1e-9


def _restore_brian_state(target, dt, device):
    """Leave the standalone device (if any) and reset the codegen target and dt."""
    if get_device() is not device:
        get_device().reinit()
        reset_device()
    prefs.codegen.target = target
    defaultclock.dt = dt


@pytest.fixture(autouse=True)
def brian_state():
    """Run each test on the numpy target with dt = 0.1 ms; restore global state after."""
    saved = (prefs.codegen.target, defaultclock.dt, get_device())
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT
    yield
    gc.collect()  # free the names of this test's Brian2 objects
    _restore_brian_state(*saved)


def _generators(pre_trains, post_trains, names=("spikegeneratorgroup*",) * 2):
    """Two SpikeGeneratorGroups from lists of spike-step lists (one per neuron)."""
    groups = []
    for trains, name in zip((pre_trains, post_trains), names):
        idx = np.concatenate([np.full(len(s), k) for k, s in enumerate(trains)]).astype(int)
        steps = np.concatenate([np.asarray(s, dtype=float) for s in trains])
        groups.append(SpikeGeneratorGroup(len(trains), idx, steps * DT, dt=DT, name=name))
    return groups


def _plastic(pre, post, rule, **kwargs):
    return make_plastic_synapses(pre, post, rule, on_pre_effect="", **kwargs)


def _params(rule: STDPRule) -> Params:
    m = rule.modulation or RewardModulation()
    return Params(
        tau_plus=float(rule.timing.tau_plus / second),
        tau_minus=float(rule.timing.tau_minus / second),
        A_plus=rule.timing.A_plus,
        A_minus=rule.timing.A_minus,
        w_min=rule.bounds.w_min,
        w_max=rule.bounds.w_max,
        tau_c=float(m.tau_c / second),
        eta=m.eta,
    )


# --------------------------------------------------------------------------
# The reference network: 14 pre x 14 post trains, connected all-to-all
# --------------------------------------------------------------------------
DURATION_STEPS = 15000  # 1.5 s
REWARD_PERIOD_STEPS = 500  # 50 ms "trials"
# reward per trial end (index k -> time k * 50 ms); k = 29 (1.45 s) is a distal
# reward: apart from pair 5, spikes stop at 1.0 s.
REWARDS = {4: 1.0, 9: -0.2, 10: 0.0, 14: 1.0, 20: -0.2, 21: 1.0, 29: 1.0}
STDP_RULE = STDPRule(STDPTiming(A_plus=0.15, A_minus=0.16), WeightBounds(0.0, 2.0))
RSTDP_RULE = STDPRule(
    STDPTiming(A_plus=0.15, A_minus=0.16),
    WeightBounds(0.0, 2.0),
    RewardModulation(tau_c=0.5 * second, eta=2.0),
)
W_INIT = "w_max * ((i * 7 + j * 3) % 11) / 10.0"


def _w_init(i, j, w_max):
    return w_max * ((i * 7 + j * 3) % 11) / 10.0


def reference_trains():
    """Pre and post spike trains (time steps): edge cases, then Poisson."""
    pre = [
        [100, 500],  # 0: simultaneous with post, twice
        [0],  # 1: pre and post at t = 0
        [0, 30],  # 2: pre at t = 0, post in between
        list(range(200, 210)),  # 3: pre burst (consecutive steps), then post
        [300],  # 4: post bursts around one pre spike
        [10, 12000],  # 5: long silence (1.2 s) between pairings
        [100],  # 6: pure LTP pair, 10 ms
        [200],  # 7: pure LTD pair, 10 ms
        [],  # 8: silent presynaptic neuron
    ]
    post = [
        [100, 500],
        [0, 50],
        [10],
        [215],
        list(range(290, 300)) + list(range(301, 306)),
        [20, 12050],
        [200],
        [100],
        [50, 60],
    ]
    rng = np.random.default_rng(20240607)
    for _ in range(5):  # Poisson, 30 Hz, in [0, 1 s)
        for trains in (pre, post):
            n = rng.poisson(30)
            trains.append(sorted(set(rng.integers(0, 10000, n).tolist())))
    return pre, post


def run_reference_network():
    """Simulate STDP and R-STDP synapses on the current target; return final weights.

    Returns ``{"stdp": (i, j, w), "rstdp": (i, j, w)}`` as NumPy arrays.
    """
    pre_trains, post_trains = reference_trains()
    # Fixed names keep the generated code, hence Cython's cache, independent of
    # the other tests that ran before.
    pre, post = _generators(pre_trains, post_trains, names=("ref_pre", "ref_post"))
    stdp = _plastic(pre, post, STDP_RULE, name="ref_stdp")
    values = np.zeros(DURATION_STEPS // REWARD_PERIOD_STEPS + 1)
    for k, r in REWARDS.items():
        values[k] = r
    signal = TimedArray(values, dt=REWARD_PERIOD_STEPS * DT, name="ref_reward_signal")
    rstdp = _plastic(pre, post, RSTDP_RULE, name="ref_rstdp",
                     namespace_extra={"reward_signal": signal})
    add_reward_operation(rstdp, REWARD_PERIOD_STEPS * DT, reward="reward_signal(t)")
    for syn in (stdp, rstdp):
        syn.connect()
        syn.w = W_INIT
    net = Network(pre, post, stdp, rstdp)
    net.run(DURATION_STEPS * DT, namespace={})
    return {
        name: (np.asarray(s.i[:]), np.asarray(s.j[:]), np.asarray(s.w[:]))
        for name, s in (("stdp", stdp), ("rstdp", rstdp))
    }


def check_against_reference(result):
    pre_trains, post_trains = reference_trains()
    n = len(pre_trains) * len(post_trains)

    i, j, w = result["stdp"]
    assert len(w) == n
    p = _params(STDP_RULE)
    expected, clipped = zip(*(
        stdp_event_reference(pre_trains[a], post_trains[b], DT_S, p, _w_init(a, b, p.w_max))
        for a, b in zip(i, j)
    ))
    np.testing.assert_allclose(w, expected, rtol=0, atol=ATOL)
    assert sum(clipped) > 10  # the bounds were really exercised
    # the hand-written pairs end where the documented semantics say
    k = {(a, b): idx for idx, (a, b) in enumerate(zip(i, j))}
    w0 = [_w_init(a, a, p.w_max) for a in range(9)]
    # pair 0: two simultaneous pairs (+A+ each), pre 100 -> post 500, post 100 -> pre 500
    assert w[k[0, 0]] == pytest.approx(
        w0[0] + 2 * p.A_plus + p.A_plus * math.exp(-0.04 / p.tau_plus)
        - p.A_minus * math.exp(-0.04 / p.tau_minus), abs=ATOL)
    assert w[k[6, 6]] == pytest.approx(min(w0[6] + p.A_plus * math.exp(-0.5), 2.0), abs=ATOL)
    assert w[k[7, 7]] == pytest.approx(max(w0[7] - p.A_minus * math.exp(-0.5), 0.0), abs=ATOL)
    assert w[k[8, 8]] == pytest.approx(w0[8], abs=1e-15)  # silent pre: unchanged

    i, j, w = result["rstdp"]
    p = _params(RSTDP_RULE)
    steps = [k_ * REWARD_PERIOD_STEPS for k_ in REWARDS]
    expected = [
        rstdp_pair_reference(pre_trains[a], post_trains[b], steps, list(REWARDS.values()),
                             DT_S, p, _w_init(a, b, p.w_max))[0]
        for a, b in zip(i, j)
    ]
    np.testing.assert_allclose(w, expected, rtol=0, atol=ATOL)
    w0 = _w_init(i, j, p.w_max)
    assert np.sum(np.abs(w - w0) > 1e-3) > n // 2  # rewards changed most weights
    # the distal reward at 1.45 s alone changes the weights of the pairs silent after 1 s
    without_distal = [
        rstdp_pair_reference(pre_trains[a], post_trains[b], steps[:-1],
                             list(REWARDS.values())[:-1], DT_S, p, _w_init(a, b, p.w_max))[0]
        for a, b in zip(i, j)
    ]
    assert np.sum(np.abs(np.asarray(expected) - without_distal) > 1e-4) > n // 2


# --------------------------------------------------------------------------
# Reference implementation checks itself (pure NumPy, fast)
# --------------------------------------------------------------------------
def test_reference_event_loop_equals_pair_sum_without_bounds():
    p = Params(A_plus=0.01, A_minus=0.012, w_min=-1e9, w_max=1e9)
    pre, post = reference_trains()
    for a in range(len(pre)):
        for b in range(len(post)):
            w, n_clipped = stdp_event_reference(pre[a], post[b], DT_S, p, 1.0)
            assert n_clipped == 0
            assert w == pytest.approx(stdp_pair_sum(pre[a], post[b], DT_S, p, 1.0), abs=1e-12)


# --------------------------------------------------------------------------
# Brian2 against the reference, per target
# --------------------------------------------------------------------------
def test_reference_network_numpy():
    check_against_reference(run_reference_network())


@pytest.mark.compiled
def test_reference_network_cython():
    prefs.codegen.target = "cython"
    check_against_reference(run_reference_network())


@pytest.mark.compiled
def test_reference_network_cpp_standalone(tmp_path):
    set_device("cpp_standalone", directory=str(tmp_path), build_on_run=True,
               with_output=False)
    check_against_reference(run_reference_network())


# --------------------------------------------------------------------------
# Hand-computed cases
# --------------------------------------------------------------------------
def _single_pairs(rule, pre_trains, post_trains, w0, duration):
    pre, post = _generators(pre_trains, post_trains)
    syn = _plastic(pre, post, rule)
    syn.connect(j="i")
    syn.w = w0
    Network(pre, post, syn).run(duration, namespace={})
    return syn


def test_single_pairs_hand_computed():
    """LTP pair (pre 10 ms before post), LTD pair, simultaneous spikes."""
    timing = STDPTiming(tau_plus=20 * ms, tau_minus=15 * ms, A_plus=0.01, A_minus=0.02)
    syn = _single_pairs(STDPRule(timing), [[100], [200], [100]], [[200], [100], [100]],
                        1.0, 30 * ms)
    w = np.asarray(syn.w[:])
    assert w[0] == pytest.approx(1.0 + 0.01 * math.exp(-10 / 20), abs=1e-12)
    assert w[1] == pytest.approx(1.0 - 0.02 * math.exp(-10 / 15), abs=1e-12)
    assert w[2] == pytest.approx(1.0 + 0.01, abs=1e-12)  # same step: pre before post


def test_weights_stay_within_bounds_under_heavy_plasticity():
    rule = STDPRule(STDPTiming(A_plus=0.7, A_minus=0.7), WeightBounds(0.0, 2.0))
    pairs = np.arange(0, 4000, 100)  # 40 pairings, one every 10 ms
    ltp = ([pairs], [pairs + 20])  # pre 2 ms before post
    ltd = ([pairs + 20], [pairs])
    pre, post = _generators(ltp[0] + ltd[0], ltp[1] + ltd[1])
    syn = _plastic(pre, post, rule)
    syn.connect(j="i")
    syn.w = 1.0
    mon = StateMonitor(syn, "w", record=True, dt=DT)
    Network(pre, post, syn, mon).run(420 * ms, namespace={})
    trace = np.asarray(mon.w)
    assert trace.min() >= 0.0 and trace.max() <= 2.0
    assert trace[0, -1] == 2.0 and trace[1, -1] == 0.0  # bounds reached exactly
    p = _params(rule)
    for k, (a, b) in enumerate([(ltp[0][0], ltp[1][0]), (ltd[0][0], ltd[1][0])]):
        w_ref, n_clipped = stdp_event_reference(a, b, DT_S, p, 1.0)
        assert n_clipped > 0
        assert trace[k, -1] == pytest.approx(w_ref, abs=ATOL)


def test_rstdp_spikes_alone_and_zero_reward_leave_weights_unchanged():
    rule = STDPRule(modulation=RewardModulation())
    pre, post = _generators([[100, 300]], [[200, 250]])
    syn = _plastic(pre, post, rule)
    add_reward_operation(syn, 10 * ms)  # shared `reward` stays 0
    syn.connect(j="i")
    syn.w = 1.0
    Network(pre, post, syn).run(50 * ms, namespace={})
    assert syn.w[0] == 1.0
    c = eligibility_at(syn)
    assert abs(c[0]) > 1e-3  # there was something to be rewarded
    apply_reward(syn, 0.0)
    assert syn.w[0] == 1.0


def test_eligibility_decays_with_tau_c_to_distal_reward():
    """Pair at 10/20 ms, reward 1 at 520 ms: dw = eta A+ e^{-1/2} e^{-0.5 s/tau_c}."""
    tau_c, eta, A_plus = 0.2 * second, 0.5, 0.01
    rule = STDPRule(STDPTiming(A_plus=A_plus), modulation=RewardModulation(tau_c=tau_c, eta=eta))
    pre, post = _generators([[100]], [[200]])
    schedule = TimedArray([0.0, 0.0, 1.0, 0.0], dt=260 * ms)  # reward at 520 ms
    syn = _plastic(pre, post, rule, namespace_extra={"r_of_t": schedule})
    add_reward_operation(syn, 260 * ms, reward="r_of_t(t)")
    syn.connect(j="i")
    syn.w = 1.0
    Network(pre, post, syn).run(600 * ms, namespace={})
    c_pair = A_plus * math.exp(-10 / 20)
    assert syn.w[0] == pytest.approx(1.0 + eta * c_pair * math.exp(-0.5 / 0.2), abs=1e-12)
    assert eligibility_at(syn)[0] == pytest.approx(c_pair * math.exp(-0.58 / 0.2), abs=1e-12)
    assert eligibility_at(syn, 1.02 * second)[0] == pytest.approx(
        c_pair * math.exp(-1.0 / 0.2), abs=1e-12
    )


def test_shared_reward_set_in_network_does_not_consume_eligibility():
    """A protocol-style operation (order -1) sets the shared ``reward`` each trial.

    Pair at 10/20 ms; rewards ``reward_incorrect`` at 100 ms and 200 ms both see
    the same, decayed eligibility: rewards do not reset ``c``.
    """
    tau_c, eta = 0.25 * second, 0.5
    rule = STDPRule(modulation=RewardModulation(tau_c=tau_c, eta=eta))
    pre, post = _generators([[100]], [[200]])
    syn = _plastic(pre, post, rule)
    syn.run_regularly("reward = reward_incorrect", dt=100 * ms, order=-1)
    add_reward_operation(syn, 100 * ms)
    syn.connect(j="i")
    syn.w = 1.0
    Network(pre, post, syn).run(250 * ms, namespace={})
    c_pair = 0.01 * math.exp(-10 / 20)
    dw = sum(eta * -0.2 * c_pair * math.exp(-(t_r - 0.02) / 0.25) for t_r in (0.1, 0.2))
    assert syn.w[0] == pytest.approx(1.0 + dw, abs=1e-12)
    assert syn.reward[:] == -0.2


def test_consuming_reward_resets_eligibility():
    """With ``consume=True`` the first reward (100 ms) uses the pair's eligibility and
    sets c = 0: the second reward (200 ms) changes nothing."""
    tau_c, eta = 0.25 * second, 0.5
    rule = STDPRule(modulation=RewardModulation(tau_c=tau_c, eta=eta))
    pre, post = _generators([[100]], [[200]])
    syn = _plastic(pre, post, rule)
    syn.run_regularly("reward = reward_incorrect", dt=100 * ms, order=-1)
    add_reward_operation(syn, 100 * ms, consume=True)
    syn.connect(j="i")
    syn.w = 1.0
    Network(pre, post, syn).run(250 * ms, namespace={})
    c_pair = 0.01 * math.exp(-10 / 20)
    dw = eta * -0.2 * c_pair * math.exp(-(0.1 - 0.02) / 0.25)
    assert syn.w[0] == pytest.approx(1.0 + dw, abs=1e-12)
    assert syn.c[0] == 0.0


def test_model_extra_adds_summed_variable():
    """``model_extra`` lines join the synapse model: a summed total of the weights."""
    rule = STDPRule()
    pre, post = _generators([[], []], [[]])
    target = NeuronGroup(1, "w_total : 1", threshold="False")
    syn = make_plastic_synapses(pre, target, rule, on_pre_effect="",
                                model_extra="w_total_post = w : 1 (summed)")
    syn.connect()
    syn.w = [0.25, 0.5]
    Network(pre, target, syn).run(1 * ms, namespace={})
    assert target.w_total[0] == pytest.approx(0.75, abs=1e-15)


def test_apply_reward_from_python_matches_reference_and_clips():
    rule = STDPRule(STDPTiming(A_plus=0.1, A_minus=0.1),
                    modulation=RewardModulation(tau_c=0.3 * second, eta=1.0))
    pre_trains, post_trains = reference_trains()
    syn = _single_pairs(rule, pre_trains, post_trains, 1.0, 1.3 * second)
    apply_reward(syn, 1.0)
    apply_reward(syn, -0.2, t=1.4 * second)
    apply_reward(syn, 30.0, t=1.5 * second)  # large enough to clip some weights
    p = _params(rule)
    expected = [
        rstdp_pair_reference(a, b, [13000, 14000, 15000], [1.0, -0.2, 30.0], DT_S, p, 1.0)[0]
        for a, b in zip(pre_trains, post_trains)
    ]
    w = np.asarray(syn.w[:])
    np.testing.assert_allclose(w, expected, rtol=0, atol=ATOL)
    assert np.any(w == 0.0) and np.any(w == 2.0)


def test_on_pre_effect_uses_weight_before_update():
    """Default effect ``v_post += w * w_scale`` on a NeuronGroup target.

    The target fires once at 0.5 ms; pre spikes at 1 and 2 ms each first add
    ``w * w_scale`` to ``v`` and only then depress ``w``.
    """
    rule = STDPRule(STDPTiming(A_plus=0.0, A_minus=0.25))
    pre = SpikeGeneratorGroup(1, [0, 0], [1, 2] * ms, dt=DT)
    target = NeuronGroup(1, "v : volt", threshold="abs(t - 0.5*ms) < 0.01*ms", dt=DT)
    syn = make_plastic_synapses(pre, target, rule, namespace_extra={"w_scale": 2 * mV})
    syn.connect()
    syn.w = 1.0
    Network(pre, target, syn).run(3 * ms, namespace={})
    w1 = 1.0 - 0.25 * math.exp(-0.5 / 20)
    w2 = w1 - 0.25 * math.exp(-1.5 / 20)
    assert float(target.v[0] / mV) == pytest.approx(2.0 * (1.0 + w1), abs=1e-12)
    assert syn.w[0] == pytest.approx(w2, abs=1e-12)


# --------------------------------------------------------------------------
# API checks
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, error, name",
    [
        (lambda: STDPTiming(tau_plus=20), TypeError, "tau_plus"),
        (lambda: STDPTiming(tau_minus=20 * mV), TypeError, "tau_minus"),
        (lambda: STDPTiming(tau_plus=-20 * ms), ValueError, "tau_plus"),
        (lambda: STDPTiming(A_plus=-0.1), ValueError, "A_plus"),
        (lambda: STDPTiming(A_minus=1 * mV), TypeError, "A_minus"),
        (lambda: WeightBounds(w_min=1.0, w_max=1.0), ValueError, "w_min"),
        (lambda: WeightBounds(w_max=float("nan")), ValueError, "w_max"),
        (lambda: RewardModulation(tau_c=1.0), TypeError, "tau_c"),
        (lambda: RewardModulation(eta=-1.0), ValueError, "eta"),
        (lambda: STDPRule(timing=WeightBounds()), TypeError, "timing"),
    ],
)
def test_invalid_parameters_are_rejected_by_name(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_parameters_keep_units_and_compose():
    rule = STDPRule(modulation=RewardModulation())
    assert rule.timing.tau_plus == 20 * ms and rule.modulation.tau_c == 1 * second
    code = rule.brian_code()
    assert code.namespace["w_max"] == 2.0 and code.namespace["reward_incorrect"] == -0.2
    pre, post = _generators([[1]], [[2]])
    plain, modulated = _plastic(pre, post, STDPRule()), _plastic(pre, post, rule)
    assert {"c", "reward"}.isdisjoint(plain.variables)
    assert {"c", "reward"} <= set(modulated.variables)
    assert modulated.plasticity_rule is rule
    # immutable, comparable and hashable despite the (unhashable) Quantities
    assert rule == STDPRule(modulation=RewardModulation(tau_c=1000 * ms))
    assert hash(rule) == hash(STDPRule(modulation=RewardModulation(tau_c=1000 * ms)))
    assert rule != STDPRule(modulation=RewardModulation(tau_c=999 * ms))
    with pytest.raises(AttributeError):
        rule.timing.A_plus = 0.5


def test_builder_rejects_bad_use():
    pre, post = _generators([[1]], [[2]])
    with pytest.raises(ValueError, match="tau_plus"):
        make_plastic_synapses(pre, post, STDPRule(), namespace_extra={"tau_plus": 1 * ms})
    with pytest.raises(TypeError, match="rule"):
        make_plastic_synapses(pre, post, STDPTiming())
    with pytest.raises(ValueError, match="RewardModulation"):
        add_reward_operation(_plastic(pre, post, STDPRule()), 10 * ms)
    rstdp = _plastic(pre, post, STDPRule(modulation=RewardModulation()))
    with pytest.raises(ValueError, match="whole number"):
        add_reward_operation(rstdp, 0.25 * DT)
    with pytest.raises(TypeError, match="period"):
        add_reward_operation(rstdp, 10)


def test_brian_state_is_restored(tmp_path):
    saved = (prefs.codegen.target, defaultclock.dt, get_device())
    set_device("cpp_standalone", directory=str(tmp_path), build_on_run=True)
    prefs.codegen.target = "cython"
    defaultclock.dt = 0.5 * ms
    _restore_brian_state(*saved)
    assert get_device() is runtime_device
    assert prefs.codegen.target == "numpy" and defaultclock.dt == DT
