"""The NumPy reference implementation of ``rstdp-classification``
(:mod:`bioSNN.reference.rstdp_numpy`) against the Brian2 protocol (numpy target):
identical input, hidden and output spike trains, weights to 1e-9, identical reward
baseline, thresholds and headline numbers.

The two differ only in the order of floating-point additions within a step (see the
module's docstring), so no threshold decision differs in practice and exact identity
of the spike trains is asserted.
"""
from __future__ import annotations

import numpy as np
import pytest

from bioSNN.protocols import get_kind
from bioSNN.reference.rstdp_numpy import simulate

CASES = {
    # the benchmark's network (10 classes, Poisson input), learning rule as in the spec
    "poisson-10class": ("rstdp-poisson-10class", {"n_train": 20, "n_test": 10, "block": 10,
                                                  "snapshot_every": 5}),
    # periodic input, and the other branches: all outputs learn, no normalisation,
    # raw reward (no baseline)
    "patterns-3class-variants": ("rstdp-patterns-3class", {
        "n_train": 18, "n_test": 6, "block": 6, "snapshot_every": 3, "trial_duration": "200 ms",
        "winner_only": False, "normalize": False, "baseline_rate": 0.0}),
}


def _steps(data, var, dt_ms):
    return np.rint(data[var].values / dt_ms).astype(np.int64)


@pytest.mark.parametrize("case", sorted(CASES))
def test_numpy_reference_matches_brian2(quick_spec, case):
    name, overrides = CASES[case]
    spec = quick_spec(name, **overrides).resolve(target="numpy")
    brian = get_kind(spec.kind)(spec).run()
    a, b = brian.data, simulate(spec.params, spec.seed)
    dt_ms = a.attrs["dt_ms"]

    np.testing.assert_array_equal(a["label"].values, b["label"].values)
    np.testing.assert_array_equal(a["input_spike_neuron"].values, b["input_spike_neuron"].values)
    for layer in ("hidden", "output"):
        np.testing.assert_array_equal(a[f"{layer}_spike_neuron"].values,
                                      b[f"{layer}_spike_neuron"].values)
        np.testing.assert_array_equal(_steps(a, f"{layer}_spike_time", dt_ms),
                                      b[f"{layer}_spike_step"].values)
    np.testing.assert_allclose(b["weights"].values, a["weights"].values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(b["reward_baseline"].values, a["reward_baseline"].values,
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(b["threshold_shift"].values, a["threshold_shift"].values,
                               rtol=0, atol=1e-9)
    # the comparison is not trivial: there are output spikes and the weights learned
    assert a.sizes["output_spike"] > 10 * (spec.params.n_train + spec.params.n_test) // 10
    W = a["weights"].values
    assert np.abs(W[-1] - W[0]).max() > 1e-3
    summary = get_kind(spec.kind).summarize(b, spec.params)
    assert summary == pytest.approx(brian.summary, abs=1e-12)
