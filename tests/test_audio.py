"""Audio front end and the ``audio-fsdd`` protocol: filterbank on synthetic tones,
delta/rate spike codes, FSDD splits, the missing-data error, a quick run end to end."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from bioSNN.audio import (SPEAKERS, FilterbankParams, Recording, delta_spikes, find_fsdd, hz_to_mel,
                          level, list_recordings, log_mel, mel_filterbank, mel_to_hz,
                          rate_spikes, split_indices, stft_power)
from bioSNN.cli import main
from bioSNN.errors import BioSNNError, DataNotFoundError
from bioSNN.protocols.spec import find_spec
from bioSNN.results import Results
from bioSNN.runner import run_protocol

HAVE_DATA = bool(os.environ.get("BIOSNN_DATA"))
_skip = pytest.mark.skipif(not HAVE_DATA, reason="BIOSNN_DATA is not set: point it at the "
                           "shared data folder (fsdd/recordings) for the FSDD tests")


def needs_fsdd(test):
    return pytest.mark.data(_skip(test))


# ---------------------------------------------------------------- filterbank

def _tone(f_hz, p, seconds=0.5, amplitude=0.5):
    t = np.arange(int(seconds * p.sample_rate_hz)) / p.sample_rate_hz
    return amplitude * np.sin(2 * np.pi * f_hz * t)


def test_mel_scale_round_trip_and_htk_anchor():
    f = np.array([0.0, 100.0, 1000.0, 3999.0])
    assert np.allclose(mel_to_hz(hz_to_mel(f)), f)
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.1)  # HTK: 1000 Hz ~ 1000 mel


def test_filters_peak_at_their_centres_and_none_is_empty():
    p = FilterbankParams()
    w = mel_filterbank(p)
    assert w.shape == (40, p.n_fft // 2 + 1)
    assert np.all(w.max(axis=1) > 0.5) and np.all(w >= 0) and np.all(w <= 1)
    bin_hz = p.sample_rate_hz / p.n_fft
    peak_hz = w.argmax(axis=1) * bin_hz
    assert np.all(np.abs(peak_hz - p.centres_hz()) <= bin_hz / 2 + 1e-9)


@pytest.mark.parametrize("channel", [0, 5, 17, 30, 38])
def test_pure_tone_energy_peaks_in_its_channel(channel):
    p = FilterbankParams()
    f = p.centres_hz()[channel]
    db = log_mel(_tone(f, p), p)
    assert db.shape == (1 + (4000 - 200 + 79) // 80, 40)
    assert int(np.argmax(db[2:-2].mean(axis=0))) == channel
    # a sine of amplitude A at a bin frequency: STFT power A^2 / 4 at that bin
    bin_f = 64 * p.sample_rate_hz / p.n_fft
    power = stft_power(_tone(bin_f, p), p)
    assert power[3, 64] == pytest.approx(0.5 ** 2 / 4, rel=1e-6)


def test_silence_sits_on_the_floor_and_has_level_zero():
    p = FilterbankParams(floor_db=-90.0)
    db = log_mel(np.zeros(4000), p)
    assert np.all(db == -90.0)
    assert np.all(level(db, 60.0, p.floor_db) == 0.0)
    loud = log_mel(_tone(440.0, p), p)
    lv = level(loud, 60.0, p.floor_db)
    assert lv.max() == pytest.approx(1.0) and lv.min() >= 0.0
    # loudness invariance: the level ignores a gain
    assert np.allclose(level(log_mel(_tone(440.0, p, amplitude=0.05), p), 60.0), lv,
                       atol=1e-9)


# ---------------------------------------------------------------- spike codes

def test_delta_spikes_reconstruct_the_envelope_within_the_threshold():
    theta = 0.05
    t = torch.linspace(0, 1, 200, dtype=torch.float64)
    env = torch.stack([0.5 * (1 - torch.cos(2 * np.pi * k * t)) for k in (1, 2, 3)], dim=-1)
    assert float(env.diff(dim=0).abs().max()) <= theta  # no slope overload
    spk = delta_spikes(env, theta)
    assert spk.shape == (200, 6) and set(spk.unique().tolist()) <= {0.0, 1.0}
    on, off = spk[:, :3], spk[:, 3:]
    assert not torch.any((on > 0) & (off > 0))
    recon = theta * torch.cumsum(on - off, dim=0)
    assert float((env - recon).abs().max()) < theta
    assert float(on.sum()) > 0 and float(off.sum()) > 0


def test_rate_spikes_follow_the_level():
    lv = torch.tensor([0.0, 0.2, 0.8, 1.0]).expand(4000, 4)
    spk = rate_spikes(lv, torch.Generator().manual_seed(0))
    assert spk.shape == lv.shape
    assert np.allclose(spk.mean(dim=0).numpy(), [0.0, 0.2, 0.8, 1.0], atol=0.03)


# ---------------------------------------------------------------- data and splits

def _fake_recordings():
    return [Recording(d, s, i, None) for d in range(10) for s in SPEAKERS for i in range(50)]


def test_split_sizes_official_and_leave_one_speaker_out():
    recs = _fake_recordings()
    train, test = split_indices(recs, "official")
    assert len(train) == 2700 and len(test) == 300
    assert all(recs[i].index < 5 for i in test) and all(recs[i].index >= 5 for i in train)
    for s in SPEAKERS:
        train, test = split_indices(recs, f"speaker:{s}")
        assert len(test) == 500 and len(train) == 2500
        assert {recs[i].speaker for i in test} == {s}
        assert s not in {recs[i].speaker for i in train}
    with pytest.raises(ValueError, match="speaker:<name>"):
        split_indices(recs, "speaker:bob")


def test_recordings_are_listed_in_a_fixed_order(tmp_path):
    for name in ("3_theo_7.wav", "0_lucas_12.wav", "0_george_2.wav", "notes.txt",
                 "0_lucas_3.wav"):
        (tmp_path / name).write_bytes(b"")
    names = [r.path.name for r in list_recordings(tmp_path)]
    assert names == ["0_george_2.wav", "0_lucas_3.wav", "0_lucas_12.wav", "3_theo_7.wav"]


def test_missing_dataset_is_one_line_naming_both_options(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("BIOSNN_DATA", raising=False)
    with pytest.raises(DataNotFoundError) as err:
        find_fsdd(tmp_path)
    text = str(err.value)
    assert "\n" not in text and "--data-root" in text and "BIOSNN_DATA" in text
    assert str(tmp_path / "fsdd" / "recordings") in text
    code = main(["run", "audio-fsdd", "--quick", "--no-progress", "--data-root",
                 str(tmp_path), "--out", str(tmp_path / "out")])
    out, errtext = capsys.readouterr()
    lines = errtext.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, errtext
    assert lines[0].startswith("biosnn: error: FSDD not found") and "--data-root" in lines[0]


def test_bad_split_and_surrogate_names_are_spec_errors():
    from bioSNN.protocols.audio_fsdd import SURROGATE_NAMES
    from bioSNN.training import SURROGATES

    assert set(SURROGATE_NAMES) == set(SURROGATES)
    with pytest.raises(BioSNNError, match="split"):
        find_spec("audio-fsdd").resolve(overrides={"split": "speaker:bob"})
    with pytest.raises(BioSNNError, match="f_max"):
        find_spec("audio-fsdd").resolve(overrides={"f_max": "5000 Hz"})


@needs_fsdd
def test_shipped_fsdd_splits():
    recs = list_recordings(find_fsdd())
    assert len(recs) == 3000
    train, test = split_indices(recs, "official")
    assert (len(train), len(test)) == (2700, 300)
    for s in SPEAKERS:
        _, test = split_indices(recs, f"speaker:{s}")
        assert len(test) == 500 and {recs[i].speaker for i in test} == {s}


# ---------------------------------------------------------------- protocol end to end

SUMMARY_KEYS = {
    "split", "encoding", "n_train", "n_test", "epochs",
    "snn_test_accuracy", "ann_test_accuracy", "snn_minus_ann",
    "snn_final_train_accuracy", "snn_train_time_s", "snn_s_per_epoch", "snn_parameters",
    "ann_final_train_accuracy", "ann_train_time_s", "ann_s_per_epoch", "ann_parameters",
    "hidden_rate_Hz", "silent_fraction_hidden", "input_rate_Hz",
}


@needs_fsdd
def test_quick_run_end_to_end_above_chance(tmp_path, one_torch_thread):
    spec = find_spec("audio-fsdd").resolve(quick=True)
    folder = run_protocol(spec, out=tmp_path, progress=False)
    assert (folder / "fig-overview.png").is_file()
    r = Results.load(folder)
    s = r.summary
    assert set(s) == SUMMARY_KEYS
    assert (s["n_train"], s["n_test"], s["epochs"]) == (300, 100, 5)
    assert s["snn_test_accuracy"] > 0.2 and s["ann_test_accuracy"] > 0.2  # chance: 0.1
    assert s["snn_s_per_epoch"] > 0 and 0 < s["hidden_rate_Hz"] <= 100  # <= 1 spike / 10 ms
    for name, var in r.data.variables.items():
        assert "units" in var.attrs, name
    assert r.data["example_level"].shape == (10, 60, 40)
    assert r.data["example_spikes"].shape == (10, 60, 80)
    assert sorted(r.data["example_digit"].values.tolist()) == list(range(10))


@needs_fsdd
def test_same_seed_same_result_rate_code(one_torch_thread):
    from bioSNN.protocols.registry import get_kind

    spec = find_spec("audio-fsdd").resolve(quick=True, overrides={
        "encoding": "rate", "epochs": 1, "max_train_per_class": 4, "max_test_per_class": 2,
        "frames": 30, "hidden": 16, "batch_size": 8, "surrogate": "atan"})
    a, b = (get_kind(spec.kind)(spec).run() for _ in range(2))
    assert np.array_equal(a.data["test_prediction"].values, b.data["test_prediction"].values)
    assert np.array_equal(a.data["train_loss"].values, b.data["train_loss"].values)
    assert a.summary["n_train"] == 40 and a.summary["n_test"] == 20
