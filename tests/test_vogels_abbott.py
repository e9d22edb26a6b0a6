"""Protocol vogels-abbott: the CUBA and COBA benchmark networks of Brette et al. (2007)."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from brian2 import mV, ms, nA, nS

from bioSNN.errors import SpecError
from bioSNN.protocols import get_kind
from bioSNN.protocols.vogels_abbott import cuba_jumps, cuba_propagators, fixed_probability


def run(quick_spec, name="cuba-benchmark", seed=0, target="numpy", **overrides):
    spec = quick_spec(name, **overrides).resolve(target=target)
    return get_kind(spec.kind)(spec).run(seed)


ISOLATED = {"n_neurons": "10", "p_connect": "0", "duration": "200 ms", "transient": "0 ms"}
"""Unconnected neurons: the single-neuron dynamics alone."""

SMALL = {"n_neurons": "500", "p_connect": "0.05", "duration": "120 ms", "transient": "20 ms"}
"""A small connected network for the mechanics (not self-sustained in the AI sense)."""


# ------------------------------------------------------------------ model construction

def test_fixed_probability_is_bernoulli_without_autapses():
    rng = np.random.default_rng(0)
    n_e, n, p = 400, 500, 0.1
    i, j = fixed_probability(n_e, n, p, rng, self_offset=0, chunk=37)
    assert i.dtype == np.int32 and j.dtype == np.int32
    assert np.all(np.diff(j) >= 0) and i.min() >= 0 and i.max() < n_e
    assert not np.any(i == j)                                     # no autapses (E onto E)
    pairs = j.astype(np.int64) * n_e + i
    assert len(np.unique(pairs)) == len(pairs)                    # no multapses
    possible = n_e * n - n_e
    assert len(i) == pytest.approx(p * possible, abs=4 * np.sqrt(possible * p * (1 - p)))
    indeg = np.bincount(j, minlength=n)
    assert indeg.var() == pytest.approx(n_e * p * (1 - p), rel=0.2)  # Binomial in-degrees
    ii, ji = fixed_probability(100, n, 1.0, rng, self_offset=n_e)
    assert len(ii) == 100 * n - 100 and not np.any(ii + n_e == ji)  # p = 1: all but self
    assert len(fixed_probability(100, n, 0.0, rng)[0]) == 0
    a = fixed_probability(n_e, 30, p, np.random.default_rng(5))
    b = fixed_probability(n_e, 30, p, np.random.default_rng(5), chunk=7)
    np.testing.assert_array_equal(a[0], b[0])                     # chunking changes nothing


def test_cuba_weights_are_those_of_brian2s_example(quick_spec):
    """Brian2's examples/CUBA.py: we = 60 * 0.27 / 10 mV, wi = -20 * 4.5 / 10 mV."""
    p = quick_spec("cuba-benchmark").params
    je, ji = cuba_jumps(p)
    assert float(je / p.g_L / mV) == pytest.approx(1.62)
    assert float(ji / p.g_L / mV) == pytest.approx(-9.0)
    assert float(p.tau_m / ms) == pytest.approx(20.0) and (p.n_exc, p.n_inh) == (3200, 800)


# ------------------------------------------------------------------ analytic single neurons

def test_cuba_propagators_are_continuous_at_equal_time_constants(quick_spec):
    """Q_s = tau_s/(g_L (tau_s - tau_m)) (P_s - P_m) has the limit dt/(g_L tau_m) P_m at
    tau_s = tau_m; the propagators are those of exp(-dt/tau)."""
    p = quick_spec("cuba-benchmark").params
    q = cuba_propagators(p)
    assert q["P_m"] == pytest.approx(np.exp(-0.1 / 20)) and q["P_e"] == pytest.approx(
        np.exp(-0.1 / 5))
    at = cuba_propagators(quick_spec("cuba-benchmark", tau_e="20 ms").params)["Q_e"]
    near = cuba_propagators(quick_spec("cuba-benchmark", tau_e="20.0001 ms").params)["Q_e"]
    assert float(at / near) == pytest.approx(1.0, abs=1e-5)
    assert float(at * 10 * nS) == pytest.approx(0.1 / 20 * np.exp(-0.1 / 20))


def test_isolated_cuba_neuron_fires_at_the_lif_period(quick_spec):
    r"""E_L = -49 mV lies above V_t: an unconnected neuron fires periodically with
    T = tau_ref + tau_m ln((E_L - V_r) / (E_L - V_t)) = 5 + 20 ln 11 = 52.96 ms
    (spikes on the 0.1 ms grid)."""
    r = run(quick_spec, **ISOLATED)
    d = r.data
    t_analytic = 5.0 + 20.0 * np.log(11.0)
    for k in range(10):
        t = d["spike_time"].values[d["spike_neuron"].values == k]
        isi = np.diff(t)
        assert len(isi) >= 2
        np.testing.assert_allclose(isi, t_analytic, atol=0.1 + 1e-9)
        assert np.ptp(isi) < 1e-6                                  # a clock
    assert r.summary["n_synapses"] == 0 and r.summary["synaptic_events_per_s"] == 0


