"""Input perturbations (bioSNN.training.perturb): identities at level 0, ranges and
binariness, the binomial fraction of deleted spikes, jitter's count and mean time,
generator determinism, bad arguments."""
from __future__ import annotations

import math

import pytest
import torch

from bioSNN.training.perturb import (delete_spikes, gaussian_pixel_noise, jitter_spikes,
                                     salt_and_pepper)


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _images(n=64):
    return torch.rand(n, 1, 28, 28, generator=_gen(11))


def _spikes(T=50, n=400, p=0.2):
    return torch.rand(T, n, generator=_gen(12)) < p


# ------------------------------------------------------------------ identities

def test_level_zero_is_the_identity():
    x, s = _images(), _spikes()
    assert torch.equal(gaussian_pixel_noise(x, 0.0, _gen()), x)
    assert torch.equal(salt_and_pepper(x, 0.0, _gen()), x)
    assert torch.equal(delete_spikes(s, 0.0, _gen()), s)
    assert torch.equal(jitter_spikes(s, 0.0, _gen()), s)
    f = s.float()                                   # 0/1 floats as well as bools
    assert torch.equal(delete_spikes(f, 0.0, _gen()), f)
    assert torch.equal(jitter_spikes(f, 0, _gen()), f)


# ------------------------------------------------------------------ ranges

def test_pixel_noise_stays_in_the_unit_interval_and_changes_the_image():
    x = _images()
    for sigma in (0.1, 0.5, 3.0):
        y = gaussian_pixel_noise(x, sigma, _gen())
        assert y.shape == x.shape and y.dtype == x.dtype
        assert y.min() >= 0 and y.max() <= 1 and not torch.equal(y, x)
    # away from the clip, the added noise has the requested standard deviation
    mid = torch.full((200_000,), 0.5)
    d = gaussian_pixel_noise(mid, 0.05, _gen()) - mid
    assert float(d.std()) == pytest.approx(0.05, rel=0.02)
    assert abs(float(d.mean())) < 4 * 0.05 / math.sqrt(mid.numel())


def test_salt_and_pepper_replaces_a_fraction_p_with_zeros_and_ones_in_equal_odds():
    x = torch.full((200_000,), 0.5)       # any replaced pixel is visible
    p = 0.2
    y = salt_and_pepper(x, p, _gen())
    hit = y != 0.5
    assert set(y[hit].unique().tolist()) <= {0.0, 1.0}
    n, k = x.numel(), int(hit.sum())
    assert abs(k - n * p) < 4 * math.sqrt(n * p * (1 - p))
    ones = int((y == 1).sum())
    assert abs(ones - k / 2) < 4 * math.sqrt(k / 4)
    assert salt_and_pepper(x, 1.0, _gen()).eq(0.5).sum() == 0   # p = 1: all replaced


def test_spike_perturbations_keep_binary_spikes():
    s = _spikes()
    for out in (delete_spikes(s, 0.3, _gen()), jitter_spikes(s, 3.0, _gen())):
        assert out.dtype == torch.bool and out.shape == s.shape
    f = s.float()
    for out in (delete_spikes(f, 0.3, _gen()), jitter_spikes(f, 3.0, _gen())):
        assert out.dtype == f.dtype and set(out.unique().tolist()) <= {0.0, 1.0}


# ------------------------------------------------------------------ statistics

@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_deletion_keeps_a_binomial_fraction_of_spikes_and_never_adds_one(p):
    s = _spikes(T=100, n=2000)
    out = delete_spikes(s, p, _gen(3))
    n = int(s.sum())
    kept = int(out.sum())
    # Binomial(n, 1 - p): within 4 standard deviations (a false failure ~6e-5)
    assert abs(kept - n * (1 - p)) < 4 * math.sqrt(n * p * (1 - p)), (kept, n)
    assert not (out & ~s).any()                    # only existing spikes survive
    assert delete_spikes(s, 1.0, _gen()).sum() == 0


def test_jitter_preserves_the_count_up_to_edges_and_collisions_and_the_mean_time():
    """Sparse spikes away from the edges (every 40th step of 200, from step 40): a shift
    of sigma = 2 steps leaves [0, T) with probability ~0 and two spikes of one neuron
    are 40 steps apart, so no spike is lost and the mean time is kept within its
    standard error."""
    T, n = 200, 5000
    s = torch.zeros(T, n, dtype=torch.bool)
    s[40:161:40] = True
    out = jitter_spikes(s, 2.0, _gen(4))
    assert int(out.sum()) == int(s.sum())
    t_in = s.nonzero()[:, 0].double()
    t_out = out.nonzero()[:, 0].double()
    assert abs(float(t_out.mean() - t_in.mean())) < 4 * 2.0 / math.sqrt(t_in.numel())
    assert (out.sum(0) == s.sum(0)).all()          # each neuron keeps its spikes
    assert not torch.equal(out, s)


def test_jitter_drops_spikes_pushed_outside_the_window_and_merges_collisions():
    T = 10
    s = torch.zeros(T, 20000, dtype=torch.bool)
    s[0] = True                                    # at the first step: ~half leave
    out = jitter_spikes(s, 3.0, _gen(5))
    lost = 1 - float(out.sum()) / float(s.sum())
    # P(round(N(0, 3)) < 0) = P(z < -1/6) ~ 0.434
    assert lost == pytest.approx(0.5 - math.erf((0.5 / 3) / math.sqrt(2)) / 2, abs=0.02)
    dense = torch.ones(T, 5000, dtype=torch.bool)  # every step: shifts collide and merge
    merged = jitter_spikes(dense, 2.0, _gen(6))
    assert merged.sum() < dense.sum() and merged.dtype == torch.bool


def test_same_generator_state_gives_the_same_perturbation():
    x, s = _images(), _spikes()
    for fn, arg, level in ((gaussian_pixel_noise, x, 0.3), (salt_and_pepper, x, 0.2),
                           (delete_spikes, s, 0.3), (jitter_spikes, s, 2.0)):
        a, b = fn(arg, level, _gen(7)), fn(arg, level, _gen(7))
        assert torch.equal(a, b), fn.__name__
        assert not torch.equal(a, fn(arg, level, _gen(8))), fn.__name__


def test_levels_share_their_random_numbers():
    """Common random numbers: with the same generator state a larger deletion level
    deletes a superset, and salt-and-pepper at a larger p replaces a superset."""
    s = _spikes()
    lo, hi = delete_spikes(s, 0.2, _gen(9)), delete_spikes(s, 0.5, _gen(9))
    assert not (hi & ~lo).any()
    x = torch.full((10000,), 0.5)
    a, b = salt_and_pepper(x, 0.1, _gen(9)), salt_and_pepper(x, 0.3, _gen(9))
    assert ((a != 0.5) <= (b != 0.5)).all()


# ------------------------------------------------------------------ bad arguments

def test_bad_arguments_give_clear_errors():
    x, s = _images(2), _spikes(5, 3)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_pixel_noise(x, -0.1, _gen())
    with pytest.raises(ValueError, match="p must be"):
        salt_and_pepper(x, 1.5, _gen())
    with pytest.raises(ValueError, match="p must be"):
        delete_spikes(s, -0.1, _gen())
    with pytest.raises(ValueError, match="sigma_steps"):
        jitter_spikes(s, float("nan"), _gen())
    with pytest.raises(TypeError, match="Generator"):
        delete_spikes(s, 0.1, 0)
