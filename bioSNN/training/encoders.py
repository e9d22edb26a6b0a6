"""Torch spike encoders: rate (Bernoulli / Poisson), latency, delta modulation, population.

Spike tensors are time-first, ``(T, *shape)``, with values 0/1 (delta: -1/0/+1) in the
dtype of the input. Random encoders take an explicit ``torch.Generator`` and never touch
the global RNG. The Brian2-side generators (``(indices, times)`` for a
``SpikeGeneratorGroup``) are in :mod:`bioSNN.encoding`.

References
----------
J. K. Eshraghian et al. (2023) Training spiking neural networks using lessons from deep
learning. Proc. IEEE 111(9), 1016-1054 (snnTorch ``spikegen``).
S. M. Bohte, J. N. Kok, H. La Poutre (2002) Error-backpropagation in temporally encoded
networks of spiking neurons. Neurocomputing 48, 17-37 (Gaussian receptive fields).
"""
from __future__ import annotations

import torch

__all__ = ["rate_encode", "poisson_encode", "latency_times", "latency_encode",
           "delta_encode", "delta_decode", "population_encode"]


def _check_generator(fn: str, generator) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{fn}: generator must be a torch.Generator (the run's torch stream), "
                        f"got {type(generator).__name__}")


def _check_steps(fn: str, steps) -> None:
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"{fn}: steps must be a positive integer, got {steps!r}")


def rate_encode(x: torch.Tensor, steps: int, generator: torch.Generator,
                gain: float = 1.0, offset: float = 0.0) -> torch.Tensor:
    """Bernoulli rate code: in every step each input fires with probability ``p``.

    Parameters
    ----------
    x : torch.Tensor
        Intensities, any shape (typically in [0, 1]).
    steps : int
        Number of time steps ``T``.
    generator : torch.Generator
        Source of randomness (on the device of ``x``).
    gain, offset : float
        ``p = clip(gain * x + offset, 0, 1)``, as ``snntorch.spikegen.rate``.

    Returns
    -------
    torch.Tensor
        Spikes ``(T, *x.shape)``, dtype of ``x``.

    Notes
    -----
    .. math:: S[t, i] \\sim \\mathrm{Bernoulli}(p_i) \\ \\text{i.i.d. over } t, i,
              \\qquad p_i = \\min(1, \\max(0, g x_i + o))

    The spike count per input over ``T`` steps is Binomial(T, p): the discrete-time
    version of a Poisson process of rate ``p`` per step. Same distribution as
    ``snntorch.spikegen.rate(x, num_steps=T, gain=g, offset=o)`` (tested).
    """
    _check_generator("rate_encode", generator)
    _check_steps("rate_encode", steps)
    p = (x * gain + offset).clamp(0.0, 1.0)
    return torch.bernoulli(p.expand((steps,) + tuple(x.shape)).contiguous(), generator=generator)


def poisson_encode(rate_hz: torch.Tensor, steps: int, dt_ms: float,
                   generator: torch.Generator) -> torch.Tensor:
    """Poisson spike trains of given rates, binned at one spike per step at most.

    Parameters
    ----------
    rate_hz : torch.Tensor
        Firing rates in Hz (>= 0), any shape.
    steps : int
        Number of time steps ``T``.
    dt_ms : float
        Step length in ms.
    generator : torch.Generator
        Source of randomness.

    Returns
    -------
    torch.Tensor
        Spikes ``(T, *rate_hz.shape)``.

    Notes
    -----
    A step holds a spike when the Poisson process has at least one event in it:

    .. math:: P(S[t, i] = 1) = 1 - e^{-r_i\\, \\Delta t}
    """
    if not dt_ms > 0:
        raise ValueError(f"poisson_encode: dt_ms must be > 0, got {dt_ms}")
    if (rate_hz < 0).any():
        raise ValueError("poisson_encode: rates must be >= 0 Hz")
    return rate_encode(-torch.expm1(-rate_hz * (dt_ms * 1e-3)), steps, generator)


