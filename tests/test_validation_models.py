"""Tests of the validation tests: deliberately wrong models must fail (or warn), the
correct models must pass.

Wrong models are built the way a bug would enter: a changed preset (RS with d = 0 ...),
a changed STDP implementation (swapped signs, a wrong trace time constant), a noisy or
tampered f-I run. Every protocol runs its ``[quick]`` spec on the numpy target, in memory.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from brian2 import mV, ms

from bioSNN.params import IzhikevichParams, LIFParams
from bioSNN.plasticity import STDPTiming
from bioSNN.protocols.registry import get_kind
from bioSNN.protocols.spec import find_spec
from bioSNN.validation import FAIL, PASS, WARN
from bioSNN.validation.registry import ENTRIES

TESTS = {e.name: e.test for e in ENTRIES}


def run_quick(name, **overrides):
    spec = find_spec(name).resolve(quick=True, overrides=overrides or None)
    return get_kind(spec.kind)(spec).run()


def status(test_name, results):
    return TESTS[test_name].judge(results).status


@pytest.fixture(scope="module")
def correct():
    """Quick runs of the correct models, shared by the module."""
    return {name: run_quick(name) for name in ("izhikevich-patterns", "membrane-probe",
                                               "lif-fi-curve", "lif-poisson-trace")}


WRONG_PRESETS = {  # preset -> the change that removes its defining feature
    "RS": dict(d=0 * mV),                      # no spike-triggered adaptation
    "FS": dict(a=0.02 / ms, d=8 * mV),         # RS's slow, strong adaptation
    "IB": dict(c=-65 * mV),                    # deep reset: no onset burst
    "CH": dict(c=-65 * mV, d=8 * mV),          # RS's reset: no repeated bursts
    "LTS": dict(b=0.2),                        # RS's threshold
    "TC": dict(b=0.2),                         # no low-threshold rebound
    "RZ": dict(b=0.2, a=0.02 / ms),            # integrator: no ringing
}
PATTERN_TESTS = {"RS": ["izhikevich-RS-adaptation"], "FS": ["izhikevich-FS-fast-spiking"],
                 "IB": ["izhikevich-IB-burst-then-tonic"], "CH": ["izhikevich-CH-repeated-bursts"],
                 "TC": ["izhikevich-TC-rebound-burst"]}
PROBE_TESTS = {"LTS": ["izhikevich-LTS-low-threshold"], "RZ": ["izhikevich-RZ-resonance"]}


@pytest.fixture(scope="module")
def wrong_presets():
    """izhikevich-patterns and membrane-probe runs with every preset broken at once
    (each test only looks at its own preset)."""
    with pytest.MonkeyPatch.context() as mp:
        for name, change in WRONG_PRESETS.items():
            mp.setitem(IzhikevichParams.PRESETS, name, IzhikevichParams.preset(name).replace(**change))
        return {"izhikevich-patterns": run_quick("izhikevich-patterns"),
                "membrane-probe": run_quick("membrane-probe")}


@pytest.mark.parametrize("test_name", [t for ts in PATTERN_TESTS.values() for t in ts]
                         + ["izhikevich-LTS-adaptation"])
def test_izhikevich_pattern_tests_pass_on_the_presets(correct, test_name):
    assert status(test_name, correct["izhikevich-patterns"]) == PASS


@pytest.mark.parametrize("test_name", [t for ts in PROBE_TESTS.values() for t in ts])
def test_izhikevich_probe_tests_pass_on_the_presets(correct, test_name):
    assert status(test_name, correct["membrane-probe"]) == PASS


@pytest.mark.parametrize("preset", sorted(PATTERN_TESTS))
def test_wrong_preset_fails_its_pattern_test(wrong_presets, preset):
    for test_name in PATTERN_TESTS[preset]:
        verdict = TESTS[test_name].judge(wrong_presets["izhikevich-patterns"])
        assert verdict.status == FAIL, (test_name, verdict.prediction.text, verdict.score.text)


@pytest.mark.parametrize("preset", sorted(PROBE_TESTS))
def test_wrong_preset_fails_its_probe_test(wrong_presets, preset):
    for test_name in PROBE_TESTS[preset]:
        verdict = TESTS[test_name].judge(wrong_presets["membrane-probe"])
        assert verdict.status == FAIL, (test_name, verdict.prediction.text, verdict.score.text)


def test_rs_without_reset_increment_still_slows_but_not_spike_by_spike(wrong_presets):
    """RS with d = 0 slows a little (u follows b v), so the test needs its
    spike-triggered criterion: the second ISI is not longer than the first."""
    d = TESTS["izhikevich-RS-adaptation"].generate_prediction(
        wrong_presets["izhikevich-patterns"]).details
    assert d["early_ratio"] < 1.2


# ---------------------------------------------------------------- LIF f-I curve
FI_TESTS = ("lif-fi-analytic", "lif-fi-rheobase", "lif-fi-saturation")


@pytest.mark.parametrize("test_name", FI_TESTS)
def test_lif_fi_tests_pass_on_the_seed_neuron(correct, test_name):
    assert status(test_name, correct["lif-fi-curve"]) == PASS


def test_noisy_lif_fails_the_analytic_fi_curve():
    noisy = run_quick("lif-fi-curve", sigma="2 mV")
    assert status("lif-fi-analytic", noisy) == FAIL


def _with_spikes(results, neuron, times_ms):
    data = results.data
    i = np.concatenate([data["spike_neuron"].values, np.full(len(times_ms), neuron)])
    t = np.concatenate([data["spike_time"].values, times_ms])
    order = np.lexsort((t, i))
    new = data.drop_dims("spike").assign(
        spike_neuron=("spike", i[order], {"units": "1"}),
        spike_time=("spike", t[order], {"units": "ms"}))
    return dataclasses.replace(results, data=new)


def test_spikes_below_rheobase_fail_the_rheobase_test(correct):
    tampered = _with_spikes(correct["lif-fi-curve"], 0, [100.0, 300.0])  # I = 0 fires
    assert status("lif-fi-rheobase", tampered) == FAIL


def test_rate_above_saturation_fails(correct):
    res = correct["lif-fi-curve"]
    top = res.data.sizes["current"] - 1
    tampered = _with_spikes(res, top, np.arange(1.0, 400.0, 2.0))  # 500 Hz > 1/t_ref
    assert status("lif-fi-saturation", tampered) == FAIL


# ---------------------------------------------------------------- STDP window
def test_stdp_tests_pass_on_the_pair_rule():
    assert status("stdp-window-recovers-rule", run_quick("stdp-window")) == PASS
    bi_poo = run_quick("stdp-window", tau_plus="16.8 ms", tau_minus="33.7 ms")
    assert status("stdp-window-bi-poo", bi_poo) == PASS
    assert status("stdp-window-bi-poo", run_quick("stdp-window")) == FAIL  # 20/20 ms is not Bi & Poo


def test_stdp_rule_with_swapped_signs_fails(monkeypatch):
    """An anti-Hebbian implementation (LTD for pre-before-post) fails both tests."""
    monkeypatch.setattr(STDPTiming, "delta_pre", "apost")
    monkeypatch.setattr(STDPTiming, "delta_post", "-apre")
    window = run_quick("stdp-window", tau_plus="16.8 ms", tau_minus="33.7 ms")
    assert window.summary["fraction_ltp_pre_before_post"] == 0.0
    assert status("stdp-window-recovers-rule", window) == FAIL
    assert status("stdp-window-bi-poo", window) == FAIL


def test_stdp_rule_with_wrong_trace_time_constant_fails(monkeypatch):
    """A bug that decays the postsynaptic trace with tau_plus: tau- is not recovered."""
    monkeypatch.setattr(STDPTiming, "model", "dapre/dt = -apre / tau_plus : 1 (event-driven)\n"
                        "dapost/dt = -apost / tau_plus : 1 (event-driven)\n")
    window = run_quick("stdp-window", tau_plus="16.8 ms", tau_minus="33.7 ms")
    assert window.summary["tau_minus_ms"] == pytest.approx(16.8, rel=1e-6)
    assert status("stdp-window-recovers-rule", window) == FAIL
    assert status("stdp-window-bi-poo", window) == FAIL


# ---------------------------------------------------------------- regimes
def test_membrane_regimes_of_the_shipped_models(correct):
    probe = correct["membrane-probe"]
    assert status("regime-rest", probe) == PASS
    # the Izhikevich presets' effective tau_m is ~1-2.5 ms, the seed LIF's 5 ms
    # refractory period is long: reported as warnings, not failures
    verdict = TESTS["regime-tau-m"].judge(probe)
    assert verdict.status == WARN and "LIF" not in verdict.score.text.split("outside:")[1]
    assert status("regime-refractory", probe) == WARN


def test_lif_with_slow_membrane_warns(monkeypatch):
    from bioSNN.protocols import membrane_probe

    monkeypatch.setattr(membrane_probe, "LIF_NEURON", LIFParams.SEED.replace(tau_m=40 * ms,
                                                                          E_L=-80 * mV, V_r=-80 * mV))
    probe = run_quick("membrane-probe")
    rest = TESTS["regime-rest"].judge(probe)
    assert rest.status == WARN and rest.prediction.details["values"]["LIF"] == pytest.approx(-80)
    tau = TESTS["regime-tau-m"].judge(probe)
    assert tau.status == WARN and "LIF" in tau.score.text
    # 63 % of the deflection at the end of the 200 ms quick step (5 tau: not quite steady)
    assert tau.prediction.details["values"]["LIF"] == pytest.approx(40, rel=0.05)


def test_firing_regimes(correct):
    trace = correct["lif-poisson-trace"]
    assert status("regime-cv-lif-poisson-trace", trace) == PASS
    assert status("regime-rate-lif-poisson-trace", trace) == WARN  # ~20 Hz: above 10 Hz
    quiet = run_quick("lif-poisson-trace", w_max="0.45 mV")
    rate = TESTS["regime-rate-lif-poisson-trace"].judge(quiet)
    assert rate.status == PASS, rate.prediction.text
    strong = run_quick("lif-poisson-trace", w_max="3 mV")  # driven far above threshold
    assert status("regime-cv-lif-poisson-trace", strong) == WARN
