"""Parameter checks shared by the plasticity parts (programming-API errors)."""
from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import numpy as np
from brian2 import Quantity, second
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions


def check_time(name: str, value: Any) -> Quantity:
    """Return ``value`` as a scalar time Quantity > 0, or raise naming ``name``."""
    if not isinstance(value, Quantity) or get_dimensions(value) is not second.dim:
        raise TypeError(
            f"{name} must be a Brian2 time Quantity such as 20*ms, got {value!r}"
        )
    if np.size(value) != 1:
        raise ValueError(f"{name} must be a scalar, got {value!r}")
    if not (np.isfinite(float(value)) and float(value) > 0):
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return Quantity(float(value), dim=second.dim)


def check_number(name: str, value: Any, *, minimum: float | None = None) -> float:
    """Return ``value`` as a float (unit-less), or raise naming ``name``."""
    if isinstance(value, Quantity) and get_dimensions(value) is not DIMENSIONLESS:
        raise TypeError(f"{name} must be unit-less, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number, Quantity)):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if np.size(value) != 1:
        raise ValueError(f"{name} must be a scalar, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and number < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return number


def check_fields(params, times=(), numbers=(), nonnegative=()) -> None:
    """Check and normalise the fields of a frozen dataclass in place."""
    for name in times:
        object.__setattr__(params, name, check_time(name, getattr(params, name)))
    for name in numbers:
        minimum = 0 if name in nonnegative else None
        object.__setattr__(params, name, check_number(name, getattr(params, name),
                                                      minimum=minimum))


def hash_of(params) -> int:
    """Hash of a parameter dataclass whose fields are numbers or scalar Quantities.

    Brian2 Quantities are unhashable NumPy arrays; hashing their float values
    (SI) keeps the frozen parameter parts usable as dict keys.
    """
    values = tuple(float(getattr(params, f.name)) for f in fields(params))
    return hash((type(params).__name__,) + values)
