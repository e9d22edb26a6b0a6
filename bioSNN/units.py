"""Parse and format physical quantities written as text ("10 ms", "-65 mV").

Spec files and ``--set`` overrides give quantities as strings; this module turns
them into Brian2 Quantities with a dimension check, and back into canonical text for
the resolved spec and for data-file attributes.
"""
from __future__ import annotations

import re

import brian2
from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension, get_dimensions

__all__ = ["parse_quantity", "format_quantity", "dimension_name", "UNIT_NAMES"]

# Every unit object Brian2 exports by name (ms, mV, nA, Mohm, Hz, ...).
UNIT_NAMES: dict[str, Quantity] = {
    name: obj for name, obj in vars(brian2.units).items()
    if isinstance(obj, Quantity) and not name.startswith("_")
}
UNIT_NAMES.update({name: obj for name, obj in vars(brian2.units.allunits).items()
                   if isinstance(obj, Quantity) and not name.startswith("_")})
UNIT_NAMES.setdefault("s", brian2.second)  # SI symbol for the second, common in spec files

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_UNIT_EXPR = r"(?:/\s*)?[A-Za-z_][A-Za-z_0-9]*(?:\s*(?:\*\*\s*-?\d+|[*/]\s*[A-Za-z_][A-Za-z_0-9]*))*"
_QUANTITY_RE = re.compile(rf"^\s*(?P<num>{_NUMBER})\s*(?P<unit>{_UNIT_EXPR})?\s*$")

_DIM_EXAMPLES = {
    "time": "10 ms", "voltage": "-65 mV", "current": "0.1 nA", "resistance": "100 Mohm",
    "frequency": "10 Hz", "conductance": "10 nS", "capacitance": "200 pF",
}


def dimension_name(dim: Dimension) -> str:
    """A readable name for a dimension ('time', 'voltage', ...)."""
    for name, example in _DIM_EXAMPLES.items():
        if get_dimensions(_evaluate_unit(example.split()[1])) == dim:
            return f"a {name}"
    return "a dimensionless number" if dim is DIMENSIONLESS else str(dim)


def _evaluate_unit(expr: str) -> Quantity:
    tokens = re.findall(r"[A-Za-z_][A-Za-z_0-9]*", expr)
    for tok in tokens:
        if tok not in UNIT_NAMES:
            raise ValueError(f"unknown unit {tok!r}")
    if expr.startswith("/"):
        expr = "1" + expr
    # The regex admits only unit names, numbers, '*', '/', '**': safe to evaluate.
    return eval(expr, {"__builtins__": {}}, UNIT_NAMES)  # noqa: S307


def parse_quantity(text: str | int | float, expected: Quantity | Dimension | None = None
                   ) -> Quantity:
    """Parse ``"10 ms"`` (or ``"10ms"``, ``"0.1 nA"``, ``"1/ms"``...) into a Quantity.

    Parameters
    ----------
    text : str or number
        A number followed by a Brian2 unit expression. A bare number is accepted only
        when ``expected`` is dimensionless.
    expected : Quantity or Dimension, optional
        The required dimensions.

    Raises
    ------
    ValueError
        With a message saying what was expected, e.g. ``expected a time like
        "10 ms", got "5 mV" (a voltage)``.
    """
    exp_dim = None if expected is None else (
        expected if isinstance(expected, Dimension) else get_dimensions(expected))
    want = "" if exp_dim is None else _expectation(exp_dim)
    if isinstance(text, bool):
        raise ValueError(f"expected {want or 'a quantity'}, got {text!r}")
    if isinstance(text, (int, float)):
        if exp_dim is None or exp_dim is DIMENSIONLESS:
            return Quantity(float(text))
        raise ValueError(f"expected {want}, got the bare number {text!r} (add a unit)")
    if not isinstance(text, str):
        raise ValueError(f"expected {want or 'a quantity string'}, got {text!r}")
    m = _QUANTITY_RE.match(text)
    if not m:
        raise ValueError(f"expected {want or 'a number with a unit'}, got {text!r}")
    value = float(m.group("num"))
    unit_text = m.group("unit")
    if unit_text:
        try:
            unit = _evaluate_unit(unit_text)
        except ValueError as err:
            raise ValueError(f"{err} in {text!r}; expected {want or 'a Brian2 unit such as ms, mV, nA, Hz'}") from None
        q = value * unit
    else:
        q = Quantity(value)
    if exp_dim is not None and get_dimensions(q) != exp_dim:
        got = dimension_name(get_dimensions(q))
        if not unit_text:
            raise ValueError(f"expected {want}, got {text!r} with no unit")
        raise ValueError(f"expected {want}, got {text!r} ({got})")
    return q


def _expectation(dim: Dimension) -> str:
    for name, example in _DIM_EXAMPLES.items():
        if get_dimensions(_evaluate_unit(example.split()[1])) == dim:
            return f'a {name} like "{example}"'
    if dim is DIMENSIONLESS:
        return "a plain number"
    return f"a quantity with dimensions {dim}"


def format_quantity(q: Quantity, unit: Quantity | None = None) -> str:
    """Canonical text for a quantity: ``"10 ms"``; with ``unit`` in that unit."""
    if unit is None:
        if get_dimensions(q) is DIMENSIONLESS:
            return repr(float(q))
        unit = q.get_best_unit()
    value = float(q / unit)
    # Brian2 writes powers as "s^-1"; "**" keeps the text parseable by parse_quantity
    return f"{value:.12g} {str(unit).replace('^', '**')}"
