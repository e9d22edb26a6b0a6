r"""Features of a pairing-frequency run (``stdp-frequency``) and the data it is compared with.

Pure functions of arrays or the saved Dataset, imported by the protocol, its figure and
the validation tests alike.

Reference data: Sjöström, Turrigiano & Nelson (2001), Neuron 32:1149-1164, the frequency
dependence of 60 pre/post pairings at :math:`\Delta t = t_{post} - t_{pre} = \pm 10` ms in
L5 pyramidal cells of rat visual cortex; the ten points (mean ± SEM of the relative EPSP
change) are the visual-cortex data set that Pfister & Gerstner (2006, J Neurosci 26:9673)
fit their triplet models to (parameters in their Table 4).
Transcribed from the tabulations in two independent public re-implementations (the
VH-Lab MATLAB toolbox, ``vlt.neuro.stdp.sjostrom_freq_stdp``, and the sPyNNaker 2015
workshop's triplet-rule example), which agree value for value.
"""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["SJOSTROM_2001", "SJOSTROM_2001_SOURCE", "nearest_spike_dw", "crossing_frequency",
           "nmse_vs_data", "data_point", "frequency_features"]

SJOSTROM_2001_SOURCE = ("Sjöström PJ, Turrigiano GG, Nelson SB (2001) Neuron 32:1149-1164 "
                        "(60 pairings at ±10 ms, 0.1-50 Hz); the visual-cortex data set fitted by "
                        "Pfister & Gerstner (2006) J Neurosci 26:9673")

#: Weight change after 60 pairings, in % of the initial EPSP (mean, SEM), per lag (ms)
#: and pairing frequency (Hz); see the module docstring for the source.
SJOSTROM_2001 = {
    "frequency_Hz": (0.1, 10.0, 20.0, 40.0, 50.0),
    10.0: {"mean": (-4.0, 14.0, 29.0, 53.0, 56.0), "sem": (5.0, 10.0, 14.0, 11.0, 26.0)},
    -10.0: {"mean": (-29.0, -41.0, -34.0, 56.0, 75.0), "sem": (8.0, 11.0, 10.0, 32.0, 19.0)},
}


def nearest_spike_dw(lag_ms: float, period_ms: float, n_pairings: int, *, A2_plus: float,
                     A3_plus: float, A2_minus: float, A3_minus: float, tau_plus_ms: float,
                     tau_minus_ms: float, tau_x_ms: float, tau_y_ms: float) -> float:
    r"""Total weight change of ``n_pairings`` pairings under the nearest-spike triplet rule.

    Closed form for a periodic pairing train (period :math:`T`, lag :math:`\Delta`,
    :math:`|\Delta| < T`, :math:`N` pairings, traces starting at 0). With nearest-spike
    interactions every trace is reset to 1 by its own spike, so each trace seen by a
    spike is one exponential of the time since the last spike of that kind
    (Pfister & Gerstner 2006, nearest-spike model):

    .. math::

        \Delta > 0:\quad \Delta w = N e^{-\Delta/\tau_+} A_2^+
            + (N-1)\, e^{-\Delta/\tau_+} A_3^+ e^{-T/\tau_y}
            - (N-1)\, e^{-(T-\Delta)/\tau_-}\,(A_2^- + A_3^- e^{-T/\tau_x})

        \Delta < 0:\quad \Delta w = (N-1)\, e^{-(T-|\Delta|)/\tau_+}
            (A_2^+ + A_3^+ e^{-T/\tau_y})
            - N e^{-|\Delta|/\tau_-} A_2^- - (N-1)\, e^{-|\Delta|/\tau_-} A_3^- e^{-T/\tau_x}

    (the first pairing has no earlier spike: no triplet term, and for :math:`\Delta > 0`
    no depression; for :math:`\Delta < 0` no potentiation). The minimal model sets
    :math:`A_2^+ = A_3^- = 0`. Weights are additive and unclipped.

    Returns
    -------
    float
        :math:`\Delta w` in units of the initial weight (multiply by 100 for %).
    """
    T, d, n = float(period_ms), float(lag_ms), int(n_pairings)
    if not abs(d) < T:
        raise ValueError(f"|lag| ({abs(d)} ms) must be shorter than the period ({T} ms)")
    ey, ex = math.exp(-T / tau_y_ms), math.exp(-T / tau_x_ms)
    if d > 0:
        r1 = math.exp(-d / tau_plus_ms)
        return (n * r1 * A2_plus + (n - 1) * r1 * A3_plus * ey
                - (n - 1) * math.exp(-(T - d) / tau_minus_ms) * (A2_minus + A3_minus * ex))
    a = abs(d)
    o1 = math.exp(-a / tau_minus_ms)
    return ((n - 1) * math.exp(-(T - a) / tau_plus_ms) * (A2_plus + A3_plus * ey)
            - n * o1 * A2_minus - (n - 1) * o1 * A3_minus * ex)


