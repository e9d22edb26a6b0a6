"""Validation against recorded units (NWB): features hand-computed, the pass rule can pass
and fail, bad files give one line, the shipped example file is what its script writes."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from bioSNN.cli import main
from bioSNN.errors import BioSNNError
from bioSNN.validation.recorded import (RecordedDistribution, read_recording,
                                        unit_features)
from bioSNN.validation.spikes import SpikePopulation

pytest.importorskip("pynwb")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "recorded_data"
NWB = EXAMPLE / "synthetic-cortex.nwb"


def _script():
    spec = importlib.util.spec_from_file_location("make_rec", EXAMPLE / "make_synthetic_recording.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_features_hand_computed():
    regular = np.arange(0.0, 1000.0, 100.0) + 50.0           # 10 spikes, one per 100 ms bin
    bursty = np.concatenate([[10.0, 20.0, 30.0], [510.0, 520.0, 530.0]])
    pop = SpikePopulation((regular, bursty, np.array([])), 0.0, 1000.0)
    f = unit_features(pop, window_ms=100.0)
    np.testing.assert_allclose(f["rate"], [10.0, 6.0, 0.0])
    # ISIs of the burst train: 10, 10, 480, 10, 10 -> CV = sd/mean (population sd)
    isi = np.array([10, 10, 480, 10, 10.0])
    np.testing.assert_allclose(f["cv"], [0.0, isi.std() / isi.mean()])
    # counts per 100 ms bin: regular all 1 -> Fano 0; bursty [3,0,0,0,0,3,0,0,0,0]
    counts = np.array([3, 0, 0, 0, 0, 3, 0, 0, 0, 0.0])
    np.testing.assert_allclose(f["fano"], [0.0, counts.var() / counts.mean()])


def test_poisson_features_near_one():
    rng = np.random.default_rng(0)
    trains = tuple(np.sort(rng.uniform(0, 100_000.0, rng.poisson(500))) for _ in range(30))
    f = unit_features(SpikePopulation(trains, 0.0, 100_000.0), window_ms=100.0)
    assert np.median(f["cv"]) == pytest.approx(1.0, abs=0.1)
    assert np.median(f["fano"]) == pytest.approx(1.0, abs=0.15)


def test_shipped_file_is_what_its_script_writes():
    rec = read_recording(str(NWB))
    want = _script().spike_trains()
    got = [t / 1e3 for t in rec.population.trains_ms]
    assert len(got) == len(want) == 40
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)
    assert rec.population.t_start_ms == 0.0 and rec.population.t_stop_ms == 60_000.0
    assert "synthetic-1" in rec.source and "40 units" in rec.source


def test_rule_passes_for_the_recording_itself_and_fails_for_a_faster_population():
    rec = read_recording(f"{NWB}:units")
    same = RecordedDistribution("rate", rec, "self", lambda results: rec.population)
    verdict = same.judge(None)
    assert verdict.status == "pass" and verdict.prediction.details["ks_statistic"] == 0.0
    fast = SpikePopulation(tuple(np.sort(np.concatenate([t, t + 0.3, t + 0.6, t + 0.9]))
                                 for t in rec.population.trains_ms),
                           rec.population.t_start_ms, rec.population.t_stop_ms + 1.0)
    quad = RecordedDistribution("rate", rec, "fast", lambda results: fast)
    verdict = quad.judge(None)   # every rate x4: median 7.8 Hz, above the 5-95 % range
    assert verdict.status == "fail" and verdict.prediction.value > verdict.observation.high


@pytest.mark.parametrize("spec, needle", [
    ("nowhere.nwb", "no file"),
    (f"{NWB}:processing/ecephys/units", "no table 'processing/ecephys/units'"),
    (f"{NWB}:acquisition/x", "no table"),
])
def test_bad_observation_files_give_one_line(spec, needle):
    with pytest.raises(BioSNNError, match=needle):
        read_recording(spec)


def test_not_an_nwb_file(tmp_path):
    bad = tmp_path / "x.nwb"
    bad.write_text("not hdf5")
    with pytest.raises(BioSNNError, match="not a readable NWB file"):
        read_recording(str(bad))


def test_cli_validate_observations_end_to_end(tmp_path, capsys):
    code = main(["validate", "--quick", "--observations", str(NWB), "--only",
                 "recorded-rate-lif-poisson-trace", "--only", "recorded-cv-lif-poisson-trace",
                 "--results", str(tmp_path / "r"), "--out", str(tmp_path / "v"), "--no-progress"])
    out = capsys.readouterr().out
    assert "recorded-rate-lif" in out and "2 tests: 0 pass, 0 warn, 2 fail" in out
    # the seed LIF neurons fire at ~25 Hz: outside the recording's 0.6-5.9 Hz -> fail
    assert code == 1
    report = (tmp_path / "v" / "report.md").read_text()
    assert "synthetic-1" in report and "recorded-cv-lif-poisson-trace.png" in report
    code = main(["validate", "--observations", str(NWB), "--only", "nonsense",
                 "--results", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown validation test 'nonsense'" in err and "recorded-fano" in err
