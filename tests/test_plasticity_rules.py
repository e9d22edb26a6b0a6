"""Every timing x weight dependence of bioSNN.plasticity against an independent reference.

Tiers (STYLE.md 11): the Brian2 synapses (numpy target) after hand-designed
spike trains against the trace-free, event-by-event reference of
``tests/_plasticity_reference.py`` (rtol 1e-12); hand-computed values of pair,
nearest-neighbour and triplet cases; simultaneous spikes as documented; bounds;
the interfaces with a user-defined part; parameter checks.
"""
from __future__ import annotations

import gc
import math

import numpy as np
import pytest
from brian2 import (Network, SpikeGeneratorGroup, StateMonitor, TimedArray, defaultclock, ms,
                    prefs, second)

from bioSNN.plasticity import (
    AdditivePotentiationMultiplicativeDepression,
    GutigWeights,
    MultiplicativeWeights,
    NearestPreCentredTiming,
    NearestRestrictedTiming,
    NearestSymmetricTiming,
    NoModulation,
    RewardModulation,
    STDPRule,
    STDPTiming,
    TripletTiming,
    WeightBounds,
    WeightDependence,
    add_reward_operation,
    apply_reward,
    eligibility_at,
    make_plastic_synapses,
)

from _plasticity_reference import Timing, Weights, simulate, timing_terms
from _stdp_reference import Params, stdp_pair_sum

DT = 0.1 * ms
DT_S = 1e-4
RTOL = 1e-12
ATOL = 1e-15  # weights exactly at a bound are compared exactly
DURATION_STEPS = 3000

PAIR = dict(tau_plus=16.8 * ms, tau_minus=33.7 * ms, A_plus=0.25, A_minus=0.3)
TRIPLET = dict(tau_plus=16.8 * ms, tau_minus=33.7 * ms, tau_x=101 * ms, tau_y=125 * ms,
               A2_plus=0.05, A3_plus=0.2, A2_minus=0.1, A3_minus=0.05)
TIMINGS = {
    "all-to-all": STDPTiming(**PAIR),
    "nn-symmetric": NearestSymmetricTiming(**PAIR),
    "nn-pre-centred": NearestPreCentredTiming(**PAIR),
    "nn-restricted": NearestRestrictedTiming(**PAIR),
    "triplet": TripletTiming(**TRIPLET),
    "triplet-nearest": TripletTiming(**TRIPLET, nearest_spike=True),
}
W_MIN, W_MAX = 0.2, 1.5
WEIGHTS = {
    "additive": WeightBounds(W_MIN, W_MAX),
    "multiplicative": MultiplicativeWeights(W_MIN, W_MAX),
    "van-rossum": AdditivePotentiationMultiplicativeDepression(W_MIN, W_MAX),
    "gutig": GutigWeights(W_MIN, W_MAX, mu_plus=0.4, mu_minus=0.7),
}


@pytest.fixture(autouse=True)
def brian_state():
    saved = (prefs.codegen.target, defaultclock.dt)
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT
    yield
    gc.collect()
    prefs.codegen.target, defaultclock.dt = saved


def ref_timing(scheme: str) -> Timing:
    t = TIMINGS[scheme]
    s = lambda q: float(q / second)  # noqa: E731
    if scheme.startswith("triplet"):
        return Timing(scheme, tau_plus=s(t.tau_plus), tau_minus=s(t.tau_minus), tau_x=s(t.tau_x),
                      tau_y=s(t.tau_y), A2_plus=t.A2_plus, A3_plus=t.A3_plus,
                      A2_minus=t.A2_minus, A3_minus=t.A3_minus)
    return Timing(scheme, tau_plus=s(t.tau_plus), tau_minus=s(t.tau_minus),
                  A_plus=t.A_plus, A_minus=t.A_minus)


def ref_weights(kind: str) -> Weights:
    wd = WEIGHTS[kind]
    return Weights(kind, wd.w_min, wd.w_max, getattr(wd, "mu_plus", 0.0),
                   getattr(wd, "mu_minus", 0.0))


