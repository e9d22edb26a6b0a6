"""Protocol lif-poisson-trace: LIF neurons driven by Poisson spikes through synapses."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bioSNN.errors import SpecError
from bioSNN.protocols import get_kind


def run(quick_spec, seed=0, **overrides):
    spec = quick_spec("lif-poisson-trace", **overrides)
    return get_kind(spec.kind)(spec).run(seed)


def test_same_seed_same_data_other_seed_differs(quick_spec):
    a, b, c = (run(quick_spec, seed, duration="200 ms") for seed in (3, 3, 4))
    xr.testing.assert_identical(a.data, b.data)
    assert a.summary == b.summary
    for name in ("input_spike_time", "w"):  # brian2 stream and numpy stream both change
        assert not np.array_equal(a.data[name].values[:50], c.data[name].values[:50]), name
    assert not a.data["v"].equals(c.data["v"])


def test_recorded_data_and_summary(quick_spec):
    r = run(quick_spec)
    d, s = r.data, r.summary
    for name, var in d.variables.items():
        assert "units" in var.attrs, name
    assert d["v"].dims == ("neuron", "time") and d.sizes["neuron"] == 3
    assert d.sizes["time"] == 5000  # 500 ms at 0.1 ms
    w = d["w"].values
    assert w.shape == (100, 3) and w.min() >= 0.0 and w.max() <= 0.6
    # 100 inputs x 20 Hz x 0.5 s = 1000 expected input spikes (Poisson sd ~ 3 %)
    assert s["input_rate_measured_Hz"] == pytest.approx(20.0, rel=0.1)
    # the default regime is fluctuation-driven: mean drive 6 mV < 7 mV to threshold,
    # yet every neuron fires, irregularly
    assert s["predicted_mean_drive_mV"] < float(d["V_th"] - d["E_L"])
    assert all(s[f"neuron{k}_rate_Hz"] > 5.0 for k in range(3))
    assert 0.2 < s["cv_isi"] < 1.2
    assert s["n_output_spikes"] == d.sizes["spike"]
    # after every output spike the membrane sits at V_r for the refractory period
    t, v = d["time"].values, d["v"].values
    k, ts = int(d["spike_neuron"].values[0]), float(d["spike_time"].values[0])
    held = (t > ts + 0.05) & (t < ts + float(d["t_ref"]) - 0.05)
    np.testing.assert_allclose(v[k, held], float(d["V_r"]))


def test_output_rate_increases_with_input_rate(quick_spec):
    rates = [run(quick_spec, input_rate=f"{r} Hz").summary["mean_output_rate_Hz"]
             for r in (5, 20, 40)]
    assert rates[0] == 0.0  # 1.5 mV mean drive: far below threshold
    assert rates[0] < rates[1] < rates[2]


def test_synapses_are_the_only_drive(quick_spec):
    """Zero weights: the neurons stay at rest; small weights: the mean depolarisation
    follows Campbell's theorem, n_inputs * rate * mean(w) * tau_m."""
    silent = run(quick_spec, w_max="0 mV")
    assert silent.summary["n_output_spikes"] == 0
    np.testing.assert_array_equal(silent.data["v"].values, float(silent.data["E_L"]))

    weak = run(quick_spec, w_max="0.2 mV")  # 2 mV mean drive, s.d. ~0.4 mV: sub-threshold
    d = weak.data
    assert weak.summary["n_output_spikes"] == 0
    steady = d["time"].values > 50.0  # after the initial transient (5 tau_m)
    depol = d["v"].values[:, steady].mean() - float(d["E_L"])
    assert weak.summary["predicted_mean_drive_mV"] == pytest.approx(2.0, rel=0.1)
    assert depol == pytest.approx(weak.summary["predicted_mean_drive_mV"], rel=0.1)


def test_weight_bounds_validated(quick_spec):
    with pytest.raises(SpecError, match="w_max: must be at least w_min"):
        quick_spec("lif-poisson-trace", w_min="0.5 mV", w_max="0.4 mV")
    with pytest.raises(SpecError, match="input_rate: expected a frequency"):
        quick_spec("lif-poisson-trace", input_rate="20 ms")
