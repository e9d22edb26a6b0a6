"""Which MNIST images a run presents, in order: training, labelling, test."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Schedule", "make_schedule", "PHASES"]

PHASES = ("train", "label", "test")


class Schedule(NamedTuple):
    """Images of one run in presentation order.

    Attributes
    ----------
    source : (n,) int array
        Index of each image in its MNIST split.
    phase : (n,) int array
        0 training (plastic), 1 labelling (frozen, training split), 2 test (frozen, test split).
    """

    source: np.ndarray
    phase: np.ndarray

    def count(self, phase: str) -> int:
        return int((self.phase == PHASES.index(phase)).sum())


def make_schedule(n_train: int, n_label: int, n_test: int, n_train_split: int,
                  n_test_split: int, rng: np.random.Generator, shuffle: bool) -> Schedule:
    """Training images: ``n_train`` from the training split (shuffled when ``shuffle``,
    repeating the split for more than one epoch); labelling: the last ``n_label`` of the
    training images shown (the network's most recent experience), presented again with
    learning off; test: the first ``n_test`` of the test split (a random subset when
    ``shuffle``)."""
    epochs = -(-n_train // n_train_split) if n_train else 0
    order = [rng.permutation(n_train_split) if shuffle else np.arange(n_train_split)
             for _ in range(epochs)]
    train = np.concatenate(order)[:n_train] if order else np.zeros(0, dtype=np.int64)
    label = train[len(train) - n_label:] if n_label else np.zeros(0, dtype=np.int64)
    test = (np.sort(rng.permutation(n_test_split)[:n_test]) if shuffle and n_test < n_test_split
            else np.arange(n_test))
    source = np.concatenate([train, label, test]).astype(np.int64)
    phase = np.repeat([0, 1, 2], [len(train), len(label), len(test)])
    return Schedule(source, phase)