def generators(pre_trains, post_trains):
    groups = []
    for trains in (pre_trains, post_trains):
        idx = np.concatenate([np.full(len(s), k) for k, s in enumerate(trains)]).astype(int)
        steps = np.concatenate([np.asarray(s, dtype=float) for s in trains])
        groups.append(SpikeGeneratorGroup(len(trains), idx, steps * DT, dt=DT))
    return groups


def run_pairs(rules, pre_trains, post_trains, w0, duration_steps, monitor=()):
    """One synapse per train pair (pre k -> post k) for each rule; one Brian2 run."""
    pre, post = generators(pre_trains, post_trains)
    synapses, objects = [], [pre, post]
    for rule in rules:
        syn = make_plastic_synapses(pre, post, rule, on_pre_effect="")
        syn.connect(j="i")
        syn.w = w0
        synapses.append(syn)
        objects.append(syn)
    monitors = [StateMonitor(s, "w", record=list(monitor), dt=DT) for s in synapses] if monitor else []
    Network(*objects, *monitors).run(duration_steps * DT, namespace={})
    return synapses, monitors


# --------------------------------------------------------------------------
# Hand-designed trains, shared by all rules
# --------------------------------------------------------------------------
def reference_trains():
    pre = [
        [100],                                   # 0 LTP pair
        [200],                                   # 1 LTD pair
        [100, 110, 120, 130, 140],               # 2 pre burst, then post
        [100, 400],                              # 3 post burst between two pre
        [100, 300],                              # 4 simultaneous spikes
        list(range(100, 1100, 50)),              # 5 alternating, 5 ms lag
        list(range(100, 2900, 300)),             # 6 heavy LTP (hits w_max)
        list(range(120, 2900, 300)),             # 7 heavy LTD (hits w_min)
        [0],                                     # 8 spike at t = 0, both sides
    ]
    post = [
        [200],
        [100],
        [200],
        [200, 210, 220, 230],
        [100, 200, 300],
        list(range(150, 1100, 50)) + [1110, 1115],
        list(range(120, 2900, 300)),
        list(range(100, 2900, 300)),
        [0, 40],
    ]
    rng = np.random.default_rng(17)
    for _ in range(6):  # Poisson-like, 40 Hz, coincidences allowed
        for trains in (pre, post):
            trains.append(sorted(set(rng.integers(0, DURATION_STEPS - 10, rng.poisson(12)).tolist())))
    return pre, post


def w_init(n):
    return W_MIN + (W_MAX - W_MIN) * (0.3 + 0.4 * np.arange(n) / max(n - 1, 1))


@pytest.fixture(scope="module")
def all_rules():
    """Weights of all 24 timing x weight rules after the reference trains."""
    saved = (prefs.codegen.target, defaultclock.dt)
    prefs.codegen.target, defaultclock.dt = "numpy", DT
    try:
        pre, post = reference_trains()
        keys = [(t, w) for t in TIMINGS for w in WEIGHTS]
        rules = [STDPRule(TIMINGS[t], WEIGHTS[w]) for t, w in keys]
        w0 = w_init(len(pre))
        synapses, monitors = run_pairs(rules, pre, post, w0, DURATION_STEPS, monitor=(6, 7))
        return {
            key: (np.asarray(s.w[:]), np.asarray(m.w))
            for key, s, m in zip(keys, synapses, monitors)
        }
    finally:
        prefs.codegen.target, defaultclock.dt = saved


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("timing", list(TIMINGS))
def test_brian2_equals_reference(all_rules, timing, weights):
    pre, post = reference_trains()
    w0 = w_init(len(pre))
    w, _ = all_rules[timing, weights]
    expected = [simulate(a, b, DT_S, ref_timing(timing), ref_weights(weights), w0[k])
                for k, (a, b) in enumerate(zip(pre, post))]
    np.testing.assert_allclose(w, [e[0] for e in expected], rtol=RTOL, atol=ATOL)
    assert np.sum(np.abs(w - w0) > 1e-6) >= len(w) - 1  # (almost) every synapse changed
    if weights == "additive":
        assert sum(e[1] for e in expected) > 0  # the bounds were reached


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("timing", list(TIMINGS))
def test_weights_stay_in_bounds(all_rules, timing, weights):
    w, trace = all_rules[timing, weights]
    assert np.all(np.isfinite(trace)) and np.all(np.isfinite(w))
    assert trace.min() >= W_MIN and trace.max() <= W_MAX
    assert w.min() >= W_MIN and w.max() <= W_MAX
    if weights == "additive":  # hard bounds are reached exactly under heavy plasticity
        assert trace[0].max() == W_MAX and trace[1].min() == W_MIN


