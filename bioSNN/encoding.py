"""Spike-train inputs on a time grid: periodic noisy patterns and Poisson rate codes.

All generators take an explicit ``numpy.random.Generator`` (the run's numpy stream)
and return spikes as ``(indices, times)`` arrays ready for a Brian2
``SpikeGeneratorGroup``: times on the grid ``k * dt``, at most one spike per input
and time step, sorted by time.
"""
from __future__ import annotations

import numpy as np
from brian2 import Hz, Quantity, ms, second

from .params import check_quantity

__all__ = ["base_patterns", "periodic_pattern_trials", "class_rate_patterns",
           "poisson_rate_trials", "trial_labels"]


def trial_labels(rng: np.random.Generator, n_classes: int, n_trials: int) -> np.ndarray:
    """Balanced random class order: each class ``n_trials // n_classes`` times (the
    remainder drawn at random), shuffled."""
    reps = np.repeat(np.arange(n_classes), n_trials // n_classes)
    extra = rng.choice(n_classes, n_trials - len(reps), replace=False) if n_trials % n_classes else []
    labels = np.concatenate([reps, np.asarray(extra, dtype=int)])
    rng.shuffle(labels)
    return labels.astype(np.int64)


def base_patterns(rng: np.random.Generator, n_inputs: int, n_classes: int,
                  fraction: float) -> np.ndarray:
    """One fixed sparse pattern per class: a boolean mask (n_classes, n_inputs) with
    ``round(fraction * n_inputs)`` active inputs each, drawn independently."""
    k = max(1, int(round(fraction * n_inputs)))
    masks = np.zeros((n_classes, n_inputs), dtype=bool)
    for c in range(n_classes):
        masks[c, rng.choice(n_inputs, k, replace=False)] = True
    return masks


def _grid(duration: Quantity, dt: Quantity) -> int:
    check_quantity("encoding", "duration", duration, ms, positive=True)
    check_quantity("encoding", "dt", dt, ms, positive=True)
    steps = float(duration / dt)
    if abs(steps - round(steps)) > 1e-6:
        raise ValueError(f"trial duration {duration} is not a whole number of steps of {dt}")
    return int(round(steps))


def periodic_pattern_trials(rng: np.random.Generator, patterns: np.ndarray, labels: np.ndarray,
                            trial_duration: Quantity, period: Quantity, noise_prob: float,
                            dt: Quantity) -> tuple[np.ndarray, Quantity]:
    """Trials of a periodic base pattern plus Bernoulli noise (the seed's task).

    In trial ``k`` (starting at ``k * trial_duration``) every input of
    ``patterns[labels[k]]`` fires at trial times 0, ``period``, 2 ``period``...,
    and every input fires independently with probability ``noise_prob`` in each
    time step ``dt``.

    Returns
    -------
    indices : ndarray of int, times : Quantity
    """
    n_steps = _grid(trial_duration, dt)
    every = _grid(period, dt)
    if not 0 <= noise_prob <= 1:
        raise ValueError(f"noise_prob must lie in [0, 1], got {noise_prob}")
    n_in = patterns.shape[1]
    idx_all, step_all = [], []
    pattern_steps = np.arange(0, n_steps, every)
    for k, label in enumerate(labels):
        noise = rng.random((n_steps, n_in)) < noise_prob
        noise[np.ix_(pattern_steps, np.flatnonzero(patterns[label]))] = True
        s, i = np.nonzero(noise)
        idx_all.append(i)
        step_all.append(s + k * n_steps)
    return _pack(idx_all, step_all, dt)


def class_rate_patterns(rng: np.random.Generator, n_inputs: int, n_classes: int,
                        rate_high: Quantity, rate_low: Quantity, fraction: float) -> Quantity:
    """Rate pattern per class, shape (n_classes, n_inputs): a random ``fraction`` of
    the inputs at ``rate_high``, the others at ``rate_low``."""
    masks = base_patterns(rng, n_inputs, n_classes, fraction)
    return np.where(masks, float(rate_high / Hz), float(rate_low / Hz)) * Hz


def poisson_rate_trials(rng: np.random.Generator, rates: Quantity, labels: np.ndarray,
                        trial_duration: Quantity, dt: Quantity) -> tuple[np.ndarray, Quantity]:
    """Poisson (Bernoulli per step, p = rate * dt) trials with the rate vector of
    each trial's class; ``rates`` has shape (n_classes, n_inputs)."""
    n_steps = _grid(trial_duration, dt)
    p = np.asarray(rates * dt, dtype=float)
    if p.max() > 1:
        raise ValueError(f"rate * dt exceeds 1 ({p.max():.3g}): use a smaller dt")
    idx_all, step_all = [], []
    for k, label in enumerate(labels):
        s, i = np.nonzero(rng.random((n_steps, p.shape[1])) < p[label][None, :])
        idx_all.append(i)
        step_all.append(s + k * n_steps)
    return _pack(idx_all, step_all, dt)


def _pack(idx_all, step_all, dt) -> tuple[np.ndarray, Quantity]:
    idx = np.concatenate(idx_all) if idx_all else np.zeros(0, dtype=int)
    steps = np.concatenate(step_all) if step_all else np.zeros(0, dtype=int)
    order = np.lexsort((idx, steps))
    return idx[order].astype(np.int64), steps[order] * float(dt / second) * second
