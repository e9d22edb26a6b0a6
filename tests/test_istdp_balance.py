"""istdp-balance (Vogels et al. 2011, Fig. 1): the quick run co-tunes inhibition and moves
the rate to the rule's target; the input's tuning curve and rate process against their
closed forms; the features on a hand-made run; the spec's errors; and the validation
entries' test of the test (no learning fails both)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr


@pytest.fixture(scope="module")
def run():
    from bioSNN.protocols import find_spec, get_kind

    spec = find_spec("vogels2011-balance").resolve(quick=True)
    return get_kind(spec.kind)(spec).run()


def test_inhibition_becomes_cotuned_and_the_rate_moves_to_the_target(run):
    from bioSNN.validation.plasticity_experiments import ISTDPCotuning, ISTDPTargetRate

    s = run.summary
    # uniform at the start, so no co-tuning to speak of; the paper's Fig. 1 end state
    assert s["cotuning_r_final"] >= 0.9
    assert s["cotuning_r_final"] > s["cotuning_r_first"]
    # weak initial inhibition: the neuron starts far above rho0 and the rule pulls it down
    assert s["rate_first_Hz"] > 1.4 * s["rho0_Hz"]
    assert 0.5 <= s["rate_last_over_rho0"] <= 1.5
    # inhibition tracks excitation in time (detailed balance) better late than early
    assert s["current_r_last"] > s["current_r_first"]
    assert ISTDPCotuning().judge(run).status == "pass"
    assert ISTDPTargetRate().judge(run).status == "pass"


def test_excitatory_weights_follow_the_tuning_curve(run):
    from bioSNN.features.istdp_balance import group_profile
    from bioSNN.protocols.istdp_balance import tuning

    # hand-computed: 0.3 + 1.1 / (1 + (g - 4.5)^4)
    np.testing.assert_allclose(tuning(8, 4.5)[[0, 4, 5, 7]],
                               [0.3 + 1.1 / 411.0625, 0.3 + 1.1 / 1.0625,
                                0.3 + 1.1 / 1.0625, 0.3 + 1.1 / 40.0625], rtol=1e-12)
    d = run.data
    n = int(d.attrs["n_groups"])
    prof = group_profile(d["w_exc"].values, d["exc_group"].values, n)
    # +-10 % per synapse over 100 synapses: the group means within 4 % (4 SE)
    np.testing.assert_allclose(prof, tuning(n, 4.5), rtol=0.04)
    # the inhibitory weights stay in the rule's bounds
    w = d["w_inh"].values
    assert w.min() >= 0 and w.max() <= run.spec.params.rule.bounds.w_max
    np.testing.assert_array_equal(w[0], run.spec.params.w_inh_init)


def test_group_rates_are_a_rectified_ou_process():
    """r = base + scale [x]_+, x unit-variance OU with tau 50 ms: mean base + scale/sqrt(2 pi),
    never below base, 1 ms lag correlation of x exp(-1/50)."""
    from types import SimpleNamespace

    from brian2 import Hz, ms, second

    from bioSNN.protocols.istdp_balance import group_signals

    p = SimpleNamespace(duration=200 * second, signal_tau=50 * ms, n_groups=4,
                        rate_base=2 * Hz, rate_scale=20 * Hz)
    r = group_signals(p, np.random.default_rng(1))
    assert r.shape == (200_002, 4)
    assert r.min() == pytest.approx(2.0)
    # 200 s / 50 ms = 4000 correlation times per group: SE of the mean ~ 0.2 Hz
    assert r.mean() == pytest.approx(2 + 20 / math.sqrt(2 * math.pi), abs=0.4)
    # P(x_t > 0 and x_t-1ms > 0) of a Gaussian pair with correlation rho = exp(-1/50):
    # 1/4 + asin(rho) / (2 pi) (Sheppard); the fraction over 4 groups to 0.02 (~3 SE)
    x = r - 2.0
    both = (x[1:] > 0) & (x[:-1] > 0)
    assert both.mean() == pytest.approx(0.25 + math.asin(math.exp(-1 / 50)) / (2 * math.pi),
                                        abs=0.02)


def _fake(w_inh_last, spikes_ms, T=20.0, rho0=5.0):
    n, per = 2, 2
    t_cur = np.arange(0.0, 1000 * T, 1.0)
    return xr.Dataset(
        {"w_exc": ("exc_synapse", np.array([1.0, 1.0, 3.0, 3.0])),
         "exc_group": ("exc_synapse", np.repeat(np.arange(n), per)),
         "inh_group": ("inh_synapse", np.repeat(np.arange(n), per)),
         "w_inh": (("snapshot_time", "inh_synapse"),
                   np.array([[0.1] * 4, [0.1, 0.1, 0.3, 0.3], w_inh_last])),
         "post_spike_time": ("post_spike", np.asarray(spikes_ms, dtype=float)),
         "I_exc": ("current_time", 100 + 10 * np.sin(t_cur / 50.0)),
         "I_inh": ("current_time", -(50 + 5 * np.sin(t_cur / 50.0)))},
        coords={"current_time": t_cur},
        attrs={"n_groups": n, "duration_s": T, "rho0_Hz": rho0, "eta": 0.05})


def test_features_of_a_hand_made_run():
    from bioSNN.features.istdp_balance import balance_features

    # 50 spikes in the first 5 s (10 Hz); 20 in the last quarter (5 s): 4 Hz
    spikes = np.r_[np.linspace(0, 4990, 50), np.linspace(15000, 19990, 20)]
    f = balance_features(_fake([0.2, 0.4, 0.9, 1.1], spikes))
    # profiles: excitatory (1, 3), inhibitory (0.3, 1.0): r of two points is 1
    assert f["cotuning_r_final"] == pytest.approx(1.0)
    assert f["rate_first_Hz"] == pytest.approx(10.0) and f["rate_last_Hz"] == pytest.approx(4.0)
    assert f["rate_last_over_rho0"] == pytest.approx(0.8)
    assert f["inhibitory_over_excitatory_current"] == pytest.approx(0.5, rel=1e-2)
    assert f["current_r_last"] == pytest.approx(1.0)
    # anti-tuned inhibition: r = -1
    assert balance_features(_fake([1.0, 1.0, 0.2, 0.2], spikes))["cotuning_r_final"] == \
        pytest.approx(-1.0)


def test_the_entries_fail_without_learning():
    from bioSNN.validation.plasticity_experiments import ISTDPCotuning, ISTDPTargetRate

    class Fake:
        def __init__(self, data):
            self.data = data

    spikes = np.linspace(0, 19990, 600)                      # 30 Hz throughout
    uniform = ISTDPCotuning().judge(Fake(_fake([0.1] * 4, spikes)))
    assert uniform.status == "fail" and "r = " in uniform.score.text
    rate = ISTDPTargetRate().judge(Fake(_fake([0.1] * 4, spikes)))
    assert rate.status == "fail" and "outside 0.5-1.5" in rate.score.text
    # in range but not moved towards rho0 (it started nearer): fails too
    still = np.r_[np.linspace(0, 4990, 25), np.linspace(5000, 19990, 60)]
    moved = ISTDPTargetRate().judge(Fake(_fake([0.1] * 4, still)))
    assert moved.status == "fail" and "no closer to rho0" in moved.score.text
    good = np.r_[np.linspace(0, 4990, 50), np.linspace(15000, 19990, 20)]
    assert ISTDPTargetRate().judge(Fake(_fake([0.1] * 4, good))).status == "pass"
    assert ISTDPCotuning().judge(Fake(_fake([0.2, 0.4, 0.9, 1.1], good))).status == "pass"


def test_spec_errors_name_the_field(quick_spec):
    from bioSNN.errors import SpecError

    with pytest.raises(SpecError, match="duration: must be at least 20 s"):
        quick_spec("vogels2011-balance", duration="10 s")
    with pytest.raises(SpecError, match=r"w_inh_init: must lie within the rule's bounds \[0, 2\]"):
        quick_spec("vogels2011-balance", w_inh_init=3.0, **{"plasticity.w_max": 2.0})
    with pytest.raises(SpecError, match="plasticity: this protocol delivers no reward"):
        quick_spec("vogels2011-balance", **{"plasticity.modulation": "reward"})
    with pytest.raises(SpecError, match="plasticity.rho: not a parameter of timing "
                                        "'vogels-sprekeler', weights 'additive'"):
        quick_spec("vogels2011-balance", **{"plasticity.rho": "3 Hz"})


def test_the_rule_is_the_spec_table():
    """The spec's table gives vogels_sprekeler_rule's parts; an entry changes one of them."""
    from brian2 import Hz, ms

    from bioSNN.plasticity import vogels_sprekeler_rule
    from bioSNN.protocols import find_spec

    spec = find_spec("vogels2011-balance")
    assert spec.params.rule == vogels_sprekeler_rule(tau=20 * ms, rho0=5 * Hz, eta=0.05,
                                                     w_max=100.0)
    slower = spec.resolve(overrides={"plasticity.rho0": "3 Hz"}).params
    assert slower.rho0 == 3 * Hz and slower.rule.timing.eta == 0.05
