"""One seed, split into documented, independent random streams.

A run's integer ``seed`` is expanded with :class:`numpy.random.SeedSequence` into
three child sequences, in this fixed order:

=====  ===========  ===========================================================
child  stream       used for
=====  ===========  ===========================================================
0      ``brian2``   ``brian2.seed(...)``: randomness *inside* the simulation
                    (``rand()``, ``PoissonGroup``, ``PoissonInput``...)
1      ``numpy``    a ``numpy.random.Generator`` for Python-side randomness
                    (initial weights, pattern generation, trial order...)
2      ``torch``    a ``torch.Generator`` seed (weight init, episode sampling)
=====  ===========  ===========================================================

Nothing in bioSNN draws from a global RNG; every function that needs randomness
takes a generator argument. The same seed always gives the same streams.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SeedStreams", "SEED_MAX", "is_valid_seed"]

SEED_MAX = 2**32 - 1
"""Largest seed: seeds are stored as 64-bit integers in data.nc and summary tables, and
``0 ... 2**32-1`` is the range every stream (and Brian2's own ``seed``) accepts."""


def is_valid_seed(seed) -> bool:
    """True for an integer in ``0 ... SEED_MAX`` (bool is not a seed)."""
    return (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)
            and 0 <= seed <= SEED_MAX)


@dataclass(frozen=True)
class SeedStreams:
    """The random streams derived from one integer seed.

    Attributes
    ----------
    seed : int
        The run's seed (>= 0).
    brian2_seed : int
        Seed passed to ``brian2.seed`` (uint32 range).
    numpy_seed : int
        Seed of :meth:`numpy_rng`.
    torch_seed : int
        Seed for ``torch.Generator().manual_seed`` (int63 range).
    """

    seed: int
    brian2_seed: int
    numpy_seed: int
    torch_seed: int

    @classmethod
    def from_seed(cls, seed: int) -> "SeedStreams":
        if not is_valid_seed(seed):
            raise ValueError(f"seed must be a non-negative integer up to {SEED_MAX}, got {seed!r}")
        children = np.random.SeedSequence(int(seed)).spawn(3)
        b, n, t = (c.generate_state(2, dtype=np.uint32) for c in children)
        return cls(seed=int(seed),
                   brian2_seed=int(b[0]),
                   numpy_seed=int(n[0]) << 32 | int(n[1]),
                   torch_seed=(int(t[0]) << 31 | int(t[1]) >> 1))

    def numpy_rng(self) -> np.random.Generator:
        """A fresh ``numpy.random.Generator`` for the numpy stream."""
        return np.random.default_rng(self.numpy_seed)

    def torch_generator(self):
        """A fresh ``torch.Generator`` for the torch stream (imports torch lazily)."""
        import torch

        return torch.Generator().manual_seed(self.torch_seed)

    def seed_brian2(self) -> None:
        """Seed Brian2's in-simulation random numbers for the current device/target."""
        import brian2

        brian2.seed(self.brian2_seed)

    def as_dict(self) -> dict:
        return {"seed": self.seed, "brian2_seed": self.brian2_seed,
                "numpy_seed": self.numpy_seed, "torch_seed": self.torch_seed}
