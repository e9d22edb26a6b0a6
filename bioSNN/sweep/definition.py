"""What a sweep is: the swept parameters and their values, the seeds, the points
(the cartesian product), each a resolved spec."""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import SpecError
from ..seeding import SEED_MAX

__all__ = ["DEFAULT_RETRIES", "CONNECT_TIMEOUT_S", "parse_seeds", "parse_sweep_set", "SweepAxis",
           "SweepPoint", "Sweep", "define_sweep"]


DEFAULT_RETRIES = 2
"""Extra attempts of a point whose task raises (Dask ``retries=``)."""


CONNECT_TIMEOUT_S = 5.0
"""Seconds to wait for a ``--scheduler`` (and for it to have a worker) before giving up."""


_FIXED_COLUMNS = ("protocol", "seed", "status", "error", "run", "wall_time_s", "reused")


def parse_seeds(text: str | int | Iterable[int]) -> tuple[int, ...]:
    """Seeds from ``"0-9"`` (inclusive range), ``"0,3,5"``, ``"7"`` or a mix (``"0-4,9"``).

    Parameters
    ----------
    text : str, int or iterable of int

    Returns
    -------
    tuple of int
        In the given order; non-negative, without duplicates.

    Raises
    ------
    SpecError
        (source ``--seeds``) for anything else: empty items, negative numbers, a range
        whose end is below its start, duplicates.
    """
    def bad(why):
        return SpecError("--seeds", None, f"{why}; expected seeds like 0-9, 0,3,5 or 7, "
                         f"got {text!r}")

    if isinstance(text, bool):
        raise bad("not a seed")
    if isinstance(text, int):
        items: list[int] = [text]
    elif isinstance(text, str):
        items = []
        for part in text.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
            if not m:
                raise bad(f"cannot read {part!r}" if part else "empty item")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if hi < lo:
                raise bad(f"range {part!r} ends before it starts")
            if hi > SEED_MAX:
                raise bad(f"seeds must be at most {SEED_MAX} (2**32-1)")
            items.extend(range(lo, hi + 1))
    else:
        items = list(text)
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in items):
            raise bad("not all integers")
    if not items:
        raise bad("no seeds")
    if any(s < 0 for s in items):
        raise bad("seeds must be non-negative")
    if any(s > SEED_MAX for s in items):
        raise bad(f"seeds must be at most {SEED_MAX} (2**32-1)")
    dup = sorted({s for s in items if items.count(s) > 1})
    if dup:
        raise bad(f"seed {dup[0]} given twice")
    return tuple(items)


