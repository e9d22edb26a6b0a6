"""The ``stdp-triplets`` kind (Wang et al. 2005 triplets) and its validation entry.

Hand-computed values (the 1 s between repetitions leaves cross-repetition terms below
e^(-25); tolerance rel. 1e-8); the event-by-event reference; the pair rule's equal change
for both triplets and its failing verdict (test of the test); seeds; bad input.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from bioSNN.errors import SpecError
from bioSNN.protocols.registry import get_kind
from bioSNN.protocols.spec import find_spec
from bioSNN.protocols.stdp_triplets import TIMING_PRESETS, triplet_times
from bioSNN.validation import FAIL, PASS
from bioSNN.validation.plasticity_experiments import WangTriplets

from _plasticity_reference import Timing, Weights, simulate

E = math.exp


def run(**overrides):
    spec = find_spec("wang-triplets").resolve(overrides=overrides)
    return get_kind(spec.kind)(spec).run()


@pytest.fixture(scope="module")
def runs():
    return {t: run(timing=t) for t in TIMING_PRESETS}


def test_triplet_rule_matches_hand_computed_values(runs):
    """pre-post-pre: post at 5 ms sees r1 = e^(-5/16.8), no earlier post (o2 = 0); the
    second pre sees o1 = e^(-5/33.7). post-pre-post: the pre sees o1 = e^(-5/33.7); the
    second post sees r1 = e^(-5/16.8) and o2 = e^(-10/40)."""
    r = runs["triplet-minimal-hippocampus"]
    ppp = 60 * (E(-5 / 16.8) * 5.3e-3 - E(-5 / 33.7) * 3.5e-3)
    pop = 60 * (E(-5 / 16.8) * (5.3e-3 + 8e-3 * E(-10 / 40)) - E(-5 / 33.7) * 3.5e-3)
    dw = dict(zip(r.data["pattern"].values, r.data["dw_percent"].values / 100))
    assert dw["pre-post-pre"] == pytest.approx(ppp, rel=1e-8)
    assert dw["post-pre-post"] == pytest.approx(pop, rel=1e-8)


def test_pair_rule_gives_both_triplets_the_same_change(runs):
    r = runs["pair"]
    both = 60 * (E(-5 / 16.8) * 5.3e-3 - E(-5 / 33.7) * 3.5e-3)
    np.testing.assert_allclose(r.data["dw_percent"].values / 100, [both, both], rtol=1e-8)


@pytest.mark.parametrize("timing, scheme", [("triplet-minimal-hippocampus", "triplet"),
                                            ("pair", "all-to-all")])
def test_matches_the_event_by_event_reference(timing, scheme):
    r = run(timing=timing, n_repetitions=6, repetition_frequency="20 Hz")
    t = TIMING_PRESETS[timing]
    fields = {k: (float(getattr(t, k)) if k.startswith("tau") else getattr(t, k))
              for k in ("tau_plus", "tau_minus", "tau_x", "tau_y", "A_plus", "A_minus",
                        "A2_plus", "A3_plus", "A2_minus", "A3_minus") if hasattr(t, k)}
    _, pre_i, pre_t, post_i, post_t = triplet_times(r.spec.params)
    for k in range(2):
        pre = np.round(pre_t[pre_i == k] / 0.1).astype(int).tolist()
        post = np.round(post_t[post_i == k] / 0.1).astype(int).tolist()
        w, n_clipped = simulate(pre, post, 1e-4, Timing(scheme=scheme, **fields),
                                Weights("additive", -1000.0, 1000.0), 1.0)
        assert n_clipped == 0
        assert r.data["w_final"].values[k] == pytest.approx(w, rel=1e-10)


def test_validation_passes_for_the_triplet_rule_and_fails_for_the_pair_rule(runs):
    test = WangTriplets()
    good = test.judge(runs["triplet-minimal-hippocampus"])
    assert good.status == PASS, good.score.text
    bad = test.judge(runs["pair"])
    assert bad.status == FAIL and "post-pre-post >=" in bad.score.text


def test_same_seed_identical():
    a, b = run(n_repetitions=4), run(n_repetitions=4)
    assert np.array_equal(a.data["w_final"].values, b.data["w_final"].values)
    assert a.summary == b.summary


@pytest.mark.parametrize("field, value, message", [
    ("delta_t1", "0.05 ms", "whole number of time steps"),
    ("repetition_frequency", "3 Hz", "whole number of time steps"),
    ("repetition_frequency", "200 Hz", "longer than one triplet"),
    ("timing", "triplet", "expected one of"),
])
def test_bad_values_name_the_field(field, value, message):
    with pytest.raises(SpecError) as err:
        run(**{field: value})
    text = str(err.value)
    assert field in text and message in text and "\n" not in text


def test_figure(runs):
    import matplotlib.pyplot as plt

    from bioSNN.plots.stdp_triplets import plot_stdp_triplets

    fig = plot_stdp_triplets(runs["triplet-minimal-hippocampus"])
    assert len(fig.axes[0].patches) == 2
    plt.close(fig)
