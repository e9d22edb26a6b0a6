"""A plasticity rule as a spec table ([parameters.plasticity]): parsing and building
against hand-built rules, round trips through TOML, --set and [quick] deltas, errors that
name the key, and a spec run with a table equal to the same run with the preset."""
from __future__ import annotations

import tomllib

import numpy as np
import pytest
from brian2 import ms, second

from bioSNN.errors import SpecError
from bioSNN.plasticity import (GutigWeights, PlasticityTable, RewardModulation, STDPRule,
                               TripletTiming, WeightBounds)
from bioSNN.protocols.spec import parse_spec

MINIMAL = {"timing": "triplet", "nearest_spike": True, "A2_plus": 0, "A3_minus": 0,
           "A3_plus": 0.05, "A2_minus": 0.008, "tau_y": "40 ms"}


def test_a_table_builds_the_rule_it_names():
    rule = PlasticityTable.from_table(MINIMAL).rule()
    want = TripletTiming(nearest_spike=True, A2_plus=0.0, A3_minus=0.0, A3_plus=0.05,
                         A2_minus=0.008, tau_y=40 * ms)
    assert rule.timing == want
    assert rule.bounds == WeightBounds() and rule.modulation is None   # STDPRule's defaults
    # every part selectable, parameters routed to their part
    full = PlasticityTable.from_table({"timing": "pair", "tau_plus": "16.8 ms",
                                       "weights": "gutig", "mu_plus": 0.5, "w_max": 1.0,
                                       "modulation": "reward", "tau_c": "0.5 s"}).rule()
    assert full.timing.tau_plus == 16.8 * ms
    assert full.bounds == GutigWeights(mu_plus=0.5, w_max=1.0)
    assert full.modulation == RewardModulation(tau_c=0.5 * second)


def test_parts_left_out_come_from_the_protocol():
    protocol = STDPRule(timing=TripletTiming(), bounds=WeightBounds(-1000.0, 1000.0))
    rule = PlasticityTable.from_table({"timing": "pair", "A_plus": 0.02}).rule(protocol)
    assert rule.timing.A_plus == 0.02 and rule.bounds == WeightBounds(-1000.0, 1000.0)
    assert PlasticityTable.from_table({"weights": "multiplicative"}).rule(protocol).timing \
        == TripletTiming()


def test_table_round_trips_and_changes():
    t = PlasticityTable.from_table(MINIMAL)
    assert t.to_table()["tau_y"] == "40 ms" and t.to_table()["timing"] == "triplet"
    assert PlasticityTable.from_table(t.to_table()) == t
    # a change keeps the other entries; a new timing drops the entries it does not have
    longer = PlasticityTable.from_table({"tau_y": "80 ms"}, base=t)
    assert dict(longer.values)["tau_y"] == 80 * ms and dict(longer.values)["A3_plus"] == 0.05
    pair = PlasticityTable.from_table({"timing": "pair"}, base=t)
    assert pair.to_table() == {"timing": "pair"}
    assert hash(t) == hash(PlasticityTable.from_table(t.to_table())) and t != longer


