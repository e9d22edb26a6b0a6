"""Comparison of two recordings of the same replay (snnTorch vs Brian2), as pure
functions: identical neuron-steps, equal spike counts, relative embedding errors and
agreement of prototype decisions (definitions in ``docs/replay.md``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["mismatches", "embedding_errors", "prototype_decisions"]


def mismatches(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differing neuron-steps per image of two spike arrays ``(N, T, M)`` (bool).

    Returns
    -------
    numpy.ndarray
        int64 ``(N,)``.
    """
    if a.shape != b.shape:
        raise ValueError(f"spike arrays differ in shape: {a.shape} vs {b.shape}")
    return (a != b).reshape(a.shape[0], -1).sum(axis=1, dtype=np.int64)


def embedding_errors(reference: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
    """Per-image errors of ``other`` against ``reference`` (both ``(N, D)``).

    Returns
    -------
    dict
        ``relative``: ``||other - ref|| / ||ref||`` per image (``inf`` for a zero
        reference that differs, 0 when both are zero); ``abs_max``: largest absolute
        component difference per image (in the unit of the inputs).
    """
    diff = np.linalg.norm(other - reference, axis=1)
    norm = np.linalg.norm(reference, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(norm > 0, diff / np.where(norm > 0, norm, 1.0),
                       np.where(diff > 0, np.inf, 0.0))
    return {"relative": rel, "abs_max": np.abs(other - reference).max(axis=1)}


def prototype_decisions(embedding: np.ndarray, labels: np.ndarray,
                        support: np.ndarray) -> np.ndarray:
    """Nearest-prototype class of every query image.

    Parameters
    ----------
    embedding : numpy.ndarray
        ``(N, D)`` embeddings of all images.
    labels : numpy.ndarray
        int ``(N,)`` class of each image (the support labels define the classes).
    support : numpy.ndarray
        bool ``(N,)``: True for support images, False for queries.

    Returns
    -------
    numpy.ndarray
        int64 ``(n_queries,)``: the class of the nearest prototype of each query, in
        image order.
    """
    support = np.asarray(support, dtype=bool)
    classes = np.unique(labels[support])
    protos = np.stack([embedding[support & (labels == c)].mean(axis=0) for c in classes])
    q = embedding[~support]
    dist = np.linalg.norm(q[:, None, :] - protos[None, :, :], axis=2)
    return classes[dist.argmin(axis=1)].astype(np.int64)
