"""The Brunel (2000) state tests of `biosnn validate` (bioSNN/validation/brunel.py).

Hand-computed tier: the tests judge a run's summary, so they are exercised here on the
measures of the four full-size runs (12 500 neurons, 1 s, seed 0, measured by
`biosnn run brunel2000-*` on this machine; docs/brunel.md) and on edge cases. The
full-size runs themselves are classified by tests/test_brunel2000.py (slow tier).
Tests of the tests: the asynchrony test passes AI and fails SR and both SI states.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from bioSNN.validation.brunel import BrunelAsynchronous, BrunelState, in_brunel_regime
from bioSNN.validation.registry import ENTRIES

#: Measures of the full-size runs, seed 0 (population_features; first 200 ms dropped).
FULL_SIZE = {
    "AI": dict(rate_Hz=37.535, cv_mean=0.389, rate_modulation=0.556, osc_freq_Hz=109.375,
               osc_power=0.198, chi=0.077, chi_floor=0.009, fano=73.4),
    "SR": dict(rate_Hz=312.486, cv_mean=0.001, rate_modulation=1.481, osc_freq_Hz=625.0,
               osc_power=0.653, chi=0.638, chi_floor=0.009, fano=4287.6),
    "SI-fast": dict(rate_Hz=60.082, cv_mean=0.833, rate_modulation=1.017, osc_freq_Hz=175.781,
                    osc_power=0.653, chi=0.179, chi_floor=0.009, fano=389.7),
    "SI-slow": dict(rate_Hz=4.914, cv_mean=0.464, rate_modulation=1.749, osc_freq_Hz=23.438,
                    osc_power=0.286, chi=0.088, chi_floor=0.009, fano=94.9),
}
SPEC = {"AI": "brunel2000-ai", "SR": "brunel2000-sr", "SI-fast": "brunel2000-si-fast",
        "SI-slow": "brunel2000-si-slow"}


def _results(measures, params):
    return SimpleNamespace(summary=dict(measures), spec=SimpleNamespace(params=params))


@pytest.fixture
def full_params():
    from bioSNN.protocols.spec import find_spec

    return {state: find_spec(name).resolve().params for state, name in SPEC.items()}


@pytest.mark.parametrize("state", list(FULL_SIZE))
def test_each_state_test_passes_its_own_state_and_fails_the_others(state, full_params):
    test = BrunelState(state)
    for other, measures in FULL_SIZE.items():
        verdict = test.judge(_results(measures, full_params[other]))
        assert verdict.status == ("pass" if other == state else "fail"), (state, other,
                                                                           verdict.score.text)
        assert other in verdict.prediction.text


def test_asynchrony_passes_ai_and_fails_sr_and_both_si_states(full_params):
    test = BrunelAsynchronous()
    status = {s: test.judge(_results(m, full_params[s])).status for s, m in FULL_SIZE.items()}
    assert status == {"AI": "pass", "SR": "fail", "SI-fast": "fail", "SI-slow": "fail"}
    sr = test.judge(_results(FULL_SIZE["SR"], full_params["SR"]))
    assert "fails modulation, no dominant peak, irregular" in sr.score.text
    slow = test.judge(_results(FULL_SIZE["SI-slow"], full_params["SI-slow"]))
    assert slow.score.text.endswith("fails modulation")  # its peak holds only 0.29


def test_each_rule_alone_makes_asynchrony_fail(full_params):
    """Each of the three conditions can fail on its own (none is dead code)."""
    test, ai = BrunelAsynchronous(), FULL_SIZE["AI"]
    for key, value in (("rate_modulation", 0.75), ("osc_power", 0.51), ("cv_mean", 0.19)):
        verdict = test.judge(_results(dict(ai, **{key: value}), full_params["AI"]))
        assert verdict.status == "fail", key
    constant = dict(ai, osc_power=math.nan, osc_freq_Hz=math.nan)  # no spectrum: no peak
    assert test.judge(_results(constant, full_params["AI"])).status == "pass"
    assert test.judge(_results(dict(ai, rate_modulation=math.nan),
                               full_params["AI"])).status == "fail"


def test_quick_size_is_not_judged_but_says_why(quick_spec):
    """The quick network (epsilon 0.5) is not Brunel's sparse one: a warning naming the
    reason, whatever its measures (here even the AI point's)."""
    params = quick_spec("brunel2000-ai").params
    ok, why = in_brunel_regime(params)
    assert not ok and "epsilon 0.5" in why and "not judged" in why
    for test in (BrunelState("AI"), BrunelAsynchronous()):
        verdict = test.judge(_results(FULL_SIZE["AI"], params))
        assert verdict.status == "warn" and "not judged" in verdict.score.text
    sparse_small = quick_spec("brunel2000-ai", epsilon=0.1).params  # C_E 200 < 1000
    assert not in_brunel_regime(sparse_small)[0]


def test_registered_for_the_four_named_specs():
    judged = {(e.name, e.protocol) for e in ENTRIES if e.name.startswith("brunel-")}
    assert judged == {("brunel-state-ai", "brunel2000-ai"), ("brunel-ai-asynchronous",
                      "brunel2000-ai"), ("brunel-state-sr", "brunel2000-sr"),
                      ("brunel-state-si-fast", "brunel2000-si-fast"),
                      ("brunel-state-si-slow", "brunel2000-si-slow")}


def test_missing_measures_read_as_nan_not_an_error(full_params):
    """A summary's null numbers (too few spikes for a CV, saved as JSON null) neither
    crash the tests nor make a network asynchronous-irregular."""
    ai = dict(FULL_SIZE["AI"], cv_mean=None)
    verdict = BrunelAsynchronous().judge(_results(ai, full_params["AI"]))
    assert verdict.status == "fail" and "irregular" in verdict.score.text
    # the state rule reads NaN as "not regular" (classify_state's documented rule)
    state = BrunelState("AI").judge(_results(ai, full_params["AI"]))
    assert math.isnan(state.prediction.details["cv_mean"]) and state.status == "pass"
