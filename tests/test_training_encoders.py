"""Encoders and decoders: rate code statistics (binomial CI, same distribution as snnTorch's
rate), seeding, latency monotone and identical to snnTorch's, delta modulation reconstructs
within its threshold, population code peaks, decoders on hand-computed examples."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy import stats
from snntorch import spikegen

from bioSNN.training import (decode_count, decode_first_spike, decode_max_membrane, delta_decode,
                             delta_encode, first_spike_times, latency_encode, latency_times,
                             poisson_encode, population_encode, rate_encode)

ALPHA = 1e-3  # family-wise false-alarm rate of every statistical check below
INTENSITY = torch.tensor([0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.73, 0.9, 0.99, 1.0] * 4)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _means_within_binomial_ci(spikes, p, alpha=ALPHA):
    """Every input's spike count lies in its exact binomial interval; the level is
    Bonferroni-corrected so that all inputs together pass with probability >= 1 - alpha."""
    steps = spikes.shape[0]
    counts = spikes.sum(dim=0).numpy()
    lo, hi = stats.binom.interval(1 - alpha / p.numel(), steps, p.numpy())
    return bool(np.all((counts >= lo) & (counts <= hi)))


def test_rate_mean_equals_intensity_within_binomial_ci():
    spikes = rate_encode(INTENSITY, 4000, _gen(0))
    assert spikes.shape == (4000, INTENSITY.numel()) and spikes.dtype == INTENSITY.dtype
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    assert _means_within_binomial_ci(spikes, INTENSITY)
    # the check has power: a 5 % relative bias on the same draws is rejected
    assert not _means_within_binomial_ci(spikes, (INTENSITY * 1.05).clamp(0, 1))


def test_rate_gain_offset_and_poisson_probability():
    x = torch.tensor([0.2, 0.6, 0.9])
    spikes = rate_encode(x, 4000, _gen(1), gain=0.5, offset=0.1)
    assert _means_within_binomial_ci(spikes, (0.5 * x + 0.1).clamp(0, 1))
    rate_hz = torch.tensor([0.0, 20.0, 100.0, 400.0])
    spikes = poisson_encode(rate_hz, 4000, 1.0, _gen(2))
    assert _means_within_binomial_ci(spikes, 1 - torch.exp(-rate_hz * 1e-3))


def test_rate_same_seed_same_spikes_and_no_global_rng():
    before = torch.get_rng_state()
    a = rate_encode(INTENSITY, 50, _gen(7))
    b = rate_encode(INTENSITY, 50, _gen(7))
    c = rate_encode(INTENSITY, 50, _gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.equal(torch.get_rng_state(), before)  # the global stream was not used
    with pytest.raises(TypeError, match="torch.Generator"):
        rate_encode(INTENSITY, 10, None)


def test_rate_same_distribution_as_snntorch():
    """Per-input spike counts over T steps, ours vs snntorch.spikegen.rate (global RNG,
    seeded inside fork_rng with another seed): chi-square test of homogeneity on the count
    histograms of each intensity (neighbouring bins pooled to >= 10 counts, so ~5 expected
    per cell), Fisher-combined, at alpha = 1e-3.
    Counts ~ Binomial(T, p) tests the mean and the independence across steps together."""
    p = torch.tensor([0.05, 0.2, 0.5, 0.8])
    steps, repeats = 20, 2000
    x = p.repeat(repeats, 1)  # (repeats, intensities)
    ours = rate_encode(x, steps, _gen(3)).sum(dim=0)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        same_seed = spikegen.rate(x, num_steps=steps)
        torch.manual_seed(1003)  # an independent draw for the distribution test
        ref = spikegen.rate(x, num_steps=steps).sum(dim=0)
    # both draw torch.bernoulli on a (T, ...) tensor: from one seed, the very same spikes
    assert torch.equal(rate_encode(x, steps, _gen(3)), same_seed)

    def p_value(a, b):
        edges = np.arange(steps + 2)
        table = np.stack([np.histogram(a, edges)[0], np.histogram(b, edges)[0]])
        table = table[:, table.sum(axis=0) > 0]
        merged, run = [], np.zeros(2)
        for column in table.T:  # pool neighbouring bins until each has >= 10 in total
            run = run + column
            if run.sum() >= 10:
                merged.append(run)
                run = np.zeros(2)
        if run.sum():
            merged[-1] = merged[-1] + run
        return stats.chi2_contingency(np.array(merged).T)[1]

    pvalues = [p_value(ours[:, j].numpy(), ref[:, j].numpy()) for j in range(p.numel())]
    combined = stats.combine_pvalues(pvalues, method="fisher").pvalue
    assert combined > ALPHA, (combined, pvalues)
    # the test has power: a 10 % rate change is detected
    shifted = rate_encode(x * 1.1, steps, _gen(4)).sum(dim=0)
    worse = [p_value(shifted[:, j].numpy(), ref[:, j].numpy()) for j in range(p.numel())]
    assert stats.combine_pvalues(worse, method="fisher").pvalue < ALPHA


@pytest.mark.parametrize("linear", [False, True], ids=["log", "linear"])
def test_latency_brighter_fires_earlier(linear):
    x = torch.linspace(0.02, 1.0, 50)
    t = latency_times(x, 40, tau=5.0, normalize=True, linear=linear)
    assert (torch.diff(t) < 0).all()  # strictly earlier for strictly brighter
    spikes = latency_encode(x, 40, tau=5.0, normalize=True, linear=linear)
    assert torch.equal(spikes.sum(dim=0), torch.ones(50))  # exactly one spike each
    step = spikes.argmax(dim=0)
    assert (torch.diff(step) <= 0).all() and step[0] > step[-1]


LATENCY_OPTIONS = [dict(linear=lin, normalize=norm, clip=clip, first_spike_time=t0,
                        threshold=thr)
                   for lin, norm, clip, t0, thr in itertools.product(
                       [False, True], [False, True], [False, True], [0, 3], [0.01, 0.2])]


@pytest.mark.parametrize("options", LATENCY_OPTIONS,
                         ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_latency_identical_to_snntorch(options):
    steps = 25
    x = torch.rand(4, 30, generator=_gen(5))
    x[0, :5] = torch.tensor([0.0, 0.005, 0.01, 0.2, 1.0])  # below, at, above threshold
    tau = 1.0 if options["linear"] else 0.8  # times fit in 25 steps without normalize
    ours = latency_encode(x, steps, tau=tau, **options)
    ref = spikegen.latency(x, num_steps=steps, tau=tau, **options)
    assert torch.equal(ours, ref)
    t = latency_times(x, steps, tau=tau, **{k: v for k, v in options.items() if k != "clip"})
    ref_t, _ = spikegen.latency_code(x, num_steps=steps, tau=tau,
                                     **{k: v for k, v in options.items() if k != "clip"})
    assert torch.equal(t, ref_t)


def test_latency_out_of_range_raises():
    with pytest.raises(ValueError, match="beyond steps-1"):
        latency_encode(torch.tensor([0.0, 1.0]), 5, tau=10.0, linear=True)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        latency_encode(torch.tensor([1.5]), 5)


def test_delta_reconstructs_within_threshold():
    theta = 0.05
    t = torch.arange(400, dtype=torch.float64)
    # largest change per step: 0.5*2pi/100 = 0.031 and 0.3*2pi/60 + 0.1/7 = 0.046 < theta
    x = torch.stack([0.5 * torch.sin(2 * torch.pi * t / 100),
                     0.3 * torch.sin(2 * torch.pi * t / 60) + 0.1 * torch.sin(t / 7)], dim=1)
    # the conditions of delta_encode's bound: start within 2 theta, slew <= theta per step
    assert x[0].abs().max() < 2 * theta and torch.diff(x, dim=0).abs().max() <= theta
    spikes = delta_encode(x, theta, initial=0.0)
    assert set(spikes.unique().tolist()) == {-1.0, 0.0, 1.0}
    error = (delta_decode(spikes, theta, initial=0.0) - x).abs()
    assert error.max() < theta
    assert error.max() > 0.5 * theta  # the bound is not loose by orders of magnitude
    # initial=None starts from x[0]
    spikes0 = delta_encode(x, theta, initial=None)
    assert ((delta_decode(spikes0, theta, initial=x[0]) - x).abs() < theta).all()


def test_delta_slope_overload_breaks_the_bound():
    x = torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0, 1.0], dtype=torch.float64)  # a jump of 4 theta
    spikes = delta_encode(x, 0.25)
    assert spikes.tolist() == [0, 0, 1, 1, 1, 1]
    assert delta_decode(spikes, 0.25).tolist() == [0.0, 0.0, 0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize("padding", [False, True])
def test_delta_matches_snntorch_on_the_grid(padding):
    """On a signal moving by 0 or +-theta per step on the grid theta*Z (where the
    reference tracks it exactly) delta modulation and snnTorch's sample difference agree."""
    theta = 0.5
    g = _gen(6)
    steps = torch.randint(-1, 2, (200, 3, 4), generator=g).to(torch.float64)
    x = theta * torch.cumsum(steps, dim=0)
    ours = delta_encode(x, theta, initial=None if padding else 0.0)
    ref = spikegen.delta(x, threshold=theta, padding=padding, off_spike=True)
    assert torch.equal(ours, ref)
    assert (ours != 0).sum() > 100