def test_reference_all_to_all_equals_pair_sum_of_the_older_reference():
    """Two formulations: explicit pairs here, traces in tests/_stdp_reference.py."""
    pre, post = reference_trains()
    p = Timing("all-to-all", A_plus=0.01, A_minus=0.012)
    wide = Weights("additive", -1e9, 1e9)
    for a, b in zip(pre, post):
        w, clipped = simulate(a, b, DT_S, p, wide, 1.0)
        assert clipped == 0
        assert w == pytest.approx(stdp_pair_sum(a, b, DT_S, Params(A_plus=0.01, A_minus=0.012),
                                                1.0), abs=1e-14)


# --------------------------------------------------------------------------
# Hand-computed values
# --------------------------------------------------------------------------
E = math.exp
TP, TM = 16.8, 33.7  # ms


def _final(rule, pre, post, w0=1.0, steps=600):
    (syn,), _ = run_pairs([rule], pre, post, w0, steps)
    return np.asarray(syn.w[:])


def test_pair_hand_computed_with_each_weight_dependence():
    """LTP pair (10 ms) and LTD pair (10 ms), w0 = 1 in [0.2, 1.5]."""
    ltp, ltd = 0.25 * E(-10 / TP), 0.3 * E(-10 / TM)
    up, down = (1.5 - 1.0) / 1.3, (1.0 - 0.2) / 1.3
    expected = {
        "additive": (1 + ltp, 1 - ltd),
        "multiplicative": (1 + up * ltp, 1 - down * ltd),
        "van-rossum": (1 + ltp, 1 - down * ltd),
        "gutig": (1 + up ** 0.4 * ltp, 1 - down ** 0.7 * ltd),
    }
    rules = [STDPRule(TIMINGS["all-to-all"], wd) for wd in WEIGHTS.values()]
    synapses, _ = run_pairs(rules, [[100], [200]], [[200], [100]], 1.0, 300)
    for kind, syn in zip(WEIGHTS, synapses):
        np.testing.assert_allclose(syn.w[:], expected[kind], rtol=1e-14, err_msg=kind)


def test_triplet_hand_computed():
    """pre 0 ms, post 10 and 20 ms: the second post sees the first (A3+ term);
    then pre 30 ms sees both posts (o1) and the first pre (r2, A3- term)."""
    t = TRIPLET
    a2p, a3p, a2m, a3m = t["A2_plus"], t["A3_plus"], t["A2_minus"], t["A3_minus"]
    dw1 = E(-10 / TP) * a2p
    dw2 = E(-20 / TP) * (a2p + a3p * E(-10 / 125))
    dw3 = (E(-20 / TM) + E(-10 / TM)) * (a2m + a3m * E(-30 / 101))
    # nearest-spike form: o1 sees only the post at 20 ms
    dw3n = E(-10 / TM) * (a2m + a3m * E(-30 / 101))
    rules = [STDPRule(TIMINGS[k], WeightBounds(0, 10)) for k in ("triplet", "triplet-nearest")]
    (full, nearest), _ = run_pairs(rules, [[0, 300]], [[100, 200]], 1.0, 400)
    assert full.w[0] == pytest.approx(1 + dw1 + dw2 - dw3, rel=1e-14)
    assert nearest.w[0] == pytest.approx(1 + dw1 + dw2 - dw3n, rel=1e-14)


