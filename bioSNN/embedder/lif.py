"""Discrete-time leaky integrate-and-fire neuron with a surrogate gradient.

A functional re-implementation of ``snntorch.Leaky`` (snnTorch 1.0.0) with its defaults
``reset_mechanism="subtract"`` and ``reset_delay=True``, and the fast-sigmoid surrogate
gradient of ``snntorch.surrogate.fast_sigmoid``. The pure function :func:`lif_step` is the
core; :class:`LIF` is a thin ``nn.Module`` wrapper holding the parameters.

Time is counted in steps of the embedder's abstract clock; ``beta`` is the per-step decay
factor, ``beta = exp(-dt / tau_m)`` for a membrane time constant ``tau_m`` and step ``dt``.
Membrane potential, threshold and input current share one arbitrary (dimensionless) unit.

References
----------
J. K. Eshraghian et al. (2023) Training spiking neural networks using lessons from deep
learning. Proc. IEEE 111(9), 1016-1054 (snnTorch).
F. Zenke, S. Ganguli (2018) SuperSpike: supervised learning in multilayer spiking neural
networks. Neural Computation 30(6), 1514-1541 (fast-sigmoid surrogate).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["LeakyParams", "LIF", "lif_step", "spike_fn"]


@dataclass(frozen=True)
class LeakyParams:
    """Parameters of the discrete-time LIF neuron.

    Parameters
    ----------
    beta : float
        Membrane decay factor per time step, in [0, 1] (dimensionless).
    threshold : float
        Firing threshold, in the (arbitrary) unit of the membrane potential; > 0.
    slope : float
        Steepness ``k`` of the fast-sigmoid surrogate gradient; > 0. snnTorch's own
        default is 25; the defaults here (beta 0.95, slope 5) are the seed CSNN's.
    """

    beta: float = 0.95
    threshold: float = 1.0
    slope: float = 5.0

    def __post_init__(self):
        # snnTorch clamps beta to [0, 1] on every step; we reject values outside instead.
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"LeakyParams.beta must be in [0, 1] (decay per step), got {self.beta}")
        if not self.threshold > 0.0:
            raise ValueError(f"LeakyParams.threshold must be > 0, got {self.threshold}")
        if not self.slope > 0.0:
            raise ValueError(f"LeakyParams.slope must be > 0 (surrogate steepness), got {self.slope}")


class _FastSigmoidSpike(torch.autograd.Function):
    """Heaviside step forward, fast-sigmoid derivative backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_output / (ctx.slope * x.abs() + 1.0) ** 2, None


def spike_fn(x: torch.Tensor, slope: float) -> torch.Tensor:
    """Spike nonlinearity with a fast-sigmoid surrogate gradient.

    Parameters
    ----------
    x : torch.Tensor
        Membrane potential minus threshold, any shape.
    slope : float
        Surrogate steepness ``k``.

    Returns
    -------
    torch.Tensor
        ``H(x)`` (1 where ``x > 0``, else 0), same shape and dtype as ``x``.

    Notes
    -----
    .. math::

        S = H(x), \\qquad \\frac{\\partial S}{\\partial x} := \\frac{1}{(k|x| + 1)^2}

    Unlike snnTorch, which returns float32 spikes whatever the input dtype, the spikes keep
    the dtype of ``x``.
    """
    return _FastSigmoidSpike.apply(x, slope)


def lif_step(
    current: torch.Tensor, mem: torch.Tensor, p: LeakyParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """Advance a population of LIF neurons by one time step.

    Parameters
    ----------
    current : torch.Tensor
        Input current ``I[t]``, any shape ``(B, ...)``.
    mem : torch.Tensor
        Membrane potential ``U[t-1]``, same shape as ``current`` (zeros at ``t = 0``).
    p : LeakyParams
        Neuron parameters.

    Returns
    -------
    spk : torch.Tensor
        Spikes ``S[t]`` (0 or 1), same shape and dtype as ``current``.
    mem : torch.Tensor
        Membrane potential ``U[t]``.

    Notes
    -----
    Subtractive reset, delayed by one step (a spike emitted at ``t - 1`` is subtracted at
    ``t``), as ``snntorch.Leaky`` with ``reset_mechanism="subtract", reset_delay=True``:

    .. math::

        U[t] &= \\beta U[t-1] + I[t] - \\theta\\, H(U[t-1] - \\theta) \\\\
        S[t] &= H(U[t] - \\theta)

    The reset term is detached from the graph (as in snnTorch); the gradient of ``S`` uses
    the fast-sigmoid surrogate (:func:`spike_fn`). The operations are done in snnTorch's
    order, so results agree bit for bit.
    """
    # snnTorch tests H(mem - threshold); ``mem > threshold`` is the same test in IEEE
    # arithmetic (a - b > 0 iff a > b) and saves one pass over the tensor.
    reset = (mem > p.threshold).to(mem.dtype)
    mem = p.beta * mem + current - reset * p.threshold
    spk = spike_fn(mem - p.threshold, p.slope)
    return spk, mem


class LIF(nn.Module):
    """``nn.Module`` wrapper around :func:`lif_step`; the state is passed explicitly.

    Parameters
    ----------
    p : LeakyParams
        Neuron parameters (fixed, not learned).
    """

    def __init__(self, p: LeakyParams = LeakyParams()):
        super().__init__()
        self.p = p

    def forward(
        self, current: torch.Tensor, mem: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step; ``mem=None`` starts from rest (zeros). See :func:`lif_step`."""
        if mem is None:
            mem = torch.zeros_like(current)
        return lif_step(current, mem, self.p)

    def extra_repr(self) -> str:
        return f"beta={self.p.beta}, threshold={self.p.threshold}, slope={self.p.slope}"
