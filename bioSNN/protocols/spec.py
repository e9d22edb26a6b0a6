"""Protocol specs: loading and validating TOML files, resolving quick mode and overrides.

A spec file in ``protocols/`` looks like::

    name = "lif-fi-curve"            # must equal the file name without .toml
    kind = "lif-fi-curve"            # a registered protocol kind (biosnn list)
    # module = "mypkg.protocols"     # optional: imported first, for a kind defined outside
    description = "f-I curve of the seed LIF neuron vs the analytic rate"
    seed = 0                         # default seed of `biosnn run`
    target = "numpy"                 # Brian2 target: numpy | cython | cpp_standalone

    [parameters]                     # any subset of the kind's parameters
    tau_m = "10 ms"
    n_currents = 41

    [quick]                          # overrides applied by --quick (tests, CI)
    n_currents = 11

    [runtime]                        # optional: measured wall time on the 2-core
    full = "5 s"                     # reference machine, warm caches (plans and
    quick = "3 s"                    # estimates of `biosnn pipeline` / `figures`)

Every problem (bad TOML, unknown key, missing/wrong unit, out-of-range value,
unknown kind) raises one :class:`~bioSNN.errors.SpecError` naming the file, the
field and what is expected.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..backend import TARGETS
from ..errors import SpecError, UnknownProtocolError
from ..seeding import SEED_MAX, is_valid_seed
from .schema import format_value, param_infos, parse_value

__all__ = ["ProtocolSpec", "load_spec", "parse_spec", "find_spec", "spec_dirs",
           "list_specs", "parse_override", "ParamConflict"]

_TOP_KEYS = {"name": str, "kind": str, "description": str, "seed": int, "target": str,
             "parameters": dict, "quick": dict, "runtime": dict, "module": str}
_REQUIRED = ("name", "kind", "description")


class ParamConflict(ValueError):
    """Raised by a parameters dataclass's ``check()`` when fields contradict each other."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        super().__init__(message)