@pytest.mark.parametrize("table, message", [
    ({"timing": "triplets"}, "plasticity.timing: expected one of 'pair'"),
    ({"timing": "pair", "tau_x": "10 ms"},
     "plasticity.tau_x: not a parameter of timing 'pair'; their parameters: A_minus, A_plus"),
    ({"timing": "pair", "tau_plus": "3 mV"}, "plasticity.tau_plus: expected a quantity in ms"),
    ({"timing": "pair", "A_plus": "lots"}, "plasticity.A_plus: expected a plain number"),
    ({"timing": "triplet", "nearest_spike": 1}, "plasticity.nearest_spike: expected true or"),
    ({"weights": "additive", "w_min": 1.0, "w_max": 0.5},
     "plasticity: weights 'additive' rejects w_max=0.5, w_min=1.0"),
    ({"tau_plus": "10 ms"}, "plasticity.tau_plus: no part is selected"),
    ({"timing": "vogels-sprekeler", "modulation": "reward", "eta": 0.1},
     "plasticity.eta: a parameter of both the timing and the modulation part"),
    ("triplet", "expected a table"),
])
def test_bad_tables_name_the_key(table, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        PlasticityTable.from_table(table)


def _spec(**parameters):
    data = {"name": "t", "kind": "stdp-frequency", "description": "d",
            "parameters": {"frequencies_Hz": "0.1 20 50", "n_pairings": 20, **parameters}}
    return data


def test_spec_files_take_the_table_and_write_it_back():
    spec = parse_spec({**_spec(plasticity=MINIMAL), "quick": {"plasticity": {"tau_y": "80 ms"},
                                                               "n_pairings": 5}})
    assert spec.params.rule.timing.tau_y == 40 * ms
    assert spec.params.rule.bounds == WeightBounds(-1000.0, 1000.0)   # the protocol's
    quick = spec.resolve(quick=True)
    assert quick.params.rule.timing.tau_y == 80 * ms                  # a delta on the file's
    assert quick.params.rule.timing.A3_plus == 0.05
    text = spec.to_toml()
    assert "[parameters.plasticity]" in text and "[quick.plasticity]" in text
    back = parse_spec(tomllib.loads(text))
    assert back.params == spec.params and back.identity() == spec.identity()
    assert back.resolve(quick=True).params == quick.params
    # no table: nothing written, the preset holds
    plain = parse_spec(_spec())
    assert plain.params.plasticity is None and "[parameters.plasticity]" not in plain.to_toml()
    assert plain.identity() != spec.identity()


def test_set_changes_one_entry_and_errors_name_the_field():
    spec = parse_spec(_spec(plasticity=MINIMAL))
    changed = spec.resolve(overrides={"plasticity.tau_y": "80 ms", "plasticity.A3_plus": 0.06})
    assert changed.params.rule.timing.tau_y == 80 * ms
    assert changed.params.rule.timing.A2_minus == 0.008
    assert changed.overrides["plasticity.tau_y"] == "80 ms"
    for order in ((("plasticity.tau_y", "80 ms"), ("plasticity", {"timing": "pair"})),
                  (("plasticity", {"timing": "pair"}), ("plasticity.tau_y", "80 ms"))):
        with pytest.raises(SpecError, match="plasticity is set whole and by key"):
            spec.resolve(overrides=dict(order))
    with pytest.raises(SpecError, match="'delta_t' is not a table parameter"):
        spec.resolve(overrides={"delta_t.x": 1})
    with pytest.raises(SpecError, match="plasticity.tau_w: not a parameter of timing 'triplet'"):
        spec.resolve(overrides={"plasticity.tau_w": "1 ms"})
    with pytest.raises(SpecError, match="parameters.plasticity: this protocol measures the "
                                        "unclipped"):
        parse_spec(_spec(plasticity={"timing": "pair", "weights": "gutig"}))
    with pytest.raises(SpecError, match="parameters.plasticity.*expected a table"):
        parse_spec(_spec(plasticity="triplet"))


def test_a_run_with_the_table_equals_the_run_with_the_preset():
    from bioSNN.protocols import get_kind

    preset = parse_spec(_spec(timing="triplet-minimal"))
    table = parse_spec(_spec(plasticity=MINIMAL))
    assert table.params.rule == preset.params.rule
    a, b = (get_kind(s.kind)(s).run() for s in (preset, table))
    np.testing.assert_array_equal(a.data["dw_percent"].values, b.data["dw_percent"].values)
    # the nearest-spike closed form follows the table's timing too
    np.testing.assert_allclose(b.data["dw_percent"].values,
                               b.data["dw_closed_form_percent"].values, atol=1e-9)
    assert b.data.attrs["timing"].startswith("table: timing 'triplet' (A2_minus=0.008")


def test_sweeps_take_table_entries():
    from bioSNN.sweep.definition import define_sweep

    sweep = define_sweep("wang-triplets", ["plasticity.timing=triplet",
                                           "plasticity.tau_y=40ms,80 ms"], quick=True)
    axis = sweep.axes[1]
    assert axis.values == ("40 ms", "80 ms") and axis.unit == "ms" and axis.numbers == (40.0, 80.0)
    specs = [sweep.spec_of(p) for p in sweep.points()]
    assert [s.params.rule.timing.tau_y for s in specs] == [40 * ms, 80 * ms]
    with pytest.raises(SpecError, match="plasticity.tau_y: no part is selected"):
        define_sweep("wang-triplets", ["plasticity.tau_y=40ms"], quick=True)
