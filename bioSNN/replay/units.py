"""The mapping between the embedder's unit-less membrane and biological units:
:class:`BioMapping` fixes the resting potential, the threshold (mV) and the step
duration, from which the mV scale and tau_m follow (equations in ``docs/replay.md``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, Quantity, mV, ms, second, volt

from ..params import check_quantity

__all__ = ["BioMapping"]


def _q(value: Quantity):
    return field(default_factory=lambda: value)


@dataclass(frozen=True)
class BioMapping:
    """Biological units of a replayed embedder.

    Parameters
    ----------
    E_L : Quantity
        Resting potential (voltage): the membrane value of ``U = 0``.
    V_th : Quantity
        Firing threshold (voltage): the membrane value of ``U = threshold``; above ``E_L``.
    dt : Quantity
        Duration of one embedder time step (time), > 0.
    threshold : float
        The embedder's unit-less threshold (``CSNNConfig.threshold``), > 0.

    Notes
    -----
    ``scale`` (mV per unit) multiplies every membrane value, weight and bias; the
    firing rate of a neuron that spikes ``n`` times in ``T`` steps is ``n / (T dt)``.
    """

    E_L: Quantity = _q(-65 * mV)
    V_th: Quantity = _q(-58 * mV)
    dt: Quantity = _q(1 * ms)
    threshold: float = 1.0

    def __post_init__(self):
        check_quantity("BioMapping", "E_L", self.E_L, mV)
        check_quantity("BioMapping", "V_th", self.V_th, mV)
        check_quantity("BioMapping", "dt", self.dt, ms, positive=True)
        if not self.V_th > self.E_L:
            raise ValueError(f"BioMapping.V_th ({self.V_th}) must lie above E_L ({self.E_L})")
        if not (isinstance(self.threshold, (int, float)) and self.threshold > 0):
            raise ValueError(f"BioMapping.threshold must be > 0, got {self.threshold!r}")

    @property
    def scale(self) -> Quantity:
        """Volts per unit of the embedder's membrane: ``(V_th - E_L) / threshold``."""
        return (self.V_th - self.E_L) / self.threshold

    def tau_m(self, beta: float) -> Quantity:
        """Membrane time constant of the decay factor ``beta`` per step: ``-dt / ln beta``."""
        if not 0 < beta < 1:
            raise ValueError(f"beta must lie in (0, 1) for a finite tau_m, got {beta}")
        return -self.dt / math.log(beta)

    def to_volt(self, u) -> Quantity:
        """Unit-less membrane values ``u`` (array) -> membrane potential ``E_L + s u``."""
        return self.E_L + np.asarray(u, dtype=float) * self.scale

    def to_units(self, v: Quantity) -> np.ndarray:
        """Membrane potential (Quantity, volt) -> unit-less values ``(v - E_L) / s``."""
        check_quantity("BioMapping.to_units", "v", v, volt)
        return np.asarray((v - self.E_L) / self.scale, dtype=float)

    def rate(self, counts, n_steps: int) -> Quantity:
        """Spike counts over ``n_steps`` steps -> firing rates (Hz): ``n / (T dt)``."""
        return np.asarray(counts, dtype=float) / (n_steps * float(self.dt / second)) * Hz
