"""Features of a current-clamp run (``membrane-probe``): rest, tau_m, input resistance,
ringing, rheobase, threshold, refractoriness per model. Pure functions of the saved Dataset."""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["membrane_features"]


def _ringing(x: np.ndarray, band: float, dt_ms: float) -> tuple[int, float | None]:
    """Crossings of ``x`` between ``+band`` and ``-band`` (hysteresis) and the ringing
    frequency (Hz) from their spacing (half periods); None with fewer than 2 crossings."""
    state, times = 0, []
    for k, value in enumerate(x):
        s = 1 if value > band else (-1 if value < -band else 0)
        if s and s != state:
            if state:
                times.append(k * dt_ms)
            state = s
    if len(times) < 2:
        return len(times), None
    return len(times), float(1000.0 / (2.0 * np.mean(np.diff(times))))


def membrane_features(data: xr.Dataset, params) -> dict[str, dict]:
    """Per model: rest, tau_m, input resistance, ringing, rheobase, threshold, refractoriness.

    Pure function of the saved data.

    Returns
    -------
    dict
        model -> ``rest_mV`` (mean v over the 20 ms before the step, probe neuron);
        ``tau_m_ms`` (time to 63.2 % of the steady probe deflection, the mean of the
        last 20 % of the step); ``input_resistance`` (steady deflection / probe step:
        MOhm for LIF, mV per paper unit for Izhikevich); ``ring_crossings`` (crossings of
        the steady level by more than 2 % of the deflection during the probe step:
        0 for a pure decay, 1 for a sag, >= 2 for a damped oscillation) and
        ``ring_frequency_Hz``; ``rheobase`` (smallest ladder step that fired during the
        step, nA for LIF / paper units for Izhikevich; None if none fired) and
        ``rheobase_below`` (the ladder step below it); ``threshold_mV`` (see the module
        docstring); ``refractory_ms`` (LIF only: median time v stays clamped at V_r
        after a spike of the drive neuron, last spike excluded); ``drive_rate_Hz`` (spikes of the drive
        neuron per second of step).
    """
    t = data["time"].values
    dt = float(data.attrs["dt_ms"])
    t_on, t_off = float(data.attrs["t_on_ms"]), float(data.attrs["t_off_ms"])
    before = (t >= t_on - 20.0 - 1e-9) & (t < t_on - 1e-9)
    step = (t >= t_on - 1e-9) & (t < t_off - 1e-9)
    late = step & (t >= t_off - 0.2 * (t_off - t_on) - 1e-9)
    cells = data["spike_cell"].values
    times = data["spike_time"].values
    model_of = data["cell_model"].values
    role_of = data["cell_role"].values
    stim_nA, stim_mV = data["cell_stim_nA"].values, data["cell_stim_mV"].values
    in_step = (times >= t_on) & (times < t_off)
    count = np.bincount(cells[in_step], minlength=data.sizes["cell"])
    out = {}
    for m, model in enumerate(data["model"].values):
        model = str(model)
        lif = model == "LIF"
        stim = stim_nA if lif else stim_mV
        v_probe = data["v"].values[m, 0].astype(float)
        rest = float(v_probe[before].mean())
        v_ss = float(v_probe[late].mean())
        defl = v_ss - rest
        x = v_probe[step] - rest
        reach = np.flatnonzero(np.abs(x) >= (1 - math.exp(-1)) * abs(defl))
        tau = float(reach[0] * dt) if len(reach) and defl != 0 else None
        probe_cell = int(data["trace_cell"].values[m, 0])
        r_in = defl / stim[probe_cell]  # LIF: mV/nA = MOhm
        crossings, freq = _ringing(v_probe[step] - v_ss, 0.02 * abs(defl), dt)

        ladder = np.flatnonzero((model_of == model) & (role_of == "ladder"))
        firing = ladder[count[ladder] > 0]
        rheo = float(stim[firing[0]]) if len(firing) else None
        k = np.searchsorted(ladder, firing[0]) if len(firing) else 0
        below = float(stim[ladder[k - 1]]) if len(firing) and k > 0 else None

        threshold = None
        if len(firing):
            v_r = data["v"].values[m, 1].astype(float)
            first = times[(cells == firing[0]) & in_step][0]
            n_s = int(round((first - t[0]) / dt))
            window = v_r[max(0, n_s - int(round(20.0 / dt))):n_s + 1]
            slope = np.diff(window) / dt
            onset = np.flatnonzero(slope >= params.dvdt_threshold)
            threshold = float(window[onset[0]] if len(onset) else window[-1])

        drive_cell = int(data["trace_cell"].values[m, 2])
        drive_spikes = times[(cells == drive_cell) & in_step]
        refractory = None
        if lif and len(drive_spikes) >= 2:
            v_d = data["v"].values[m, 2].astype(float)
            v_reset = float(data["V_r"])
            runs = []
            for ts in drive_spikes[:-1]:  # a clamp ended by the membrane leaving V_r
                n = int(round((ts - t[0]) / dt)) + 1
                run = 0
                while n + run < len(v_d) and abs(v_d[n + run] - v_reset) < 1e-4:
                    run += 1
                runs.append(run)
            refractory = float(np.median(runs) * dt)
        out[model] = {
            "rest_mV": rest,
            "tau_m_ms": tau,
            "input_resistance": float(r_in),
            "ring_crossings": int(crossings),
            "ring_frequency_Hz": freq,
            "rheobase": rheo,
            "rheobase_below": below,
            "threshold_mV": threshold,
            "refractory_ms": refractory,
            "drive_rate_Hz": float(len(drive_spikes) / ((t_off - t_on) / 1000.0)),
        }
    return out
