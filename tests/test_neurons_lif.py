"""LIF neuron against its closed-form solutions (tier: analytic).

Brian2 integrates the linear LIF equation with the ``exact`` method, so sub-threshold
traces match the exponential solution to rounding error; spike times sit on the
time grid, so spike and ISI times match the analytic ones within one time step.
"""
from __future__ import annotations

import numpy as np
import pytest
from brian2 import (Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, mV, ms,
                    nA, pA, second)

from bioSNN.analytic import lif_first_spike_time, lif_rate, lif_subthreshold_v
from bioSNN.neurons import lif_group
from bioSNN.params import LIFParams

P = LIFParams.SEED
DT = 0.1 * ms


def _run(brian, group, *monitors, T):
    brian.defaultclock.dt = DT
    net = Network(group, *monitors)
    net.run(T, namespace={})
    return net


def test_seed_parameters():
    assert P.E_L == -65 * mV and P.V_th == -58 * mV and P.V_r == -65 * mV
    assert P.tau_m == 10 * ms and P.t_ref == 5 * ms
    assert abs(float(P.rheobase / pA) - 70.0) < 1e-9


@pytest.mark.parametrize("kwargs, message", [
    ({"tau_m": 10}, "tau_m must be a time"),
    ({"tau_m": 10 * mV}, "tau_m must be a time"),
    ({"tau_m": -1 * ms}, "tau_m must be > 0"),
    ({"V_th": -70 * mV}, "V_th"),
    ({"R_m": 5 * ms}, "R_m must be a resistance"),
])
def test_params_reject_bad_values(kwargs, message):
    with pytest.raises((TypeError, ValueError), match=message):
        LIFParams(**kwargs)


def test_subthreshold_decay_matches_exponential(brian_numpy):
    v0 = np.array([-60.0, -64.0, -80.0, -65.0]) * mV
    I = np.array([0, 0, 0, 50]) * pA  # last: below rheobase, relaxes to E_L + R I = -60 mV
    g = lif_group(4, P)
    g.v = v0
    g.I = I
    mon = StateMonitor(g, "v", record=True)
    spikes = SpikeMonitor(g)
    _run(brian_numpy, g, mon, spikes, T=100 * ms)
    assert spikes.num_spikes == 0
    # StateMonitor records v at the start of each step: v(t_k) for t_k = k*dt
    for k in range(4):
        expected = lif_subthreshold_v(mon.t[:], v0[k], P, I[k])
        np.testing.assert_allclose(mon.v[k] / mV, expected / mV, rtol=0, atol=1e-9)
    assert abs(float(mon.v[3][-1] / mV) - (-60.0)) < 1e-3  # settled near E_L + R I


def test_exact_and_euler_formulations_agree(brian_numpy):
    """Two integrators of the same equation: Euler's error is O(dt)."""
    traces = {}
    for method in ("exact", "euler"):
        brian_numpy.start_scope()
        g = lif_group(1, P, method=method)
        g.v = -80 * mV
        mon = StateMonitor(g, "v", record=0)
        _run(brian_numpy, g, mon, T=50 * ms)
        traces[method] = np.asarray(mon.v[0] / mV)
    err = np.abs(traces["exact"] - traces["euler"]).max()
    # local error of Euler on 15 mV * exp(-t/tau): ~ 15 mV * dt/(2 tau) * e^-1 ~ 0.03 mV
    assert 1e-4 < err < 0.05


def test_time_to_first_spike_within_one_step(brian_numpy):
    I = np.array([0.075, 0.1, 0.2, 0.5, 1.0, 3.0]) * nA
    g = lif_group(len(I), P)
    g.I = I
    spikes = SpikeMonitor(g)
    _run(brian_numpy, g, spikes, T=60 * ms)
    trains = spikes.spike_trains()
    expected = lif_first_spike_time(I, P) / ms
    for k in range(len(I)):
        assert len(trains[k]) >= 1
        first = float(trains[k][0] / ms)
        assert abs(first - expected[k]) <= float(DT / ms) + 1e-9, (I[k], first, expected[k])


def test_fi_curve_matches_analytic_rate_including_rheobase_and_saturation(brian_numpy):
    rheo = float(P.rheobase / nA)
    I = np.concatenate([[0.0, 0.5 * rheo, rheo * (1 - 1e-6), rheo],     # silent
                        rheo * np.array([1.02, 1.1, 1.5]),                 # near rheobase
                        np.linspace(0.2, 2.0, 10), [20.0, 200.0]]) * nA     # up to saturation
    g = lif_group(len(I), P)
    g.I = I
    spikes = SpikeMonitor(g)
    T = 3 * second
    _run(brian_numpy, g, spikes, T=T)
    trains = spikes.spike_trains()
    r = lif_rate(I, P)
    for k in range(len(I)):
        st = np.asarray(trains[k] / ms)
        if r[k] == 0:
            assert len(st) == 0, f"fired below or at rheobase, I={I[k]}"
            continue
        assert len(st) >= 2, I[k]
        isi = np.diff(st)
        analytic_isi = 1000.0 / float(r[k] / (1 / second))
        # every ISI (not just the mean) lies within one time step of the analytic one
        assert np.abs(isi - analytic_isi).max() <= float(DT / ms) + 1e-9, (I[k], isi, analytic_isi)
    # saturation: the rate approaches 1/t_ref from below
    top = 1000.0 / np.diff(np.asarray(trains[len(I) - 1] / ms)).mean()
    assert 190.0 < top <= 200.0 + 1e-9


def test_refractory_period_holds_membrane_at_reset(brian_numpy):
    g = lif_group(1, P)
    g.I = 2 * nA
    mon = StateMonitor(g, "v", record=0)
    spikes = SpikeMonitor(g)
    _run(brian_numpy, g, mon, spikes, T=30 * ms)
    t_spike = float(spikes.t[0] / ms)
    t = np.asarray(mon.t / ms)
    window = (t > t_spike + 1e-9) & (t < t_spike + float(P.t_ref / ms) - 1e-9)
    assert window.sum() >= 45
    np.testing.assert_array_equal(mon.v[0][window] / mV, -65.0)
    after = t > t_spike + float(P.t_ref / ms) + float(DT / ms) + 1e-9
    assert mon.v[0][after][0] > P.V_r  # integrates again once refractoriness ends


def test_spike_driven_input_is_a_voltage_jump_then_exponential_decay(brian_numpy):
    src = SpikeGeneratorGroup(1, [0], [10] * ms)
    g = lif_group(1, P)
    syn = Synapses(src, g, "w : volt", on_pre="v_post += w")
    syn.connect()
    syn.w = 3 * mV
    mon = StateMonitor(g, "v", record=0)
    _run(brian_numpy, g, src, syn, mon, T=40 * ms)
    v = np.asarray(mon.v[0] / mV)
    t = np.asarray(mon.t / ms)
    jump_at = np.flatnonzero(v > -65 + 1e-12)[0]
    # the synaptic effect is applied after the state update of the spike's step, so the
    # monitor (recording at the start of each step) sees exactly E_L + w one step later
    assert abs(v[jump_at] - (-62.0)) < 1e-9
    after = t >= t[jump_at]
    peak = v[jump_at]
    expected = -65 + (peak + 65) * np.exp(-(t[after] - t[jump_at]) / 10.0)
    np.testing.assert_allclose(v[after], expected, atol=1e-9)
    assert abs(t[jump_at] - (10.0 + float(DT / ms))) < 1e-9
