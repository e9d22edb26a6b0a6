"""Declaring a protocol kind's parameters: type, unit, range and documentation.

A protocol kind declares its parameters as a frozen dataclass whose fields are made
with :func:`param`. The spec loader uses these declarations to turn the strings of a
TOML file or of ``--set`` into checked values (Brian2 Quantities for physical ones),
and to say exactly what is wrong when one does not fit.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

from ..units import format_quantity, parse_quantity

__all__ = ["param", "ParamInfo", "param_infos", "parse_value", "format_value", "is_table_type",
           "SURROGATE_NAMES"]

#: Names of the surrogate gradients a spec may choose (``surrogate = "atan"``): the keys of
#: ``bioSNN.training.SURROGATES``, spelled out here so that reading a spec imports no
#: torch (tests/test_audio.py checks the two agree).
SURROGATE_NAMES = ("fast_sigmoid", "sigmoid", "atan", "triangle")


@dataclass(frozen=True)
class ParamInfo:
    """What a parameter accepts.

    Attributes
    ----------
    type : type
        ``float``, ``int``, ``bool``, ``str`` or ``Quantity``; or a *table type*, a
        class with ``from_table(raw, base=None)`` and ``to_table()`` (e.g.
        :class:`bioSNN.plasticity.PlasticityTable`), whose value is written as a
        nested TOML table ``[parameters.NAME]``.
    unit : Quantity or None
        For ``Quantity`` parameters: the unit its dimension comes from and in which
        it is written back ("10 ms").
    min, max : float or None
        Bounds, in ``unit`` for quantities.
    min_inclusive, max_inclusive : bool
        Whether the bounds themselves are allowed.
    choices : tuple or None
        Allowed values for ``str`` parameters.
    doc : str
        One line of documentation (shown by ``biosnn show``).
    """

    type: type
    unit: Quantity | None = None
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True
    choices: tuple | None = None
    doc: str = ""

    @property
    def is_table(self) -> bool:
        """Whether the value is a nested table (``[parameters.NAME]``)."""
        return is_table_type(self.type)

    def expectation(self) -> str:
        if self.is_table:
            return f"a table ([parameters.NAME] of {self.type.__name__})"
        if self.type is Quantity:
            text = f'a quantity in {self.unit!s}'
        elif self.type is int:
            text = "an integer"
        elif self.type is float:
            text = "a number"
        elif self.type is bool:
            text = "true or false"
        else:
            text = "one of " + ", ".join(map(repr, self.choices)) if self.choices else "a string"
        bounds = []
        if self.min is not None:
            bounds.append(f"{'>=' if self.min_inclusive else '>'} {self.min:g}")
        if self.max is not None:
            bounds.append(f"{'<=' if self.max_inclusive else '<'} {self.max:g}")
        if bounds:
            text += " " + " and ".join(bounds) + (f" {self.unit!s}" if self.unit is not None else "")
        return text


def param(default: Any, *, unit: Quantity | None = None, min: float | None = None,
          max: float | None = None, min_inclusive: bool = True, max_inclusive: bool = True,
          choices: tuple | None = None, doc: str = "", table: type | None = None):
    """A dataclass field for a protocol parameter.

    Parameters
    ----------
    default
        Default value: a Quantity (then ``unit`` defaults to its best unit), int,
        float, bool or str.
    unit : Quantity, optional
        Unit for a quantity parameter (its dimension is enforced).
    min, max : float, optional
        Bounds (for quantities, in ``unit``).
    min_inclusive, max_inclusive : bool
        Whether the bound is allowed (``min=0, min_inclusive=False`` means > 0).
    choices : tuple, optional
        Allowed strings.
    doc : str
        One-line description with the meaning of the parameter.
    table : type, optional
        A table type (see :class:`ParamInfo`): the parameter is a nested table and
        ``default`` an instance of it or ``None`` (no table: the protocol's own choice).
    """
    if table is not None:
        if not is_table_type(table):
            raise TypeError(f"{table!r} is not a table type (it needs from_table and to_table)")
        if default is not None and not isinstance(default, table):
            raise TypeError(f"param default {default!r} is not a {table.__name__}")
        info = ParamInfo(table, doc=doc)
        return field(default_factory=lambda: default, metadata={"bioSNN": info})
    if isinstance(default, Quantity) and not (get_dimensions(default) is DIMENSIONLESS and unit is None):
        ptype = Quantity
        unit = unit if unit is not None else default.get_best_unit()
        if get_dimensions(unit) != get_dimensions(default):
            raise TypeError(f"param default {default!r} does not have the dimensions of {unit!r}")
    elif isinstance(default, bool):
        ptype = bool
    elif isinstance(default, int):
        ptype = int
    elif isinstance(default, float):
        ptype = float
    elif isinstance(default, str):
        ptype = str
    else:
        raise TypeError(f"unsupported parameter default {default!r}")
    info = ParamInfo(ptype, unit, min, max, min_inclusive, max_inclusive,
                     tuple(choices) if choices else None, doc)
    return field(default_factory=lambda: default, metadata={"bioSNN": info})


def is_table_type(t) -> bool:
    """Whether ``t`` is a table type (``from_table`` and ``to_table``)."""
    return isinstance(t, type) and hasattr(t, "from_table") and hasattr(t, "to_table")


def param_infos(params_cls) -> dict[str, ParamInfo]:
    """The :class:`ParamInfo` of every field of a parameters dataclass, in order."""
    return {f.name: f.metadata["bioSNN"] for f in dataclasses.fields(params_cls)}


def parse_value(info: ParamInfo, raw: Any, base: Any = None):
    """Turn a raw TOML / command-line value into a checked parameter value.

    For a table parameter ``raw`` is the table and ``base`` the value it changes
    (``None``: a fresh table).

    Raises
    ------
    ValueError
        With a message that says what was expected.
    """
    if info.is_table:
        return info.type.from_table(raw, base=base)
    if info.type is Quantity:
        value = parse_quantity(raw, info.unit)
        number = float(value / info.unit)
    elif info.type is bool:
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            raw = raw.lower() == "true"
        if not isinstance(raw, bool):
            raise ValueError(f"expected true or false, got {raw!r}")
        return raw
    elif info.type is int:
        if isinstance(raw, str):
            try:
                raw = int(raw.strip())
            except ValueError:
                raise ValueError(f"expected an integer, got {raw!r}") from None
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"expected an integer, got {raw!r}")
        value = number = raw
    elif info.type is float:
        if isinstance(raw, str):
            try:
                raw = float(raw.strip())
            except ValueError:
                raise ValueError(f"expected a plain number, got {raw!r}") from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(f"expected a plain number, got {raw!r}")
        value = number = float(raw)
    else:
        if not isinstance(raw, str):
            raise ValueError(f"expected a string, got {raw!r}")
        if info.choices and raw not in info.choices:
            raise ValueError(f"expected one of {', '.join(map(repr, info.choices))}, got {raw!r}")
        return raw
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"expected a finite value, got {raw!r}")
    unit_txt = f" {info.unit!s}" if info.unit is not None else ""
    if info.min is not None and (number < info.min or (number == info.min and not info.min_inclusive)):
        op = ">=" if info.min_inclusive else ">"
        raise ValueError(f"must be {op} {info.min:g}{unit_txt}, got {raw!r}")
    if info.max is not None and (number > info.max or (number == info.max and not info.max_inclusive)):
        op = "<=" if info.max_inclusive else "<"
        raise ValueError(f"must be {op} {info.max:g}{unit_txt}, got {raw!r}")
    return value


def format_value(info: ParamInfo, value: Any):
    """The TOML-ready form of a parameter value ("10 ms" for quantities; a dict, or
    ``None`` when unset, for tables)."""
    if info.is_table:
        return None if value is None else value.to_table()
    if info.type is Quantity:
        return format_quantity(value, info.unit)
    return value
