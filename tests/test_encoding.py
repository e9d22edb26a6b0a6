"""Spike-train generators: exact structure (periodic patterns) and rates within stated
statistical tolerances (5 standard deviations)."""
import numpy as np
import pytest
from brian2 import Hz, ms

from bioSNN.encoding import (base_patterns, class_rate_patterns, periodic_pattern_trials,
                             poisson_rate_trials, trial_labels)


def test_trial_labels_balanced_and_seeded():
    a = trial_labels(np.random.default_rng(1), 3, 300)
    b = trial_labels(np.random.default_rng(1), 3, 300)
    np.testing.assert_array_equal(a, b)
    assert np.bincount(a).tolist() == [100, 100, 100]
    assert not np.array_equal(a, trial_labels(np.random.default_rng(2), 3, 300))
    assert len(trial_labels(np.random.default_rng(0), 3, 10)) == 10


def test_periodic_patterns_fire_every_period_plus_noise():
    rng = np.random.default_rng(0)
    patterns = base_patterns(rng, 400, 3, 0.05)
    assert patterns.sum(axis=1).tolist() == [20, 20, 20]
    labels = np.array([0, 2, 1, 0])
    p_noise = 0.01
    idx, t = periodic_pattern_trials(rng, patterns, labels, 100 * ms, 10 * ms, p_noise, 1 * ms)
    steps = np.round(np.asarray(t / ms)).astype(int)
    assert np.all(np.diff(steps) >= 0)
    assert len(set(zip(idx.tolist(), steps.tolist()))) == len(idx)  # one spike per input and step
    for k, lab in enumerate(labels):
        for i in np.flatnonzero(patterns[lab]):
            s = steps[(idx == i) & (steps >= 100 * k) & (steps < 100 * (k + 1))] - 100 * k
            assert set(range(0, 100, 10)) <= set(s.tolist())  # the pattern, every 10 ms
    # noise: spikes of non-pattern inputs at non-pattern times
    on_grid = steps % 10 == 0
    noise = ~on_grid
    n_cells = 4 * 100 * 400 - 4 * 10 * 400  # off-grid (input, step) cells
    expected, sd = n_cells * p_noise, np.sqrt(n_cells * p_noise * (1 - p_noise))
    assert abs(noise.sum() - expected) < 5 * sd


def test_poisson_rates():
    rng = np.random.default_rng(3)
    rates = class_rate_patterns(rng, 50, 2, 100 * Hz, 5 * Hz, 0.2)
    assert (np.asarray(rates / Hz) == 100).sum(axis=1).tolist() == [10, 10]
    labels = np.array([0] * 20 + [1] * 20)
    idx, t = poisson_rate_trials(rng, rates, labels, 500 * ms, 1 * ms)
    trial = (np.asarray(t / ms) // 500).astype(int)
    for c in (0, 1):
        counts = np.bincount(idx[labels[trial] == c], minlength=50)
        p = np.asarray(rates[c] / Hz) * 1e-3
        n = 20 * 500
        np.testing.assert_array_less(np.abs(counts - n * p), 5 * np.sqrt(n * p * (1 - p)) + 1)


def test_bad_grid_is_rejected():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="not a whole number of steps"):
        periodic_pattern_trials(rng, base_patterns(rng, 10, 2, 0.5), np.array([0]),
                                10.5 * ms, 2 * ms, 0.0, 1 * ms)
    with pytest.raises(ValueError, match="rate \\* dt exceeds 1"):
        poisson_rate_trials(rng, np.full((1, 3), 2000.0) * Hz, np.array([0]), 10 * ms, 1 * ms)
