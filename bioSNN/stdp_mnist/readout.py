r"""Readout of the Diehl & Cook (2015) network, pure NumPy (no Brian2).

Each excitatory neuron is assigned the class to which it responded most on average
over the labelling images (frozen network, training images only); an image is
classified by the vote: the class whose assigned neurons have the highest mean spike
count,

.. math:: \hat y = \arg\max_c \frac{1}{|A_c|} \sum_{k \in A_c} n_k .
"""
from __future__ import annotations

import numpy as np

__all__ = ["presentation_counts", "accepted_slots", "assign_labels", "vote"]


def accepted_slots(slot_image: np.ndarray, n_images: int) -> np.ndarray:
    """Index of the slot whose response counts for each image: the last slot that showed
    it (earlier ones were repeated with a boosted rate). -1 for images never shown.

    ``slot_image`` has one entry per slot plus one (the image index at the start of the
    step after the last slot)."""
    s = np.asarray(slot_image, dtype=np.int64)
    out = np.full(n_images, -1, dtype=np.int64)
    done = np.flatnonzero(s[1:] != s[:-1])  # slot k accepted: the next slot shows the next image
    img = s[done]
    ok = img < n_images
    out[img[ok]] = done[ok]
    return out


def presentation_counts(spike_neuron, spike_time_ms, n_neurons: int, slot_ms: float,
                        presentation_ms: float, slots: np.ndarray) -> np.ndarray:
    """Spike counts ``(len(slots), n_neurons)`` in the presentation window (the first
    ``presentation_ms`` of each slot) of the given slots (-1: a row of zeros)."""
    t = np.asarray(spike_time_ms, dtype=float)
    i = np.asarray(spike_neuron, dtype=np.int64)
    slot = np.floor(t / slot_ms + 1e-9).astype(np.int64)
    inside = (t - slot * slot_ms) < presentation_ms - 1e-9
    slots = np.asarray(slots, dtype=np.int64)
    n_slots = int(max(slots.max(initial=-1), slot.max(initial=-1))) + 1
    per_slot = np.zeros((n_slots, n_neurons), dtype=np.int64)
    np.add.at(per_slot, (slot[inside], i[inside]), 1)
    out = np.zeros((len(slots), n_neurons), dtype=np.int64)
    shown = slots >= 0
    out[shown] = per_slot[slots[shown]]
    return out


def assign_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Class of each neuron: the class with the highest mean count over the images of that
    class (Diehl & Cook's ``get_new_assignments``); -1 for a neuron that never fired.

    Parameters
    ----------
    counts : (n_images, n_neurons) array
        Responses to the labelling images (training images only).
    labels : (n_images,) int array
    """
    counts = np.asarray(counts, dtype=float)
    labels = np.asarray(labels, dtype=np.int64)
    mean = np.zeros((n_classes, counts.shape[1]))
    for c in range(n_classes):
        rows = labels == c
        if rows.any():
            mean[c] = counts[rows].mean(axis=0)
    out = mean.argmax(axis=0)
    out[mean.max(axis=0) <= 0] = -1
    return out


def vote(counts: np.ndarray, assignments: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Predicted class of each image by the vote (mean count of each class's neurons;
    classes with no neuron score 0; ties go to the lower class)."""
    counts = np.asarray(counts, dtype=float)
    score = np.zeros((counts.shape[0], n_classes))
    for c in range(n_classes):
        members = assignments == c
        if members.any():
            score[:, c] = counts[:, members].mean(axis=1)
    return score.argmax(axis=1)
