"""Frozen parameter sets with Brian2 units and named presets.

Every physical quantity is a Brian2 ``Quantity``; constructing a parameter set
checks the dimensions, so ``LIFParams(tau_m=10)`` (no unit) or
``LIFParams(tau_m=10*mV)`` (wrong unit) fails at once with a message naming the
field.

References
----------
Izhikevich, E. M. (2003). Simple model of spiking neurons. IEEE Transactions on
Neural Networks 14(6):1569-1572. (Presets RS, IB, CH, FS, LTS, TC, RZ: Fig. 2.)
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from brian2 import Quantity, amp, mV, Mohm, ms, second, volt, ohm
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

__all__ = ["LIFParams", "IzhikevichParams", "check_quantity"]


def _q(value: Quantity):
    """Dataclass default for a Quantity (an ndarray subclass, hence 'mutable')."""
    return field(default_factory=lambda: value)

_DIM_NAMES = {
    get_dimensions(second): "a time (e.g. 10*ms)",
    get_dimensions(volt): "a voltage (e.g. -65*mV)",
    get_dimensions(ohm): "a resistance (e.g. 100*Mohm)",
    get_dimensions(amp): "a current (e.g. 0.1*nA)",
    get_dimensions(1 / second): "a rate or inverse time (e.g. 0.02/ms)",
    DIMENSIONLESS: "a plain number",
}


def check_quantity(owner: str, name: str, value, like: Quantity, *, positive=False,
                   nonnegative=False) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``value`` has the dimensions of ``like``.

    Parameters
    ----------
    owner, name : str
        Used in the message: ``f"{owner}.{name}"``.
    value : Quantity
        The value to check.
    like : Quantity
        Any quantity with the expected dimensions.
    positive, nonnegative : bool
        Also require ``value > 0`` / ``value >= 0``.
    """
    expected = get_dimensions(like)
    if get_dimensions(value) != expected:
        what = _DIM_NAMES.get(expected, f"a quantity with dimensions {expected}")
        raise TypeError(f"{owner}.{name} must be {what}, got {value!r}")
    if positive and not float(value / like) * (1 if float(like) > 0 else -1) > 0:
        raise ValueError(f"{owner}.{name} must be > 0, got {value!r}")
    if nonnegative and float(value / like) * (1 if float(like) > 0 else -1) < 0:
        raise ValueError(f"{owner}.{name} must be >= 0, got {value!r}")


@dataclass(frozen=True)
class LIFParams:
    r"""Leaky integrate-and-fire neuron (current- and spike-driven).

    .. math::

        \tau_m \frac{dv}{dt} = E_L - v + R_m I, \qquad
        v \ge V_{th} \Rightarrow v \leftarrow V_r, \text{ clamped for } t_{ref}.

    Attributes
    ----------
    E_L : Quantity (volt)
        Resting (leak reversal) potential.
    V_th : Quantity (volt)
        Spike threshold.
    V_r : Quantity (volt)
        Reset potential; the membrane is held there during ``t_ref``.
    tau_m : Quantity (second)
        Membrane time constant.
    t_ref : Quantity (second)
        Absolute refractory period.
    R_m : Quantity (ohm)
        Membrane (input) resistance; turns an injected current into a voltage.

    Notes
    -----
    ``LIFParams.SEED`` is the seed report's neuron (rest -65 mV, threshold -58 mV,
    reset to rest, 10 ms, 5 ms refractory); its R_m = 100 MOhm (a typical cortical
    input resistance) puts the rheobase at (V_th - E_L) / R_m = 70 pA.
    """

    E_L: Quantity = _q(-65 * mV)
    V_th: Quantity = _q(-58 * mV)
    V_r: Quantity = _q(-65 * mV)
    tau_m: Quantity = _q(10 * ms)
    t_ref: Quantity = _q(5 * ms)
    R_m: Quantity = _q(100 * Mohm)

    SEED: ClassVar["LIFParams"]

    def __post_init__(self):
        for name in ("E_L", "V_th", "V_r"):
            check_quantity("LIFParams", name, getattr(self, name), mV)
        check_quantity("LIFParams", "tau_m", self.tau_m, ms, positive=True)
        check_quantity("LIFParams", "t_ref", self.t_ref, ms, nonnegative=True)
        check_quantity("LIFParams", "R_m", self.R_m, Mohm, positive=True)
        if not self.V_th > self.V_r:
            raise ValueError(f"LIFParams.V_th ({self.V_th!r}) must lie above V_r ({self.V_r!r})")

    @property
    def rheobase(self) -> Quantity:
        """Smallest constant current that makes the neuron fire, (V_th - E_L)/R_m."""
        return (self.V_th - self.E_L) / self.R_m

    def replace(self, **changes) -> "LIFParams":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


