r"""Validation of the states of Brunel's (2000) model A (``brunel2000`` protocol).

Two tests on a run's summary (:func:`bioSNN.features.population.population_features`,
first ``transient`` dropped):

* :class:`BrunelState` -- the state the measures imply (:func:`classify_state`) is the
  state of the paper's Fig. 8 at that point of the (g, eta) plane: AI (g 5, eta 2), SR
  (g 3, eta 2), SI-fast (g 6, eta 4), SI-slow (g 4.5, eta 0.9);
* :class:`BrunelAsynchronous` -- the network is asynchronous and irregular: the rate
  modulation of the population at most that of a full-depth sinusoid (1/sqrt 2), no
  spectral peak holding half the rate's variance, and a mean ISI CV above the regular
  bound 0.2 (SR at full size: 0.001). AI must pass it; SR and both SI states must fail
  it (``tests/test_validation_brunel.py`` checks both: the tests of the test).

The pass rules are the thresholds of :class:`~bioSNN.features.population.StateRule`,
justified in ``docs/brunel.md``; Brunel's parameters are never changed to reach them.
The paper's phase diagram is the sparse limit: the states are judged only for its
network (``epsilon <= 0.1`` and ``C_E >= 1000``, as at full size). A run off that regime
(the quick size keeps C_E = 1000 but with epsilon 0.5, which correlates the inputs and
synchronises the network) is reported as a warning that says it was not judged, never
as a pass or a fail. The in-vivo rate and CV ranges of the firing-regime tests do not
apply: model A's AI point fires at 37.5 Hz with CV 0.4 (NEST 3.10 ``iaf_psc_delta``
measured here: 37.5 Hz, 0.41).

References
----------
Brunel N (2000). Dynamics of sparsely connected networks of excitatory and inhibitory
spiking neurons. J Comput Neurosci 8:183-208 (Fig. 8: the four states).
Golomb D (2007). Neuronal synchrony measures. Scholarpedia 2(1):1347 (chi).
"""
from __future__ import annotations

import math

from ..features.population import StateRule, classify_state
from .base import WARN, Observation, Prediction, Score, ValidationTest, Verdict, fmt

__all__ = ["BRUNEL_2000", "BrunelState", "BrunelAsynchronous", "in_brunel_regime"]

BRUNEL_2000 = ("Brunel N (2000) Dynamics of sparsely connected networks of excitatory and "
               "inhibitory spiking neurons. J Comput Neurosci 8:183-208, Fig. 8")

#: The sparse network of the paper's Fig. 8 (N_E 10 000, epsilon 0.1, C_E 1000).
MAX_EPSILON, MIN_C_E = 0.1, 1000

_MEASURES = ("rate_Hz", "cv_mean", "rate_modulation", "osc_freq_Hz", "osc_power", "chi",
             "chi_floor", "fano", "state")


def in_brunel_regime(params) -> tuple[bool, str]:
    """Whether a run's network is the sparse network of the paper's phase diagram, and
    why not."""
    eps, c_e = float(params.epsilon), int(params.C_E)
    if eps <= MAX_EPSILON + 1e-12 and c_e >= MIN_C_E:
        return True, ""
    return False, (f"not Brunel's sparse network (epsilon {fmt(eps)}, C_E {c_e}; the "
                   f"phase diagram needs epsilon <= {MAX_EPSILON} and C_E >= {MIN_C_E}, "
                   f"as at full size): state not judged")


def _measures(results) -> dict:
    """The summary's measures; a missing or null number (e.g. no CV: too few spikes,
    saved as JSON null) is NaN, which the rules read as not synchronous / not regular."""
    s = results.summary
    out = {k: s.get(k) for k in _MEASURES}
    for k in _MEASURES[:-1]:
        out[k] = math.nan if out[k] is None else float(out[k])
    return out


def _measures_text(m: dict) -> str:
    return (f"{fmt(m['rate_Hz'])} Hz, CV {fmt(m['cv_mean'])}, modulation "
            f"{fmt(m['rate_modulation'])}, peak {fmt(m['osc_freq_Hz'])} Hz holding "
            f"{fmt(m['osc_power'])} of the power, chi {fmt(m['chi'])} (floor "
            f"{fmt(m['chi_floor'])})")


