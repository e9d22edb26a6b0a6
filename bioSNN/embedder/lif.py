"""Discrete-time leaky integrate-and-fire neuron with a surrogate gradient.

A functional re-implementation of ``snntorch.Leaky`` (snnTorch 1.0.0) with its defaults
``reset_mechanism="subtract"`` and ``reset_delay=True``, and by default the fast-sigmoid
surrogate gradient of ``snntorch.surrogate.fast_sigmoid`` (any surrogate of
:mod:`bioSNN.training.surrogates` by name: ``LeakyParams(surrogate="atan")``). The pure
function :func:`lif_step` is the core; :class:`LIF` is a thin ``nn.Module`` wrapper
holding the parameters.

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

from ..training.surrogates import SURROGATES, get_surrogate, spike

__all__ = ["LeakyParams", "LIF", "lif_step", "lif_sequence", "spike_fn"]


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
        Steepness ``k`` of the surrogate gradient; > 0. snnTorch's own fast-sigmoid
        default is 25; the defaults here (beta 0.95, slope 5) are the seed CSNN's.
    surrogate : str
        The surrogate's name in :data:`bioSNN.training.surrogates.SURROGATES`:
        ``"fast_sigmoid"`` (default, the seed's), ``"sigmoid"``, ``"atan"``,
        ``"triangle"``. It changes the backward pass only; the spikes are the same.
    """

    beta: float = 0.95
    threshold: float = 1.0
    slope: float = 5.0
    surrogate: str = "fast_sigmoid"

    def __post_init__(self):
        # snnTorch clamps beta to [0, 1] on every step; we reject values outside instead.
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"LeakyParams.beta must be in [0, 1] (decay per step), got {self.beta}")
        if not self.threshold > 0.0:
            raise ValueError(f"LeakyParams.threshold must be > 0, got {self.threshold}")
        if not self.slope > 0.0:
            raise ValueError(f"LeakyParams.slope must be > 0 (surrogate steepness), got {self.slope}")
        if self.surrogate not in SURROGATES:
            raise ValueError(f"LeakyParams.surrogate must be one of "
                             f"{', '.join(sorted(SURROGATES))}, got {self.surrogate!r}")

    @property
    def surrogate_fn(self):
        """The :class:`~bioSNN.training.surrogates.Surrogate` with this slope."""
        return get_surrogate(self.surrogate, self.slope)


