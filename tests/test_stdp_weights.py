"""stdp-weight-distribution: the shape reader on hand-made histograms, the rules' wiring on
a tiny numpy run, the spec's errors, and the validation entries' test of the test."""
from __future__ import annotations

import numpy as np
import pytest

from bioSNN.features.weight_distribution import histogram, shape

TINY = {"n_inputs": 40, "g_max": 0.4, "duration": "2 s", "snapshots": 4, "input_rate": "20 Hz"}


def _h(*fractions):
    h = np.array(fractions, dtype=float)
    return h / h.sum()


def test_shape_reads_hand_made_histograms():
    # U: both outer bins above every central one (Song et al.'s additive rule)
    assert shape(_h(48, 17, 6, 4, 2, 2, 2, 2, 5, 12)) == "bimodal"
    # the top bin (7 %) is not above the central maximum (8 %): not yet split
    assert shape(_h(48, 17, 8, 4, 2, 2, 2, 2, 8, 7)) == "other"
    # one interior peak, empty edges (soft bounds)
    assert shape(_h(0, 0, 0, 1, 80, 19, 0, 0, 0, 0)) == "unimodal"
    # ties at the peak are one run; two separate peaks are not unimodal
    assert shape(_h(0, 0, 1, 40, 40, 19, 0, 0, 0, 0)) == "unimodal"
    assert shape(_h(0, 0, 30, 5, 30, 35, 0, 0, 0, 0)) == "other"
    # uniform: neither
    assert shape(_h(*[1] * 10)) == "other"
    # outer bins above the central ones but thin (4 % < 5 %): not bimodal
    assert shape(np.array([0.04, 0.37] + [0.03] * 6 + [0.37, 0.04])) == "other"
    with pytest.raises(ValueError, match="expected 10 bins"):
        shape(np.ones(5) / 5)


def test_histogram_bins_the_bounds_inside():
    h = histogram([0.0, 0.05, 0.5, 1.0, 1.0])
    assert h.sum() == pytest.approx(1.0)
    assert h[0] == pytest.approx(0.4) and h[5] == pytest.approx(0.2) and h[-1] == pytest.approx(0.4)


def test_rules_map_to_their_weight_dependences():
    from bioSNN.plasticity import (AdditivePotentiationMultiplicativeDepression, GutigWeights,
                                   MultiplicativeWeights, WeightBounds)
    from bioSNN.protocols.stdp_weights import weight_dependence

    assert type(weight_dependence("additive", 0.4)) is WeightBounds
    assert type(weight_dependence("van-rossum", 0.4)) is AdditivePotentiationMultiplicativeDepression
    assert type(weight_dependence("multiplicative", 0.4)) is MultiplicativeWeights
    g = weight_dependence("gutig", 0.25)
    assert isinstance(g, GutigWeights) and g.mu_plus == g.mu_minus == 0.25
    assert (g.w_min, g.w_max) == (0.0, 1.0)


def test_spec_errors_name_the_field(quick_spec):
    from bioSNN.errors import SpecError

    with pytest.raises(SpecError, match="rules: unknown rule.*hebb"):
        quick_spec("song2000-weights", rules="additive hebb")
    with pytest.raises(SpecError, match="rules: lists a rule twice"):
        quick_spec("song2000-weights", rules="additive additive")
    with pytest.raises(SpecError, match="V_reset: must be below V_th"):
        quick_spec("song2000-weights", V_reset="-50 mV")


def _tiny(quick_spec, **extra):
    from bioSNN.protocols import get_kind

    spec = quick_spec("song2000-weights", **{**TINY, **extra}).resolve(target="numpy")
    return get_kind(spec.kind)(spec).run()


def test_rules_share_inputs_and_initial_weights(quick_spec):
    """With the same weight dependence twice over (additive under two names is not
    allowed, so: additive and van-rossum with a negligible amplitude) the neurons see the
    same input spikes and weights, so they fire identically; weights stay in [0, 1] and the
    first snapshot is the initial draw."""
    r = _tiny(quick_spec, rules="additive van-rossum", A_plus=1e-12)
    d = r.data
    assert list(d["rule"].values) == ["additive", "van-rossum"]
    rate = d["post_rate"].values
    assert rate[0] > 0 and rate[0] == rate[1]
    w0 = d["w_initial"].values
    np.testing.assert_allclose(d["w_snapshot"].values[:, 0, :], np.stack([w0, w0]), atol=0)
    np.testing.assert_allclose(d["w_hat"].values, np.stack([w0, w0]), atol=1e-6)
    assert d["snapshot_time"].values.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.5])


def test_same_seed_same_run_and_bounds_hold(quick_spec):
    a = _tiny(quick_spec, A_plus=0.05)
    b = _tiny(quick_spec, A_plus=0.05)
    np.testing.assert_array_equal(a.data["w_hat"].values, b.data["w_hat"].values)
    w = a.data["w_hat"].values
    assert w.min() >= 0.0 and w.max() <= 1.0
    assert not np.allclose(w, a.data["w_initial"].values)      # the rules did learn
    assert set(a.summary) >= {"additive_shape", "gutig_shape", "multiplicative_shape"}


def test_validation_entry_fails_on_the_wrong_shape(quick_spec):
    """Test of the test: the additive entry fails on a run whose 'additive' weights are
    unimodal, and says so; a run without the rule fails with a clear text."""
    import xarray as xr

    from bioSNN.validation.plasticity_experiments import WeightDistributionShape

    class Fake:
        def __init__(self, rules, w):
            self.data = xr.Dataset({"w_hat": (("rule", "synapse"), w)},
                                   coords={"rule": ("rule", rules)})

    rng = np.random.default_rng(0)
    unimodal = np.clip(rng.normal(0.5, 0.02, size=(1, 500)), 0, 1)
    split = np.concatenate([np.zeros(300), np.ones(150), rng.uniform(0, 1, 50)])[None]
    test = WeightDistributionShape("additive", "bimodal")
    assert test.judge(Fake(["additive"], split)).status == "pass"
    bad = test.judge(Fake(["additive"], unimodal))
    assert bad.status == "fail" and "unimodal (expected bimodal)" in bad.score.text
    missing = test.judge(Fake(["gutig"], unimodal))
    assert missing.status == "fail" and "no such rule" in missing.score.text
    assert WeightDistributionShape("gutig", "unimodal").judge(Fake(["gutig"], unimodal)).status == "pass"
