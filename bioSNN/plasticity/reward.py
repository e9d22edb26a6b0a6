r"""Reward delivery for R-STDP synapses: in-network operation and from Python."""
from __future__ import annotations

import numpy as np
from brian2 import Quantity, second
from brian2.groups.group import CodeRunner
from brian2.units.fundamentalunits import get_dimensions

from ._checks import check_time
from .modulation import RewardModulation
from .rule import STDPRule

__all__ = ["add_reward_operation", "eligibility_at", "apply_reward"]


def _modulation_of(synapses) -> tuple[STDPRule, RewardModulation]:
    rule = getattr(synapses, "plasticity_rule", None)
    if not isinstance(rule, STDPRule):
        raise TypeError("synapses must come from make_plastic_synapses")
    if rule.reward_modulation is None:
        raise ValueError("the synapses' rule has no RewardModulation (plain STDP)")
    return rule, rule.reward_modulation


def add_reward_operation(
    synapses,
    period: Quantity,
    *,
    reward: str = "reward",
    when: str = "start",
    order: int = 0,
    name: str | None = None,
    consume: bool = False,
) -> CodeRunner:
    r"""Deliver a reward every ``period`` inside a Brian2 run (R-STDP).

    Adds to ``synapses`` (so it runs whenever they are in a ``Network``) an
    operation executed at ``t = 0, period, 2 period, ...``:

    .. math::

        w \leftarrow \mathrm{clip}\left(w + \eta\, r\,
            c\, e^{-(t - t_{last})/\tau_c},\; w_{min}, w_{max}\right)

    where ``r`` is the Brian2 expression ``reward``, evaluated per synapse at
    that time, and ``t_last`` is ``lastupdate``.

    Parameters
    ----------
    synapses : Synapses
        Made by :func:`make_plastic_synapses` with a :class:`RewardModulation`.
    period : Quantity (time)
        Trial duration; must be a whole number of the synapses' time steps.
    reward : str
        Brian2 expression of the reward, in the synapses' context: the default
        is the shared variable ``reward`` (set by another operation or from
        Python); a ``TimedArray`` in ``namespace_extra`` (``"r_of_t(t)"``) or a
        postsynaptic variable (``"reward_post"``) also work. Zero means no
        change.
    when : str
        Scheduling slot. With the default ``'start'``, the operation at time
        ``t`` sees the pairings of all spikes *before* ``t`` and none at ``t``:
        the reward at ``k * period`` closes trial ``k - 1``. The reward for the
        last trial of a run of ``n * period`` therefore needs the run to last
        one more time step (or a call to :func:`apply_reward` after the run).
    order : int
        Order within the slot (to run after an operation that sets ``reward``).
    name : str, optional
        Name of the operation.
    consume : bool
        If true, set ``c = 0`` after each reward: every reward then sees only
        the pairings since the previous one (trial-based protocols); the default
        keeps the Izhikevich (2007) behaviour (``c`` keeps decaying).

    Returns
    -------
    CodeRunner
        The operation (already part of ``synapses``; keep it to deactivate it).
    """
    _, modulation = _modulation_of(synapses)
    period = check_time("period", period)
    steps = float(period / synapses.clock.dt)
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise ValueError(
            f"period must be a whole number of time steps "
            f"(dt = {synapses.clock.dt}), got {period}"
        )
    code = synapses.plasticity_rule.bounds.update(modulation.reward_delta(reward))
    if consume:
        code += "\nc = 0"
    return synapses.run_regularly(code, dt=period, when=when, order=order, name=name)


def eligibility_at(synapses, t: Quantity | None = None) -> np.ndarray:
    r"""Eligibility trace of every synapse decayed to time ``t``.

    Parameters
    ----------
    synapses : Synapses
        Made by :func:`make_plastic_synapses` with a :class:`RewardModulation`.
    t : Quantity (time), optional
        Default: the current time of the synapses' clock (end of the last run).
        Must not precede any synapse's ``lastupdate``.

    Returns
    -------
    numpy.ndarray, shape (n_synapses,), unit-less
        :math:`c\, e^{-(t - t_{last})/\tau_c}`.
    """
    _, modulation = _modulation_of(synapses)
    if t is None:
        t_s = float(synapses.clock.t / second)
    elif isinstance(t, Quantity) and get_dimensions(t) is second.dim:
        t_s = float(t / second)
    else:
        raise TypeError(f"t must be a Brian2 time Quantity, got {t!r}")
    last = np.asarray(synapses.lastupdate[:] / second)
    if np.any(t_s < last):
        raise ValueError("t precedes the last update of some synapses")
    tau_c = float(modulation.tau_c / second)
    return np.asarray(synapses.c[:]) * np.exp(-(t_s - last) / tau_c)


def apply_reward(synapses, reward, t: Quantity | None = None) -> None:
    r"""Apply a reward from Python, between runs (tests and analysis).

    Same update as :func:`add_reward_operation`, done with NumPy on the
    runtime arrays: :math:`w \leftarrow \mathrm{clip}(w + \eta\, r\, c(t),
    w_{min}, w_{max})` (scaled by the weight dependence's factor of the sign). Protocols should deliver rewards in-network instead.

    Parameters
    ----------
    synapses : Synapses
        Made by :func:`make_plastic_synapses` with a :class:`RewardModulation`.
    reward : float or array of shape (n_synapses,), unit-less
        Reward ``r``.
    t : Quantity (time), optional
        Reward time (default: current time of the synapses' clock).
    """
    rule, modulation = _modulation_of(synapses)
    reward = np.asarray(reward, dtype=float)
    c_t = eligibility_at(synapses, t)
    delta = modulation.eta * reward * c_t
    synapses.w[:] = rule.bounds.apply(np.asarray(synapses.w[:]), delta)
