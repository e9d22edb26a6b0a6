"""Spec loading and validation: every bad input is one SpecError naming file and field."""
from __future__ import annotations

import dataclasses
import textwrap

import pytest
from brian2 import Quantity, mV, ms

from bioSNN.errors import SpecError, UnknownProtocolError
from bioSNN.protocols import find_spec, kind_names, list_specs, load_spec, parse_spec
from bioSNN.protocols.schema import param, param_infos, parse_value
from bioSNN.protocols.spec import parse_override

GOOD = textwrap.dedent("""\
    name = "my-fi"
    kind = "lif-fi-curve"
    description = "test"
    seed = 3
    target = "numpy"

    [parameters]
    tau_m = "12 ms"
    n_currents = 5

    [quick]
    n_currents = 3
    """)


def write(tmp_path, text, name="my-fi"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def test_every_shipped_spec_loads_and_has_quick_mode():
    specs = list_specs()
    assert {"lif-fi-curve", "izhikevich-patterns"} <= set(specs)
    for name, path in specs.items():
        spec = load_spec(path)
        assert spec.name == name and spec.kind in kind_names() and spec.description
        assert spec.quick, f"{name} has no [quick] table"


def test_every_kind_roundtrips_through_resolved_toml():
    """Every shipped spec, full and quick, written as TOML loads back to equal parameters
    (the run folder's spec.toml is reloaded before figures are drawn)."""
    import tomllib

    for name, path in list_specs().items():
        for quick in (False, True):
            spec = load_spec(path).resolve(quick=quick)
            back = parse_spec(tomllib.loads(spec.to_toml()), f"{name} resolved")
            assert back.params == spec.params, name


def test_good_spec(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    assert spec.params.tau_m == 12 * ms and spec.params.n_currents == 5
    assert spec.params.V_th == -58 * mV  # default of the kind
    assert spec.seed == 3 and spec.mode == "full"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.params.tau_m = 1 * ms  # immutable
    quick = spec.resolve(quick=True)
    assert quick.params.n_currents == 3 and quick.mode == "quick"
    assert spec.params.n_currents == 5  # the original is unchanged


@pytest.mark.parametrize("edit, field, expected", [
    (('seed = 3', 'seed = 3\ncolour = "red"'), "colour", "unknown key"),
    (('tau_m = "12 ms"', 'tau_m = "12"'), "parameters.tau_m", 'expected a time like "10 ms"'),
    (('tau_m = "12 ms"', 'tau_m = 12'), "parameters.tau_m", "bare number 12 (add a unit)"),
    (('tau_m = "12 ms"', 'tau_m = "5 mV"'), "parameters.tau_m", "(a voltage)"),
    (('tau_m = "12 ms"', 'tau_m = "-5 ms"'), "parameters.tau_m", "must be > 0 ms"),
    (('tau_m = "12 ms"', 'taum = "12 ms"'), "parameters.taum", "unknown parameter 'taum'"),
    (('n_currents = 5', 'n_currents = 1'), "parameters.n_currents", "must be >= 2"),
    (('n_currents = 5', 'n_currents = 2.5'), "parameters.n_currents", "expected an integer"),
    (('n_currents = 3', 'n_currents = "x"'), "quick.n_currents", "expected an integer"),
    (('kind = "lif-fi-curve"', 'kind = "lif-fy-curve"'), "kind", "unknown protocol kind 'lif-fy-curve'"),
    (('target = "numpy"', 'target = "gpu"'), "target", "expected one of numpy, cython, cpp_standalone"),
    (('seed = 3', 'seed = -1'), "seed", "non-negative"),
    (('seed = 3', 'seed = "3"'), "seed", "expected an integer"),
    (('description = "test"\n', ''), "description", "missing required key"),
    (('name = "my-fi"', 'name = "other"'), "name", "must equal the file name 'my-fi'"),
    (('n_currents = 5', 'I_min = "2 nA"'), "parameters.I_max", "must be larger than I_min"),
])
def test_bad_spec_gives_one_clear_error(tmp_path, edit, field, expected):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert err.value.field == field
    assert expected in str(err.value)
    assert str(path.name) in str(err.value)


def test_invalid_toml_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match=r"my-fi\.toml: not valid TOML"):
        load_spec(write(tmp_path, GOOD + "\n[parameters\n"))


def test_probability_and_range_checks():
    @dataclasses.dataclass(frozen=True)
    class P:
        p_connect: float = param(0.1, min=0, max=1, doc="connection probability")
        tau: Quantity = param(10 * ms, unit=ms, min=0, min_inclusive=False)
        mode: str = param("a", choices=("a", "b"))

    infos = param_infos(P)
    with pytest.raises(ValueError, match="must be <= 1"):
        parse_value(infos["p_connect"], 1.5)
    with pytest.raises(ValueError, match="must be > 0 ms"):
        parse_value(infos["tau"], "0 ms")
    with pytest.raises(ValueError, match="expected one of 'a', 'b'"):
        parse_value(infos["mode"], "c")
    assert parse_value(infos["p_connect"], "0.5") == 0.5


def test_overrides_and_roundtrip(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    over = dict(parse_override(s) for s in ["tau_m=15ms", 'V_th="-55 mV"', "n_currents=4"])
    r = spec.resolve(overrides=over, seed=9, target="cython")
    assert r.params.tau_m == 15 * ms and r.params.V_th == -55 * mV and r.params.n_currents == 4
    assert r.seed == 9 and r.target == "cython"
    assert dict(r.overrides) == {"tau_m": "15 ms", "V_th": "-55 mV", "n_currents": 4}
    # the resolved spec written as TOML loads back to the same parameters
    back = parse_spec(__import__("tomllib").loads(r.to_toml()), "resolved")
    assert back.params == r.params and back.seed == 9 and back.target == "cython"


@pytest.mark.parametrize("text, message", [
    ("tau_m", "expected key=value"),
    ("tau_m=", "expected key=value"),
])
def test_bad_override_syntax(text, message):
    with pytest.raises(SpecError, match=message):
        parse_override(text)


def test_bad_override_value(tmp_path):
    spec = load_spec(write(tmp_path, GOOD))
    with pytest.raises(SpecError, match=r"--set: tau_m: expected a time"):
        spec.resolve(overrides={"tau_m": "3 mV"})
    with pytest.raises(SpecError, match="unknown parameter 'bogus'"):
        spec.resolve(overrides={"bogus": 1})


def test_unknown_protocol_lists_known_ones():
    with pytest.raises(UnknownProtocolError, match="known protocols: .*lif-fi-curve"):
        find_spec("no-such-protocol")


def test_protocol_search_path(tmp_path, monkeypatch):
    write(tmp_path, GOOD)
    monkeypatch.setenv("BIOSNN_PROTOCOLS", str(tmp_path))
    assert find_spec("my-fi").params.tau_m == 12 * ms
    assert "lif-fi-curve" in list_specs()  # the repository's specs are still found
