"""Spike codes of filterbank levels, per channel: delta (onset/offset) or rate.

``delta``: :func:`bioSNN.training.encoders.delta_encode` per channel; its +1 events go to
an ON (onset) input and its -1 events to an OFF (offset) input, so ``C`` channels give
``2C`` inputs, and integrating ON - OFF reconstructs the level within the threshold.
``rate``: :func:`bioSNN.training.encoders.rate_encode`, one Bernoulli draw per frame with
probability equal to the level. Time-first torch tensors ``(T, ..., C)``.
"""
from __future__ import annotations

import torch

from ..training.encoders import delta_encode, rate_encode

__all__ = ["ENCODINGS", "delta_spikes", "rate_spikes", "encode", "n_inputs"]

ENCODINGS = ("delta", "rate")


def delta_spikes(level: torch.Tensor, threshold: float) -> torch.Tensor:
    """ON/OFF spikes of a level ``(T, ..., C)``: ``(T, ..., 2C)``, ON channels first.

    Notes
    -----
    With :math:`S` = ``delta_encode(level, threshold, initial=0)`` (reference starts at
    silence), ON :math:`= [S = +1]`, OFF :math:`= [S = -1]`, and
    :math:`\\vartheta \\sum_{s \\le t} (\\mathrm{ON} - \\mathrm{OFF})[s]` is the reference
    :math:`r[t]`, :math:`|\\ell[t] - r[t]| < \\vartheta` while the level moves by at most
    :math:`\\vartheta` per frame (``docs/training.md``).
    """
    s = delta_encode(level, threshold, initial=0.0)
    return torch.cat([(s > 0).to(level.dtype), (s < 0).to(level.dtype)], dim=-1)


def rate_spikes(level: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One Bernoulli spike per frame and channel, :math:`P = \\ell`: shape of ``level``."""
    return rate_encode(level, steps=1, generator=generator)[0]


def n_inputs(encoding: str, n_channels: int) -> int:
    """Number of spike inputs of ``n_channels`` channels under ``encoding``."""
    return 2 * n_channels if encoding == "delta" else n_channels


def encode(level: torch.Tensor, encoding: str, threshold: float = 0.1,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """Spikes of ``level`` under ``encoding`` (``"delta"``: threshold; ``"rate"``: generator)."""
    if encoding == "delta":
        return delta_spikes(level, threshold)
    if encoding == "rate":
        return rate_spikes(level, generator)
    raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
