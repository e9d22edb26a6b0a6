"""Shared pieces of the NEST parity tests: the same spike trains on both sides.

Trains are lists of whole 0.1 ms steps. NEST: ``spike_generator`` s drive
``parrot_neuron`` s through a 1 ms connection, taken off the generator times, so a
parrot emits at the train's times (minus ``shift_ms``); Brian2: a
``SpikeGeneratorGroup`` at the same times. Used by ``test_nest_parity_stp.py`` and
``test_nest_parity_dopamine.py`` (``benchmarks/nest_parity.py`` has its own copy, as a
standalone script).
"""
from __future__ import annotations

import numpy as np
from brian2 import SpikeGeneratorGroup, ms

DT_MS = 0.1            # NEST resolution = Brian2 dt
PARROT_DELAY_MS = 1.0  # generator -> parrot


def ms_of(q) -> float:
    """A Brian2 time as a float in ms (NEST's unit)."""
    return float(q / ms)


def relative(a, b, floor=0.0) -> np.ndarray:
    """``|a - b| / max(|b|, floor)``, element-wise."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(b), floor)


def nest_kernel():
    """Reset NEST (quiet) with resolution ``DT_MS``; returns the ``nest`` module."""
    import nest

    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.resolution = DT_MS
    return nest


def nest_parrots(trains, shift_ms: float = 0.0):
    """One parrot per train, emitting at ``step * DT_MS - shift_ms``."""
    import nest

    gens = nest.Create("spike_generator", len(trains))
    for gen, train in zip(gens, trains):
        times = np.asarray(train, dtype=float) * DT_MS - shift_ms - PARROT_DELAY_MS
        gen.set(spike_times=np.round(times, 6).tolist(), allow_offgrid_times=True)
    parrots = nest.Create("parrot_neuron", len(trains))
    nest.Connect(gens, parrots, "one_to_one", syn_spec={"delay": PARROT_DELAY_MS})
    return parrots


def spike_group(trains, shift_steps: int = 0) -> SpikeGeneratorGroup:
    """One Brian2 neuron per train, spiking at ``(step - shift_steps) * DT_MS``."""
    idx = np.concatenate([np.full(len(s), k) for k, s in enumerate(trains)]).astype(int)
    steps = np.concatenate([np.asarray(s, dtype=float) for s in trains]) - shift_steps
    return SpikeGeneratorGroup(len(trains), idx, steps * DT_MS * ms)