def test_population_code_peaks_at_the_right_neuron():
    x = torch.tensor([0.0, 0.26, 0.5, 0.74, 1.0, 0.9])
    a = population_encode(x, 5)  # centres 0, .25, .5, .75, 1
    assert a.shape == (6, 5)
    assert a.argmax(dim=-1).tolist() == [0, 1, 2, 3, 4, 4]
    assert torch.allclose(a[[0, 2, 4], [0, 2, 4]], torch.ones(3))
    # neighbouring fields cross at exp(-1/8) halfway between centres (sigma = spacing)
    mid = population_encode(torch.tensor([0.125]), 5)[0]
    torch.testing.assert_close(mid[:2], torch.full((2,), float(np.exp(-1 / 8))))
    # a value between two centres activates the nearer one more
    b = population_encode(torch.tensor([3.2]), 8, x_min=-1.0, x_max=6.0, sigma=0.5)[0]
    assert b.argmax() == 4 and b[4] > b[3] > b[2]


# decoders: T = 4 steps, B = 2 samples, C = 3 classes
SPIKES = torch.tensor([
    [[0, 0, 0], [0, 1, 0]],
    [[1, 0, 0], [0, 0, 0]],
    [[1, 0, 1], [0, 1, 1]],
    [[0, 0, 1], [0, 0, 0]],
], dtype=torch.float32)


