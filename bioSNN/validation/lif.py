r"""Validation of the LIF f-I curve against its closed-form solution.

Under a constant current the LIF neuron's steady rate is

.. math:: r(I) = \left(t_{ref} + \tau_m \ln\frac{R_m I + E_L - V_r}{R_m I + E_L - V_{th}}\right)^{-1},

zero at and below the rheobase :math:`I_{rh} = (V_{th} - E_L)/R_m`, and bounded by the
saturation rate :math:`1/t_{ref}` (:mod:`bioSNN.analytic`; e.g. Gerstner, Kistler, Naud
& Paninski 2014, *Neuronal Dynamics*, Cambridge University Press, ch. 1). The
predictions come from a saved ``lif-fi-curve`` run (one neuron per current).
"""
from __future__ import annotations

import numpy as np

from .base import Observation, Prediction, Score, ValidationTest, fmt

__all__ = ["LIF_ANALYTIC", "LIFAnalyticISI", "LIFRheobase", "LIFSaturation"]

LIF_ANALYTIC = ("closed-form LIF rate (Lapicque 1907; Gerstner et al. 2014, Neuronal "
                "Dynamics, ch. 1); bioSNN.analytic.lif_rate")


class _FITest(ValidationTest):
    figure_name = "lif-fi-curve"

    def figure(self, results):
        from .figures import plot_fi_validation

        return plot_fi_validation(results)

    @staticmethod
    def _features(results) -> dict:
        from ..features.lif import fi_features, measured_rates

        return {**fi_features(results.data, results.spec.params),
                **{f"_{k}": v for k, v in measured_rates(results.data).items()}}


class LIFAnalyticISI(_FITest):
    """Every measured mean ISI lies within one time step of the analytic ISI 1/r(I)."""

    def __init__(self, name="lif-fi-analytic"):
        super().__init__(name, Observation(
            "LIF f-I curve = analytic r(I): every mean ISI within one time step dt of 1/r(I)",
            LIF_ANALYTIC, units="ms"))

    def generate_prediction(self, results):
        f = self._features(results)
        return Prediction(f["max_abs_isi_error_ms"], "ms",
                          f"max |ISI - 1/r(I)| = {fmt(f['max_abs_isi_error_ms'])} ms over "
                          f"{f['n_firing']} firing neurons (dt = {fmt(f['dt_ms'])} ms)",
                          {"max_abs_isi_error_ms": f["max_abs_isi_error_ms"], "dt_ms": f["dt_ms"],
                           "n_firing": f["n_firing"]})

    def compute_score(self, observation, prediction):
        err, dt = prediction.value, prediction.details["dt_ms"]
        ok = err is not None and err <= dt + 1e-9
        return Score(ok, err, f"{fmt(err)} ms <= dt {fmt(dt)} ms")


class LIFRheobase(_FITest):
    """Silent at and below the rheobase; the first firing current lies within one
    current step above it."""

    def __init__(self, name="lif-fi-rheobase"):
        super().__init__(name, Observation(
            "LIF rheobase (V_th - E_L)/R_m: silent at and below it, firing from the next "
            "current step on", LIF_ANALYTIC, units="nA"))

    def generate_prediction(self, results):
        f = self._features(results)
        I = results.data["current"].values
        step = float(np.min(np.diff(I))) if len(I) > 1 else 0.0
        return Prediction(f["rheobase_measured_nA"], "nA",
                          f"first firing current {fmt(f['rheobase_measured_nA'])} nA "
                          f"(analytic {fmt(f['rheobase_nA'])} nA, step {fmt(step)} nA); silent "
                          f"below: {fmt(f['silent_below_rheobase'])}",
                          {"rheobase_nA": f["rheobase_nA"], "measured_nA": f["rheobase_measured_nA"],
                           "silent_below": f["silent_below_rheobase"], "current_step_nA": step})

    def compute_score(self, observation, prediction):
        d = prediction.details
        gap = None if d["measured_nA"] is None else d["measured_nA"] - d["rheobase_nA"]
        ok = (d["silent_below"] and gap is not None and 0 < gap <= d["current_step_nA"] + 1e-12)
        return Score(ok, gap, f"silent below {fmt(d['silent_below'])}; first firing "
                     f"{fmt(gap)} nA above (<= one step {fmt(d['current_step_nA'])} nA)")


class LIFSaturation(_FITest):
    """The rate rises with the current and stays below the saturation rate 1/t_ref."""

    def __init__(self, name="lif-fi-saturation"):
        super().__init__(name, Observation(
            "LIF rate non-decreasing in I and below the saturation rate 1/t_ref (200 Hz for "
            "t_ref = 5 ms)", LIF_ANALYTIC, units="Hz"))

    def generate_prediction(self, results):
        f = self._features(results)
        rates = np.asarray(f["_rate_Hz"])
        sat = f["saturation_rate_Hz"]
        monotone = bool(np.all(np.diff(rates) >= -1e-9))
        return Prediction(float(rates.max()), "Hz",
                          f"max rate {fmt(rates.max())} Hz at {fmt(results.data['current'].values[-1])}"
                          f" nA (analytic {fmt(f['analytic_rate_at_I_max_Hz'])} Hz), 1/t_ref = "
                          f"{fmt(sat)} Hz; non-decreasing: {fmt(monotone)}",
                          {"max_rate_Hz": float(rates.max()), "saturation_rate_Hz": sat,
                           "monotone": monotone,
                           "analytic_rate_at_I_max_Hz": f["analytic_rate_at_I_max_Hz"]})

    def compute_score(self, observation, prediction):
        d = prediction.details
        sat = d["saturation_rate_Hz"]
        frac = d["max_rate_Hz"] / sat if sat else None
        ok = d["monotone"] and (sat is None or d["max_rate_Hz"] < sat)
        return Score(ok, frac, f"max rate {fmt(frac)} of 1/t_ref (< 1); non-decreasing "
                     f"{fmt(d['monotone'])}")
