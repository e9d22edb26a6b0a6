"""The ``stdp-frequency`` kind (Sjöström et al. 2001 pairing frequencies) and its validation.

Tiers (STYLE.md 11): a hand-computed two-pairing value and the closed form of the minimal
nearest-spike triplet rule against the Brian2 run (rel. 1e-9: the traces are event-driven,
so the only error is float64 rounding); every preset against the event-by-event reference
of ``tests/_plasticity_reference.py``; per-frequency clocks against one uniform ``dt``
clock; same seed -> identical results; bad spec values -> one line naming the field; the
validation tests pass for the triplet rules and fail for the pair rule (test of the test).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from bioSNN.cli import main
from bioSNN.errors import SpecError
from bioSNN.features.stdp_frequency import (SJOSTROM_2001, crossing_frequency, nearest_spike_dw,
                                            nmse_vs_data)
from bioSNN.protocols.registry import get_kind
from bioSNN.protocols.spec import find_spec
from bioSNN.protocols.stdp_frequency import TIMING_PRESETS, pairing_schedule
from bioSNN.validation import FAIL, PASS
from bioSNN.validation.plasticity_experiments import (SjostromFrequencyData,
                                                      SjostromFrequencyPattern)
from bioSNN.validation.registry import ENTRIES

from _plasticity_reference import Timing, Weights, simulate

FAST = "10 20 40 50"  # no 0.1 Hz train (600 s simulated): unit tests stay fast


def run(**overrides):
    spec = find_spec("sjostrom-frequency").resolve(overrides=overrides)
    return get_kind(spec.kind)(spec).run()


@pytest.fixture(scope="module")
def full_runs():
    """The spec's full protocol (60 pairings, 0.1-50 Hz) for each rule."""
    return {t: run(timing=t) for t in TIMING_PRESETS}


# ---------------------------------------------------------------- analytic tier
def test_two_pairings_match_a_hand_computed_value():
    """Minimal nearest-spike rule, 2 pairings at 50 Hz (T = 20 ms), +10 ms.

    pre 0 ms: no post yet, no change; post 10 ms: r1 = e^(-10/16.8), o2 = 0 (no earlier
    post), no triplet term; pre 20 ms: o1 = e^(-10/33.7) -> -A2- e^(-10/33.7);
    post 30 ms: r1 = e^(-10/16.8), o2 = e^(-20/40) -> +A3+ e^(-10/16.8) e^(-1/2).
    -10 ms: post 0 (r1 = 0), pre 10 (-A2- e^(-10/33.7)), post 20 (r1 = e^(-10/16.8),
    o2 = e^(-20/40)), pre 30 (-A2- e^(-10/33.7)).
    """
    r = run(timing="triplet-minimal", n_pairings=2, frequencies_Hz="50")
    A3p, A2m = 5e-2, 8e-3
    plus = A3p * math.exp(-10 / 16.8) * math.exp(-0.5) - A2m * math.exp(-10 / 33.7)
    minus = A3p * math.exp(-10 / 16.8) * math.exp(-0.5) - 2 * A2m * math.exp(-10 / 33.7)
    dw = r.data["dw_percent"].values[:, 0] / 100
    assert list(r.data["lag"].values) == [10.0, -10.0]
    assert dw[0] == pytest.approx(plus, rel=1e-9)
    assert dw[1] == pytest.approx(minus, rel=1e-9)


NEAREST = {  # Pfister & Gerstner 2006, Table 4, visual cortex (typed here, not imported)
    "triplet-minimal": dict(A2_plus=0.0, A3_plus=5e-2, A2_minus=8e-3, A3_minus=0.0,
                            tau_x_ms=101.0, tau_y_ms=40.0),
    "triplet-nearest": dict(A2_plus=8.8e-11, A3_plus=5.3e-2, A2_minus=6.6e-3, A3_minus=3.1e-3,
                            tau_x_ms=714.0, tau_y_ms=40.0),
}


def test_minimal_model_matches_its_closed_form_at_every_frequency(full_runs):
    r = full_runs["triplet-minimal"]
    for i, lag in enumerate(r.data["lag"].values):
        for j, f in enumerate(r.data["frequency"].values):
            closed = 100 * nearest_spike_dw(lag, 1000 / f, 60, tau_plus_ms=16.8,
                                            tau_minus_ms=33.7, **NEAREST["triplet-minimal"])
            assert r.data["dw_percent"].values[i, j] == pytest.approx(closed, rel=1e-9, abs=1e-9)
    assert r.summary["max_abs_error_vs_closed_form_percent"] < 1e-9


