"""Features of a classification run (``rstdp-classification``): per-trial predictions,
accuracies, learning curves. Pure functions of the saved Dataset."""
from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["trial_predictions", "classification_features", "learning_curve"]


def trial_predictions(data: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per trial: output spike counts in the readout window (n_trials, n_classes) and
    the prediction (argmax, lowest index on ties; -1 when no output spiked)."""
    T = data.attrs["trial_duration_ms"]
    read = data.attrs["readout_ms"]
    n_trials = data.sizes["trial"]
    n_classes = data.sizes["class"]
    t = data["output_spike_time"].values
    k = np.floor(t / T + 1e-9).astype(int)
    in_window = (t - k * T) < read - 1e-9
    valid = in_window & (k < n_trials)
    counts = np.zeros((n_trials, n_classes), dtype=int)
    np.add.at(counts, (k[valid], data["output_spike_neuron"].values[valid]), 1)
    pred = np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), -1)
    return counts, pred


def classification_features(data: xr.Dataset, params) -> dict:
    """Accuracy (train, test, last training block), mean rates (Hz), weight stats."""
    _, pred = trial_predictions(data)
    labels = data["label"].values
    test = data["is_test"].values.astype(bool)
    correct = pred == labels
    train_c = correct[~test]
    b = params.block
    T_s = data.attrs["trial_duration_ms"] / 1000.0
    n_trials = len(labels)
    W = data["weights"].values
    return {
        "train_accuracy": float(train_c.mean()),
        "test_accuracy": float(correct[test].mean()),
        "train_accuracy_first_block": float(train_c[:b].mean()),
        "train_accuracy_last_block": float(train_c[-b:].mean()),
        "chance": 1.0 / params.n_classes,
        "test_no_output_fraction": float((pred[test] == -1).mean()),
        "hidden_rate_Hz": float(data.sizes["hidden_spike"] / (params.n_hidden * n_trials * T_s)),
        "output_rate_Hz": float(data.sizes["output_spike"] / (params.n_classes * n_trials * T_s)),
        "weight_mean_initial": float(W[0].mean()),
        "weight_mean_final": float(W[-1].mean()),
        "weight_fraction_at_bounds_final": float(((W[-1] <= 1e-9) | (W[-1] >= params.w_max - 1e-9)).mean()),
        "n_train": int((~test).sum()),
        "n_test": int(test.sum()),
    }


def learning_curve(data: xr.Dataset, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Training accuracy per block of ``block`` trials: (block centre trial, accuracy)."""
    _, pred = trial_predictions(data)
    labels = data["label"].values
    train = ~data["is_test"].values.astype(bool)
    c = (pred == labels)[train]
    n = len(c) // block
    if n == 0:
        return np.array([len(c) / 2]), np.array([c.mean()])
    acc = c[: n * block].reshape(n, block).mean(axis=1)
    return (np.arange(n) + 0.5) * block, acc
