"""Plain-Python reference of every timing x weight dependence (no Brian2, no traces).

Written from the pairing definitions in ``docs/plasticity.md`` (Morrison et al.
2008 for the pair schemes, Pfister & Gerstner 2006 for triplets), independently
of the Brian2 code: instead of traces that jump and decay, each event lists the
spikes it pairs with explicitly and sums the exponentials. Spike times are
integer time steps; in one step the presynaptic event comes first, so a
simultaneous pair counts as pre-before-post at zero lag. Times in seconds.

:func:`timing_terms` gives the weight-independent term of every event;
:func:`simulate` applies a weight dependence to them in event order, clipping
after each update.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

PAIR_SCHEMES = ("all-to-all", "nn-symmetric", "nn-pre-centred", "nn-restricted")
TRIPLET_SCHEMES = ("triplet", "triplet-nearest")


@dataclass(frozen=True)
class Timing:
    """Timing parameters as plain floats (seconds); ``scheme`` names the rule."""

    scheme: str = "all-to-all"
    tau_plus: float = 0.020
    tau_minus: float = 0.020
    A_plus: float = 0.01
    A_minus: float = 0.0105
    tau_x: float = 0.101
    tau_y: float = 0.125
    A2_plus: float = 5e-10
    A3_plus: float = 6.2e-3
    A2_minus: float = 7e-3
    A3_minus: float = 2.3e-4


@dataclass(frozen=True)
class Weights:
    """Weight dependence: additive | multiplicative | van-rossum | gutig."""

    kind: str = "additive"
    w_min: float = 0.0
    w_max: float = 2.0
    mu_plus: float = 0.4
    mu_minus: float = 0.4

    def factors(self, w: float) -> tuple[float, float]:
        up = (self.w_max - w) / (self.w_max - self.w_min)
        down = (w - self.w_min) / (self.w_max - self.w_min)
        if self.kind == "additive":
            return 1.0, 1.0
        if self.kind == "multiplicative":
            return up, down
        if self.kind == "van-rossum":
            return 1.0, down
        if self.kind == "gutig":
            return up ** self.mu_plus, down ** self.mu_minus
        raise ValueError(self.kind)


def _before(steps, s, strict):
    return [x for x in steps if (x < s if strict else x <= s)]


def _pair_partners(scheme, own, other, s, potentiation):
    """Spikes of ``other`` that the event at step ``s`` (of ``own``) pairs with.

    Potentiation (a post event) pairs with pre spikes at or before ``s``;
    depression (a pre event) with post spikes strictly before ``s``.
    """
    candidates = _before(other, s, strict=not potentiation)
    previous_own = _before(own, s, strict=True)
    last_own = previous_own[-1] if previous_own else None
    if not candidates:
        return []
    if scheme == "all-to-all":
        return candidates
    if scheme == "nn-symmetric":
        return candidates[-1:]
    if scheme == "nn-pre-centred":
        if potentiation:  # all pre spikes since the previous post spike
            return [x for x in candidates if last_own is None or x > last_own]
        return candidates[-1:]  # the nearest preceding post spike
    if scheme == "nn-restricted":
        nearest = candidates[-1]
        if last_own is None:
            return [nearest]
        # a pre at the step of the previous post was consumed by that post (pre runs
        # first); a post at the step of the previous pre was not consumed by it
        keep = nearest > last_own if potentiation else nearest >= last_own
        return [nearest] if keep else []
    raise ValueError(scheme)


def timing_terms(pre_steps, post_steps, dt: float, p: Timing):
    """Events of one synapse in processing order: ``(step, +1|-1, term >= 0)``."""
    pre, post = sorted(pre_steps), sorted(post_steps)
    events = sorted([(s, 0) for s in pre] + [(s, 1) for s in post])
    out = []
    for s, kind in events:
        t = s * dt
        if p.scheme in PAIR_SCHEMES:
            if kind == 0:
                partners = _pair_partners(p.scheme, pre, post, s, potentiation=False)
                term = sum(p.A_minus * math.exp(-(t - q * dt) / p.tau_minus) for q in partners)
            else:
                partners = _pair_partners(p.scheme, post, pre, s, potentiation=True)
                term = sum(p.A_plus * math.exp(-(t - q * dt) / p.tau_plus) for q in partners)
        elif p.scheme in TRIPLET_SCHEMES:
            nearest = p.scheme == "triplet-nearest"

            def trace(steps, tau, strict):
                seen = _before(steps, s, strict)
                if nearest:
                    seen = seen[-1:]
                return sum(math.exp(-(t - x * dt) / tau) for x in seen)

            if kind == 0:  # o1 (posts < s) * (A2- + A3- r2(pres < s))
                term = trace(post, p.tau_minus, True) * (
                    p.A2_minus + p.A3_minus * trace(pre, p.tau_x, True))
            else:  # r1 (pres <= s) * (A2+ + A3+ o2(posts < s))
                term = trace(pre, p.tau_plus, False) * (
                    p.A2_plus + p.A3_plus * trace(post, p.tau_y, True))
        else:
            raise ValueError(p.scheme)
        out.append((s, +1 if kind == 1 else -1, term))
    return out


def simulate(pre_steps, post_steps, dt: float, p: Timing, wd: Weights, w0: float):
    """Final weight of one synapse and how many updates the clipping changed."""
    w, n_clipped = w0, 0
    for _, sign, term in timing_terms(pre_steps, post_steps, dt, p):
        f_plus, f_minus = wd.factors(w)
        new = w + f_plus * term if sign > 0 else w - f_minus * term
        w = min(max(new, wd.w_min), wd.w_max)
        n_clipped += w != new
    return w, n_clipped


@dataclass(frozen=True)
class Dopamine:
    """Dopamine modulation (Izhikevich 2007) as plain floats (seconds, 1/s)."""

    tau_c: float = 1.0
    tau_d: float = 0.2
    eta: float = 1.0
    da_pulse: float = 0.5
    d_tonic: float = 0.01
    period_steps: int = 10


def simulate_dopamine(pre_steps, post_steps, pulse_steps, dt: float, p: Timing, wd: Weights,
                      da: Dopamine, w0: float, duration_steps: int):
    """Weight of one dopamine-modulated synapse after each weight update, event by event.

    ``c`` at an update step ``u`` sums the signed timing terms of the events at
    steps ``< u`` (the update runs at the start of a step), each decayed
    exactly, ``exp(-(u - s) dt / tau_c)``; the dopamine read at ``u`` sums the
    pulses at steps ``r <= u - 2`` decayed over ``(u - 2 - r) dt`` (a pulse
    enters ``d`` at the end of its step and reaches the synapses through a
    copy made one step later). Each update adds, through the weight dependence
    and clipped,
    ``eta c [d_tonic tau_c (1 - e^{-P/tau_c}) + d tau_cd (1 - e^{-P/tau_cd})]``
    with ``P = period_steps dt`` and ``1/tau_cd = 1/tau_c + 1/tau_d``.
    Returns ``[(u, w after the update), ...]`` for ``u = 0, P, 2P, ... < duration``.
    """
    terms = timing_terms(pre_steps, post_steps, dt, p)
    P = da.period_steps * dt
    tau_cd = 1.0 / (1.0 / da.tau_c + 1.0 / da.tau_d)
    w, out = w0, []
    for u in range(0, duration_steps, da.period_steps):
        c = sum(sign * term * math.exp(-(u - s) * dt / da.tau_c) for s, sign, term in terms if s < u)
        d = sum(da.da_pulse * math.exp(-(u - 2 - r) * dt / da.tau_d) for r in pulse_steps if r <= u - 2)
        dw = da.eta * c * (da.d_tonic * da.tau_c * (1 - math.exp(-P / da.tau_c))
                           + d * tau_cd * (1 - math.exp(-P / tau_cd)))
        f_plus, f_minus = wd.factors(w)
        w = min(max(w + (f_plus if dw > 0 else f_minus) * dw, wd.w_min), wd.w_max)
        out.append((u, w))
    return out