def crossing_frequency(frequency_Hz, dw) -> float | None:
    """First frequency at which ``dw`` changes from depression (< 0) to potentiation (> 0).

    Linear interpolation between the last depressing and the first potentiating
    frequency of the first sign change (frequencies ascending); ``None`` when there
    is none (e.g. depression at every frequency).
    """
    f, y = np.asarray(frequency_Hz, float), np.asarray(dw, float)
    order = np.argsort(f)
    f, y = f[order], y[order]
    for i in range(len(f) - 1):
        if y[i] < 0 < y[i + 1]:
            return float(f[i] + (f[i + 1] - f[i]) * (-y[i]) / (y[i + 1] - y[i]))
    return None


def data_point(lag_ms: float, frequency_Hz: float) -> tuple[float, float] | None:
    """Sjöström et al.'s (mean, SEM) in % at this lag and frequency, or ``None``."""
    lag = SJOSTROM_2001.get(float(lag_ms))
    freqs = SJOSTROM_2001["frequency_Hz"]
    hit = [i for i, f in enumerate(freqs) if math.isclose(f, float(frequency_Hz))]
    if lag is None or not hit:
        return None
    return lag["mean"][hit[0]], lag["sem"][hit[0]]


def nmse_vs_data(lags_ms, frequency_Hz, dw_percent) -> tuple[float | None, int]:
    r"""Mean squared deviation from the data in units of its SEM, and the points compared.

    .. math:: E = \frac{1}{p} \sum_{k=1}^{p} \left(\frac{\Delta w_k^{model} -
              \Delta w_k^{data}}{\mathrm{SEM}_k}\right)^2

    over the ``p`` (lag, frequency) points of the run that the data set has
    (``dw_percent`` has shape ``(n_lags, n_frequencies)``). ``E <= 1``: on average
    the model lies within one SEM of the data. ``(None, 0)`` without common points.
    """
    terms = []
    for i, lag in enumerate(np.asarray(lags_ms, float)):
        for j, f in enumerate(np.asarray(frequency_Hz, float)):
            ref = data_point(lag, f)
            if ref is not None:
                terms.append(((float(dw_percent[i][j]) - ref[0]) / ref[1]) ** 2)
    return (float(np.mean(terms)) if terms else None), len(terms)


def _key(prefix: str, lag: float, f: float) -> str:
    sign = "plus" if lag > 0 else "minus"
    return f"{prefix}_{sign}{abs(lag):g}ms_{f:g}Hz".replace(".", "p")


def frequency_features(data: xr.Dataset) -> dict:
    """Headline numbers of a run (pure function of the saved data).

    Returns
    -------
    dict
        ``crossing_frequency_Hz`` (LTD -> LTP crossing of the negative lag, model),
        ``data_crossing_frequency_Hz`` (the same of the data), ``nmse_vs_data`` and
        ``n_data_points`` (:func:`nmse_vs_data`), ``max_abs_error_vs_closed_form_percent``
        (nearest-spike rules only, else ``None``), ``clipped``, and per lag and
        frequency ``dw_percent_<plus|minus><lag>ms_<f>Hz`` with the data's
        ``data_dw_percent_...`` / ``data_sem_percent_...`` where the data set has them.
    """
    lags = data["lag"].values
    freqs = data["frequency"].values
    dw = data["dw_percent"].values
    neg = np.flatnonzero(lags < 0)
    nmse, n_points = nmse_vs_data(lags, freqs, dw)
    data_neg = SJOSTROM_2001.get(float(lags[neg[0]])) if len(neg) else None
    out = {
        "crossing_frequency_Hz": crossing_frequency(freqs, dw[neg[0]]) if len(neg) else None,
        "data_crossing_frequency_Hz": (crossing_frequency(SJOSTROM_2001["frequency_Hz"],
                                                          data_neg["mean"])
                                       if data_neg else None),
        "nmse_vs_data": nmse,
        "n_data_points": n_points,
        "max_abs_error_vs_closed_form_percent": None,
        "clipped": bool(data.attrs.get("clipped", False)),
        "timing": str(data.attrs.get("timing", "")),
    }
    if len(neg):
        out["dw_percent_negative_lag_lowest_frequency"] = float(dw[neg[0], 0])
        out["dw_percent_negative_lag_highest_frequency"] = float(dw[neg[0], -1])
    if "dw_closed_form_percent" in data:
        out["max_abs_error_vs_closed_form_percent"] = float(
            np.max(np.abs(dw - data["dw_closed_form_percent"].values)))
    for i, lag in enumerate(lags):
        for j, f in enumerate(freqs):
            out[_key("dw_percent", lag, f)] = float(dw[i, j])
            ref = data_point(lag, f)
            if ref is not None:
                out[_key("data_dw_percent", lag, f)] = ref[0]
                out[_key("data_sem_percent", lag, f)] = ref[1]
    return out
