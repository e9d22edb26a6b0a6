"""Validation framework: the pattern, spike statistics, burst detection, registry, CLI.

The CLI run of every registered test on the quick specs (the correct models: every test
with severity ``fail`` must pass; the regimes give their known pass/warn) is
``test_validate_quick_validates_the_correct_models`` in tests/test_acceptance.py.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from bioSNN.cli import main
from bioSNN.protocols.spec import list_specs
from bioSNN.validation import FAIL, PASS, WARN, Observation, Prediction, Score, ValidationTest
from bioSNN.validation.registry import ENTRIES, entry_names, select
from bioSNN.validation.regimes import rstdp_hidden_layer
from bioSNN.validation.spikes import (adaptation_ratio, cv_isi, detect_bursts, isi_ms,
                                      population_from, rate_Hz)


# ---------------------------------------------------------------- the pattern
def test_validation_test_has_real_abstract_methods():
    obs = Observation("x", "someone (2000)")
    with pytest.raises(TypeError):
        ValidationTest("t", obs)

    class OnlyPrediction(ValidationTest):
        def generate_prediction(self, results):
            return Prediction(1.0)

    with pytest.raises(TypeError):
        OnlyPrediction("t", obs)


def test_judge_maps_the_pass_rule_to_the_severity():
    class AboveOne(ValidationTest):
        def generate_prediction(self, results):
            return Prediction(float(results))

        def compute_score(self, observation, prediction):
            return Score(prediction.value >= observation.low, prediction.value)

    class AboveOneWarn(AboveOne):
        severity = WARN

    obs = Observation("value >= 1", "someone (2000)", low=1.0)
    assert AboveOne("t", obs).judge(2).status == PASS
    assert AboveOne("t", obs).judge(0.5).status == FAIL
    assert AboveOneWarn("t", obs).judge(0.5).status == WARN
    verdict = AboveOne("t", obs).judge(0.5, protocol="p", run="r")
    assert verdict.as_dict()["observation"]["citation"] == "someone (2000)"


# ---------------------------------------------------------------- spike statistics
def test_spike_statistics_use_elephant_and_agree_with_numpy():
    t = np.array([10.0, 30.0, 40.0, 80.0, 90.0])
    assert np.allclose(isi_ms(t), np.diff(t))
    assert rate_Hz(t, 0.0, 1000.0) == pytest.approx(5.0)
    assert rate_Hz(t, 0.0, 500.0) == pytest.approx(10.0)
    isis = np.diff(t)
    assert cv_isi(t) == pytest.approx(isis.std() / isis.mean())
    assert adaptation_ratio(t) == pytest.approx(10.0 / 20.0)
    assert cv_isi([1.0, 2.0]) is None and adaptation_ratio([1.0]) is None


def test_burst_detector_separates_bursts_from_adapting_trains():
    ib = np.cumsum([50, 2.4, 3.9, 38.5, 31.5, 31.5, 31.5])  # burst, pause, tonic
    bursts = detect_bursts(ib)
    assert [(b.first, b.last) for b in bursts] == [(0, 2)]
    ch = np.cumsum([50, 1.6, 1.7, 1.9, 46.4, 2.1, 2.4, 3.0, 48.1, 2.1, 2.4])
    assert [b.n_spikes for b in detect_bursts(ch)] == [4, 4, 3]
    lts = np.cumsum([50, 3.1, 3.8, 4.8, 6.8, 10.5, 13.4, 13.7, 13.7])  # smooth slowing
    assert detect_bursts(lts) == []
    tonic = np.arange(0, 300, 20.0)
    assert detect_bursts(tonic) == []
    rebound = np.array([358.1, 365.5, 375.8, 403.3])  # TC rebound: 3-spike burst, pause
    assert [b.n_spikes for b in detect_bursts(rebound)] == [3]


def test_population_and_rstdp_hidden_extractor():
    pop = population_from([0, 0, 1, 0], [5.0, 15.0, 20.0, 25.0], 3, 0.0, 1000.0, "x")
    assert pop.n_neurons == 3
    assert np.allclose(pop.rates_Hz(), [3.0, 1.0, 0.0])
    assert np.allclose(pop.cvs(), [0.0])
    data = xr.Dataset({"hidden_spike_neuron": ("hidden_spike", [0, 1, 1]),
                       "hidden_spike_time": ("hidden_spike", [10.0, 20.0, 700.0]),
                       "label": ("trial", [0, 1, 2, 0])},
                      attrs={"trial_duration_ms": 250.0})
    results = SimpleNamespace(data=data, spec=SimpleNamespace(name="rstdp-x",
                                                              params=SimpleNamespace(n_hidden=4)))
    hidden = rstdp_hidden_layer(results)
    assert hidden.n_neurons == 4 and hidden.t_stop_ms == 1000.0
    assert np.allclose(hidden.rates_Hz(), [1.0, 2.0, 0.0, 0.0])


# ---------------------------------------------------------------- registry
def test_registry_is_complete_and_cited():
    names = entry_names()
    assert len(set(names)) == len(names)
    specs = list_specs()
    for entry in ENTRIES:
        assert entry.protocol in specs, entry.protocol
        assert entry.test.observation.citation and entry.test.observation.description
        assert entry.test.severity in (FAIL, WARN)
    for preset in ("RS", "FS", "IB", "CH", "LTS", "TC", "RZ"):
        assert any(n.startswith(f"izhikevich-{preset}-") for n in names), preset
    assert {"lif-fi-analytic", "stdp-window-recovers-rule", "stdp-window-bi-poo",
            "regime-rest", "regime-rate-lif-poisson-trace"} <= set(names)
    assert [e.name for e in select(["lif-fi-rheobase", "regime-rest"])] == ["lif-fi-rheobase",
                                                                           "regime-rest"]


# ---------------------------------------------------------------- CLI
def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list(capsys):
    code, out, _ = run_cli(capsys, "validate", "--list")
    assert code == 0
    for name in entry_names():
        assert name in out
    assert "Izhikevich EM (2003)" in out and "Tanaka YR et al. (2011)" in out


def test_cli_unknown_test_exits_2(capsys, tmp_path):
    code, out, err = run_cli(capsys, "validate", "--only", "nope", "--results", str(tmp_path))
    assert code == 2 and out == ""
    assert err.strip().startswith("biosnn: error: unknown validation test 'nope'; known tests: ")
    assert not any(tmp_path.iterdir())  # nothing ran


# `biosnn validate --quick` over every registered test (the correct models must pass) is in
# tests/test_acceptance.py: it reuses the quick runs of every shipped protocol made there.


def test_cli_exits_1_when_a_test_fails(capsys, tmp_path, monkeypatch):
    from brian2 import mV

    from bioSNN.params import IzhikevichParams

    monkeypatch.setitem(IzhikevichParams.PRESETS, "RS", IzhikevichParams.RS.replace(d=0 * mV))
    code, out, _ = run_cli(capsys, "validate", "--quick", "--only", "izhikevich-RS-adaptation",
                           "--results", str(tmp_path), "--no-progress")
    assert code == 1
    assert "FAIL" in out and "1 fail" in out
    assert Path(tmp_path / "validation" / "report.md").is_file()