def test_full_nearest_spike_model_matches_the_closed_form():
    """All four amplitudes non-zero: the A2+ and A3- terms of the closed form too."""
    r = run(timing="triplet-nearest", frequencies_Hz="1 10 25 40 50", n_pairings=30)
    for i, lag in enumerate(r.data["lag"].values):
        for j, f in enumerate(r.data["frequency"].values):
            closed = 100 * nearest_spike_dw(lag, 1000 / f, 30, tau_plus_ms=16.8,
                                            tau_minus_ms=33.7, **NEAREST["triplet-nearest"])
            assert r.data["dw_percent"].values[i, j] == pytest.approx(closed, rel=1e-9, abs=1e-9)


def test_closed_form_is_the_steady_state_per_pairing_times_n():
    """Large n: Δw/n tends to the per-pairing steady state (hand-derived at 20 Hz, -10 ms)."""
    kw = dict(A2_plus=0.0, A3_plus=5e-2, A2_minus=8e-3, A3_minus=0.0, tau_plus_ms=16.8,
              tau_minus_ms=33.7, tau_x_ms=101.0, tau_y_ms=40.0)
    steady = 5e-2 * math.exp(-40 / 16.8) * math.exp(-50 / 40) - 8e-3 * math.exp(-10 / 33.7)
    assert nearest_spike_dw(-10, 50, 10**6, **kw) / 10**6 == pytest.approx(steady, rel=1e-5)
    with pytest.raises(ValueError, match="shorter than the period"):
        nearest_spike_dw(20, 20, 5, **kw)


@pytest.mark.parametrize("timing, scheme", [("triplet-all-to-all", "triplet"),
                                            ("triplet-minimal", "triplet-nearest"),
                                            ("triplet-nearest", "triplet-nearest"),
                                            ("pair", "all-to-all")])
def test_every_rule_matches_the_event_by_event_reference(timing, scheme):
    r = run(timing=timing, n_pairings=8, frequencies_Hz=FAST)
    p = r.spec.params
    t = TIMING_PRESETS[timing]
    sec = {k: float(getattr(t, k)) for k in ("tau_plus", "tau_minus", "tau_x", "tau_y")
           if hasattr(t, k)}
    amps = {k: getattr(t, k) for k in ("A_plus", "A_minus", "A2_plus", "A3_plus", "A2_minus",
                                       "A3_minus") if hasattr(t, k)}
    ref_timing = Timing(scheme=scheme, **sec, **amps)
    dt = 1e-4  # s: the reference works on integer steps of 0.1 ms
    for j, f in enumerate(p.frequencies()):
        _, idx, t_pre, t_post = pairing_schedule(p, f)
        for k in range(2):
            pre = np.round(t_pre[idx == k] / 0.1).astype(int).tolist()
            post = np.round(t_post[idx == k] / 0.1).astype(int).tolist()
            w, n_clipped = simulate(pre, post, dt, ref_timing,
                                    Weights("additive", -1000.0, 1000.0), 1.0)
            assert n_clipped == 0
            assert r.data["w_final"].values[k, j] == pytest.approx(w, rel=1e-10), (timing, f, k)


# ---------------------------------------------------------------- formulations, seeds
def test_per_frequency_clocks_equal_one_uniform_clock():
    a = run(n_pairings=6, frequencies_Hz="20 40 50")
    b = run(n_pairings=6, frequencies_Hz="20 40 50", per_frequency_clock="false", dt="0.5 ms")
    assert [pairing_schedule(a.spec.params, f)[0] for f in (20, 40, 50)] == [10.0, 5.0, 10.0]
    np.testing.assert_allclose(a.data["w_final"].values, b.data["w_final"].values, rtol=1e-12)


def test_same_seed_gives_identical_results():
    a = run(n_pairings=5, frequencies_Hz=FAST)
    b = run(n_pairings=5, frequencies_Hz=FAST)
    assert np.array_equal(a.data["w_final"].values, b.data["w_final"].values)
    assert a.summary == b.summary


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("field, value, message", [
    ("frequencies_Hz", "ten 20", "must be numbers in Hz"),
    ("frequencies_Hz", "20 10", "strictly ascending"),
    ("frequencies_Hz", "0 10", "> 0 Hz"),
    ("frequencies_Hz", "30", "not a whole number of time steps"),
    ("delta_t", "25 ms", "shorter than the period"),
    ("delta_t", "10.05 ms", "whole number of time steps"),
    ("timing", "triplet", "expected one of"),
    ("n_pairings", "0", ">= 1"),
])
def test_bad_values_name_the_field(field, value, message):
    with pytest.raises(SpecError) as err:
        run(**{field: value})
    text = str(err.value)
    assert field in text and message in text and "\n" not in text


