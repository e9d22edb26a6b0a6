r"""Closed-form solutions of the LIF neuron, used by tests, protocols and validation.

For constant input current :math:`I` the LIF membrane relaxes exponentially to
:math:`v_\infty = E_L + R_m I`:

.. math::

    v(t) = v_\infty + (v_0 - v_\infty) e^{-t/\tau_m}

It reaches threshold (when :math:`v_\infty > V_{th}`) after
:math:`T(v_0) = \tau_m \ln\frac{v_\infty - v_0}{v_\infty - V_{th}}`, so the
steady firing rate is

.. math::

    r(I) = \frac{1}{t_{ref} + \tau_m \ln\frac{R_m I + E_L - V_r}{R_m I + E_L - V_{th}}}

and zero below the rheobase :math:`I_{rh} = (V_{th} - E_L)/R_m`; it saturates at
:math:`1/t_{ref}` as :math:`I \to \infty`.
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, Quantity, amp, mV, second, volt

from .params import LIFParams, check_quantity

__all__ = ["lif_subthreshold_v", "lif_first_spike_time", "lif_rate"]


def lif_subthreshold_v(t: Quantity, v0: Quantity, params: LIFParams = LIFParams.SEED,
                       I: Quantity = 0 * amp) -> Quantity:
    """Membrane potential at times ``t`` (no threshold) from ``v0`` under constant ``I``."""
    check_quantity("lif_subthreshold_v", "t", t, second)
    check_quantity("lif_subthreshold_v", "v0", v0, volt)
    check_quantity("lif_subthreshold_v", "I", I, amp)
    v_inf = params.E_L + params.R_m * I
    return v_inf + (v0 - v_inf) * np.exp(-np.asarray(t / params.tau_m))


def lif_first_spike_time(I: Quantity, params: LIFParams = LIFParams.SEED,
                         v0: Quantity | None = None) -> Quantity:
    """Time for the membrane to reach ``V_th`` from ``v0`` (default ``E_L``).

    Returns ``inf`` seconds where the current is at or below rheobase. Array-valued
    ``I`` gives an array.
    """
    check_quantity("lif_first_spike_time", "I", I, amp)
    v0 = params.E_L if v0 is None else v0
    v_inf = np.asarray((params.E_L + params.R_m * I) / mV, dtype=float)
    v0_mV, vth = float(v0 / mV), float(params.V_th / mV)
    out = np.full(v_inf.shape, np.inf)
    fires = v_inf > vth
    out[fires] = float(params.tau_m / second) * np.log(
        (v_inf[fires] - v0_mV) / (v_inf[fires] - vth))
    return (out if out.ndim else float(out)) * second


def lif_rate(I: Quantity, params: LIFParams = LIFParams.SEED) -> Quantity:
    """Analytic steady-state firing rate r(I) (Hz) of the LIF neuron; 0 below rheobase."""
    check_quantity("lif_rate", "I", I, amp)
    T = np.asarray(lif_first_spike_time(I, params, v0=params.V_r) / second, dtype=float)
    rate = np.where(np.isfinite(T), 1.0 / (float(params.t_ref / second) + np.where(np.isfinite(T), T, 0.0)), 0.0)
    return (rate if rate.ndim else float(rate)) * Hz
