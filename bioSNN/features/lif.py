"""Features of an f-I run (``lif-fi-curve``): measured rates per current and the comparison
with the analytic LIF rate. Pure functions of the saved Dataset."""
from __future__ import annotations

import numpy as np
import xarray as xr
from brian2 import ms, nA, second

__all__ = ["fi_features", "measured_rates"]


def fi_features(data: xr.Dataset, params) -> dict:
    """Headline numbers of an f-I run (pure function of the saved data).

    Returns
    -------
    dict
        ``rheobase_nA`` (analytic) and ``rheobase_measured_nA`` (smallest current
        that fired), ``max_abs_isi_error_ms`` / ``max_abs_first_spike_error_ms``
        against the analytic values, ``isi_within_dt`` (bool), ``silent_below_rheobase``
        (bool), ``rate_at_I_max_Hz``, ``saturation_rate_Hz`` (1/t_ref), ``dt_ms``.
    """
    m = measured_rates(data)
    I = data["current"].values
    rate_a = data["rate_analytic"].values
    rheo = float(params.lif.rheobase / nA)
    dt_ms = float(params.dt / ms)
    fired = m["spike_count"] > 0
    valid = m["spike_count"] >= 2
    with np.errstate(divide="ignore"):
        isi_a = np.where(rate_a > 0, 1000.0 / np.where(rate_a > 0, rate_a, 1), np.inf)
    isi_err = np.abs(m["mean_isi_ms"][valid] - isi_a[valid])
    fs_err = np.abs(m["first_spike_ms"][fired] - data["first_spike_analytic"].values[fired])
    return {
        "n_currents": int(len(I)),
        "dt_ms": dt_ms,
        "rheobase_nA": rheo,
        "rheobase_measured_nA": float(I[fired].min()) if fired.any() else None,
        "silent_below_rheobase": bool(not fired[I < rheo].any()),
        "n_firing": int(fired.sum()),
        "max_abs_isi_error_ms": float(isi_err.max()) if isi_err.size else None,
        "max_abs_first_spike_error_ms": float(fs_err.max()) if fs_err.size else None,
        "isi_within_dt": bool(isi_err.size and isi_err.max() <= dt_ms + 1e-9),
        "rate_at_I_max_Hz": float(m["rate_Hz"][-1]),
        "analytic_rate_at_I_max_Hz": float(rate_a[-1]),
        "saturation_rate_Hz": float(1.0 / params.t_ref * second) if params.t_ref > 0 else None,
    }


def measured_rates(data: xr.Dataset) -> dict[str, np.ndarray]:
    """Per-current spike count, first spike (ms), mean ISI (ms) and steady rate (Hz).

    The steady rate is 1/mean ISI where a neuron fired twice or more, else 0.
    """
    n = data.sizes["current"]
    i = data["spike_neuron"].values.astype(int)
    t = data["spike_time"].values
    count = np.bincount(i, minlength=n)
    first = np.full(n, np.nan)
    mean_isi = np.full(n, np.nan)
    for k in np.flatnonzero(count):
        tk = t[i == k]
        first[k] = tk[0]
        if len(tk) >= 2:
            mean_isi[k] = (tk[-1] - tk[0]) / (len(tk) - 1)
    rate = np.where(np.isfinite(mean_isi), 1000.0 / np.where(np.isfinite(mean_isi), mean_isi, 1), 0.0)
    return {"spike_count": count, "first_spike_ms": first, "mean_isi_ms": mean_isi, "rate_Hz": rate}
