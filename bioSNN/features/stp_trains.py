"""Features of a Tsodyks–Markram EPSP-train run (``stp-trains``). Pure functions."""
from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["train_features"]


def train_features(data: xr.Dataset) -> dict:
    """Headline numbers of an ``stp-trains`` run (its saved efficacies).

    ``max_rel_error_vs_recursion``: over every spike, synapse type and frequency, the
    largest ``|eff - eff_recursion| / eff_recursion`` (the recursion of Tsodyks et al.
    1998, :func:`bioSNN.plasticity.tm_regular_train`). Per synapse type ``<type>``:
    ``<type>_last_over_first_<f>Hz`` (efficacy of the train's last spike over its first),
    ``<type>_max_over_first_<f>Hz``, ``<type>_last_over_steady_<f>Hz`` (against the
    analytic steady state), ``<type>_recovery_over_first`` (the test spike after the train
    at the lowest frequency), and ``<type>_transmitted_rate_Hz`` (frequency x last
    efficacy at the highest frequency) with ``<type>_inverse_tau_rec_Hz``.
    """
    eff = data["efficacy"].values                      # (synapse, frequency, spike)
    ref = data["efficacy_recursion"].values
    steady = data["efficacy_steady_state"].values      # (synapse, frequency)
    freqs = data["frequency"].values
    out = {"max_rel_error_vs_recursion": float(np.max(np.abs(eff - ref) / ref))}
    for k, name in enumerate(str(s) for s in data["synapse"].values):
        for j, f in enumerate(freqs):
            train = eff[k, j]
            out[f"{name}_last_over_first_{f:g}Hz"] = float(train[-1] / train[0])
            out[f"{name}_max_over_first_{f:g}Hz"] = float(train.max() / train[0])
            out[f"{name}_last_over_steady_{f:g}Hz"] = float(train[-1] / steady[k, j])
        rec = data["recovery_efficacy"].values[k, 0]
        out[f"{name}_recovery_over_first"] = float(rec / eff[k, 0, 0])
        out[f"{name}_transmitted_rate_Hz"] = float(freqs[-1] * eff[k, -1, -1])
        out[f"{name}_inverse_tau_rec_Hz"] = float(1000.0 / data["tau_rec"].values[k])
    return out