def test_nearest_neighbour_schemes_differ_from_all_to_all_on_bursts():
    """Pre burst (10..14 ms) -> post 20 ms; pre 30 ms -> post burst 40..43 ms -> pre 60 ms."""
    pre = [[100, 110, 120, 130, 140], [300, 600]]
    post = [[200], [400, 410, 420, 430]]
    a_p, a_m = PAIR["A_plus"], PAIR["A_minus"]
    burst_all = sum(a_p * E(-(20 - s) / TP) for s in (10, 11, 12, 13, 14))
    burst_nearest = a_p * E(-6 / TP)
    post_burst_all = sum(a_p * E(-(d - 30) / TP) for d in (40, 41, 42, 43))
    post_burst_first = a_p * E(-10 / TP)
    ltd_all = sum(a_m * E(-(60 - d) / TM) for d in (40, 41, 42, 43))
    ltd_nearest = a_m * E(-17 / TM)
    # synapse 1 also depresses at the pre spike at 30 ms (post 20 ms is on synapse 0 only)
    expected = {
        "all-to-all": (burst_all, post_burst_all - ltd_all),
        "nn-symmetric": (burst_nearest, post_burst_all - ltd_nearest),
        "nn-pre-centred": (burst_all, post_burst_first - ltd_nearest),
        "nn-restricted": (burst_nearest, post_burst_first - ltd_nearest),
    }
    rules = [STDPRule(TIMINGS[scheme], WeightBounds(-10, 10)) for scheme in expected]
    synapses, _ = run_pairs(rules, pre, post, 1.0, 700)
    for (scheme, (dw0, dw1)), syn in zip(expected.items(), synapses):
        np.testing.assert_allclose(syn.w[:] - 1.0, [dw0, dw1], rtol=1e-12, err_msg=scheme)
    assert len({round(v[0], 12) for v in expected.values()}) == 2
    assert len({round(v[1], 12) for v in expected.values()}) == 3


def test_simultaneous_spikes_count_as_pre_before_post():
    """Pre and post in the same step: one zero-lag LTP pair (A+, or A2+ for triplets),
    no depression; a post 5 ms earlier then depresses the simultaneous pre only."""
    rules = [STDPRule(TIMINGS[timing], WeightBounds(-10, 10)) for timing in TIMINGS]
    synapses, _ = run_pairs(rules, [[100], [100]], [[100], [50, 100]], 1.0, 300)
    for timing, syn in zip(TIMINGS, synapses):
        if timing.startswith("triplet"):
            ltp = TRIPLET["A2_plus"]
            ltp_after = TRIPLET["A2_plus"] + TRIPLET["A3_plus"] * E(-5 / 125)
            ltd = E(-5 / TM) * TRIPLET["A2_minus"]
        else:
            ltp = ltp_after = PAIR["A_plus"]
            ltd = PAIR["A_minus"] * E(-5 / TM)
        w = np.asarray(syn.w[:])
        assert w[0] == pytest.approx(1 + ltp, rel=1e-14), timing
        assert w[1] == pytest.approx(1 - ltd + ltp_after, rel=1e-14), timing


# --------------------------------------------------------------------------
# Modulation with the new timing parts, and a user-defined part
# --------------------------------------------------------------------------
def test_reward_modulation_accumulates_triplet_terms():
    tau_c = 0.2 * second
    rule = STDPRule(TIMINGS["triplet"], MultiplicativeWeights(W_MIN, W_MAX),
                    RewardModulation(tau_c=tau_c, eta=0.5))
    pre, post = reference_trains()
    syns, _ = run_pairs([rule], pre[:6], post[:6], 1.0, 1200)  # trains end at 111.5 ms
    syn = syns[0]
    t_end = 1200 * DT_S
    c_ref = [sum(sign * term * E(-(t_end - s * DT_S) / 0.2)
                 for s, sign, term in timing_terms(a, b, DT_S, ref_timing("triplet")))
             for a, b in zip(pre[:6], post[:6])]
    c = eligibility_at(syn)
    np.testing.assert_allclose(c, c_ref, rtol=1e-12)
    assert np.all(np.asarray(syn.w[:]) == 1.0)  # spikes alone do not change w
    apply_reward(syn, 3.0)
    dw = 0.5 * 3.0 * np.asarray(c_ref)
    up, down = (W_MAX - 1.0) / (W_MAX - W_MIN), (1.0 - W_MIN) / (W_MAX - W_MIN)
    np.testing.assert_allclose(syn.w[:], np.clip(1.0 + np.where(dw > 0, up, down) * dw,
                                                 W_MIN, W_MAX), rtol=1e-12)


