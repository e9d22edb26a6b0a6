"""Features of an STDP-window run (``stdp-window``): the pair-rule window, exponential fits
of each side, headline numbers. Pure functions of arrays or the saved Dataset."""
from __future__ import annotations

import numpy as np
import xarray as xr
from brian2 import ms

__all__ = ["analytic_window", "fit_window", "window_features"]


def analytic_window(lags_ms, A_plus: float, tau_plus_ms: float, A_minus: float,
                    tau_minus_ms: float) -> np.ndarray:
    """Pair-STDP window (weight change per pairing) at the lags ``t_post - t_pre`` (ms)."""
    lags = np.asarray(lags_ms, dtype=float)
    return np.where(lags >= 0, A_plus * np.exp(-np.abs(lags) / tau_plus_ms),
                    -A_minus * np.exp(-np.abs(lags) / tau_minus_ms))


def _exp_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares fit of ``y = A exp(-x / tau)`` (x >= 0); returns (A, tau) or NaNs.

    Starts from the log-linear fit of the positive points, then refines with
    :func:`scipy.optimize.curve_fit` on the raw values (so points near zero, or
    of the wrong sign, still count).
    """
    from scipy.optimize import curve_fit

    x, y = np.asarray(x, float), np.asarray(y, float)
    good = y > 0
    if good.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(x[good], np.log(y[good]), 1)
    tau0 = -1.0 / slope if slope < 0 else float(np.ptp(x) or 1.0)
    try:
        (A, tau), _ = curve_fit(lambda t, A, tau: A * np.exp(-t / tau), x, y,
                                p0=(float(np.exp(intercept)), tau0), maxfev=10000)
    except (RuntimeError, ValueError):
        return float("nan"), float("nan")
    return float(A), float(tau)


def fit_window(lags_ms, dw) -> dict:
    """Fit one exponential to each side of a measured STDP window.

    Parameters
    ----------
    lags_ms : array, shape (n,)
        Lags t_post - t_pre (ms).
    dw : array, shape (n,)
        Weight change per pairing (unit-less).

    Returns
    -------
    dict
        ``A_plus`` and ``tau_plus_ms`` from the lags > 0 (``dw = A_plus exp(-lag/tau_plus)``),
        ``A_minus`` and ``tau_minus_ms`` from the lags < 0 (``dw = -A_minus exp(lag/tau_minus)``);
        NaN where a side has fewer than two points of the expected sign. The sign
        convention makes ``A_plus`` and ``A_minus`` positive for a Hebbian window; a
        window with swapped signs gives NaN or negative amplitudes.
    """
    lags, dw = np.asarray(lags_ms, float), np.asarray(dw, float)
    pos, neg = lags > 0, lags < 0
    A_p, tau_p = _exp_fit(lags[pos], dw[pos])
    A_m, tau_m = _exp_fit(-lags[neg], -dw[neg])
    return {"A_plus": A_p, "tau_plus_ms": tau_p, "A_minus": A_m, "tau_minus_ms": tau_m}


def window_features(data: xr.Dataset, params) -> dict:
    """Headline numbers of a run (pure function of the saved data).

    Returns
    -------
    dict
        The fit of :func:`fit_window`; ``dw_at_zero`` (the 0-lag change, +A_plus for
        this rule); ``fraction_ltp_pre_before_post`` / ``fraction_ltd_post_before_pre``
        (share of lags > 0 with dw > 0 and of lags < 0 with dw < 0);
        ``max_abs_error_vs_analytic`` (measured vs :func:`analytic_window`);
        ``clipped`` (some weight reached a bound, which invalidates the fit); ``n_lags``.
    """
    lags = data["lag"].values
    dw = data["dw"].values
    w = data["w_final"].values
    zero = np.flatnonzero(np.isclose(lags, 0.0))
    out = fit_window(lags, dw)
    out.update({
        "n_lags": int(len(lags)),
        "dw_at_zero": float(dw[zero[0]]) if len(zero) else None,
        "fraction_ltp_pre_before_post": float(np.mean(dw[lags > 0] > 0)) if (lags > 0).any() else None,
        "fraction_ltd_post_before_pre": float(np.mean(dw[lags < 0] < 0)) if (lags < 0).any() else None,
        "max_abs_error_vs_analytic": float(np.max(np.abs(dw - data["dw_analytic"].values))),
        "clipped": bool(np.any(w <= params.w_min) or np.any(w >= params.w_max)),
        "configured_tau_plus_ms": float(params.tau_plus / ms),
        "configured_tau_minus_ms": float(params.tau_minus / ms),
        "configured_A_plus": params.A_plus,
        "configured_A_minus": params.A_minus,
    })
    return out
