"""Learnable synaptic delays: a linear layer whose synapses each have a weight and a
continuous delay, the delay realised as a Gaussian kernel over integer delay taps (DCLS).

The pure functions :func:`gaussian_delay_kernel`, :func:`integer_delay_kernel` and
:func:`delayed_linear` are the core; :class:`DelayedLinear` is a thin ``nn.Module``
(learned or fixed delays, the kernel width ``sigma`` a buffer the trainer anneals with
:func:`sigma_schedule`, and a ``rounded`` mode with plain integer delays for inference).
Time is in steps; inputs are time first ``(T, B, n_in)`` as in the rest of
:mod:`bioSNN.training`. Manual: ``docs/delays.md``.

References
----------
I. Hammouamri, I. Khalfaoui-Hassani, T. Masquelier (2024) Learning delays in spiking
neural networks using dilated convolutions with learnable spacings. ICLR 2024
(arXiv:2306.17670).
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["gaussian_delay_kernel", "integer_delay_kernel", "delayed_linear", "sigma_schedule",
           "SCHEDULES", "DelayedLinear", "delay_recovery"]

SCHEDULES = ("exponential", "linear")


def _check_max_delay(max_delay) -> int:
    if isinstance(max_delay, bool) or not isinstance(max_delay, int) or max_delay < 1:
        raise ValueError(f"max_delay must be an integer >= 1 (number of delay taps, in steps), "
                         f"got {max_delay!r}")
    return max_delay


def gaussian_delay_kernel(delay: torch.Tensor, sigma, max_delay: int) -> torch.Tensor:
    """Normalised Gaussian over the delay taps ``k = 0 .. max_delay-1`` of every synapse.

    Parameters
    ----------
    delay : torch.Tensor
        Continuous delays :math:`d_{ij}` in steps, any shape ``S``.
    sigma : float or torch.Tensor
        Kernel width in steps, > 0 (scalar, or broadcastable to ``delay``).
    max_delay : int
        Number of taps ``K``.

    Returns
    -------
    torch.Tensor
        ``g`` of shape ``S + (K,)``, each row summing to 1.

    Notes
    -----
    .. math::

        g_{ij}(k) = \\frac{\\exp(-(k - d_{ij})^2 / 2\\sigma^2)}
                         {\\sum_{k'=0}^{K-1} \\exp(-(k' - d_{ij})^2 / 2\\sigma^2)}

    Normalising over the taps (rather than using the continuous Gaussian's
    :math:`1/\\sqrt{2\\pi}\\sigma`) keeps the synapse's total gain equal to its weight
    whatever ``sigma`` and however near ``d`` is to the ends of the tap range, so the
    weight and the delay stay separate (DCLS normalises the same way). It is computed as
    a softmax over the taps, which stays finite as ``sigma -> 0``: the kernel becomes the
    one-hot of the nearest tap, :func:`integer_delay_kernel` of ``round(d)``.
    """
    max_delay = _check_max_delay(max_delay)
    sigma = torch.as_tensor(sigma, dtype=delay.dtype, device=delay.device)
    if not bool(torch.all(sigma > 0)):
        raise ValueError(f"sigma must be > 0 (kernel width in steps), got {sigma.tolist()}")
    taps = torch.arange(max_delay, dtype=delay.dtype, device=delay.device)
    logits = -(taps - delay.unsqueeze(-1)) ** 2 / (2 * sigma.unsqueeze(-1) ** 2)
    return torch.softmax(logits, dim=-1)


def integer_delay_kernel(delay: torch.Tensor, max_delay: int) -> torch.Tensor:
    """One-hot kernel of the integer delays ``round(delay)`` clamped to ``[0, K-1]``.

    ``torch.round`` rounds halves to even. Returns shape ``delay.shape + (K,)``, the
    dtype of ``delay`` (float) or float32 for an integer ``delay``.
    """
    max_delay = _check_max_delay(max_delay)
    dtype = delay.dtype if delay.is_floating_point() else torch.get_default_dtype()
    idx = torch.round(delay.to(dtype)).clamp(0, max_delay - 1).long()
    return nn.functional.one_hot(idx, max_delay).to(dtype)


def delayed_linear(x: torch.Tensor, weight: torch.Tensor, kernel: torch.Tensor,
                   bias: torch.Tensor | None = None) -> torch.Tensor:
    """Causal delayed linear map of a time-first input, by a 1-D convolution over time.

    Parameters
    ----------
    x : torch.Tensor
        Input ``(T, B, n_in)``.
    weight : torch.Tensor
        Weights ``(n_out, n_in)``.
    kernel : torch.Tensor
        Delay kernel ``(n_out, n_in, K)``, ``kernel[j, i, k]`` the fraction of synapse
        ``i -> j`` delayed by ``k`` steps (:func:`gaussian_delay_kernel` or
        :func:`integer_delay_kernel`).
    bias : torch.Tensor, optional
        ``(n_out,)``.

    Returns
    -------
    torch.Tensor
        ``(T, B, n_out)``.

    Notes
    -----
    .. math:: y_j(t) = \\sum_{k=0}^{K-1} \\sum_i w_{ij}\\, g_{ij}(k)\\, x_i(t - k) + b_j,
              \\qquad x_i(t) = 0 \\text{ for } t < 0

    ``conv1d`` correlates, so the kernel is flipped along the taps and the input padded
    with ``K - 1`` zeros on the left (past), never on the right: the output at ``t``
    depends only on inputs up to ``t``.
    """
    if x.dim() != 3:
        raise ValueError(f"delayed_linear: x must be (T, B, n_in), got shape {tuple(x.shape)}")
    n_out, n_in = weight.shape
    if x.shape[-1] != n_in:
        raise ValueError(f"delayed_linear: x has {x.shape[-1]} inputs, weight expects {n_in}")
    if kernel.dim() != 3 or kernel.shape[:2] != weight.shape:
        raise ValueError(f"delayed_linear: kernel must be (n_out, n_in, K) = ({n_out}, {n_in}, "
                         f"K), got {tuple(kernel.shape)}")
    k = kernel.shape[-1]
    w = (weight.unsqueeze(-1) * kernel).flip(-1)                  # (n_out, n_in, K)
    xb = nn.functional.pad(x.permute(1, 2, 0), (k - 1, 0))       # (B, n_in, K-1+T)
    return nn.functional.conv1d(xb, w, bias).permute(2, 0, 1)    # (T, B, n_out)


def sigma_schedule(step: int, n_steps: int, sigma0: float, sigma_min: float,
                   kind: str = "exponential") -> float:
    """Kernel width after ``step`` of ``n_steps`` training steps.

    Parameters
    ----------
    step, n_steps : int
        ``0 <= step <= n_steps``, ``n_steps >= 1``.
    sigma0, sigma_min : float
        Width at the start and at the end, in steps; ``sigma0 >= sigma_min > 0``.
    kind : {"exponential", "linear"}
        ``exponential``: :math:`\\sigma = \\sigma_0 (\\sigma_{min}/\\sigma_0)^{s/N}`
        (geometric, the same factor per step); ``linear``:
        :math:`\\sigma = \\sigma_0 + (\\sigma_{min} - \\sigma_0)\\, s/N` (DCLS's schedule).

    Returns
    -------
    float
    """
    if kind not in SCHEDULES:
        raise ValueError(f"sigma_schedule: kind must be one of {', '.join(SCHEDULES)}, "
                         f"got {kind!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"sigma_schedule: n_steps must be an integer >= 1, got {n_steps!r}")
    if not 0 <= step <= n_steps:
        raise ValueError(f"sigma_schedule: step must be in [0, n_steps={n_steps}], got {step!r}")
    if not sigma_min > 0:
        raise ValueError(f"sigma_schedule: sigma_min must be > 0, got {sigma_min!r}")
    if not sigma0 >= sigma_min:
        raise ValueError(f"sigma_schedule: sigma0 must be >= sigma_min ({sigma_min}), "
                         f"got {sigma0!r}")
    f = step / n_steps
    if kind == "linear":
        return sigma0 + (sigma_min - sigma0) * f
    return sigma0 * math.exp(f * math.log(sigma_min / sigma0))


class DelayedLinear(nn.Module):
    """Linear layer with one weight and one delay per synapse (:func:`delayed_linear`).

    Parameters
    ----------
    n_in, n_out : int
        Inputs and outputs (>= 1).
    max_delay : int
        Delay taps ``K``: delays lie in ``[0, K-1]`` steps.
    learn_delays : bool
        True: ``delay`` is an ``nn.Parameter`` with the Gaussian kernel of width
        ``sigma`` (DCLS). False: ``delay`` is a buffer of integer values (the
        fixed-random-delay baseline: the same weights and the same number of delay values,
        only the weights learned), always used as one-hot integer delays.
    sigma : float
        Initial kernel width in steps (> 0); a buffer: set it with :meth:`set_sigma`.
    bias : bool
        Add a learnable bias per output.
    generator : torch.Generator, optional
        Draws the initial weights (uniform in :math:`\\pm 1/\\sqrt{n_{in}}`, as
        ``nn.Linear``) and delays (uniform in ``[0, K-1]``; integers when not learned).
    dtype : torch.dtype, optional

    Notes
    -----
    The delays are not clamped inside the forward pass (a clamp would zero their gradient
    at the ends); call :meth:`clamp_delays_` after each optimiser step, as DCLS does.
    ``rounded = True`` (or :meth:`rounded`) switches a learned layer to inference with the
    integer delays ``round(d)``.
    """

    def __init__(self, n_in: int, n_out: int, max_delay: int, *, learn_delays: bool = True,
                 sigma: float = 1.0, bias: bool = False,
                 generator: torch.Generator | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        for name, value in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"DelayedLinear.{name} must be an integer >= 1, got {value!r}")
        self.max_delay = _check_max_delay(max_delay)
        if not float(sigma) > 0:
            raise ValueError(f"DelayedLinear.sigma must be > 0 (steps), got {sigma!r}")
        dtype = dtype or torch.get_default_dtype()
        self.n_in, self.n_out, self.learn_delays = n_in, n_out, bool(learn_delays)
        bound = 1.0 / math.sqrt(n_in)
        w = (torch.rand(n_out, n_in, generator=generator, dtype=dtype) * 2 - 1) * bound
        self.weight = nn.Parameter(w)
        d = torch.rand(n_out, n_in, generator=generator, dtype=dtype) * (max_delay - 1)
        if self.learn_delays:
            self.delay = nn.Parameter(d)
        else:
            self.register_buffer("delay", torch.round(d))
        self.bias = nn.Parameter(torch.zeros(n_out, dtype=dtype)) if bias else None
        self.register_buffer("sigma", torch.tensor(float(sigma), dtype=dtype))
        self.rounded_mode = False

    def set_sigma(self, sigma: float) -> None:
        """Set the kernel width (steps, > 0), e.g. from :func:`sigma_schedule`."""
        if not float(sigma) > 0:
            raise ValueError(f"DelayedLinear.sigma must be > 0 (steps), got {sigma!r}")
        self.sigma.fill_(float(sigma))

    @torch.no_grad()
    def clamp_delays_(self) -> None:
        """Clamp the delays into ``[0, max_delay - 1]`` in place."""
        self.delay.clamp_(0, self.max_delay - 1)

    def rounded(self, on: bool = True) -> "DelayedLinear":
        """Use the integer delays ``round(d)`` (one-hot kernel) when ``on``; returns self."""
        self.rounded_mode = bool(on)
        return self

    def integer_delays(self) -> torch.Tensor:
        """``round(d)`` clamped to ``[0, K-1]``, int64 ``(n_out, n_in)``."""
        return torch.round(self.delay.detach()).clamp(0, self.max_delay - 1).long()

    def kernel(self) -> torch.Tensor:
        """The delay kernel ``(n_out, n_in, K)`` the forward pass uses."""
        if self.rounded_mode or not self.learn_delays:
            return integer_delay_kernel(self.delay.detach(), self.max_delay)
        return gaussian_delay_kernel(self.delay, self.sigma, self.max_delay)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(T, B, n_in) -> (T, B, n_out)``; see :func:`delayed_linear`."""
        return delayed_linear(x, self.weight, self.kernel(), self.bias)

    def extra_repr(self) -> str:
        return (f"n_in={self.n_in}, n_out={self.n_out}, max_delay={self.max_delay}, "
                f"learn_delays={self.learn_delays}, sigma={float(self.sigma):.3g}, "
                f"rounded={self.rounded_mode}")


def delay_recovery(learned, planted, tolerance: int = 1, common_shift: bool = False) -> float:
    """Fraction of synapses whose rounded learned delay is within ``tolerance`` steps of
    the planted one (numpy; ``learned`` and ``planted`` of one shape ``(n_out, n_in)``,
    in steps).

    ``common_shift = True`` first removes each output's median offset
    ``median_i(round(d_ji) - d*_ji)`` (rounded to a step): the comparison modulo a common
    shift of one neuron's delays, which a readout that does not see absolute time
    (e.g. the maximum over time) cannot determine.
    """
    import numpy as np

    learned = np.round(np.asarray(learned, dtype=float))
    planted = np.asarray(planted, dtype=float)
    if learned.shape != planted.shape or learned.ndim != 2:
        raise ValueError(f"delay_recovery: learned {learned.shape} and planted {planted.shape} "
                         f"must be one (n_out, n_in) shape")
    err = learned - planted
    if common_shift:
        err = err - np.round(np.median(err, axis=1, keepdims=True))
    return float(np.mean(np.abs(err) <= tolerance))
