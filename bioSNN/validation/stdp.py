r"""Validation of the STDP rule's learning window (``stdp-window`` protocol).

Two tests on the weight change per pre/post pairing, measured at lags
:math:`\Delta t = t_{post} - t_{pre}` from -100 to +100 ms and fitted with one
exponential per side (:func:`bioSNN.protocols.stdp_window.fit_window`):

* :class:`STDPRecoversRule` -- the Brian2 implementation of :mod:`bioSNN.plasticity`
  reproduces the rule it was configured with: fitted :math:`\tau_\pm, A_\pm` within 5 %
  of the configured values, potentiation (LTP) for every pre-before-post lag and
  depression (LTD) for every post-before-pre lag;
* :class:`STDPBiPoo` -- a rule configured with Bi & Poo's fit (:math:`\tau_+` = 16.8 ms,
  :math:`\tau_-` = 33.7 ms) reproduces that window shape: fitted time constants within
  5 % of those, LTP for pre-before-post, LTD for post-before-pre, a depression window
  longer than the potentiation window.

References
----------
Bi G-q, Poo M-m (1998). Synaptic modifications in cultured hippocampal neurons:
dependence on spike timing, synaptic strength, and postsynaptic cell type.
J Neurosci 18:10464-10472.
Bi G-q, Poo M-m (2001). Synaptic modification by correlated activity: Hebb's postulate
revisited. Annu Rev Neurosci 24:139-166.
Song S, Miller KD, Abbott LF (2000). Competitive Hebbian learning through
spike-timing-dependent synaptic plasticity. Nat Neurosci 3:919-926 (the pair rule).
"""
from __future__ import annotations

import math

from .base import Observation, Prediction, Score, ValidationTest, fmt

__all__ = ["BI_POO", "STDPRecoversRule", "STDPBiPoo", "window_prediction"]

BI_POO = ("Bi & Poo (1998) J Neurosci 18:10464; fit tau+ 16.8 ms, tau- 33.7 ms: "
          "Bi & Poo (2001) Annu Rev Neurosci 24:139")
PAIR_RULE = ("pair STDP of bioSNN.plasticity (Song, Miller & Abbott 2000, Nat Neurosci 3:919; "
             "Morrison et al. 2008, Biol Cybern 98:459)")


def window_prediction(results) -> Prediction:
    """The fitted window of a ``stdp-window`` run, with its sign structure."""
    from ..features.stdp import window_features

    f = window_features(results.data, results.spec.params)
    return Prediction(f["tau_plus_ms"], "ms",
                      f"tau+ {fmt(f['tau_plus_ms'])} ms, tau- {fmt(f['tau_minus_ms'])} ms, "
                      f"A+ {fmt(f['A_plus'])}, A- {fmt(f['A_minus'])}; LTP at "
                      f"{fmt(100 * (f['fraction_ltp_pre_before_post'] or 0), 3)} % of lags > 0, "
                      f"LTD at {fmt(100 * (f['fraction_ltd_post_before_pre'] or 0), 3)} % of lags < 0",
                      f)


def _rel(x, ref) -> float:
    if x is None or not math.isfinite(x) or not ref:
        return math.inf
    return abs(x - ref) / abs(ref)


def _signs_ok(f: dict) -> bool:
    return (f["fraction_ltp_pre_before_post"] == 1.0 and f["fraction_ltd_post_before_pre"] == 1.0)


class _WindowTest(ValidationTest):
    figure_name = "stdp-window"

    def figure(self, results):
        from .figures import plot_stdp_validation

        return plot_stdp_validation(results)

    def generate_prediction(self, results):
        return window_prediction(results)


class STDPRecoversRule(_WindowTest):
    """The measured window recovers the configured tau+-, A+- within ``tolerance``."""

    def __init__(self, name="stdp-window-recovers-rule", tolerance=0.05):
        self.tolerance = tolerance
        super().__init__(name, Observation(
            f"the configured pair rule: fitted tau+, tau-, A+, A- within {tolerance:.0%} of the "
            "configured values; LTP for every lag > 0, LTD for every lag < 0", PAIR_RULE,
            spread=tolerance, units="1"))

    def compute_score(self, observation, prediction):
        f = prediction.details
        errors = {k: _rel(f[k], f[f"configured_{k}"]) for k in ("tau_plus_ms", "tau_minus_ms",
                                                                 "A_plus", "A_minus")}
        worst = max(errors.values())
        ok = worst <= self.tolerance and _signs_ok(f) and not f["clipped"]
        return Score(ok, worst, f"max rel. error {fmt(100 * worst)} % (<= {self.tolerance:.0%}); "
                     f"signs {'ok' if _signs_ok(f) else 'WRONG'}"
                     f"{'; weights clipped' if f['clipped'] else ''}")


class STDPBiPoo(_WindowTest):
    """A rule configured with Bi & Poo's fit reproduces that window shape."""

    def __init__(self, name="stdp-window-bi-poo", tau_plus_ms=16.8, tau_minus_ms=33.7,
                 tolerance=0.05):
        self.tau_plus_ms, self.tau_minus_ms, self.tolerance = tau_plus_ms, tau_minus_ms, tolerance
        super().__init__(name, Observation(
            f"Bi & Poo window: LTP for pre-before-post (tau+ {tau_plus_ms} ms), LTD for "
            f"post-before-pre (tau- {tau_minus_ms} ms), fitted taus within {tolerance:.0%}",
            BI_POO, value=tau_plus_ms, spread=tolerance * tau_plus_ms, units="ms"))

    def compute_score(self, observation, prediction):
        f = prediction.details
        e_p = _rel(f["tau_plus_ms"], self.tau_plus_ms)
        e_m = _rel(f["tau_minus_ms"], self.tau_minus_ms)
        longer = (f["tau_minus_ms"] or 0) > (f["tau_plus_ms"] or math.inf)
        ok = max(e_p, e_m) <= self.tolerance and _signs_ok(f) and longer and not f["clipped"]
        return Score(ok, max(e_p, e_m), f"tau+ error {fmt(100 * e_p)} %, tau- error "
                     f"{fmt(100 * e_m)} % (<= {self.tolerance:.0%}); signs "
                     f"{'ok' if _signs_ok(f) else 'WRONG'}; LTD window longer {fmt(longer)}")
