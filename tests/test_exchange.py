"""NWB and Neo export (bioSNN.exchange): round trips give back data.nc's spikes and
traces, files pass pynwb's validator and nwbinspector, Elephant reads the Neo objects."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import bioSNN as bs
from bioSNN.cli import main

pynwb = pytest.importorskip("pynwb")
neo = pytest.importorskip("neo")

SERIOUS = ("CRITICAL", "BEST_PRACTICE_VIOLATION")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Quick runs of three kinds with different layouts: inputs + one population + v
    traces; presets with labels and an injected current; three populations with trials."""
    out = tmp_path_factory.mktemp("exchange-runs")
    return {name: bs.run(name, quick=True, out=out, progress=False, figures=False)
            for name in ("lif-poisson-trace", "izhikevich-patterns", "rstdp-poisson-10class")}


def _read_nwb(path):
    io = pynwb.NWBHDF5IO(str(path), "r")
    return io, io.read()


def _units_of(nwb, population):
    table = nwb.units.to_dataframe()
    rows = table[table["population"] == population].sort_values("neuron_index")
    return [np.asarray(t, dtype=float) for t in rows["spike_times"]]


def _trains_ms(times_ms, index, size):
    return [np.sort(times_ms[index == k]) for k in range(size)]


def test_nwb_round_trip_spikes_traces_and_stimulus(runs, tmp_path):
    r = runs["lif-poisson-trace"]
    path = r.to_nwb(tmp_path / "lif.nwb")
    d = r.data
    io, nwb = _read_nwb(path)
    try:
        got = _units_of(nwb, "neurons")
        want = _trains_ms(d["spike_time"].values, d["spike_neuron"].values, d.sizes["neuron"])
        assert len(got) == d.sizes["neuron"] == 3
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w * 1e-3)     # the same float conversion
            np.testing.assert_allclose(g * 1e3, w, rtol=1e-12, atol=0)
        assert sum(len(g) for g in got) == d.sizes["spike"] > 0
        # the units table names the model and its parameters, with units
        table = nwb.units.to_dataframe()
        assert set(table["model"]) == {bs.protocols.registry.get_kind(
            "lif-poisson-trace").populations["neurons"]}
        assert table["param_tau_m"].iloc[0] == "10 ms"
        assert nwb.units.resolution == pytest.approx(1e-4)
        # membrane potential: SI through `conversion`, regular sampling at 1/dt
        v = nwb.acquisition["v"]
        assert v.unit == "volts" and v.conversion == pytest.approx(1e-3)
        np.testing.assert_array_equal(np.asarray(v.data[:]), d["v"].values.T)
        assert v.rate == pytest.approx(1e4)
        # the Poisson inputs are the stimulus: index per timestamp
        stim = nwb.stimulus["input_spikes"]
        np.testing.assert_array_equal(np.asarray(stim.timestamps[:]),
                                      d["input_spike_time"].values * 1e-3)
        np.testing.assert_array_equal(np.asarray(stim.data[:]), d["input_spike_index"].values)
        # provenance and the spec in the file's metadata
        assert "seed_streams" in nwb.notes and r.provenance["git"]["commit"] in nwb.notes
        assert 'kind = "lif-poisson-trace"' in nwb.protocol
    finally:
        io.close()


@pytest.mark.parametrize("name", ["lif-poisson-trace", "izhikevich-patterns",
                                  "rstdp-poisson-10class"])
def test_nwb_passes_validator_and_inspector(runs, tmp_path, name):
    from nwbinspector import inspect_nwbfile

    path = bs.export(runs[name], "nwb", out=tmp_path / f"{name}.nwb", with_weights=True)
    assert pynwb.validate(path=str(path)) == []
    messages = list(inspect_nwbfile(nwbfile_path=str(path)))
    serious = [(m.importance.name, m.check_function_name, m.message) for m in messages
               if m.importance.name in SERIOUS]
    assert serious == []
    # what remains is documented (docs/exchange.md): no experimenter/institution/keywords,
    # and the 'weights' processing module is not one of NWB's modality names
    assert {m.check_function_name for m in messages} <= {
        "check_experimenter_exists", "check_institution", "check_keywords",
        "check_processing_module_name"}