class _BrunelTest(ValidationTest):
    """Judged only for the paper's sparse network; elsewhere a warning saying so."""

    def judge(self, results, *, protocol: str = "", run: str = "") -> Verdict:
        ok, why = in_brunel_regime(results.spec.params)
        if ok:
            return super().judge(results, protocol=protocol, run=run)
        prediction = self.generate_prediction(results)
        return Verdict(self.name, WARN, self.observation, prediction,
                       Score(False, None, why), protocol, run)

    def figure(self, results):
        from ..plots.brunel import plot_brunel_activity

        return plot_brunel_activity(results)


class BrunelState(_BrunelTest):
    """The classified state equals the paper's state at the run's (g, eta)."""

    figure_name = "brunel-activity"

    def __init__(self, expected: str, rule: StateRule = StateRule()):
        self.expected, self.rule = expected, rule
        criteria = {
            "AI": f"asynchronous (rate modulation <= {fmt(rule.modulation_sync)} and no "
                  f"peak above {fmt(rule.osc_power_sync)} of the power) and irregular "
                  f"(mean ISI CV >= {fmt(rule.cv_regular)})",
            "SR": f"synchronous, regular (mean ISI CV < {fmt(rule.cv_regular)})",
            "SI-fast": f"synchronous, irregular, oscillating at >= {fmt(rule.f_fast_Hz)} Hz",
            "SI-slow": f"synchronous, irregular, oscillating below {fmt(rule.f_fast_Hz)} Hz",
        }[expected]
        super().__init__(f"brunel-state-{expected.lower()}", Observation(
            f"state {expected} of model A: {criteria}", BRUNEL_2000))

    def generate_prediction(self, results):
        m = _measures(results)
        state = classify_state(m["rate_Hz"], m["cv_mean"], m["rate_modulation"],
                               m["osc_freq_Hz"], m["osc_power"], self.rule)
        return Prediction(None, "1", f"{state}: {_measures_text(m)}",
                          dict(m, classified=state))

    def compute_score(self, observation, prediction):
        state = prediction.details["classified"]
        ok = state == self.expected
        return Score(ok, None, f"classified {state}, expected {self.expected}: {fmt(ok)}")


class BrunelAsynchronous(_BrunelTest):
    """Asynchronous irregular activity; only the AI point may pass."""

    figure_name = "brunel-activity"

    def __init__(self, name: str = "brunel-ai-asynchronous", rule: StateRule = StateRule()):
        self.rule = rule
        super().__init__(name, Observation(
            f"asynchronous irregular: population rate modulation <= "
            f"{fmt(rule.modulation_sync)} (a full-depth sinusoid's), no spectral peak "
            f"holding more than {fmt(rule.osc_power_sync)} of the rate's power, mean ISI CV "
            f">= {fmt(rule.cv_regular)} (SR: 0.001)", BRUNEL_2000,
            value=rule.modulation_sync))

    def generate_prediction(self, results):
        m = _measures(results)
        return Prediction(m["rate_modulation"], "1", _measures_text(m), m)

    def compute_score(self, observation, prediction):
        m, r = prediction.details, self.rule

        def below(x, bound):
            return not math.isnan(x) and x <= bound

        checks = {
            "modulation": below(m["rate_modulation"], r.modulation_sync),
            # a constant rate has no spectrum (NaN): no peak
            "no dominant peak": math.isnan(m["osc_power"]) or m["osc_power"] <= r.osc_power_sync,
            "irregular": m["cv_mean"] >= r.cv_regular,  # NaN (no CV): not irregular
        }
        failed = [k for k, ok in checks.items() if not ok]
        text = (f"modulation {fmt(m['rate_modulation'])} <= {fmt(r.modulation_sync)}, "
                f"peak power {fmt(m['osc_power'])} <= {fmt(r.osc_power_sync)}, CV "
                f"{fmt(m['cv_mean'])} >= {fmt(r.cv_regular)}: "
                + ("pass" if not failed else "fails " + ", ".join(failed)))
        return Score(not failed, m["rate_modulation"], text)