@dataclass(frozen=True)
class ProtocolSpec:
    """An immutable, validated protocol specification.

    Attributes
    ----------
    name, kind, description : str
    seed : int
        Default seed.
    target : str or None
        Brian2 code-generation target (None for kinds that run no Brian2 simulation).
    params
        The kind's frozen parameters dataclass, fully resolved.
    quick : mapping
        The validated ``[quick]`` overrides (already applied when ``mode == "quick"``).
    source : str
        Where the spec was read from.
    mode : {"full", "quick"}
    overrides : mapping
        ``--set`` overrides applied on top (name -> canonical text).
    module : str or None
        The module that defines the kind, when it is not one of bioSNN's (imported
        before the kind is looked up).
    runtime : mapping
        Measured wall time in seconds per mode (``"full"``, ``"quick"``) on the
        reference machine, from the ``[runtime]`` table; empty when not measured.
    """

    name: str
    kind: str
    description: str
    seed: int
    target: str | None
    params: Any
    quick: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    source: str = "<spec>"
    mode: str = "full"
    overrides: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    runtime: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    module: str | None = None

    def expected_wall_time_s(self) -> float | None:
        """Measured wall time of this spec's mode (seconds), or None if not measured.
        Overrides can change it; it is an estimate for plans, not a promise."""
        return self.runtime.get(self.mode)

    def resolve(self, *, quick: bool = False, overrides: Mapping[str, Any] | None = None,
                target: str | None = None, seed: int | None = None) -> "ProtocolSpec":
        """A new spec with quick overrides, ``--set`` overrides, target and seed applied.

        ``overrides`` values may be raw strings (``"12 ms"``) or TOML values; they
        are validated like the file's ``[parameters]`` (source ``--set``).
        """
        params = self.params
        changes: dict[str, Any] = {}
        if quick and self.mode != "quick":
            changes.update(self.quick)
        parsed_over = {}
        infos = param_infos(type(params))
        for key, raw in _group_table_overrides(type(params), overrides or {}).items():
            base = changes.get(key, getattr(params, key)) if isinstance(raw, _TableDelta) else None
            value = _parse_param(type(params), key, raw, "--set", key, base=base)
            changes[key] = value
            if isinstance(raw, _TableDelta):
                table = format_value(infos[key], value)
                parsed_over.update({f"{key}.{sub}": table.get(sub) for sub in raw})
            else:
                parsed_over[key] = format_value(infos[key], value)
        if changes:
            params = _replace_params(params, changes, "--set" if overrides else self.source)
        if target is not None and target not in TARGETS:
            raise SpecError("--target", None, f"unknown Brian2 target {target!r}; "
                            f"choose one of {', '.join(TARGETS)}")
        if target is not None and self.target is None:
            raise SpecError("--target", None, f"protocol {self.name!r} (kind {self.kind!r}) "
                            f"runs no Brian2 simulation; leave out --target")
        if seed is not None and not is_valid_seed(seed):
            raise SpecError("--seed", None, f"expected a non-negative integer up to {SEED_MAX} "
                            f"(2**32-1), got {seed!r}")
        return dataclasses.replace(
            self, params=params, mode="quick" if quick else self.mode,
            target=target or self.target, seed=self.seed if seed is None else seed,
            overrides=MappingProxyType({**self.overrides, **parsed_over}))

    def identity(self) -> tuple:
        """What makes two runs the same run: name, kind, seed, Brian2 target and the
        resolved parameter table (not the mode label, the source or the runtime)."""
        return (self.name, self.kind, self.seed, self.target,
                tuple(sorted((k, _hashable(v)) for k, v in self.parameter_table().items())))

    def parameter_table(self) -> dict[str, Any]:
        """Parameter name -> TOML-ready value (quantities as "10 ms")."""
        infos = param_infos(type(self.params))
        return {k: format_value(info, getattr(self.params, k)) for k, info in infos.items()}

    def to_toml(self) -> str:
        """The resolved spec as TOML; it loads back with :func:`parse_spec`."""
        infos = param_infos(type(self.params))
        lines = [f"# resolved spec of {self.source} (mode: {self.mode})"]
        if self.overrides:
            lines.append("# --set " + " ".join(f"{k}={_toml_value(v)}" for k, v in self.overrides.items()))
        lines += [f"name = {_toml_value(self.name)}", f"kind = {_toml_value(self.kind)}",
                  *([f"module = {_toml_value(self.module)}"] if self.module else []),
                  f"description = {_toml_value(self.description)}",
                  f"seed = {self.seed}",
                  *([f"target = {_toml_value(self.target)}"] if self.target else []), "",
                  "[parameters]"]
        tables = []
        for key, value in self.parameter_table().items():
            doc = f"  # {infos[key].doc}" if infos[key].doc else ""
            if infos[key].is_table:
                if value is not None:
                    tables += ["", f"[parameters.{key}]" + doc, *_toml_table(value)]
                continue
            lines.append(f"{key} = {_toml_value(value)}{doc}")
        lines += tables
        if self.quick and self.mode != "quick":
            lines += ["", "[quick]"]
            tables = []
            for key, value in self.quick.items():
                formatted = format_value(infos[key], value)
                if infos[key].is_table:
                    if formatted is not None:
                        tables += ["", f"[quick.{key}]", *_toml_table(formatted)]
                    continue
                lines.append(f"{key} = {_toml_value(formatted)}")
            lines += tables
        if self.runtime:
            lines += ["", "[runtime]"]
            lines += [f'{mode} = "{seconds:g} s"' for mode, seconds in self.runtime.items()]
        return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    raise TypeError(f"cannot write {value!r} to TOML")


def _toml_table(table: Mapping[str, Any]) -> list[str]:
    return [f"{k} = {_toml_value(v)}" for k, v in table.items()]


def _hashable(value: Any):
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


class _TableDelta(dict):
    """``--set NAME.key=value`` entries of one table parameter: a change to its value."""


