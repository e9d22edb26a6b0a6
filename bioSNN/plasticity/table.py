r"""A plasticity rule written as a table: ``[parameters.plasticity]`` in a spec.

A spec selects each part of a rule by name and sets that part's parameters in the same
table; parameters left out keep the part's defaults (the class defaults documented in
``docs/plasticity.md``)::

    [parameters.plasticity]
    timing = "triplet"            # pair, nearest-symmetric, nearest-pre-centred,
    nearest_spike = true          #   nearest-restricted, triplet, vogels-sprekeler
    tau_x = "101 ms"
    A2_plus = 0.0
    weights = "additive"          # additive, multiplicative, van-rossum, gutig
    w_max = 1.0

Every other key is a parameter of one of the selected parts (its dataclass field), with
the field's type: a quantity as text with its unit (``"101 ms"``), a number, a boolean or
a string. ``modulation`` (``none``, ``reward``, ``dopamine``) selects the third part. A
selector the table leaves out is the protocol's choice (:meth:`PlasticityTable.rule`
takes the protocol's parts as defaults). A key that no selected part has is an error
that lists the selected parts' parameters.

On the command line ``--set plasticity.tau_x="80 ms"`` changes one entry and
``--set plasticity.timing=pair`` changes a selector; changing a selector drops the
entries that the new part does not have. ``[quick.plasticity]`` works the same way.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

from ..units import format_quantity, parse_quantity
from .inhibitory import VogelsSprekelerTiming
from .modulation import DopamineModulation, RewardModulation
from .rule import STDPRule
from .timing import (NearestPreCentredTiming, NearestRestrictedTiming, NearestSymmetricTiming,
                     STDPTiming, TripletTiming)
from .weights import (AdditivePotentiationMultiplicativeDepression, GutigWeights,
                      MultiplicativeWeights, WeightBounds)

__all__ = ["PlasticityTable", "TableError", "TIMINGS", "WEIGHTS", "MODULATIONS", "SELECTORS", "part_fields"]

#: Timing dependences by their table name.
TIMINGS = MappingProxyType({
    "pair": STDPTiming, "nearest-symmetric": NearestSymmetricTiming,
    "nearest-pre-centred": NearestPreCentredTiming,
    "nearest-restricted": NearestRestrictedTiming, "triplet": TripletTiming,
    "vogels-sprekeler": VogelsSprekelerTiming})
#: Weight dependences by their table name.
WEIGHTS = MappingProxyType({
    "additive": WeightBounds, "multiplicative": MultiplicativeWeights,
    "van-rossum": AdditivePotentiationMultiplicativeDepression, "gutig": GutigWeights})
#: Modulations by their table name (``none``: plain STDP).
MODULATIONS = MappingProxyType({"none": None, "reward": RewardModulation,
                                "dopamine": DopamineModulation})
#: The selector keys, with the names each accepts.
SELECTORS = MappingProxyType({"timing": TIMINGS, "weights": WEIGHTS,
                              "modulation": MODULATIONS})


class TableError(ValueError):
    """A bad table entry: ``key`` (``""`` for the whole table) and what is wrong (``detail``);
    the message is ``plasticity.<key>: <detail>``."""

    def __init__(self, key: str, detail: str):
        self.key, self.detail = key, detail
        super().__init__(f"plasticity.{key}: {detail}" if key else f"plasticity: {detail}")


def part_fields(cls) -> dict[str, Any]:
    """Parameter name -> default of a part class (its init fields); ``{}`` for ``None``."""
    if cls is None:
        return {}
    out = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _unit_of(default: Quantity) -> Quantity:
    return default.get_best_unit()


def _parse_entry(key: str, raw: Any, default: Any):
    """A table entry with the type of the field's default (ValueError names the key)."""
    if isinstance(default, Quantity) and get_dimensions(default) is not DIMENSIONLESS:
        try:
            return parse_quantity(raw, _unit_of(default))
        except (ValueError, TypeError) as err:
            raise TableError(key, f"expected a quantity in {_unit_of(default)!s} "
                             f"(e.g. \"{format_quantity(default)}\"): {err}") from None
    if isinstance(default, bool):
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            raw = raw.lower() == "true"
        if not isinstance(raw, bool):
            raise TableError(key, f"expected true or false, got {raw!r}")
        return raw
    if isinstance(default, (int, float)):
        if isinstance(raw, str):
            try:
                raw = float(raw.strip())
            except ValueError:
                raise TableError(key, f"expected a plain number, got {raw!r}") from None
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) \
                or not math.isfinite(raw):
            raise TableError(key, f"expected a finite number, got {raw!r}")
        if isinstance(default, int):
            if not float(raw).is_integer():
                raise TableError(key, f"expected an integer, got {raw!r}")
            return int(raw)
        return float(raw)
    if isinstance(default, str):
        if not isinstance(raw, str):
            raise TableError(key, f"expected a string, got {raw!r}")
        return raw
    raise TableError(key, "this parameter cannot be set from a table")


def _format_entry(value: Any):
    if isinstance(value, Quantity) and get_dimensions(value) is not DIMENSIONLESS:
        return format_quantity(value)
    return value