def test_decode_count():
    pred, counts = decode_count(SPIKES)
    assert counts.tolist() == [[2, 0, 2], [0, 2, 1]]
    assert pred.tolist() == [0, 1]  # sample 0: tie 2-2 goes to the lower index


def test_decode_first_spike():
    pred, times = decode_first_spike(SPIKES)
    inf = float("inf")
    assert times.tolist() == [[1, inf, 2], [inf, 0, 2]]
    assert pred.tolist() == [0, 1]
    silent = torch.zeros(3, 1, 2)
    assert decode_first_spike(silent).prediction.tolist() == [0]
    assert first_spike_times(torch.tensor([[0, 1], [1, 1]])).tolist() == [1.0, 0.0]


def test_decode_max_membrane():
    mem = torch.tensor([
        [[0.1, 0.5], [-1.0, 0.0]],
        [[0.9, 0.2], [0.3, 0.2]],
        [[0.4, 0.8], [0.1, 0.25]],
    ])
    pred, peak = decode_max_membrane(mem)
    torch.testing.assert_close(peak, torch.tensor([[0.9, 0.8], [0.3, 0.25]]), rtol=0, atol=0)
    assert pred.tolist() == [0, 0]
    with pytest.raises(ValueError, match=r"\(T, B, C\)"):
        decode_max_membrane(mem[0])