def _group_table_overrides(params_cls, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides with ``NAME.key`` entries gathered into one :class:`_TableDelta` per
    table parameter NAME (an error names a dotted key whose NAME is no table)."""
    infos = param_infos(params_cls)
    out: dict[str, Any] = {}
    for key, raw in overrides.items():
        head, dot, sub = key.partition(".")
        if not dot:
            if isinstance(out.get(key), _TableDelta):
                raise SpecError("--set", key, f"{key} is set whole and by key; use one")
            out[key] = raw
            continue
        if head not in infos or not infos[head].is_table:
            tables = [k for k, i in infos.items() if i.is_table]
            raise SpecError("--set", key, f"{head!r} is not a table parameter of this kind "
                            f"(tables: {', '.join(tables) or 'none'}); set plain "
                            f"parameters as name=value")
        if not sub:
            raise SpecError("--set", key, f"expected {head}.KEY=value")
        delta = out.setdefault(head, _TableDelta())
        if not isinstance(delta, _TableDelta):
            raise SpecError("--set", key, f"{head} is set whole and by key; use one")
        delta[sub] = raw
    return out


def _parse_param(params_cls, key: str, raw: Any, source: str, field_name: str,
                 base: Any = None):
    infos = param_infos(params_cls)
    if key not in infos:
        elsewhere = _kinds_with_parameter(key)
        hint = (f" ({key!r} is a parameter of kind {', '.join(elsewhere)}, not of this "
                f"protocol's kind)" if elsewhere else "")
        raise SpecError(source, field_name, f"unknown parameter {key!r}{hint}; valid "
                        f"parameters: {', '.join(infos)}")
    try:
        return parse_value(infos[key], raw, base=base)
    except ValueError as err:
        entry = getattr(err, "key", None)      # a table type's error names its entry
        if entry is not None:
            raise SpecError(source, f"{field_name}.{entry}" if entry else field_name,
                            err.detail) from None
        raise SpecError(source, field_name, str(err)) from None


def _kinds_with_parameter(key: str) -> list[str]:
    """Registered kinds that have a parameter ``key`` (for error messages)."""
    from .registry import get_kind, kind_names

    return [k for k in kind_names() if key in param_infos(get_kind(k).Params)]


def _replace_params(params, changes: dict, source: str):
    new = dataclasses.replace(params, **changes)
    _check_params(new, source)
    return new


def _check_params(params, source: str):
    check = getattr(params, "check", None)
    if check is not None:
        try:
            check()
        except ParamConflict as err:
            raise SpecError(source, f"parameters.{err.field}", str(err)) from None


def parse_spec(data: Mapping[str, Any], source: str = "<spec>") -> ProtocolSpec:
    """Validate a spec given as a mapping (the content of a TOML file)."""
    from .registry import get_kind, kind_names

    for key, value in data.items():
        if key not in _TOP_KEYS:
            raise SpecError(source, key, f"unknown key; valid top-level keys: {', '.join(_TOP_KEYS)}")
        want = _TOP_KEYS[key]
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            what = {str: "a string", int: "an integer", dict: "a table"}[want]
            raise SpecError(source, key, f"expected {what}, got {value!r}")
    for key in _REQUIRED:
        if key not in data:
            raise SpecError(source, key, "missing required key")
    kind = data["kind"]
    module = data.get("module")
    if module is not None:
        from .registry import import_kind_module

        try:
            import_kind_module(module)
        except Exception as err:  # ImportError, or the module itself failing to import
            raise SpecError(source, "module", f"cannot import {module!r} "
                            f"({type(err).__name__}: {err}); install it or put it on "
                            f"PYTHONPATH") from None
    try:
        proto_cls = get_kind(kind)
    except KeyError:
        where = (f"module {module!r} defines no protocol kind {kind!r}" if module else
                 f"unknown protocol kind {kind!r}")
        raise SpecError(source, "kind", f"{where}; known kinds: "
                        f"{', '.join(kind_names())} (a kind defined outside bioSNN needs "
                        f"the top-level key module = \"package.module\")") from None
    if proto_cls.uses_brian:
        target = data.get("target", "numpy")
        if target not in TARGETS:
            raise SpecError(source, "target", f"expected one of {', '.join(TARGETS)}, got "
                            f"{target!r}")
    elif data.get("target", "numpy") != "numpy":  # "numpy": written by bioSNN <= 0.1 runs
        raise SpecError(source, "target", f"kind {kind!r} runs no Brian2 simulation; remove "
                        f"the key")
    else:
        target = None
    seed = data.get("seed", 0)
    if not is_valid_seed(seed):
        raise SpecError(source, "seed", f"expected a non-negative integer up to {SEED_MAX} "
                        f"(2**32-1), got {seed}")
    params_cls = proto_cls.Params
    defaults = params_cls()          # a table in the file changes the kind's default table
    values = {k: _parse_param(params_cls, k, v, source, f"parameters.{k}",
                              base=getattr(defaults, k, None))
              for k, v in data.get("parameters", {}).items()}
    params = params_cls(**values)
    _check_params(params, source)
    quick = {k: _parse_param(params_cls, k, v, source, f"quick.{k}",
                          base=getattr(params, k, None))
             for k, v in data.get("quick", {}).items()}
    _check_params(dataclasses.replace(params, **quick), source + " [quick]")
    return ProtocolSpec(name=data["name"], kind=kind, description=data["description"],
                        seed=seed, target=target, params=params,
                        quick=MappingProxyType(quick), source=source, module=module,
                        runtime=MappingProxyType(_parse_runtime(data.get("runtime", {}), source)))


def _parse_runtime(table: Mapping[str, Any], source: str) -> dict[str, float]:
    from brian2 import second

    from ..units import parse_quantity

    out = {}
    for mode, raw in table.items():
        if mode not in ("full", "quick"):
            raise SpecError(source, f"runtime.{mode}", "unknown key; expected full or quick")
        try:
            out[mode] = float(parse_quantity(raw, second) / second)
        except (ValueError, TypeError) as err:
            raise SpecError(source, f"runtime.{mode}", f"expected a time like \"40 s\" or "
                            f"\"1500 s\" ({err})") from None
    return out


def load_spec(path: str | os.PathLike) -> ProtocolSpec:
    """Load and validate one spec file.

    Raises
    ------
    SpecError
        For unreadable files, invalid TOML and every invalid field.
    """
    path = Path(path)
    source = _display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(source, None, f"cannot read spec file ({err.strerror}); check that "
                        f"it is a readable file") from None
    except UnicodeDecodeError:
        raise SpecError(source, None, "not a text file (a spec is UTF-8 TOML)") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(source, None, f"not valid TOML: {err}") from None
    spec = parse_spec(data, source)
    if path.suffix == ".toml" and spec.name != path.stem and path.name != "spec.toml":
        raise SpecError(source, "name", f"must equal the file name {path.stem!r}, got {spec.name!r}")
    return spec


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def spec_dirs() -> list[Path]:
    """Folders searched for named specs: ``$BIOSNN_PROTOCOLS`` (os.pathsep-separated),
    then the ``protocols/`` folder of the bioSNN source tree."""
    dirs = [Path(p) for p in os.environ.get("BIOSNN_PROTOCOLS", "").split(os.pathsep) if p]
    dirs.append(Path(__file__).resolve().parents[2] / "protocols")
    return dirs


def list_specs() -> dict[str, Path]:
    """Name -> path of every spec file found (first folder wins)."""
    found: dict[str, Path] = {}
    for d in spec_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.toml")):
                found.setdefault(p.stem, p)
    return found


def find_spec(name: str) -> ProtocolSpec:
    """Load a spec by protocol name, or by path when ``name`` ends in ``.toml``."""
    if name.endswith(".toml") or os.sep in name:
        if Path(name).is_dir():
            raise UnknownProtocolError(f"spec file {name!r} is a folder; give the path of a "
                                       f".toml file in it, or a protocol name (`biosnn list`)")
        if not Path(name).is_file():
            raise UnknownProtocolError(f"spec file {name!r} does not exist")
        return load_spec(name)
    specs = list_specs()
    if name not in specs:
        known = ", ".join(specs) or "(none found)"
        raise UnknownProtocolError(f"unknown protocol {name!r}; known protocols: {known} "
                                   f"(see `biosnn list`)")
    return load_spec(specs[name])


def parse_override(text: str) -> tuple[str, Any]:
    """Split a ``--set key=value`` argument; the value is read as TOML when it parses
    (``5``, ``true``, ``"10 ms"``) and kept as text otherwise (``10ms``, ``10 ms``)."""
    if "=" not in text:
        raise SpecError("--set", None, f"expected key=value, got {text!r}")
    key, raw = (s.strip() for s in text.split("=", 1))
    key = key.removeprefix("parameters.")
    if not key or not raw:
        raise SpecError("--set", None, f"expected key=value, got {text!r}")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value
