"""Read a class out of an output layer's spikes or membrane: count, first spike, max membrane.

Each decoder takes a time-first tensor ``(T, B, C)`` (steps, batch, classes) and returns
a :class:`Decoded` pair: the predicted class per sample and the per-class value it was
chosen from. Ties go to the lowest class index (``argmax``/``argmin`` order).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Decoded", "decode_count", "decode_first_spike", "decode_max_membrane",
           "first_spike_times"]


class Decoded(NamedTuple):
    """``prediction``: class index ``(B,)`` (int64); ``value``: per-class score ``(B, C)``."""

    prediction: torch.Tensor
    value: torch.Tensor


def _check(fn: str, x: torch.Tensor) -> None:
    if x.dim() != 3:
        raise ValueError(f"{fn}: expected a (T, B, C) tensor, got shape {tuple(x.shape)}")


def decode_count(spikes: torch.Tensor) -> Decoded:
    """Rate decoding: the class whose neuron fired most.

    Parameters
    ----------
    spikes : torch.Tensor
        Output spikes ``(T, B, C)``.

    Returns
    -------
    Decoded
        ``value`` = spike counts :math:`n_c = \\sum_t S[t, c]`; ``prediction`` =
        :math:`\\arg\\max_c n_c`.
    """
    _check("decode_count", spikes)
    counts = spikes.sum(dim=0)
    return Decoded(counts.argmax(dim=-1), counts)


def first_spike_times(spikes: torch.Tensor) -> torch.Tensor:
    """Step index of each neuron's first spike, ``inf`` for a neuron that never fires.

    Parameters
    ----------
    spikes : torch.Tensor
        Spikes ``(T, ...)``, time first.

    Returns
    -------
    torch.Tensor
        First-spike step :math:`t_c = \\min\\{t : S[t, c] \\ne 0\\}` (float), shape
        ``spikes.shape[1:]``.
    """
    steps = torch.arange(spikes.shape[0], device=spikes.device, dtype=torch.float64)
    steps = steps.reshape((-1,) + (1,) * (spikes.dim() - 1))
    dtype = spikes.dtype if spikes.is_floating_point() else torch.float32
    never = torch.full_like(steps, float("inf"))
    return torch.where(spikes != 0, steps, never).amin(dim=0).to(dtype)


def decode_first_spike(spikes: torch.Tensor) -> Decoded:
    """Latency decoding: the class whose neuron fired first.

    Parameters
    ----------
    spikes : torch.Tensor
        Output spikes ``(T, B, C)``.

    Returns
    -------
    Decoded
        ``value`` = first-spike steps (:func:`first_spike_times`, ``inf`` if silent);
        ``prediction`` = :math:`\\arg\\min_c t_c` (class 0 if no neuron fired).
    """
    _check("decode_first_spike", spikes)
    times = first_spike_times(spikes)
    return Decoded(times.argmin(dim=-1), times)


def decode_max_membrane(mem: torch.Tensor) -> Decoded:
    """Membrane decoding: the class whose membrane potential peaked highest.

    Parameters
    ----------
    mem : torch.Tensor
        Output membrane potentials ``(T, B, C)`` (often of non-spiking readout neurons).

    Returns
    -------
    Decoded
        ``value`` = :math:`\\max_t U[t, c]`; ``prediction`` = :math:`\\arg\\max_c` of it.
    """
    _check("decode_max_membrane", mem)
    peak = mem.amax(dim=0)
    return Decoded(peak.argmax(dim=-1), peak)
