"""Features of an inhibitory-plasticity balance run (``istdp-balance``). Pure functions."""
from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["EARLY_S", "balance_features", "group_profile"]

EARLY_S = 5.0
"""Length (s) of the early window: the rate before the rule has moved it."""


def group_profile(w: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean weight of each input group."""
    return np.array([w[group == g].mean() for g in range(n_groups)])


def _r(a: np.ndarray, b: np.ndarray) -> float:
    if np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def balance_features(data: xr.Dataset) -> dict:
    """Headline numbers of an ``istdp-balance`` run (its saved weights, spikes, currents).

    ``cotuning_r_final`` (``_first``): Pearson r between the groups' mean excitatory
    weight and mean inhibitory weight at the end (at the first snapshot after the start;
    NaN while the inhibitory weights are uniform); ``rate_first_Hz``: the postsynaptic
    rate over the first :data:`EARLY_S` seconds; ``rate_last_Hz``: over the last quarter
    of the run, and ``rate_last_over_rho0``; ``inhibitory_over_excitatory_current``: mean |I_I| / mean
    I_E over the last quarter (1 = the inhibitory current cancels the excitatory one);
    ``current_r_last`` (``_first``): correlation of I_E and -I_I in 10 ms bins over the
    last quarter (the first :data:`EARLY_S` seconds), the detailed balance of Vogels et al. (2011).
    """
    n_groups = int(data.attrs["n_groups"])
    we = data["w_exc"].values
    ge = data["exc_group"].values
    gi = data["inh_group"].values
    exc_prof = group_profile(we, ge, n_groups)
    snaps = data["w_inh"].values                         # (snapshot, synapse)
    inh_last = group_profile(snaps[-1], gi, n_groups)
    inh_first = group_profile(snaps[1], gi, n_groups) if len(snaps) > 1 else inh_last
    T = float(data.attrs["duration_s"])
    rho0 = float(data.attrs["rho0_Hz"])
    t = data["post_spike_time"].values / 1000.0
    quarter = T / 4
    early_s = min(EARLY_S, quarter)
    first = float(np.sum(t < early_s) / early_s)
    last = float(np.sum(t >= T - quarter) / quarter)
    tc = data["current_time"].values / 1000.0
    i_e, i_i = data["I_exc"].values, data["I_inh"].values
    late, early = tc >= T - quarter, tc < early_s

    def binned_r(mask):
        n = int(mask.sum()) // 10 * 10              # 1 ms samples -> 10 ms bins
        if n < 20:
            return float("nan")
        e = i_e[mask][:n].reshape(-1, 10).mean(axis=1)
        i = -i_i[mask][:n].reshape(-1, 10).mean(axis=1)
        return _r(e, i)

    return {"cotuning_r_final": _r(exc_prof, inh_last),
            "cotuning_r_first": _r(exc_prof, inh_first),
            "rate_first_Hz": first, "rate_last_Hz": last,
            "rate_last_over_rho0": last / rho0,
            "inhibitory_over_excitatory_current": float(np.mean(np.abs(i_i[late]))
                                                        / np.mean(i_e[late])),
            "current_r_first": binned_r(early), "current_r_last": binned_r(late),
            "rho0_Hz": rho0}
