"""The rule of the pairing protocols (``stdp-frequency``, ``stdp-triplets``): a named
timing preset, or a ``[parameters.plasticity]`` table that replaces it.

These protocols measure the unclipped, unmodulated weight change, so a table may select
and parameterise only the timing dependence; the weight dependence stays additive with
bounds far from every reachable weight.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..plasticity import STDPRule, WeightBounds
from ..plasticity.table import PlasticityTable
from .schema import param
from .spec import ParamConflict

__all__ = ["plasticity_param", "check_timing_table", "chosen_rule", "timing_label"]


def plasticity_param():
    """The optional ``plasticity`` table parameter (default: none, the preset holds)."""
    return param(None, table=PlasticityTable,
                 doc="the timing dependence as a table (timing = \"triplet\" and its "
                     "parameters); replaces the timing preset when given")


def check_timing_table(table: PlasticityTable | None) -> None:
    """A :class:`ParamConflict` on ``plasticity`` when the table selects more than a timing."""
    if table is None:
        return
    if table.weights is not None or table.modulation is not None:
        raise ParamConflict("plasticity", "this protocol measures the unclipped, unmodulated "
                            "weight change; its table may set only timing and the timing's "
                            "parameters (remove weights / modulation)")
    if table.timing is None:
        raise ParamConflict("plasticity", "select the timing dependence (timing = "
                            "\"triplet\", \"pair\", ...) or leave the table out")


def chosen_rule(presets: Mapping, name: str, table: PlasticityTable | None,
                bounds: WeightBounds) -> STDPRule:
    """The preset ``name``, or the table's timing when a table is given, with ``bounds``."""
    default = STDPRule(timing=presets[name], bounds=bounds)
    return default if table is None else table.rule(default)


def timing_label(name: str, table: PlasticityTable | None) -> str:
    """What the run's ``timing`` attribute says: the preset, or ``table: <the table>``."""
    return name if table is None else f"table: {table.describe()}"
