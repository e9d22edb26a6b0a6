"""Plain-NumPy reference implementations of pair STDP and R-STDP (no Brian2).

Written from the semantics documented in :class:`bioSNN.plasticity.STDPRule`,
independently of its Brian2 code, in the manner of NEST's
``test_stdp_synapse.py``. Spike times are integer time steps (``step * dt``)
so that the order of events within a step is exact. Times are in seconds,
all numbers are plain floats.

Two formulations:

* :func:`stdp_event_reference` walks through the events of one synapse (in a
  step: reward, then pre, then post) with traces and clips ``w`` after every
  update -- needed as soon as the bounds are reached.
* :func:`pair_contributions` lists every pre/post pair explicitly (all-to-all,
  no traces). Its sum is the unclipped STDP weight change; decayed to a reward
  time it gives the eligibility trace, so :func:`rstdp_pair_reference` needs
  no trace at all (``c`` is never clipped).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Params:
    """Rule parameters as plain floats (seconds, unit-less)."""

    tau_plus: float = 0.020
    tau_minus: float = 0.020
    A_plus: float = 0.01
    A_minus: float = 0.0105
    w_min: float = 0.0
    w_max: float = 2.0
    tau_c: float = 1.0
    eta: float = 0.01


def _clip(w: float, p: Params) -> float:
    return min(max(w, p.w_min), p.w_max)


def stdp_event_reference(pre_steps, post_steps, dt: float, p: Params, w0: float):
    """Final weight of one plain-STDP synapse, clipping after every update.

    Returns
    -------
    w : float
        Final weight.
    n_clipped : int
        How many updates were changed by the clipping.
    """
    events = sorted([(s, 0) for s in pre_steps] + [(s, 1) for s in post_steps])
    apre = apost = 0.0
    last = 0.0
    w = w0
    n_clipped = 0
    for step, kind in events:
        t = step * dt
        apre *= math.exp(-(t - last) / p.tau_plus)
        apost *= math.exp(-(t - last) / p.tau_minus)
        last = t
        if kind == 0:  # pre: depression by the post trace, then (order-free) trace jump
            apre += p.A_plus
            new = w - apost
        else:  # post: potentiation by the pre trace (includes a pre spike of this step)
            apost += p.A_minus
            new = w + apre
        w = _clip(new, p)
        n_clipped += w != new
    return w, n_clipped


def pair_contributions(pre_steps, post_steps, dt: float, p: Params):
    """All pre/post pairs of one synapse, without traces.

    Returns
    -------
    times : ndarray
        Time (s) at which each pair takes effect: the later spike; for a
        simultaneous pair, the post spike (same time).
    deltas : ndarray
        ``A_plus exp(-(t_post - t_pre)/tau_plus)`` for ``t_pre <= t_post``,
        ``-A_minus exp(-(t_pre - t_post)/tau_minus)`` otherwise.
    """
    pre = np.asarray(pre_steps, dtype=float)[:, None] * dt
    post = np.asarray(post_steps, dtype=float)[None, :] * dt
    pre, post = np.broadcast_arrays(pre, post)
    ltp = np.asarray(pre_steps)[:, None] <= np.asarray(post_steps)[None, :]
    deltas = np.where(
        ltp,
        p.A_plus * np.exp(-(post - pre) / p.tau_plus),
        -p.A_minus * np.exp(-(pre - post) / p.tau_minus),
    )
    times = np.maximum(pre, post)
    return times.ravel(), deltas.ravel()


def stdp_pair_sum(pre_steps, post_steps, dt: float, p: Params, w0: float) -> float:
    """Unclipped plain-STDP weight: ``w0`` plus the sum over all pairs."""
    return w0 + pair_contributions(pre_steps, post_steps, dt, p)[1].sum()


def rstdp_pair_reference(pre_steps, post_steps, reward_steps, rewards, dt: float,
                         p: Params, w0: float):
    """Weight of one R-STDP synapse after rewards at given steps.

    A reward at step ``k`` sees the pairs that took effect strictly before
    ``k * dt`` (rewards run at the start of a step), decayed with ``tau_c``:
    ``w = clip(w + eta * r * sum(delta * exp(-(t_r - t_pair)/tau_c)))``.

    Returns
    -------
    w : float
        Final weight.
    c_end : callable
        ``c_end(t)``: eligibility at time ``t`` (s) from all pairs before ``t``.
    """
    times, deltas = pair_contributions(pre_steps, post_steps, dt, p)

    def eligibility(t: float, strict: bool = True) -> float:
        seen = times < t if strict else times <= t
        return float(np.sum(deltas[seen] * np.exp(-(t - times[seen]) / p.tau_c)))

    w = w0
    for step, r in sorted(zip(reward_steps, rewards)):
        t = step * dt
        w = _clip(w + p.eta * r * eligibility(t), p)
    return w, lambda t: eligibility(t, strict=False)
