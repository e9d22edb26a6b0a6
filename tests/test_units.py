"""Parsing quantities written as text."""
import pytest
from brian2 import Hz, Mohm, mV, ms, nA, second

from bioSNN.units import format_quantity, parse_quantity


@pytest.mark.parametrize("text, expected, unit", [
    ("10 ms", 10 * ms, ms), ("10ms", 10 * ms, ms), ("-65 mV", -65 * mV, mV),
    ("2 s", 2 * second, ms), ("0.1 nA", 0.1 * nA, nA), ("100 Mohm", 100 * Mohm, Mohm),
    ("0.02 /ms", 20 * Hz, Hz), ("1e-3 second", 1 * ms, ms), ("10 Hz", 10 * Hz, Hz),
])
def test_parse_valid(text, expected, unit):
    q = parse_quantity(text, unit)
    assert abs(float((q - expected) / unit)) < 1e-12


@pytest.mark.parametrize("text, unit, message", [
    ("10", ms, 'expected a time like "10 ms", got \'10\' with no unit'),
    ("5 mV", ms, "got '5 mV' (a voltage)"),
    (10, ms, "bare number 10 (add a unit)"),
    ("3 foo", ms, "unknown unit 'foo'"),
    ("ten ms", ms, "expected a time"),
    ("__import__('os') ms", ms, "expected a time"),
])
def test_parse_invalid(text, unit, message):
    with pytest.raises(ValueError) as err:
        parse_quantity(text, unit)
    assert message in str(err.value)


def test_format_roundtrip():
    for q, unit in [(10 * ms, ms), (-65 * mV, mV), (0.07 * nA, nA), (5 / second, 1 / second),
                    (0.02 / ms, 1 / ms)]:
        assert parse_quantity(format_quantity(q, unit), unit) == q
    assert format_quantity(-65 * mV, mV) == "-65 mV"