def test_free_membrane_and_synaptic_current_follow_the_analytic_solution(quick_spec):
    r"""CUBA, one unconnected neuron below threshold, started at V0 with a synaptic
    current I0 = w (E_e - V_mean): tau_m V' = E_L - V + I/g_L, I = I0 exp(-t/tau_e), so
    V = E_L + A e^{-t/tau_e} + (V0 - E_L - A) e^{-t/tau_m}, A = (I0/g_L) tau_e/(tau_e - tau_m).
    Brian2's exact integration must match it to rounding."""
    r = run(quick_spec, **{**ISOLATED, "n_neurons": "5", "E_L": "-70 mV", "n_trace": "1",
                           "v_init_min": "-65 mV", "v_init_max": "-65 mV",
                           "ge_init_mean": "1 nS"})
    d, p = r.data, r.spec.params
    t = d["time"].values
    i0 = float(1 * nS * (p.E_e - p.V_mean) / nA)                         # 0.06 nA
    np.testing.assert_allclose(d["I_e"].values[:, 0], i0 * np.exp(-t / 5.0), rtol=1e-9)
    a = (i0 * 1e-9 / 10e-9 * 1e3) * 5.0 / (5.0 - 20.0)                  # mV
    v = -70.0 + a * np.exp(-t / 5.0) + (-65.0 + 70.0 - a) * np.exp(-t / 20.0)
    np.testing.assert_allclose(d["v"].values[:, 0], v, atol=1e-9)
    assert d["v"].values[-1, 0] == pytest.approx(-70.0, abs=1e-3)       # relaxed to E_L
    assert r.summary["n_spikes"] == 0


def test_coba_membrane_is_the_hand_computed_euler_sequence(quick_spec):
    r"""COBA, one unconnected neuron with initial conductances, forward Euler:
    V_{n+1} = V_n + dt (g_L (E_L - V_n) + g_e (E_e - V_n) + g_i (E_i - V_n)) / C_m,
    g_{n+1} = g_n (1 - dt/tau). With slow synapses (tau 10 s) the conductances stay
    put and V relaxes to (g_L E_L + g_e E_e + g_i E_i)/g_tot with the effective time
    constant C_m / g_tot (4 ms here, against tau_m = 20 ms)."""
    over = {**ISOLATED, "n_neurons": "5", "n_trace": "1", "duration": "30 ms",
            "v_init_min": "-52 mV", "v_init_max": "-52 mV", "ge_init_mean": "10 nS",
            "gi_init_mean": "30 nS", "tau_e": "10 s", "tau_i": "10 s", "dt": "0.01 ms",
            "rate_bin": "0.1 ms"}
    r = run(quick_spec, "coba-benchmark", **{**over, "n_stim": "0"})
    d = r.data
    dt, c_m, g_l = 0.01, 200.0, 10.0                                    # ms, pF, nS
    v, ge, gi = -52.0, 10.0, 30.0
    seq = []
    for _ in range(d.sizes["time"]):
        seq.append(v)
        dv = dt * (g_l * (-60.0 - v) + ge * (0.0 - v) + gi * (-80.0 - v)) / c_m
        v, ge, gi = v + dv, ge * (1 - dt / 1e4), gi * (1 - dt / 1e4)
    np.testing.assert_allclose(d["v"].values[:, 0], seq, atol=1e-9)
    g_tot = 50.0
    v_inf = (g_l * -60.0 + 30.0 * -80.0) / g_tot                        # -60 mV... -72 mV
    tau_eff = c_m / g_tot                                               # 4 ms
    k = int(round(tau_eff / dt))
    frac = (d["v"].values[k, 0] - v_inf) / (-52.0 - v_inf)
    assert frac == pytest.approx(np.exp(-1), rel=0.005)                 # Euler: O(dt/tau)
    assert d["v"].values[-1, 0] == pytest.approx(v_inf, abs=0.01)


# ------------------------------------------------------------------ the protocol

def test_small_run_data_units_and_seeds(quick_spec):
    a, b, c = (run(quick_spec, seed=s, **SMALL) for s in (3, 3, 4))
    xr.testing.assert_identical(a.data, b.data)
    assert a.summary == b.summary
    assert not np.array_equal(a.data["spike_time"].values[:50], c.data["spike_time"].values[:50])
    d, s = a.data, a.summary
    for name, var in d.variables.items():
        assert "units" in var.attrs, name
    assert (d.attrs["n_exc"], d.attrs["n_inh"]) == (400, 100)
    assert list(np.unique(d["cell_type"].values[:400])) == ["E"]
    assert int(d["out_degree"].sum()) == s["n_synapses"]
    t, i = d["spike_time"].values, d["spike_neuron"].values
    assert np.all(np.diff(t) >= 0) and t.max() < 120.0 and s["n_spikes"] == len(t)
    # synaptic events: each spike reaches every target of its neuron
    assert s["synaptic_events_per_s"] == pytest.approx(
        d["out_degree"].values[i].sum() / 0.12)
    order = np.lexsort((t, i))
    same = np.diff(i[order]) == 0
    assert np.diff(t[order])[same].min() >= 5.0 - 1e-6             # refractory 5 ms


