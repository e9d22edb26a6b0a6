"""stp-trains (Markram et al. 1998 protocol): every efficacy against the recursion, the
test spike and the first EPSP against hand-computed closed forms, the spec's errors, and
the validation entries' test of the test."""
from __future__ import annotations

import math

import numpy as np
import pytest


@pytest.fixture(scope="module")
def run():
    from bioSNN.protocols import find_spec, get_kind

    spec = find_spec("markram1998-trains").resolve()
    return get_kind(spec.kind)(spec).run()


def test_efficacies_equal_the_recursion_and_approach_the_steady_state(run):
    d = run.data
    np.testing.assert_allclose(d["efficacy"].values, d["efficacy_recursion"].values,
                               rtol=1e-12, atol=0)
    # the depressing trains are steady by their 10th spike (to 4e-4 at 40 Hz)
    last = d["efficacy"].values[0, :, -1]
    np.testing.assert_allclose(last, d["efficacy_steady_state"].values[0], rtol=5e-4)
    assert d["efficacy"].values[0, 0, 0] == pytest.approx(0.67, abs=0)   # rested: U
    assert run.summary["max_rel_error_vs_recursion"] < 1e-12


def test_test_spike_after_the_train_is_hand_computed(run):
    """After the last spike n: u, x (after release) relax for `recovery`; the test spike's
    efficacy is then (U + (1-U) u_n E_f)(1 + (x_n (1-u_n) - 1) E_r)."""
    from brian2 import Hz

    from bioSNN.plasticity import tm_regular_train
    from bioSNN.protocols.stp_trains import SYNAPSES

    d = run.data
    T = float(d.attrs["recovery_ms"])
    for k, (name, stp) in enumerate(SYNAPSES.items()):
        for j, f in enumerate(d["frequency"].values):
            u, x, _ = tm_regular_train(stp, f * Hz, int(d.attrs["n_spikes"]))
            e_r = math.exp(-T / float(d["tau_rec"].values[k]))
            tf = float(d["tau_facil"].values[k])
            u_next = stp.U + (1 - stp.U) * u[-1] * (math.exp(-T / tf) if tf > 0 else 0.0)
            x_next = 1 + (x[-1] * (1 - u[-1]) - 1) * e_r
            assert d["recovery_efficacy"].values[k, j] == pytest.approx(u_next * x_next,
                                                                        rel=1e-12), (name, f)


def test_first_epsp_is_the_difference_of_exponentials(run):
    """The first EPSP of the 5 Hz depressing train, until the second spike, is
    J r tau_s / (tau_m - tau_s) (e^(-s/tau_m) - e^(-s/tau_s)) after one step of delay (the
    current jumps after the step's state update), to float rounding ('exact' method)."""
    from brian2 import mV, ms

    d = run.data
    p = run.spec.params
    tau_m, tau_s = float(p.tau_m / ms), float(p.tau_s / ms)
    J, E_L, dt = float(p.J / mV), float(p.E_L / mV), float(p.dt / ms)
    r = float(d["efficacy"].values[0, 0, 0])
    t = d["time"].values
    t0 = float(d.attrs["start_ms"]) + dt
    seg = (t >= t0) & (t < t0 + 190.0)
    s = t[seg] - t0
    want = E_L + J * r * tau_s / (tau_m - tau_s) * (np.exp(-s / tau_m) - np.exp(-s / tau_s))
    np.testing.assert_allclose(d["v"].values[0, 0, seg], want, rtol=0, atol=1e-9)
    assert d["v"].values[0, 0, seg].max() - E_L == pytest.approx(0.674, abs=5e-3)


def test_spec_errors_name_the_field(quick_spec):
    from bioSNN.errors import SpecError

    with pytest.raises(SpecError, match="frequencies_Hz: the period of 30 Hz"):
        quick_spec("markram1998-trains", frequencies_Hz="5 30")
    with pytest.raises(SpecError, match="frequencies_Hz: must be strictly ascending"):
        quick_spec("markram1998-trains", frequencies_Hz="20 10")
    with pytest.raises(SpecError, match="recovery: must be a whole number"):
        quick_spec("markram1998-trains", recovery="500.05 ms")


def test_validation_entries_pass_here_and_fail_on_wrong_data(run):
    """Test of the test: each entry fails when its property is broken in the data."""
    from bioSNN.validation.plasticity_experiments import (STPFacilitation, STPLimitingFrequency,
                                                          STPRecursion)

    class Fake:
        def __init__(self, data):
            self.data = data

    good = Fake(run.data)
    tests = [STPRecursion(), STPLimitingFrequency(), STPFacilitation()]
    assert [t.judge(good).status for t in tests] == ["pass"] * 3
    off = run.data.copy(deep=True)
    off["efficacy"].values[1, 2, 5] *= 1 + 1e-6
    assert STPRecursion().judge(Fake(off)).status == "fail"
    doubled = run.data.copy(deep=True)
    doubled["efficacy"].values[0] *= 2          # no saturation at 1/tau_rec
    assert STPLimitingFrequency().judge(Fake(doubled)).status == "fail"
    flat = run.data.copy(deep=True)
    flat["efficacy"].values[1] = flat["efficacy"].values[1, :, :1]   # no growth
    assert STPFacilitation().judge(Fake(flat)).status == "fail"