@pytest.mark.parametrize("weights", ["multiplicative", "gutig"])
def test_in_network_reward_uses_the_weight_dependence(weights):
    """Rewards +2 at 100 ms and -3 at 150 ms (``add_reward_operation``, slot 'start'):
    each sees the eligibility of the events strictly before it, scaled by f+ or f-."""
    rule = STDPRule(TIMINGS["nn-pre-centred"], WEIGHTS[weights],
                    RewardModulation(tau_c=0.1 * second, eta=0.7))
    pre, post = reference_trains()
    pre, post = pre[:6], post[:6]
    schedule = TimedArray([0.0, 0.0, 2.0, -3.0, 0.0], dt=50 * ms)
    gens = generators(pre, post)
    syn = make_plastic_synapses(*gens, rule, on_pre_effect="",
                                namespace_extra={"r_of_t": schedule})
    add_reward_operation(syn, 50 * ms, reward="r_of_t(t)")
    syn.connect(j="i")
    syn.w = 1.0
    Network(*gens, syn).run(175 * ms, namespace={})
    wd = ref_weights(weights)
    expected = []
    for a, b in zip(pre, post):
        terms = timing_terms(a, b, DT_S, ref_timing("nn-pre-centred"))
        w = 1.0
        for t_r, r in ((0.1, 2.0), (0.15, -3.0)):
            c = sum(sign * term * E(-(t_r - s * DT_S) / 0.1)
                    for s, sign, term in terms if s * DT_S < t_r - 1e-12)
            f_plus, f_minus = wd.factors(w)
            dw = 0.7 * r * c
            w = min(max(w + (f_plus if dw > 0 else f_minus) * dw, wd.w_min), wd.w_max)
        expected.append(w)
    np.testing.assert_allclose(syn.w[:], expected, rtol=1e-12)
    assert np.sum(np.abs(np.asarray(syn.w[:]) - 1.0) > 1e-4) >= 4


class PotentiationOnly(WeightDependence):
    """A user-defined weight dependence: hard bounds, depression switched off."""

    factor_minus = "0"

    def __init__(self, w_min=0.0, w_max=1.0):
        self.w_min, self.w_max = w_min, w_max

    def factors(self, w):
        return np.ones_like(w), np.zeros_like(w)

    def namespace(self):
        return {"w_min": self.w_min, "w_max": self.w_max}


def test_user_defined_weight_dependence_composes():
    rule = STDPRule(NearestSymmetricTiming(**PAIR), PotentiationOnly(0.0, 5.0), NoModulation())
    w = _final(rule, [[100], [200]], [[200], [100]])
    np.testing.assert_allclose(w, [1 + PAIR["A_plus"] * E(-10 / TP), 1.0], rtol=1e-14)


