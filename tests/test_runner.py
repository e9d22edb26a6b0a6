"""Run folders: contents, units, provenance, atomicity, determinism under one seed."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from bioSNN.protocols import get_kind
from bioSNN.results import REQUIRED_FILES, Results, quantity
from bioSNN.runner import run_protocol
from bioSNN.seeding import SeedStreams


def test_lif_fi_run_folder(tmp_path, quick_spec):
    spec = quick_spec("lif-fi-curve")
    folder = run_protocol(spec, out=tmp_path, progress=False)
    assert folder.parent == tmp_path / "lif-fi-curve"
    for name in REQUIRED_FILES + ("fig-fi-curve.png",):
        assert (folder / name).is_file(), name
    assert not list(folder.parent.glob(".partial-*"))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["isi_within_dt"] is True and summary["silent_below_rheobase"] is True
    assert summary["n_currents"] == 11
    assert all(isinstance(v, (int, float, str, bool)) or v is None for v in summary.values())
    prov = json.loads((folder / "provenance.json").read_text())
    for key in ("protocol", "parameters", "seed", "git", "versions", "target", "wall_time_s"):
        assert key in prov
    assert prov["versions"]["brian2"].startswith("2.9")
    assert prov["parameters"]["tau_m"] == "10 ms" and prov["mode"] == "quick"
    with xr.open_dataset(folder / "data.nc", engine="h5netcdf") as ds:
        for name, var in ds.variables.items():
            assert "units" in var.attrs, name
        assert ds["spike_time"].attrs["units"] == "ms"
        assert ds["current"].attrs["units"] == "nA"
    loaded = Results.load(folder)
    assert loaded.summary == summary
    assert loaded.spec.params == spec.params
    from brian2 import nA
    assert abs(float(quantity(loaded.data["current"])[-1] / nA) - 1.0) < 1e-12


def test_izhikevich_run_and_features(tmp_path, quick_spec):
    folder = run_protocol(quick_spec("izhikevich-patterns"), out=tmp_path, progress=False)
    s = json.loads((folder / "summary.json").read_text())
    assert (folder / "fig-gallery.png").is_file()
    assert s["RS_isi_ratio"] > 1.5            # regular spiking adapts
    assert s["IB_first_isi_ms"] < 5.0          # initial burst
    assert s["TC-rebound_spikes_during_step"] == 0 and s["TC-rebound_spikes_after_step"] >= 2
    assert s["FS_rate_during_step_Hz"] > s["RS_rate_during_step_Hz"]


def test_interrupted_run_leaves_no_result(tmp_path, quick_spec, monkeypatch):
    spec = quick_spec("lif-fi-curve")
    cls = get_kind(spec.kind)

    def boom(results, folder):  # interrupt after the data files were written
        assert (folder / "data.nc").is_file()
        raise KeyboardInterrupt

    monkeypatch.setattr("bioSNN.runner.render_figures", boom)
    with pytest.raises(KeyboardInterrupt):
        run_protocol(spec, out=tmp_path, progress=False)
    assert list((tmp_path / "lif-fi-curve").iterdir()) == []
    assert cls is get_kind("lif-fi-curve")


def test_incomplete_folder_is_refused(tmp_path, quick_spec):
    folder = run_protocol(quick_spec("lif-fi-curve"), out=tmp_path, progress=False, figures=False)
    (folder / "summary.json").unlink()
    from bioSNN.errors import BioSNNError
    with pytest.raises(BioSNNError, match="missing summary.json"):
        Results.load(folder)


def test_seed_streams_documented_and_deterministic():
    a, b, c = SeedStreams.from_seed(5), SeedStreams.from_seed(5), SeedStreams.from_seed(6)
    assert a == b and a != c
    assert len({a.brian2_seed, a.numpy_seed, a.torch_seed}) == 3
    assert 0 <= a.brian2_seed < 2**32 and 0 <= a.torch_seed < 2**63
    np.testing.assert_array_equal(a.numpy_rng().random(5), b.numpy_rng().random(5))
    import torch
    assert torch.equal(torch.rand(4, generator=a.torch_generator()),
                       torch.rand(4, generator=b.torch_generator()))
    with pytest.raises(ValueError, match="non-negative integer"):
        SeedStreams.from_seed(-1)


def test_same_seed_same_results_with_noise(quick_spec):
    """Membrane noise draws from Brian2's seeded generator: seed 1 twice is identical,
    seed 2 differs."""
    spec = quick_spec("lif-fi-curve", sigma="2 mV")
    proto = get_kind(spec.kind)(spec)
    r1, r1b, r2 = proto.run(1), proto.run(1), proto.run(2)
    assert r1.provenance["seed"] == 1
    xr.testing.assert_identical(r1.data, r1b.data)
    assert r1.summary == r1b.summary
    assert not r1.data["v_trace"].equals(r2.data["v_trace"])


def test_run_folder_name_taken_meanwhile_gets_the_next_suffix(tmp_path, quick_spec, monkeypatch):
    """Two processes finishing the same protocol and seed in the same second (parallel
    sweep workers): the second one takes the next free name instead of failing."""
    import bioSNN.runner as runner

    spec = quick_spec("lif-fi-curve")
    kind = get_kind(spec.kind)
    real_run = kind.run
    monkeypatch.setattr(runner, "_run_id", lambda spec: "same-second-seed0")

    def run_and_collide(self, *args, **kwargs):
        out = real_run(self, *args, **kwargs)
        other = tmp_path / spec.name / "same-second-seed0"  # another worker finished first
        other.mkdir(parents=True)
        (other / "summary.json").write_text("{}")
        return out

    monkeypatch.setattr(kind, "run", run_and_collide)
    folder = run_protocol(spec, out=tmp_path, progress=False, figures=False)
    assert folder.name == "same-second-seed0-2"
    assert all((folder / f).is_file() for f in REQUIRED_FILES)
    assert json.loads((tmp_path / spec.name / "same-second-seed0" / "summary.json").read_text()) == {}
    assert not [p for p in (tmp_path / spec.name).iterdir() if p.name.startswith(".")]
