"""bioSNN's plasticity rules against NEST's synapse models on identical spike trains.

Runs ``benchmarks/nest_parity.py`` (skipped without ``nest``): every rule with a NEST
counterpart agrees to 1e-9 relative, after the run and after every presynaptic spike,
on trains with bursts and weights at the bounds; the two documented differences (NEST
discards zero-lag pairs; its nn_symm/nn_restr pair early post spikes with a virtual
presynaptic spike at t = 0) are exactly the stated formulas.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nest")
sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import nest_parity  # noqa: E402

RTOL = 1e-9


@pytest.fixture(scope="module")
def trains():
    return nest_parity.parity_trains()


@pytest.mark.parametrize("case", nest_parity.cases(), ids=lambda c: c.name)
def test_rule_matches_nest(case, trains):
    row = nest_parity.compare(case, *trains)
    assert row["n_events"] > 100
    assert row["rel_final"] < RTOL, row
    assert row["rel_event"] < RTOL, row
    if "additive" in case.name:  # the heavy LTP/LTD trains drive weights to the bounds
        assert row["at_bounds"] >= 1
        assert np.any(row["w_nest"] == 0.0)
    assert np.all((row["w_bio"] >= 0.0) & (row["w_bio"] <= nest_parity.W_MAX))


@pytest.mark.parametrize("difference", nest_parity.DIFFERENCES,
                         ids=["zero-lag", "virtual-pre-nn-symm", "virtual-pre-nn-restr"])
def test_documented_differences_are_exact(difference):
    d = difference()
    assert d["expected"] != 0.0
    assert d["difference"] == pytest.approx(d["expected"], rel=RTOL)