@dataclass(frozen=True)
class PlasticityTable:
    """A rule as named parts and their parameters (see the module docstring).

    Attributes
    ----------
    timing, weights, modulation : str or None
        The selected parts' names (keys of :data:`TIMINGS`, :data:`WEIGHTS`,
        :data:`MODULATIONS`); ``None`` leaves the part to the protocol.
    values : tuple of (name, value)
        The parameters set in the table, parsed (Brian2 quantities), sorted by name.
    """

    timing: str | None = None
    weights: str | None = None
    modulation: str | None = None
    values: tuple = ()

    # -- reading ---------------------------------------------------------------------------
    @classmethod
    def from_table(cls, raw: Any, base: "PlasticityTable | None" = None) -> "PlasticityTable":
        """Parse a TOML table (``base``: the table this one changes, for ``--set`` and
        ``[quick.plasticity]``; ``None``: a fresh table).

        Raises
        ------
        TableError
            (a ValueError) naming the key (``plasticity.<key>``) and what it accepts.
        """
        if not isinstance(raw, Mapping):
            raise TableError("", f"expected a table ([parameters.plasticity] with timing = "
                             f"\"...\" and the part's parameters), got {raw!r}")
        chosen = {k: getattr(base, k) if base else None for k in SELECTORS}
        values = dict(base.values) if base else {}
        for key, names in SELECTORS.items():
            if key in raw:
                name = raw[key]
                if not isinstance(name, str) or name not in names:
                    raise TableError(key, f"expected one of "
                                     f"{', '.join(map(repr, names))}, got {name!r}")
                chosen[key] = name
        fields = _fields(chosen)
        # a changed selector drops the entries the new selection does not have
        values = {k: v for k, v in values.items() if k in fields}
        for key, raw_value in raw.items():
            if key in SELECTORS:
                continue
            owners = [part for part, f in _owners(chosen).items() if key in f]
            if not any(chosen.values()):
                raise TableError(key, "no part is selected; set timing, "
                                 "weights or modulation in the same table")
            if not owners:
                raise TableError(key, f"not a parameter of "
                                 f"{_selection_text(chosen)}; their parameters: "
                                 f"{', '.join(sorted(fields)) or '(none)'}")
            if len(owners) > 1:
                raise TableError(key, f"a parameter of both the {owners[0]} and "
                                 f"the {owners[1]} part; a table cannot set it for one of "
                                 "them (build the rule in Python)")
            values[key] = _parse_entry(key, raw_value, fields[key])
        table = cls(**chosen, values=tuple(sorted(values.items())))
        table.parts()          # the parts' own checks (bounds, positive time constants...)
        return table

    # -- building ---------------------------------------------------------------------------
    def parts(self, default: STDPRule | None = None):
        """The (timing, weights, modulation) parts; selectors left out come from
        ``default`` (a protocol's rule), or the part defaults of :class:`STDPRule`.

        Raises
        ------
        ValueError
            When a part rejects its parameters, or an entry's part is not selected.
        """
        default = default or STDPRule()
        values = dict(self.values)
        chosen = {k: getattr(self, k) for k in SELECTORS}
        owners = _owners(chosen)
        built = {}
        for key, fallback in (("timing", default.timing), ("weights", default.bounds),
                              ("modulation", default.modulation)):
            name = chosen[key]
            if name is None:
                built[key] = fallback
                continue
            cls = SELECTORS[key][name]
            if cls is None:
                built[key] = None
                continue
            kwargs = {k: v for k, v in values.items() if k in owners[key]}
            try:
                built[key] = cls(**kwargs)
            except (ValueError, TypeError) as err:
                raise TableError("", f"{key} {name!r} rejects "
                                 f"{_kwargs_text(kwargs)}: {err}") from None
        orphans = [k for k in values if not any(k in f for f in owners.values())]
        if orphans:
            raise TableError(orphans[0], f"not a parameter of "
                             f"{_selection_text(chosen)}")
        return built["timing"], built["weights"], built["modulation"]

    def rule(self, default: STDPRule | None = None) -> STDPRule:
        """The :class:`STDPRule`; parts the table does not select come from ``default``."""
        timing, weights, modulation = self.parts(default)
        return STDPRule(timing=timing, bounds=weights, modulation=modulation)

    # -- writing ----------------------------------------------------------------------------
    def to_table(self) -> dict[str, Any]:
        """The TOML-ready table (selectors first, quantities as text): it parses back to
        an equal table with :meth:`from_table`."""
        out = {k: getattr(self, k) for k in SELECTORS if getattr(self, k) is not None}
        out.update({k: _format_entry(v) for k, v in self.values})
        return out

    def describe(self) -> str:
        """One line: ``timing triplet (nearest_spike=True, tau_x=101 ms), weights additive``."""
        return _selection_text({k: getattr(self, k) for k in SELECTORS}) + (
            f" ({_kwargs_text(dict(self.values))})" if self.values else "")

    def __eq__(self, other):
        if not isinstance(other, PlasticityTable):
            return NotImplemented
        return self.to_table() == other.to_table()

    def __hash__(self):
        return hash(tuple(sorted((k, str(v)) for k, v in self.to_table().items())))


def _owners(chosen: Mapping[str, str | None]) -> dict[str, dict[str, Any]]:
    return {key: part_fields(SELECTORS[key][name]) if name is not None else {}
            for key, name in chosen.items()}


def _fields(chosen) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in _owners(chosen).values():
        out.update(f)
    return out


def _selection_text(chosen) -> str:
    picked = [f"{k} {v!r}" for k, v in chosen.items() if v is not None]
    return ", ".join(picked) if picked else "no selected part (set timing, weights or " \
                                            "modulation first)"


def _kwargs_text(kwargs) -> str:
    return ", ".join(f"{k}={_format_entry(v)}" for k, v in sorted(kwargs.items())) or "defaults"