def test_neo_nwbio_reads_the_same_spikes(runs, tmp_path):
    r = runs["rstdp-poisson-10class"]
    path = r.to_nwb(tmp_path / "rstdp.nwb")
    d = r.data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        block = neo.NWBIO(str(path), mode="r").read_block()
    trains = block.segments[0].spiketrains
    io, nwb = _read_nwb(path)
    try:                     # neo gives one train per Units row, in row order
        rows = nwb.units.to_dataframe()[["population", "neuron_index"]].values.tolist()
    finally:
        io.close()
    want = {pop: _trains_ms(d[f"{pop}_spike_time"].values, d[f"{pop}_spike_neuron"].values,
                            d.sizes[pop]) for pop in ("hidden", "output")}
    assert len(trains) == len(rows) == d.sizes["hidden"] + d.sizes["output"]
    assert sorted(rows) == sorted([p, k] for p in want for k in range(d.sizes[p]))
    for st, (pop, k) in zip(trains, rows):
        assert str(st.units.dimensionality) == "s"
        np.testing.assert_array_equal(np.asarray(st.magnitude), want[pop][k] * 1e-3)


def test_trials_are_written(runs, tmp_path):
    r = runs["rstdp-poisson-10class"]
    io, nwb = _read_nwb(r.to_nwb(tmp_path / "t.nwb"))
    try:
        trials = nwb.trials.to_dataframe()
        p = r.spec.params
        T = float(np.asarray(p.trial_duration))
        assert len(trials) == p.n_train + p.n_test
        np.testing.assert_allclose(trials["stop_time"] - trials["start_time"], T)
        np.testing.assert_array_equal(trials["label"].values, r.data["label"].values)
        assert trials["is_test"].sum() == p.n_test
    finally:
        io.close()


def test_neo_block_and_nix_round_trip(runs, tmp_path):
    r = runs["izhikevich-patterns"]
    block = r.to_neo()
    d = r.data
    seg = block.segments[0]
    assert [g.name for g in block.groups] == ["neurons"]
    want = _trains_ms(d["spike_time"].values, d["spike_neuron"].values, d.sizes["neuron"])
    labels = [st.annotations["label"] for st in seg.spiketrains]
    assert labels == [str(x) for x in d["preset"].values]
    path = bs.export(r, "neo", out=tmp_path / "izh.nix")
    with neo.NixIO(str(path), mode="ro") as io:   # on disk: one train per population
        raw = io.read_block().segments[0].spiketrains
    assert [st.annotations["population"] for st in raw] == ["neurons"]
    order = np.lexsort((d["spike_neuron"].values, d["spike_time"].values))  # time, then index
    np.testing.assert_array_equal(raw[0].array_annotations["neuron_index"],
                                  d["spike_neuron"].values[order])
    np.testing.assert_array_equal(raw[0].rescale("s").magnitude,
                                  d["spike_time"].values[order] * 1e-3)
    from bioSNN.exchange.neo_io import read_neo

    back = read_neo(path)
    trains = back.segments[0].spiketrains
    assert len(trains) == len(want)
    for k, (st, w) in enumerate(zip(trains, want)):
        np.testing.assert_array_equal(st.rescale("s").magnitude, w * 1e-3)
        assert st.annotations["population"] == "neurons" and st.annotations["neuron_index"] == k
        assert st.annotations["label"] == str(d["preset"].values[k])
    names = {s.name for s in back.segments[0].analogsignals}
    assert {"v", "u", "I"} <= names
    v = next(s for s in back.segments[0].analogsignals if s.name == "v")
    np.testing.assert_allclose(v.rescale("mV").magnitude, d["v"].values.T, rtol=1e-12)


def test_elephant_on_the_neo_export_matches_the_summary(runs):
    from elephant.statistics import mean_firing_rate

    r = runs["lif-poisson-trace"]
    seg = r.to_neo().segments[0]
    lif = [st for st in seg.spiketrains if st.annotations["population"] == "neurons"]
    for k, st in enumerate(lif):
        rate = float(mean_firing_rate(st).rescale("Hz").magnitude)
        assert rate == pytest.approx(r.summary[f"neuron{k}_rate_Hz"], rel=1e-12)


def test_cli_export_prints_the_file_and_rejects_bad_input(runs, tmp_path, capsys):
    folder = runs["lif-poisson-trace"].folder
    assert main(["export", str(folder)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("lif-poisson-trace-seed0.nwb") and "export" in out
    assert main(["export", str(folder), "--format", "neo", "--out", str(tmp_path / "x.nix")]) == 0
    assert (tmp_path / "x.nix").is_file()
    assert not list(tmp_path.glob(".*partial*"))
    assert main(["export", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a complete bioSNN run folder" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as stop:
        main(["export", str(folder), "--format", "csv"])
    assert stop.value.code == 2