def parse_sweep_set(text: str) -> tuple[str, list[Any]]:
    """Split ``key=v1,v2,...`` into the key and its raw values.

    Each value is read like one ``biosnn run --set key=value``
    (:func:`bioSNN.protocols.spec.parse_override`: TOML when it parses — ``5``,
    ``0.01``, ``true``, ``"-55 mV"`` — text otherwise, e.g. ``10ms``). Values are
    separated by commas, so a value must not contain one.

    Raises
    ------
    SpecError
        (source ``--set``) for a missing ``=``, key or value, or an empty item.
    """
    from ..protocols.spec import parse_override

    if "=" not in text:
        raise SpecError("--set", None, f"expected key=value[,value...], got {text!r}")
    key, raw = (s.strip() for s in text.split("=", 1))
    if not key or not raw:
        raise SpecError("--set", None, f"expected key=value[,value...], got {text!r}")
    values = []
    for item in raw.split(","):
        if not item.strip():
            raise SpecError("--set", key.removeprefix("parameters."),
                            f"empty value in {raw!r} (values are separated by commas)")
        values.append(parse_override(f"{key}={item}")[1])
    return key.removeprefix("parameters."), values


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter.

    Attributes
    ----------
    name : str
        Parameter name.
    values : tuple
        Canonical values, as the resolved spec writes them (``"200 ms"`` for quantities,
        numbers, booleans or strings otherwise).
    unit : str or None
        Display unit of a quantity parameter (the spec's unit, e.g. ``"ms"``); None
        for plain numbers, booleans and strings.
    numbers : tuple of float or None
        Each value as a number in ``unit`` (None for booleans and strings).
    """

    name: str
    values: tuple
    unit: str | None
    numbers: tuple

    @property
    def column(self) -> str:
        """Table column holding the value as a number: ``<name>_<unit>`` for quantities
        (``tau_m_ms``), the parameter name itself otherwise."""
        if self.unit is None:
            return self.name
        return f"{self.name}_{re.sub(r'[^A-Za-z0-9_-]', '', self.unit.replace('**', ''))}"

    def as_dict(self) -> dict:
        return {"name": self.name, "values": list(self.values), "unit": self.unit,
                "column": self.column}


@dataclass(frozen=True)
class SweepPoint:
    """One protocol run of a sweep.

    Attributes
    ----------
    index : int
        Position in the sweep (row of the table).
    values : tuple of (name, value)
        Canonical value of each swept parameter.
    seed : int
    """

    index: int
    values: tuple
    seed: int


@dataclass(frozen=True)
class Sweep:
    """A validated sweep definition (see :func:`define_sweep`).

    Attributes
    ----------
    base : ProtocolSpec
        The protocol spec with quick mode and target applied, before any swept value.
    spec_data : mapping
        The spec file's content (what workers rebuild the spec from).
    quick : bool
    target : str or None
        ``--target`` (None: the spec's).
    axes : tuple of SweepAxis
    seeds : tuple of int
    """

    base: Any
    spec_data: Mapping[str, Any] = field(repr=False)
    quick: bool
    target: str | None
    axes: tuple
    seeds: tuple

    def points(self) -> list[SweepPoint]:
        """Cartesian product of the axes' values and the seeds (seeds innermost)."""
        combos = itertools.product(*[ax.values for ax in self.axes]) if self.axes else [()]
        names = [ax.name for ax in self.axes]
        out = []
        for combo in combos:
            for seed in self.seeds:
                out.append(SweepPoint(len(out), tuple(zip(names, combo)), seed))
        return out

    def spec_of(self, point: SweepPoint):
        """The resolved spec of one point (quick, target, swept values, seed)."""
        return _resolve(self.base, self.quick, self.target, dict(point.values), point.seed)

    def definition(self) -> dict:
        """The definition as plain data (``sweep.json`` without the id)."""
        return {
            "protocol": self.base.name, "kind": self.base.kind,
            "mode": "quick" if self.quick else "full", "target": self.base.target,
            "base_parameters": self.base.parameter_table(),
            "parameters": [ax.as_dict() for ax in self.axes],
            "seeds": list(self.seeds),
        }

    @property
    def sweep_id(self) -> str:
        """``<protocol>-<12 hex digits>``: a digest of :meth:`definition`; the same
        sweep always gets the same id (and folder)."""
        text = json.dumps(self.definition(), sort_keys=True, default=str)
        return f"{self.base.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    @property
    def n_points(self) -> int:
        return math.prod(len(ax.values) for ax in self.axes) * len(self.seeds)


def _spec_path(name: str) -> Path:
    from ..protocols.spec import list_specs

    if name.endswith(".toml") or os.sep in name:
        return Path(name)
    return list_specs()[name]


def _resolve(base, quick, target, overrides, seed):
    """Resolve one point's spec; a combination the protocol rejects (e.g. ``I_max``
    below ``I_min``) names the point."""
    try:
        return base.resolve(quick=quick, overrides=overrides or None, target=target, seed=seed)
    except SpecError as err:
        where = ", ".join(f"{k}={v}" for k, v in overrides.items())
        raise SpecError("--set", err.field, f"{err.message} (at {where})") from None


def define_sweep(name: str, sets: Sequence[str] = (), seeds: str | Iterable[int] | None = None,
                 *, quick: bool = False, target: str | None = None) -> Sweep:
    """Validate a sweep: protocol, ``--set key=v1,v2`` items, seeds, quick mode, target.

    Parameters
    ----------
    name : str
        Protocol name (``biosnn list``) or path to a spec ``.toml``.
    sets : sequence of str
        ``key=v1,v2,...`` items; each value is parsed and checked as the spec's
        parameter (unit, range), and every combination is checked by the protocol.
    seeds : str, iterable of int or None
        See :func:`parse_seeds`; None: the spec's seed.
    quick : bool
        Apply the spec's ``[quick]`` table.
    target : str, optional
        Brian2 target for every point (default: the spec's).

    Returns
    -------
    Sweep

    Raises
    ------
    BioSNNError
        Unknown protocol, unknown parameter, bad value or unit, a parameter given twice,
        a value given twice, bad seeds, a combination the protocol rejects.
    """
    from brian2 import Quantity

    from ..protocols.schema import format_value, param_infos, parse_value
    from ..protocols.spec import find_spec

    spec = find_spec(name)
    path = _spec_path(name)
    spec_data = tomllib.loads(path.read_text(encoding="utf-8"))
    base = spec.resolve(quick=quick, target=target)
    infos = param_infos(type(base.params))
    axes = []
    parsed_sets = [parse_sweep_set(item) for item in sets]
    table_firsts = {key: raws[0] for key, raws in parsed_sets if "." in key and raws}
    for key, raws in parsed_sets:
        if key in (ax.name for ax in axes):
            raise SpecError("--set", key, "given twice; list all its values in one --set "
                            "key=v1,v2,...")
        if "." in key:  # one entry of a table parameter (plasticity.tau_y)
            axes.append(_table_axis(base, key, raws, table_firsts))
            continue
        if key not in infos:
            raise SpecError("--set", key, f"unknown parameter {key!r}; valid parameters: "
                            f"{', '.join(infos)}")
        info = infos[key]
        values, numbers = [], []
        for raw in raws:
            try:  # checked alone here (type, unit, range); combinations below
                value = parse_value(info, raw)
            except ValueError as err:
                raise SpecError("--set", key, str(err)) from None
            canonical = format_value(info, value)
            if canonical in values:
                raise SpecError("--set", key, f"value {canonical!r} given twice")
            values.append(canonical)
            if info.type is Quantity:
                numbers.append(float(value / info.unit))
            else:
                numbers.append(float(value) if _is_number(value) else None)
        unit = str(info.unit).replace("^", "**") if info.type is Quantity else None
        axes.append(SweepAxis(key, tuple(values), unit, tuple(numbers)))
    seed_list = (base.seed,) if seeds is None else parse_seeds(seeds)
    sweep = Sweep(base=base, spec_data=spec_data, quick=quick, target=target,
                  axes=tuple(axes), seeds=seed_list)
    for point in sweep.points()[::len(seed_list)]:  # every combination must be a valid spec
        sweep.spec_of(point)
    return sweep


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _one_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return re.sub(r"\s*\n\s*", " | ", text)


def _table_axis(base, key: str, raws, table_firsts) -> "SweepAxis":
    """The axis of one entry of a table parameter: each value checked by resolving it
    with the first value of every other table entry swept (a timing selector, say)."""
    from brian2 import Quantity

    head, _, sub = key.partition(".")
    values, numbers, unit = [], [], None
    for raw in raws:
        resolved = base.resolve(overrides={**table_firsts, key: raw})   # SpecError: --set, key
        canonical = resolved.overrides[key]
        if canonical in values:
            raise SpecError("--set", key, f"value {canonical!r} given twice")
        values.append(canonical)
        value = dict(getattr(resolved.params, head).values).get(sub, canonical)
        if isinstance(value, Quantity) and not value.is_dimensionless:
            best = value.get_best_unit() if unit is None else unit
            unit = best
            numbers.append(float(value / best))
        else:
            numbers.append(float(value) if _is_number(value) else None)
    unit_text = str(unit).replace("^", "**") if unit is not None else None
    return SweepAxis(key, tuple(values), unit_text, tuple(numbers))
