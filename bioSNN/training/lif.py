"""Discrete-time LIF neuron with snnTorch's reset modes, learnable beta/threshold, refractoriness.

The pure function :func:`lif_step` is the core; :class:`Leaky` is a thin ``nn.Module``
holding beta and the threshold as buffers or learnable parameters. With
``refractory_steps = 0`` the neuron is ``snntorch.Leaky`` (snnTorch 1.0.0,
``reset_delay=True``) in each ``reset_mechanism``, step for step (tested in float64).
Time is in steps; ``beta = exp(-dt / tau_m)``; potentials share one arbitrary unit.

References
----------
J. K. Eshraghian et al. (2023) Training spiking neural networks using lessons from deep
learning. Proc. IEEE 111(9), 1016-1054 (snnTorch).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from .surrogates import ATan, Surrogate

__all__ = ["RESETS", "LIFParams", "LIFState", "lif_step", "lif_run", "Leaky"]

RESETS = ("subtract", "zero", "none")


@dataclass(frozen=True)
class LIFParams:
    """Parameters of the discrete-time LIF neuron.

    Parameters
    ----------
    beta : float
        Membrane decay factor per step, in [0, 1] (dimensionless).
    threshold : float
        Firing threshold, in the unit of the membrane potential.
    reset : {"subtract", "zero", "none"}
        What a spike does to the membrane on the next step (snnTorch's ``reset_mechanism``).
    refractory_steps : int
        Steps after a spike in which the neuron cannot fire and its membrane is held;
        0 (default) for none, as in snnTorch.
    surrogate : Surrogate
        Gradient of the spike; default ``ATan(2)``, snn.Leaky's default.
    """

    beta: float = 0.9
    threshold: float = 1.0
    reset: str = "subtract"
    refractory_steps: int = 0
    surrogate: Surrogate = field(default_factory=ATan)

    def __post_init__(self):
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"LIFParams.beta must be in [0, 1] (decay per step), got {self.beta}")
        if self.reset not in RESETS:
            raise ValueError(f"LIFParams.reset must be one of {', '.join(RESETS)}; "
                             f"got {self.reset!r}")
        if not isinstance(self.refractory_steps, int) or self.refractory_steps < 0:
            raise ValueError(f"LIFParams.refractory_steps must be an integer >= 0, "
                             f"got {self.refractory_steps!r}")
        if not isinstance(self.surrogate, Surrogate):
            raise TypeError(f"LIFParams.surrogate must be a Surrogate (see get_surrogate), "
                            f"got {type(self.surrogate).__name__}")


class LIFState(NamedTuple):
    """``mem``: membrane ``U[t]``; ``spk``: spikes ``S[t]``; ``refractory``: steps in which
    the neuron stays refractory (int64). All of the shape of the input."""

    mem: torch.Tensor
    spk: torch.Tensor
    refractory: torch.Tensor

    @classmethod
    def rest(cls, like: torch.Tensor) -> "LIFState":
        """The resting state (all zeros) for an input shaped like ``like``."""
        zeros = torch.zeros_like(like)
        return cls(zeros, zeros, torch.zeros_like(like, dtype=torch.int64))


def lif_step(current: torch.Tensor, state: LIFState | None, p: LIFParams,
             beta: torch.Tensor | None = None, threshold: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, LIFState]:
    """Advance a population of LIF neurons by one step.

    Parameters
    ----------
    current : torch.Tensor
        Input ``I[t]``, any shape.
    state : LIFState or None
        State after step ``t - 1``; ``None`` for rest.
    p : LIFParams
        Neuron parameters.
    beta, threshold : torch.Tensor, optional
        Values overriding ``p.beta`` / ``p.threshold``, e.g. learnable ``nn.Parameter``\\ s
        (scalar or broadcastable to ``current``); ``beta`` is clamped to [0, 1] on every
        step, as snnTorch does.

    Returns
    -------
    spk : torch.Tensor
        Spikes ``S[t]``, 0 or 1, dtype of ``current``.
    state : LIFState
        State after step ``t``.

    Notes
    -----
    With :math:`R = \\mathrm{sg}(S[t-1])` (the previous spike, detached from the graph
    as in snnTorch), the update before refractoriness is

    .. math::

        \\text{subtract:}\\quad \\tilde U &= \\beta U[t-1] + I[t] - \\theta R \\\\
        \\text{zero:}\\quad \\tilde U &= \\beta (1 - R)\\, U[t-1] + I[t] \\\\
        \\text{none:}\\quad \\tilde U &= \\beta U[t-1] + I[t]

    and :math:`S[t] = H(\\tilde U - \\theta)` with the surrogate's gradient, in snnTorch's
    order of operations. With ``refractory_steps = r > 0``, a spike starts ``r`` refractory
    steps in which the neuron does not fire and its membrane is held (no leak, no input;
    the reset is still applied: :math:`U[t] = U[t-1] - \\theta R`, :math:`(1-R)U[t-1]` or
    :math:`U[t-1]`), as Brian2's ``refractory`` with ``(unless refractory)``. Without a
    refractory period the previous spike is :math:`H(U[t-1] - \\theta)`, which makes this
    ``snntorch.Leaky`` exactly.
    """
    if state is None:
        state = LIFState.rest(current)
    beta = p.beta if beta is None else beta.clamp(0, 1)
    threshold = p.threshold if threshold is None else threshold
    mem, reset = state.mem, state.spk.detach()
    if p.reset == "subtract":
        new = beta * mem + current - reset * threshold
    elif p.reset == "zero":
        new = beta * ((1 - reset) * mem) + current
    else:
        new = beta * mem + current
    if not p.refractory_steps:
        spk = p.surrogate(new - threshold)
        return spk, LIFState(new, spk, state.refractory)
    blocked = state.refractory > 0
    if p.reset == "subtract":
        held = mem - reset * threshold
    elif p.reset == "zero":
        held = (1 - reset) * mem
    else:
        held = mem
    new = torch.where(blocked, held, new)
    spk = p.surrogate(new - threshold) * (~blocked).to(new.dtype)
    refractory = torch.where(spk.detach() > 0, p.refractory_steps,
                             (state.refractory - 1).clamp(min=0))
    return spk, LIFState(new, spk, refractory)


def lif_run(current: torch.Tensor, p: LIFParams, state: LIFState | None = None,
            beta: torch.Tensor | None = None, threshold: torch.Tensor | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, LIFState]:
    """:func:`lif_step` over all steps of a time-first input.

    Parameters
    ----------
    current : torch.Tensor
        Input ``(T, ...)``.
    p, beta, threshold
        As :func:`lif_step`.
    state : LIFState, optional
        Initial state; rest by default.

    Returns
    -------
    spk, mem : torch.Tensor
        Spikes and membrane potentials ``(T, ...)``.
    state : LIFState
        State after the last step.
    """
    spikes, mems = [], []
    for t in range(current.shape[0]):
        spk, state = lif_step(current[t], state, p, beta, threshold)
        spikes.append(spk)
        mems.append(state.mem)
    return torch.stack(spikes), torch.stack(mems), state


class Leaky(nn.Module):
    """``nn.Module`` wrapper around :func:`lif_step`; the state is passed explicitly.

    Parameters
    ----------
    p : LIFParams
        Neuron parameters; ``p.beta`` and ``p.threshold`` are the initial values.
    learn_beta, learn_threshold : bool
        Make ``beta`` / ``threshold`` ``nn.Parameter``\\ s (else buffers), as snn.Leaky's
        ``learn_beta`` / ``learn_threshold``.
    dtype : torch.dtype, optional
        Their dtype (default: torch's default dtype). Give ``torch.float64`` for a float64
        model: ``.double()`` after construction keeps the float32-rounded value.
    """

    def __init__(self, p: LIFParams = LIFParams(), learn_beta: bool = False,
                 learn_threshold: bool = False, dtype: torch.dtype | None = None):
        super().__init__()
        self.p = p
        for name, value, learn in (("beta", p.beta, learn_beta),
                                   ("threshold", p.threshold, learn_threshold)):
            value = torch.tensor(float(value), dtype=dtype)
            if learn:
                setattr(self, name, nn.Parameter(value))
            else:
                self.register_buffer(name, value)

    def forward(self, current: torch.Tensor, state: LIFState | None = None
                ) -> tuple[torch.Tensor, LIFState]:
        """One step from ``state`` (rest if ``None``). See :func:`lif_step`."""
        return lif_step(current, state, self.p, self.beta, self.threshold)

    def extra_repr(self) -> str:
        p = self.p
        return (f"beta={p.beta}, threshold={p.threshold}, reset={p.reset!r}, "
                f"refractory_steps={p.refractory_steps}, surrogate={p.surrogate}")
