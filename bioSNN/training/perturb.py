"""Input perturbations for robustness tests: pixel noise on images in [0, 1] and spike
deletion / jitter on binary spike trains ``(T, ...)``. Pure functions; all randomness
comes from the ``torch.Generator`` passed in.

Each function draws the same random numbers for every level of its strength (``sigma``
or ``p``) given a generator in the same state, so a sweep over levels with re-seeded
generators uses common random numbers (the perturbation at a larger level contains
the one at a smaller level where that makes sense). Manual: ``docs/robustness.md``.
"""
from __future__ import annotations

import torch

__all__ = ["gaussian_pixel_noise", "salt_and_pepper", "delete_spikes", "jitter_spikes"]


def _check_generator(generator, name):
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"{name}: needs a torch.Generator, got {type(generator).__name__}")


def gaussian_pixel_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``clip(x + sigma * z, 0, 1)`` with ``z ~ N(0, 1)`` independent per pixel.

    Parameters
    ----------
    x : torch.Tensor
        Pixel intensities in [0, 1], any shape (floating point).
    sigma : float
        Noise standard deviation (intensity units, >= 0); 0 returns ``x`` unchanged.
    generator : torch.Generator

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``x``, in [0, 1].
    """
    _check_generator(generator, "gaussian_pixel_noise")
    if not sigma >= 0:
        raise ValueError(f"gaussian_pixel_noise: sigma must be >= 0, got {sigma}")
    z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    return (x + sigma * z).clamp(0, 1)


def salt_and_pepper(x: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Each pixel, with probability ``p``, set to 0 or 1 with equal odds (else kept).

    Parameters
    ----------
    x : torch.Tensor
        Pixel intensities in [0, 1], any shape.
    p : float
        Probability in [0, 1] that a pixel is replaced; 0 returns ``x`` unchanged.
    generator : torch.Generator

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``x``.
    """
    _check_generator(generator, "salt_and_pepper")
    if not 0 <= p <= 1:
        raise ValueError(f"salt_and_pepper: p must be in [0, 1], got {p}")
    hit = torch.rand(x.shape, generator=generator) < p
    salt = torch.rand(x.shape, generator=generator) < 0.5
    return torch.where(hit, salt.to(x.dtype), x)


def delete_spikes(spikes: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Each spike removed independently with probability ``p``.

    Parameters
    ----------
    spikes : torch.Tensor
        0/1 (or bool) spike tensor, any shape.
    p : float
        Deletion probability in [0, 1]; 0 returns the spikes unchanged.
    generator : torch.Generator

    Returns
    -------
    torch.Tensor
        Same shape and dtype; the number of kept spikes is Binomial(n, 1 - p).
    """
    _check_generator(generator, "delete_spikes")
    if not 0 <= p <= 1:
        raise ValueError(f"delete_spikes: p must be in [0, 1], got {p}")
    keep = torch.rand(spikes.shape, generator=generator) >= p
    return spikes * keep.to(spikes.dtype) if spikes.dtype != torch.bool else spikes & keep


def jitter_spikes(spikes: torch.Tensor, sigma_steps: float,
                  generator: torch.Generator) -> torch.Tensor:
    """Every spike moved in time by ``round(N(0, sigma_steps))`` steps.

    Parameters
    ----------
    spikes : torch.Tensor
        0/1 (or bool) spike tensor ``(T, ...)``, time first.
    sigma_steps : float
        Standard deviation of the shift, in time steps (>= 0); 0 returns the spikes
        unchanged.
    generator : torch.Generator

    Returns
    -------
    torch.Tensor
        Same shape and dtype, still 0/1.

    Notes
    -----
    Spikes shifted outside ``[0, T)`` are dropped (not wrapped or clamped). Two spikes
    of one neuron that land on the same step merge into one (the output stays binary),
    so the count can only fall: by the edge losses and the collisions. Shifts are drawn
    per spike in the order of ``nonzero`` (time-major), one normal variate each.
    """
    _check_generator(generator, "jitter_spikes")
    if not sigma_steps >= 0:
        raise ValueError(f"jitter_spikes: sigma_steps must be >= 0, got {sigma_steps}")
    if spikes.dim() < 1:
        raise ValueError("jitter_spikes: spikes need a leading time axis (T, ...)")
    T = spikes.shape[0]
    flat = spikes.reshape(T, -1)
    t, i = flat.nonzero(as_tuple=True)
    shift = torch.round(sigma_steps * torch.randn(t.shape, generator=generator,
                                                  dtype=torch.float64)).to(torch.int64)
    t = t + shift
    inside = (t >= 0) & (t < T)
    out = torch.zeros_like(flat)
    out[t[inside], i[inside]] = 1
    return out.reshape(spikes.shape)
