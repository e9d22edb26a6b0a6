r"""Weight dependences: *how much* a timing term changes the weight.

A timing dependence asks to raise the weight by a term :math:`T_+ \ge 0` or to
lower it by :math:`T_- \ge 0`; the weight dependence scales the term by
:math:`f_\pm(w)` and clips to :math:`[w_{min}, w_{max}]` after every update:

.. math::

    w \leftarrow \mathrm{clip}(w + f_+(w)\, T_+), \qquad
    w \leftarrow \mathrm{clip}(w - f_-(w)\, T_-).

With :math:`\hat w = (w - w_{min}) / (w_{max} - w_{min})`:
additive :math:`f_\pm = 1` (Song et al. 2000); multiplicative
:math:`f_+ = 1 - \hat w,\ f_- = \hat w` (soft bounds on both sides: Gütig et al.
2003 with :math:`\mu = 1`, PyNN's ``MultiplicativeWeightDependence``); additive potentiation with
multiplicative depression :math:`f_+ = 1,\ f_- = \hat w` (van Rossum et al. 2000);
Gütig et al. (2003) :math:`f_+ = (1 - \hat w)^{\mu_+},\ f_- = \hat w^{\mu_-}`.
The amplitudes are therefore the changes at the "open" end (:math:`\hat w = 0`
for potentiation, :math:`\hat w = 1` for depression); PyNN's multiplicative
``A_plus`` is this one divided by :math:`w_{max} - w_{min}`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import check_fields, check_number, hash_of

__all__ = [
    "WeightDependence",
    "WeightBounds",
    "AdditiveWeights",
    "MultiplicativeWeights",
    "AdditivePotentiationMultiplicativeDepression",
    "GutigWeights",
]


class WeightDependence(ABC):
    """Interface of a weight dependence (subclass it to add your own).

    A subclass has the attributes ``w_min`` and ``w_max`` and gives the two
    factors twice: as Brian2 expressions of ``w`` (:attr:`factor_plus`,
    :attr:`factor_minus`, ``"1"`` for none) and as NumPy (:meth:`factors`,
    used by :func:`~bioSNN.plasticity.apply_reward`). The weight must start
    inside the bounds.
    """

    w_min: float
    w_max: float
    #: Brian2 expression of f_+(w), the factor of a potentiating term.
    factor_plus: str = "1"
    #: Brian2 expression of f_-(w), the factor of a depressing term.
    factor_minus: str = "1"

    @abstractmethod
    def factors(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """NumPy values of ``(f_+(w), f_-(w))``."""

    @abstractmethod
    def namespace(self) -> dict[str, Any]:
        """Constants used by the factor expressions (and ``w_min``, ``w_max``)."""

    @staticmethod
    def _scaled(factor: str, term: str) -> str:
        return term if factor == "1" else f"{factor} * ({term})"

    def potentiate(self, term: str) -> str:
        """Brian2 statement raising ``w`` by ``f_+(w) * term`` and clipping."""
        return f"w = clip(w + {self._scaled(self.factor_plus, term)}, w_min, w_max)"

    def depress(self, term: str) -> str:
        """Brian2 statement lowering ``w`` by ``f_-(w) * term`` and clipping."""
        return f"w = clip(w - {self._scaled(self.factor_minus, term)}, w_min, w_max)"

    def update(self, delta: str) -> str:
        """Brian2 statement for a *signed* change ``delta`` (reward delivery)."""
        if self.factor_plus == self.factor_minus:
            return f"w = clip(w + {self._scaled(self.factor_plus, delta)}, w_min, w_max)"
        return (f"w = clip(w + (int(({delta}) > 0) * ({self.factor_plus}) + "
                f"int(({delta}) <= 0) * ({self.factor_minus})) * ({delta}), w_min, w_max)")

    def apply(self, w: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """NumPy version of :meth:`update`: new weights for signed changes ``delta``."""
        f_plus, f_minus = self.factors(np.asarray(w, dtype=float))
        scaled = np.where(delta > 0, f_plus, f_minus) * delta
        return np.clip(w + scaled, self.w_min, self.w_max)


def _check_bounds(params) -> None:
    check_fields(params, numbers=("w_min", "w_max"))
    if not params.w_min < params.w_max:
        raise ValueError(
            f"w_min must be < w_max, got w_min={params.w_min}, w_max={params.w_max}"
        )


@dataclass(frozen=True)
class WeightBounds(WeightDependence):
    r"""Additive weight dependence: hard bounds, applied by clipping after every update.

    Parameters
    ----------
    w_min : float, unit-less
        Lower bound. Default 0.0.
    w_max : float, unit-less
        Upper bound, ``> w_min``. Default 2.0.

    Notes
    -----
    Every change of the (unit-less) weight ``w`` is followed by

    .. math:: w \leftarrow \min(\max(w + \Delta, w_{min}), w_{max}).

    Clipping after *every* update (not once at the end) makes the result
    depend on the order of the updates; see :class:`~bioSNN.plasticity.STDPRule`.
    """

    w_min: float = 0.0
    w_max: float = 2.0

    __hash__ = hash_of

    def __post_init__(self):
        _check_bounds(self)

    def factors(self, w):
        one = np.ones_like(w, dtype=float)
        return one, one

    def namespace(self) -> dict[str, Any]:
        return {"w_min": self.w_min, "w_max": self.w_max}


#: The additive weight dependence under its PyNN-style name.
AdditiveWeights = WeightBounds

_W_HAT = "(w - w_min) / (w_max - w_min)"
_ONE_MINUS_W_HAT = "(w_max - w) / (w_max - w_min)"


@dataclass(frozen=True)
class MultiplicativeWeights(WeightDependence):
    r"""Multiplicative (soft-bound) weight dependence, both directions.

    :math:`f_+ = (w_{max} - w)/(w_{max} - w_{min})`,
    :math:`f_- = (w - w_{min})/(w_{max} - w_{min})` (Gütig et al. 2003 with
    :math:`\mu_\pm = 1`; PyNN ``MultiplicativeWeightDependence``; NEST
    ``stdp_synapse`` with ``mu_plus = mu_minus = 1``). For the mixed rule of
    van Rossum et al. (2000) see :class:`AdditivePotentiationMultiplicativeDepression`. Parameters as :class:`WeightBounds`.
    """

    w_min: float = 0.0
    w_max: float = 2.0

    __hash__ = hash_of
    factor_plus = _ONE_MINUS_W_HAT
    factor_minus = _W_HAT

    def __post_init__(self):
        _check_bounds(self)

    def factors(self, w):
        w_hat = (w - self.w_min) / (self.w_max - self.w_min)
        return (self.w_max - w) / (self.w_max - self.w_min), w_hat

    def namespace(self) -> dict[str, Any]:
        return {"w_min": self.w_min, "w_max": self.w_max}


@dataclass(frozen=True)
class AdditivePotentiationMultiplicativeDepression(WeightDependence):
    r"""Additive potentiation, multiplicative depression (van Rossum et al. 2000).

    :math:`f_+ = 1`, :math:`f_- = (w - w_{min})/(w_{max} - w_{min})` (PyNN's
    weight dependence of the same name). Parameters as :class:`WeightBounds`.
    """

    w_min: float = 0.0
    w_max: float = 2.0

    __hash__ = hash_of
    factor_minus = _W_HAT

    def __post_init__(self):
        _check_bounds(self)

    def factors(self, w):
        return np.ones_like(w, dtype=float), (w - self.w_min) / (self.w_max - self.w_min)

    def namespace(self) -> dict[str, Any]:
        return {"w_min": self.w_min, "w_max": self.w_max}


@dataclass(frozen=True)
class GutigWeights(WeightDependence):
    r"""Power-law weight dependence of Gütig et al. (2003).

    Parameters
    ----------
    w_min, w_max : float, unit-less
        Bounds, as :class:`WeightBounds`. Defaults 0.0, 2.0.
    mu_plus, mu_minus : float, unit-less, >= 0
        Exponents of potentiation and depression: :math:`f_+ = (1-\hat w)^{\mu_+}`,
        :math:`f_- = \hat w^{\mu_-}`; 0 is additive, 1 multiplicative
        (NEST ``stdp_*_synapse`` ``mu_plus``/``mu_minus``). Defaults 0.4, 0.4.
    """

    w_min: float = 0.0
    w_max: float = 2.0
    mu_plus: float = 0.4
    mu_minus: float = 0.4

    __hash__ = hash_of
    factor_plus = f"({_ONE_MINUS_W_HAT}) ** mu_plus"
    factor_minus = f"({_W_HAT}) ** mu_minus"

    def __post_init__(self):
        _check_bounds(self)
        for name in ("mu_plus", "mu_minus"):
            object.__setattr__(self, name, check_number(name, getattr(self, name), minimum=0))

    def factors(self, w):
        span = self.w_max - self.w_min
        return ((self.w_max - w) / span) ** self.mu_plus, ((w - self.w_min) / span) ** self.mu_minus

    def namespace(self) -> dict[str, Any]:
        return {"w_min": self.w_min, "w_max": self.w_max,
                "mu_plus": self.mu_plus, "mu_minus": self.mu_minus}