def test_cli_bad_value_is_one_line_exit_2(capsys, tmp_path):
    code = main(["run", "sjostrom-frequency", "--quick", "--set", "frequencies_Hz=30",
                 "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "frequencies_Hz" in err and not any(tmp_path.iterdir())


# ---------------------------------------------------------------- features
def test_features_of_the_data_itself():
    f = SJOSTROM_2001["frequency_Hz"]
    assert crossing_frequency(f, SJOSTROM_2001[-10.0]["mean"]) == pytest.approx(20 + 20 * 34 / 90)
    assert crossing_frequency(f, [-1, -2, -3, -4, -5]) is None
    means = [SJOSTROM_2001[10.0]["mean"], SJOSTROM_2001[-10.0]["mean"]]
    assert nmse_vs_data([10, -10], f, means) == (0.0, 10)
    shifted = [[m + s for m, s in zip(SJOSTROM_2001[lag]["mean"], SJOSTROM_2001[lag]["sem"])]
               for lag in (10.0, -10.0)]
    assert nmse_vs_data([10, -10], f, shifted) == pytest.approx((1.0, 10))


# ---------------------------------------------------------------- the reproduction
def test_triplet_rules_reproduce_the_frequency_dependence(full_runs):
    for timing in ("triplet-all-to-all", "triplet-nearest", "triplet-minimal"):
        r = full_runs[timing]
        for test in (SjostromFrequencyPattern(), SjostromFrequencyData()):
            verdict = test.judge(r)
            assert verdict.status == PASS, (timing, test.name, verdict.score.text)
        s = r.summary
        assert 20 < s["crossing_frequency_Hz"] < 40
        assert s["nmse_vs_data"] < 0.5 and not s["clipped"]


def test_the_pair_rule_fails_the_same_tests(full_runs):
    """Test of the test: the pair rule has no LTD -> LTP crossing and misses the data."""
    r = full_runs["pair"]
    pattern = SjostromFrequencyPattern().judge(r)
    assert pattern.status == FAIL
    assert "-10 ms LTP at >= 40 Hz" in pattern.score.text
    assert "±10 ms within 2 SEM of the data at 0.1 Hz" in pattern.score.text
    assert SjostromFrequencyData().judge(r).status == FAIL
    assert r.summary["crossing_frequency_Hz"] is None


def test_pattern_test_needs_the_data_frequencies():
    r = run(n_pairings=3, frequencies_Hz=FAST)
    verdict = SjostromFrequencyPattern().judge(r)
    assert verdict.status == FAIL and "lacks" in verdict.score.text
    assert SjostromFrequencyData().judge(r).status == FAIL  # 8 of 10 points


def test_registry_entries_judge_the_triplet_runs():
    names = {e.name: e for e in ENTRIES if e.protocol == "sjostrom-frequency"}
    assert set(names) == {"sjostrom-frequency-pattern", "sjostrom-frequency-data",
                          "sjostrom-frequency-pattern-minimal", "sjostrom-frequency-data-minimal"}
    for e in names.values():
        assert dict(e.overrides).get("timing", "triplet-all-to-all").startswith("triplet")


def test_figure_is_a_pure_function_of_the_results(full_runs):
    from bioSNN.plots.stdp_frequency import plot_stdp_frequency

    fig = plot_stdp_frequency(full_runs["triplet-all-to-all"])
    ax = fig.axes[0]
    assert len(ax.lines) >= 2 and "LTD→LTP" in " ".join(t.get_text() for t in ax.texts)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_the_data_meet_their_own_pattern_and_a_weak_pair_rule_does_not():
    """Positive control: the measured means pass the pattern test. A pair rule with tiny
    amplitudes has the crossing but misses the 0.1 Hz depression by more than 2 SEM."""
    from bioSNN.validation import Prediction

    f = list(SJOSTROM_2001["frequency_Hz"])
    means = [list(SJOSTROM_2001[10.0]["mean"]), list(SJOSTROM_2001[-10.0]["mean"])]
    test = SjostromFrequencyPattern()
    details = {"lags_ms": [10.0, -10.0], "frequencies_Hz": f, "dw_percent": means}
    assert test.compute_score(test.observation, Prediction(None, details=details)).passed
    weak = [[1.0, 2.0, 3.0, 4.0, 5.0], [-0.5, -0.4, -0.1, 1.0, 2.0]]
    score = test.compute_score(test.observation,
                               Prediction(None, details={**details, "dw_percent": weak}))
    assert not score.passed and "within 2 SEM" in score.text and "LTP at >= 40" not in score.text


@pytest.mark.compiled
def test_cpp_standalone_single_run_agrees_with_numpy(tmp_path):
    """cpp_standalone builds once, so the kind runs all frequencies in one run there."""
    spec = find_spec("sjostrom-frequency").resolve(overrides={"frequencies_Hz": "10 50",
                                                              "n_pairings": 5})
    ref = get_kind(spec.kind)(spec).run()
    other_spec = spec.resolve(target="cpp_standalone")
    other = get_kind(other_spec.kind)(other_spec).run(build_dir=tmp_path / "cpp")
    assert other.provenance["target"] == "cpp_standalone"
    np.testing.assert_allclose(other.data["w_final"].values, ref.data["w_final"].values,
                               rtol=1e-12)