def latency_times(x: torch.Tensor, steps: int, tau: float = 1.0, threshold: float = 0.01,
                  first_spike_time: int = 0, normalize: bool = False, linear: bool = False,
                  epsilon: float = 1e-7) -> torch.Tensor:
    """Spike time (in steps, real-valued) of each input of a latency code.

    Parameters
    ----------
    x : torch.Tensor
        Intensities in [0, 1], any shape.
    steps : int
        Number of time steps ``T`` (used by ``normalize``).
    tau : float
        Time constant in steps; > 0. Ignored when ``normalize`` with ``linear``.
    threshold : float
        In (0, 1): inputs below it get the latest time.
    first_spike_time : int
        Earliest spike time ``t_0`` in steps, in [0, T-1].
    normalize : bool
        Stretch the times so that the latest is ``T - 1``.
    linear : bool
        Linear code instead of the default logarithmic (RC-charging) one.
    epsilon : float
        Log code: inputs are clipped to ``threshold + epsilon`` first.

    Returns
    -------
    torch.Tensor
        Spike times ``t_i`` (steps), shape of ``x``; brighter inputs have earlier times.

    Notes
    -----
    As ``snntorch.spikegen.latency_code`` (same operations, so the same rounding).
    Logarithmic code: the time an RC circuit driven by ``x`` takes to charge to
    ``threshold``,

    .. math:: t_i = \\tau \\ln\\frac{x_i}{x_i - \\vartheta} + t_0,
              \\quad x_i \\leftarrow \\max(x_i, \\vartheta + \\epsilon)

    and with ``normalize``, :math:`t_i \\leftarrow (t_i - t_0)(T - t_0 - 1)/\\max_j (t_j -
    t_0) + t_0`, the maximum taken over the whole tensor (not per sample), as snnTorch.
    Linear code (``normalize`` sets :math:`\\tau = T - 1 - t_0`):

    .. math:: t_i = \\min(\\tau(1 - x_i),\\ \\tau(1 - \\vartheta)) + t_0
    """
    _check_steps("latency_times", steps)
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"latency_times: intensities must lie in [0, 1], got "
                         f"[{float(x.min())}, {float(x.max())}]")
    if not 0 < threshold < 1:
        raise ValueError(f"latency_times: threshold must lie in (0, 1), got {threshold}")
    if not tau > 0:
        raise ValueError(f"latency_times: tau must be > 0, got {tau}")
    if not 0 <= first_spike_time <= steps - 1:
        raise ValueError(f"latency_times: first_spike_time must lie in [0, steps-1="
                         f"{steps - 1}], got {first_spike_time}")
    if linear:
        if normalize:
            tau = steps - 1 - first_spike_time
        return torch.clamp_max(-tau * (x - 1), -tau * (threshold - 1)) + first_spike_time
    x = torch.clamp(x, threshold + epsilon)
    t = tau * torch.log(x / (x - threshold))
    if first_spike_time > 0:
        t += first_spike_time
    if normalize:
        t = (t - first_spike_time) * (steps - first_spike_time - 1) / torch.max(
            t - first_spike_time) + first_spike_time
    return t


def latency_encode(x: torch.Tensor, steps: int, tau: float = 1.0, threshold: float = 0.01,
                   first_spike_time: int = 0, normalize: bool = False, linear: bool = False,
                   clip: bool = False, epsilon: float = 1e-7) -> torch.Tensor:
    """Latency code: each input fires once, at its :func:`latency_times` rounded to a step.

    Parameters
    ----------
    x, steps, tau, threshold, first_spike_time, normalize, linear, epsilon
        As :func:`latency_times`.
    clip : bool
        Inputs below ``threshold`` do not fire at all (instead of firing last).

    Returns
    -------
    torch.Tensor
        Spikes ``(T, *x.shape)``, dtype of ``x``: one spike per input at step
        ``round(t_i)`` (round half to even, as ``torch.round``).

    Raises
    ------
    ValueError
        If a spike time rounds beyond ``T - 1`` (use ``normalize`` or a smaller ``tau``),
        as snnTorch does without ``bypass``.

    Notes
    -----
    Identical output to ``snntorch.spikegen.latency`` with the same options (tested).
    """
    t = latency_times(x, steps, tau, threshold, first_spike_time, normalize, linear, epsilon)
    step = torch.round(t).long()
    if step.numel() and int(step.max()) > steps - 1:
        raise ValueError(f"latency_encode: latest spike at step {int(step.max())} is beyond "
                         f"steps-1={steps - 1}; use normalize=True or a smaller tau")
    out = torch.zeros((steps,) + tuple(x.shape), dtype=x.dtype, device=x.device)
    out.scatter_(0, step.unsqueeze(0), 1.0)
    if clip:
        out = out * (x >= threshold).to(x.dtype)
    return out