@pytest.mark.compiled
def test_cython_and_numpy_give_the_same_network(quick_spec):
    """The spec's target (cython) and numpy: same seed, same spikes (the connectivity
    comes from the numpy stream, not from the target's generator)."""
    for name in ("cuba-benchmark", "coba-benchmark"):
        over = {**SMALL, "n_stim": "0"} if name == "coba-benchmark" else SMALL
        a = run(quick_spec, name, target="cython", **over)
        b = run(quick_spec, name, **over)
        np.testing.assert_array_equal(a.data["spike_neuron"].values,
                                      b.data["spike_neuron"].values)
        np.testing.assert_allclose(a.data["spike_time"].values, b.data["spike_time"].values)


@pytest.mark.compiled
def test_quick_cuba_and_coba_self_sustain_asynchronous_irregular_activity(quick_spec):
    """The benchmark networks at full size (4000 neurons), on the spec's target, 300 ms
    with 100 ms dropped: activity lasts to the end without external drive (COBA: after the
    50 ms kick), the population rate is asynchronous (rate modulation far below the
    synchrony threshold 1/sqrt 2) and COBA's ISIs are more irregular than CUBA's.
    Measured here, quick, seeds 0-2: CUBA E 4.8-5.6 Hz, I 5.5-5.6 Hz, CV 0.24-0.27; COBA
    E 17-21 Hz, I 19-20 Hz, CV 0.71-0.75 (a 200 ms window biases CVs low; full size CUBA
    CV 0.48-0.50, COBA 1.48-1.53: docs/vogels_abbott.md). The bands (2-10 Hz, 10-30 Hz)
    bracket these; that both networks sustain their activity after the start is the
    benchmarks' defining property (Brette et al. 2007; NEST's brette_et_al_2007 examples)."""
    for seed in (0, 1):
        cuba = run(quick_spec, "cuba-benchmark", seed=seed, target="cython").summary
        coba = run(quick_spec, "coba-benchmark", seed=seed, target="cython").summary
        for s in (cuba, coba):
            assert s["rate_last_100ms_Hz"] > 0.5 * s["rate_Hz"] > 0     # still going
            assert s["rate_modulation"] < s["rule_modulation_sync"] / 2
            assert s["state"] == "AI"
        assert 2 < cuba["rate_exc_Hz"] < 10 and 2 < cuba["rate_inh_Hz"] < 10
        assert 10 < coba["rate_exc_Hz"] < 30 and 10 < coba["rate_inh_Hz"] < 30
        assert coba["cv_mean"] > cuba["cv_mean"] > 0.1


def test_coba_without_kick_from_rest_stays_silent(quick_spec):
    """COBA's rest E_L = -60 mV lies below threshold: with V0 = E_L, no conductance and
    no kick, nothing ever fires (the kick is what starts the network)."""
    r = run(quick_spec, "coba-benchmark", n_stim="0", v_init_min="-60 mV",
            v_init_max="-60 mV", duration="150 ms", transient="20 ms")
    assert r.summary["n_spikes"] == 0 and r.summary["state"] == "silent"


def test_figure_is_drawn_from_saved_results(quick_spec, tmp_path):
    from bioSNN.plots.vogels_abbott import plot_vogels_abbott_activity
    from bioSNN.results import Results

    r = run(quick_spec, **SMALL)
    r.save(tmp_path / "run")
    fig = plot_vogels_abbott_activity(Results.load(tmp_path / "run"))
    assert len(fig.axes) == 4
    assert any(a.get_title(loc="left").startswith("CUBA, N = 500") for a in fig.axes)


def test_bad_parameters_give_one_line_errors(quick_spec):
    with pytest.raises(SpecError, match="synapse: expected one of 'current', 'conductance'"):
        quick_spec("cuba-benchmark", synapse="delta")
    with pytest.raises(SpecError, match="w_exc: expected a"):
        quick_spec("cuba-benchmark", w_exc="1 mV")
    with pytest.raises(SpecError, match="p_connect: must be <= 1"):
        quick_spec("cuba-benchmark", p_connect="1.5")
    with pytest.raises(SpecError, match="V_r: must be below V_t"):
        quick_spec("coba-benchmark", V_r="-45 mV", v_init_max="-50 mV")
    with pytest.raises(SpecError, match="v_init_max: must be at most V_t"):
        quick_spec("cuba-benchmark", v_init_max="-40 mV")
    with pytest.raises(SpecError, match="exc_fraction: leaves no"):
        quick_spec("cuba-benchmark", n_neurons="5", exc_fraction="0.95")
    with pytest.raises(SpecError, match="delay: must be 0 or at least dt"):
        quick_spec("cuba-benchmark", delay="0.05 ms")
    with pytest.raises(SpecError, match="duration: must exceed transient"):
        quick_spec("cuba-benchmark", transient="290 ms")