LIFParams.SEED = LIFParams()


@dataclass(frozen=True)
class IzhikevichParams:
    r"""Izhikevich (2003) simple model; v in mV, t in ms, spike cut-off at +30 mV.

    .. math::

        \frac{dv}{dt} = 0.04 v^2 + 5 v + 140 - u + I, \qquad
        \frac{du}{dt} = a (b v - u), \qquad
        v \ge 30\,\mathrm{mV} \Rightarrow v \leftarrow c,\ u \leftarrow u + d

    with the paper's numbers read in mV and ms. In Brian2 units ``a`` is a rate
    (1/ms), ``b`` is dimensionless, ``c`` and ``d`` are voltages (u is in mV) and the
    input ``I`` is expressed in mV (the paper's dimensionless current, per ms).

    Presets (Izhikevich 2003, Fig. 2): ``RS`` regular spiking, ``IB`` intrinsically
    bursting, ``CH`` chattering, ``FS`` fast spiking, ``LTS`` low-threshold spiking,
    ``TC`` thalamo-cortical, ``RZ`` resonator. Access as ``IzhikevichParams.RS`` or
    ``IzhikevichParams.preset("RS")``.
    """

    a: Quantity
    b: float
    c: Quantity
    d: Quantity
    v_peak: Quantity = _q(30 * mV)
    name: str = "custom"

    PRESETS: ClassVar[dict[str, "IzhikevichParams"]]
    RS: ClassVar["IzhikevichParams"]
    IB: ClassVar["IzhikevichParams"]
    CH: ClassVar["IzhikevichParams"]
    FS: ClassVar["IzhikevichParams"]
    LTS: ClassVar["IzhikevichParams"]
    TC: ClassVar["IzhikevichParams"]
    RZ: ClassVar["IzhikevichParams"]

    def __post_init__(self):
        check_quantity("IzhikevichParams", "a", self.a, 1 / ms, positive=True)
        if isinstance(self.b, Quantity) and not self.b.is_dimensionless:
            raise TypeError(f"IzhikevichParams.b must be a plain number, got {self.b!r}")
        object.__setattr__(self, "b", float(self.b))
        check_quantity("IzhikevichParams", "c", self.c, mV)
        check_quantity("IzhikevichParams", "d", self.d, mV)
        check_quantity("IzhikevichParams", "v_peak", self.v_peak, mV)

    @classmethod
    def preset(cls, name: str) -> "IzhikevichParams":
        """Return a named preset; a clear ``KeyError`` lists the valid names."""
        try:
            return cls.PRESETS[name.upper()]
        except KeyError:
            raise KeyError(f"unknown Izhikevich preset {name!r}; choose one of "
                           f"{', '.join(cls.PRESETS)}") from None

    def replace(self, **changes) -> "IzhikevichParams":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


_IZH_TABLE = {  # name: (a [1/ms], b, c [mV], d [mV]) -- Izhikevich 2003, Fig. 2
    "RS": (0.02, 0.2, -65.0, 8.0),
    "IB": (0.02, 0.2, -55.0, 4.0),
    "CH": (0.02, 0.2, -50.0, 2.0),
    "FS": (0.1, 0.2, -65.0, 2.0),
    "LTS": (0.02, 0.25, -65.0, 2.0),
    "TC": (0.02, 0.25, -65.0, 0.05),
    "RZ": (0.1, 0.26, -65.0, 2.0),
}
IzhikevichParams.PRESETS = {
    k: IzhikevichParams(a=a / ms, b=b, c=c * mV, d=d * mV, name=k)
    for k, (a, b, c, d) in _IZH_TABLE.items()
}
for _k, _p in IzhikevichParams.PRESETS.items():
    setattr(IzhikevichParams, _k, _p)
