"""Features of an ``izhikevich-patterns`` run: each neuron's spike train during the
current step and after its release. Pure functions of the saved Results."""
from __future__ import annotations

import numpy as np

__all__ = ["step_trains"]


def step_trains(results) -> dict[str, dict[str, np.ndarray]]:
    """Per neuron label of an ``izhikevich-patterns`` run: spike times (ms) during the
    step (``"during"``) and after its release (``"after"``)."""
    from brian2 import ms

    p = results.spec.params
    t_on, t_off = float(p.t_on / ms), float(p.t_off / ms)
    data = results.data
    i = data["spike_neuron"].values.astype(int)
    t = data["spike_time"].values
    out = {}
    for k, label in enumerate(data["neuron"].values):
        tk = np.sort(t[i == k])
        out[str(label)] = {"during": tk[(tk >= t_on) & (tk < t_off)], "after": tk[tk >= t_off],
                           "t_on": t_on, "t_off": t_off}
    return out
