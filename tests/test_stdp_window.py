"""Protocol ``stdp-window``: the measured window against the pair rule's closed form, and
the coarsest exact clock against stepping every dt (two formulations agree)."""
from __future__ import annotations

import numpy as np
import pytest

from bioSNN.errors import SpecError
from bioSNN.protocols.registry import get_kind
from bioSNN.protocols.spec import find_spec
from bioSNN.protocols.stdp_window import clock_dt_ms, pairing_times


def run(**overrides):
    spec = find_spec("stdp-window").resolve(overrides=overrides)
    return get_kind(spec.kind)(spec).run()


def clock_of(**overrides):
    p = find_spec("stdp-window").resolve(overrides=overrides).params
    _, t_pre, _, t_post = pairing_times(p)
    return clock_dt_ms(p, t_pre, t_post)


def test_clock_is_the_gcd_of_the_spike_grid():
    assert clock_of() == pytest.approx(1.0)  # 1 ms lags, 1 ms anchor, 1 s period
    assert clock_of(delta_t_step="5 ms") == pytest.approx(1.0)  # anchor at 1 ms
    assert clock_of(delta_t_step="0.5 ms") == pytest.approx(0.5)
    assert clock_of(delta_t_min="-10.3 ms", delta_t_max="10.3 ms", delta_t_step="10.3 ms") \
        == pytest.approx(0.1)
    assert clock_of(coarsest_clock="false") == pytest.approx(0.1)


def test_coarsest_clock_gives_the_weights_of_stepping_every_dt():
    small = dict(delta_t_min="-40 ms", delta_t_max="40 ms", delta_t_step="4 ms", n_pairings=5,
                 pairing_period="200 ms")
    coarse, fine = run(**small), run(**small, coarsest_clock="false")
    assert coarse.data.attrs["clock_dt_ms"] == pytest.approx(1.0)
    assert fine.data.attrs["clock_dt_ms"] == pytest.approx(0.1)
    np.testing.assert_allclose(coarse.data["w_final"].values, fine.data["w_final"].values,
                               rtol=0, atol=1e-12)


def test_quick_window_equals_the_closed_form():
    r = run(delta_t_step="5 ms", n_pairings=3)
    np.testing.assert_allclose(r.data["dw"].values, r.data["dw_analytic"].values,
                               rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("field, value, message", [
    ("delta_t_step", "0.05 ms", "whole number of time steps"),
    ("coarsest_clock", "maybe", "coarsest_clock"),
])
def test_bad_values_name_the_field(field, value, message):
    with pytest.raises(SpecError, match=message):
        find_spec("stdp-window").resolve(overrides={field: value})