def spike_fn(x: torch.Tensor, slope: float, surrogate: str = "fast_sigmoid") -> torch.Tensor:
    """Spike nonlinearity with a surrogate gradient (fast sigmoid by default).

    Parameters
    ----------
    x : torch.Tensor
        Membrane potential minus threshold, any shape.
    slope : float
        Surrogate steepness ``k``.
    surrogate : str
        Name of the surrogate (:func:`bioSNN.training.surrogates.get_surrogate`).

    Returns
    -------
    torch.Tensor
        ``H(x)`` (1 where ``x > 0``, else 0), same shape and dtype as ``x``.

    Notes
    -----
    .. math::

        S = H(x), \\qquad \\frac{\\partial S}{\\partial x} := \\frac{1}{(k|x| + 1)^2}
        \\quad \\text{(fast sigmoid)}

    One autograd function for every surrogate (:func:`bioSNN.training.surrogates.spike`);
    the fast sigmoid's backward is snnTorch's expression, bit for bit. Unlike snnTorch,
    which returns float32 spikes whatever the input dtype, the spikes keep the dtype of
    ``x``.
    """
    return spike(x, get_surrogate(surrogate, slope))


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
    the surrogate of ``p`` (:func:`spike_fn`; fast sigmoid by default). The operations are done in snnTorch's
    order, so results agree bit for bit.
    """
    # snnTorch tests H(mem - threshold); ``mem > threshold`` is the same test in IEEE
    # arithmetic (a - b > 0 iff a > b) and saves one pass over the tensor.
    reset = (mem > p.threshold).to(mem.dtype)
    mem = p.beta * mem + current - reset * p.threshold
    spk = spike(mem - p.threshold, p.surrogate_fn)
    return spk, mem


class _LIFSequence(torch.autograd.Function):
    """All ``T`` steps of :func:`lif_step` at once, with a hand-written backward pass."""

    @staticmethod
    def forward(ctx, current, steps, beta, threshold, slope, surrogate):
        constant = steps is not None
        T = steps if constant else current.shape[0]
        shape = tuple(current.shape if constant else current.shape[1:])
        mem = current.new_empty((T,) + shape)
        spk = current.new_empty((T,) + shape)
        for t in range(T):
            m = mem[t]
            drive = current if constant else current[t]
            if t == 0:
                m.copy_(drive)  # beta * 0 + I - 0 = I exactly
            else:
                # the operations of lif_step, in its order: (beta U + I) - theta S[t-1]
                torch.mul(mem[t - 1], beta, out=m)
                m.add_(drive)
                m.sub_(spk[t - 1], alpha=threshold)
            torch.gt(m, threshold, out=spk[t])
        ctx.save_for_backward(mem)
        ctx.beta, ctx.threshold, ctx.slope, ctx.constant = beta, threshold, slope, constant
        ctx.surrogate = surrogate
        ctx.set_materialize_grads(False)
        return spk, mem

    @staticmethod
    def backward(ctx, grad_spk, grad_mem):
        (mem,) = ctx.saved_tensors
        T, beta = mem.shape[0], ctx.beta
        g = None
        if grad_spk is not None and ctx.surrogate == "fast_sigmoid":  # in place, no copies
            surrogate = torch.sub(mem, ctx.threshold)
            surrogate.abs_().mul_(ctx.slope).add_(1.0).square_()
            g = torch.div(grad_spk, surrogate, out=surrogate)
        elif grad_spk is not None:  # dS/dU through the named surrogate's derivative
            g = get_surrogate(ctx.surrogate, ctx.slope).backward(
                torch.sub(mem, ctx.threshold), grad_spk)
        if grad_mem is not None:
            g = grad_mem.clone() if g is None else g.add_(grad_mem)
        if g is None:
            return None, None, None, None, None, None
        if ctx.constant:  # dL/dI = sum_t G[t] = sum_s (1 - beta^(s+1)) / (1 - beta) g[s]
            powers = torch.arange(1, T + 1, dtype=torch.float64)
            weight = (powers if beta == 1.0 else (1 - beta ** powers) / (1 - beta)).to(g.dtype)
            return torch.tensordot(weight, g, dims=1), None, None, None, None, None
        for t in range(T - 2, -1, -1):  # G[t] = g[t] + beta G[t+1]
            g[t].add_(g[t + 1], alpha=beta)
        return g, None, None, None, None, None


def lif_sequence(
    current: torch.Tensor, p: LeakyParams, steps: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Run a population of LIF neurons for all time steps at once.

    The same neuron as :func:`lif_step` (same operations in the same order, so the
    forward pass is bit-identical to ``T`` calls of :func:`lif_step` from rest), computed
    layer by layer: a tight loop of in-place operations without autograd bookkeeping,
    and a hand-written backward pass.

    Parameters
    ----------
    current : torch.Tensor
        Input current: ``(T, B, ...)``, one slice per step; or, with ``steps``, one
        constant current ``(B, ...)`` applied at every step.
    p : LeakyParams
        Neuron parameters.
    steps : int, optional
        Number of steps ``T`` for a constant ``current``.

    Returns
    -------
    spk : torch.Tensor
        Spikes ``S[t]`` (0 or 1), ``(T, B, ...)``.
    mem : torch.Tensor
        Membrane potentials ``U[t]``, ``(T, B, ...)``.

    Notes
    -----
    Forward as :func:`lif_step`. Backward, with the reset detached (as snnTorch) and
    :math:`\sigma'` the surrogate's derivative (fast sigmoid :math:`1/(k|x| + 1)^2` by
    default, computed in place), for upstream gradients
    :math:`\bar S[t], \bar U[t]`:

    .. math::

        g[t] &= \bar U[t] + \bar S[t]\, \sigma'(U[t] - \theta) \\
        G[t] &= g[t] + \beta\, G[t+1], \qquad G[T] = 0 \\
        \partial L / \partial I[t] &= G[t]

    and for a constant current :math:`\partial L/\partial I = \sum_t G[t] = \sum_s
    \frac{1 - \beta^{s+1}}{1 - \beta}\, g[s]` (one weighted sum, no recurrence). This
    equals autograd through the step loop up to float rounding (tested).
    """
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ValueError(f"lif_sequence: steps must be a positive integer, got {steps!r}")
    if steps is None and current.dim() < 1:
        raise ValueError("lif_sequence: current must have a leading time dimension (T, ...) "
                         "or pass steps= for a constant current")
    return _LIFSequence.apply(current, steps, float(p.beta), float(p.threshold), float(p.slope),
                              p.surrogate)


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
        extra = "" if self.p.surrogate == "fast_sigmoid" else f", surrogate={self.p.surrogate}"
        return f"beta={self.p.beta}, threshold={self.p.threshold}, slope={self.p.slope}{extra}"