def delta_encode(x: torch.Tensor, threshold: float, initial: float | torch.Tensor | None = 0.0
                 ) -> torch.Tensor:
    """Delta modulation of a time series: ON/OFF spikes track a running reference.

    Parameters
    ----------
    x : torch.Tensor
        Signal ``(T, *shape)``, time first.
    threshold : float
        Step size :math:`\\vartheta` of the reference; > 0.
    initial : float or torch.Tensor or None
        Reference before the first step, :math:`r[-1]`; ``None`` starts at ``x[0]``.

    Returns
    -------
    torch.Tensor
        Spikes in {-1, 0, +1}, ``(T, *shape)``, dtype of ``x``.

    Notes
    -----
    .. math::

        S[t] &= \\mathrm{sign}(x[t] - r[t-1])\\ \\text{ if } |x[t] - r[t-1]| \\ge
                \\vartheta \\text{, else } 0 \\\\
        r[t] &= r[t-1] + \\vartheta\\, S[t]

    :func:`delta_decode` returns :math:`r`. If :math:`|x[0] - r[-1]| < 2\\vartheta` and
    the signal changes by at most :math:`\\vartheta` per step, then
    :math:`|x[t] - r[t]| < \\vartheta` at every step (one spike per step cannot follow a
    faster signal: slope overload). Unlike ``snntorch.spikegen.delta``, which compares
    consecutive samples :math:`x[t] - x[t-1]` and so cannot be decoded; the two agree when
    the signal moves on the grid :math:`\\vartheta\\mathbb{Z}` by at most one step at a
    time (tested), with ``initial=0`` (snnTorch ``padding=False``) or ``None``
    (``padding=True``) and ``off_spike=True``.
    """
    if not threshold > 0:
        raise ValueError(f"delta_encode: threshold must be > 0, got {threshold}")
    if x.dim() < 1:
        raise ValueError("delta_encode: x must have a leading time dimension (T, ...)")
    ref = x[0].clone() if initial is None else torch.as_tensor(
        initial, dtype=x.dtype, device=x.device).expand_as(x[0]).clone()
    out = torch.zeros_like(x)
    for t in range(x.shape[0]):
        diff = x[t] - ref
        s = (diff >= threshold).to(x.dtype) - (diff <= -threshold).to(x.dtype)
        out[t] = s
        ref = ref + threshold * s
    return out


def delta_decode(spikes: torch.Tensor, threshold: float,
                 initial: float | torch.Tensor = 0.0) -> torch.Tensor:
    """Reference signal :math:`r[t] = r[-1] + \\vartheta \\sum_{s \\le t} S[s]` of
    :func:`delta_encode` (pass ``initial=x[0]`` for an encoding made with ``None``)."""
    return initial + threshold * torch.cumsum(spikes, dim=0)


def population_encode(x: torch.Tensor, n_neurons: int, x_min: float = 0.0,
                      x_max: float = 1.0, sigma: float | None = None) -> torch.Tensor:
    """Population code: Gaussian receptive fields tiling ``[x_min, x_max]``.

    Parameters
    ----------
    x : torch.Tensor
        Values, any shape.
    n_neurons : int
        Neurons per value, ``n >= 2``; centres ``mu_j`` evenly spaced from ``x_min`` to
        ``x_max`` inclusive.
    x_min, x_max : float
        Range covered (``x_max > x_min``), in the unit of ``x``.
    sigma : float, optional
        Field width in the unit of ``x``; default the centre spacing
        ``(x_max - x_min) / (n - 1)``, so neighbouring fields cross at
        :math:`e^{-1/8} \\approx 0.88`.

    Returns
    -------
    torch.Tensor
        Activations in (0, 1], shape ``(*x.shape, n)``: feed them to :func:`rate_encode` or
        :func:`latency_encode` for spikes.

    Notes
    -----
    .. math:: a_j(x) = \\exp\\left(-\\frac{(x - \\mu_j)^2}{2\\sigma^2}\\right),
              \\qquad \\mu_j = x_{\\min} + j\\,\\frac{x_{\\max} - x_{\\min}}{n - 1}

    Bohte et al. (2002) place their centres slightly beyond the range and use
    :math:`\\sigma = \\Delta\\mu / 1.5`; here the centres end on the range limits.
    """
    if not isinstance(n_neurons, int) or n_neurons < 2:
        raise ValueError(f"population_encode: n_neurons must be an integer >= 2, got {n_neurons!r}")
    if not x_max > x_min:
        raise ValueError(f"population_encode: need x_max > x_min, got [{x_min}, {x_max}]")
    spacing = (x_max - x_min) / (n_neurons - 1)
    sigma = spacing if sigma is None else sigma
    if not sigma > 0:
        raise ValueError(f"population_encode: sigma must be > 0, got {sigma}")
    centres = x_min + spacing * torch.arange(n_neurons, dtype=x.dtype, device=x.device)
    return torch.exp(-((x.unsqueeze(-1) - centres) ** 2) / (2 * sigma ** 2))