# --------------------------------------------------------------------------
# API checks
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, error, name",
    [
        (lambda: TripletTiming(tau_x=101), TypeError, "tau_x"),
        (lambda: TripletTiming(A3_minus=-1e-3), ValueError, "A3_minus"),
        (lambda: TripletTiming(nearest_spike=1), TypeError, "nearest_spike"),
        (lambda: NearestRestrictedTiming(tau_minus=-1 * ms), ValueError, "tau_minus"),
        (lambda: MultiplicativeWeights(1.0, 1.0), ValueError, "w_min"),
        (lambda: GutigWeights(mu_plus=-0.5), ValueError, "mu_plus"),
        (lambda: GutigWeights(mu_minus=1 * ms), TypeError, "mu_minus"),
        (lambda: STDPRule(bounds=STDPTiming()), TypeError, "bounds"),
        (lambda: STDPRule(modulation=WeightBounds()), TypeError, "modulation"),
    ],
)
def test_invalid_parameters_are_rejected_by_name(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_parts_are_immutable_comparable_and_hashable():
    assert NearestSymmetricTiming() != STDPTiming()  # same fields, different rule
    assert TripletTiming() == TripletTiming(tau_x=0.101 * second)
    assert hash(TripletTiming()) == hash(TripletTiming(tau_x=0.101 * second))
    assert TripletTiming() != TripletTiming(nearest_spike=True)
    assert hash(GutigWeights()) == hash(GutigWeights(0.0, 2.0, 0.4, 0.4))
    assert len({STDPRule(t, w) for t in TIMINGS.values() for w in WEIGHTS.values()}) == 24
    with pytest.raises(AttributeError):
        GutigWeights().mu_plus = 1.0


def test_namespace_clash_between_parts_is_an_error():
    class Clashing(PotentiationOnly):
        def namespace(self):
            return {**super().namespace(), "tau_plus": 1 * ms}

    with pytest.raises(ValueError, match="tau_plus"):
        STDPRule(STDPTiming(), Clashing()).brian_code()


# --------------------------------------------------------------------------
# Dopamine modulation (Izhikevich 2007) against the event-by-event reference
# --------------------------------------------------------------------------
def test_dopamine_modulation_equals_reference():
    """c (event-driven, tau_c) x d (pulses, tau_d, + tonic), integrated every 1 ms through
    a multiplicative weight dependence: the weight after every update, rtol 1e-12."""
    from brian2 import NeuronGroup

    from bioSNN.plasticity import DopamineModulation
    from _plasticity_reference import Dopamine, simulate_dopamine

    part = DopamineModulation(tau_c=0.2 * second, tau_d=50 * ms, eta=40 / second, da_pulse=0.8,
                              d_tonic=0.05, update_period=1 * ms)
    rule = STDPRule(TIMINGS["all-to-all"], WEIGHTS["multiplicative"], part)
    pre, post = reference_trains()
    steps = 3000
    pulse_steps = [150, 400, 405, 1500, 2990]
    post_in = np.zeros((steps, len(post)))
    for k, train in enumerate(post):
        post_in[np.asarray(train, dtype=int), k] = 1.0
    pulses = np.zeros(steps)
    pulses[pulse_steps] = 1.0
    pre_group = generators(pre, post)[0]
    post_group = NeuronGroup(len(post), "dopa : 1", threshold="post_in(t, i) > 0.5",
                             namespace={"post_in": TimedArray(post_in, dt=DT)}, name="post*")
    dop = part.dopamine_group(threshold="pulses(t) > 0.5",
                              namespace_extra={"pulses": TimedArray(pulses, dt=DT)}, name="dop*")
    broadcast = part.dopamine_broadcast(dop, post_group, name="broadcast*")
    syn = make_plastic_synapses(pre_group, post_group, rule, on_pre_effect="")
    syn.connect(j="i")
    w0 = w_init(len(pre))
    syn.w = w0
    part.add_weight_update(syn)
    mon = StateMonitor(syn, "w", record=True, dt=1 * ms, when="end")
    Network(pre_group, post_group, dop, broadcast, syn, mon).run(steps * DT, namespace={})

    s = lambda q: float(q / second)  # noqa: E731
    ref_da = Dopamine(tau_c=0.2, tau_d=0.05, eta=40.0, da_pulse=0.8, d_tonic=0.05, period_steps=10)
    expected = np.array([[w for _, w in simulate_dopamine(a, b, pulse_steps, DT_S,
                                                          ref_timing("all-to-all"),
                                                          ref_weights("multiplicative"),
                                                          ref_da, w0[k], steps)]
                         for k, (a, b) in enumerate(zip(pre, post))])
    assert s(mon.t[1] - mon.t[0]) == pytest.approx(1e-3)
    np.testing.assert_allclose(mon.w, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(syn.w[:], expected[:, -1], rtol=RTOL, atol=ATOL)
    moved = np.abs(expected[:, -1] - w0)
    assert np.sum(moved > 1e-3) >= 8  # the dopamine actually changed most weights
    assert "c * exp(-(t - lastupdate) / tau_c)" in part.weight_delta()


def test_dopamine_modulation_checks_its_parameters():
    from bioSNN.plasticity import DopamineModulation

    with pytest.raises(TypeError, match="eta"):
        DopamineModulation(eta=1.0)
    with pytest.raises(ValueError, match="d_tonic"):
        DopamineModulation(d_tonic=-0.1)
    with pytest.raises(TypeError, match="tau_d"):
        DopamineModulation(tau_d=0.2)
    part = DopamineModulation()
    assert part == DopamineModulation() and hash(part) == hash(DopamineModulation())
    with pytest.raises(AttributeError):
        part.tau_c = 2 * second
