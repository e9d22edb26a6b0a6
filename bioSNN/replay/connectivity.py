"""Explicit connection lists of the CSNN's layers (conv, max-pool, linear), as vectorised
numpy index arrays ``(pre, post, widx)``; neurons are numbered as ``torch.flatten``
numbers a feature map (details in ``docs/replay.md``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["conv2d_connections", "maxpool2d_connections", "linear_connections"]


def conv2d_connections(in_channels: int, out_channels: int, kernel: int, height: int,
                       width: int, padding: int | None = None):
    """Synapses of a stride-1 ``Conv2d`` (cross-correlation, zero padding, same size).

    ``out[o, y, x] = b[o] + sum_{c, i, j} w[o, c, i, j] in[c, y + i - p, x + j - p]``;
    taps that fall into the padding have no synapse.

    Parameters
    ----------
    in_channels, out_channels, kernel, height, width : int
        Shapes; the output map has the input's ``height x width``.
    padding : int, optional
        Zero padding ``p`` (default ``kernel // 2``).

    Returns
    -------
    pre, post, widx : numpy.ndarray
        int64 arrays of equal length (one entry per synapse); ``widx`` indexes the
        flattened weight ``(out_channels, in_channels, kernel, kernel)``.
    """
    p = kernel // 2 if padding is None else padding
    o, c, i, j, y, x = np.meshgrid(np.arange(out_channels), np.arange(in_channels),
                                   np.arange(kernel), np.arange(kernel), np.arange(height),
                                   np.arange(width), indexing="ij", sparse=True)
    yi, xi = y + i - p, x + j - p
    valid = np.broadcast_to((yi >= 0) & (yi < height) & (xi >= 0) & (xi < width),
                            (out_channels, in_channels, kernel, kernel, height, width))
    pre = np.broadcast_to((c * height + yi) * width + xi, valid.shape)[valid]
    post = np.broadcast_to((o * height + y) * width + x, valid.shape)[valid]
    widx = np.broadcast_to(((o * in_channels + c) * kernel + i) * kernel + j, valid.shape)[valid]
    order = np.lexsort((post, pre))  # grouped by source neuron: contiguous spike propagation
    return (pre[order].astype(np.int64), post[order].astype(np.int64),
            widx[order].astype(np.int64))


def maxpool2d_connections(channels: int, height: int, width: int, pool: int = 2):
    """Synapses of a ``MaxPool2d(pool)`` (stride ``pool``): each input to its window's output.

    Rows and columns beyond ``pool * (height // pool)`` are dropped (as torch does).

    Returns
    -------
    pre, post : numpy.ndarray
        int64, one entry per pooled input neuron; the output map is
        ``(channels, height // pool, width // pool)``.
    """
    ho, wo = height // pool, width // pool
    c, y, x = np.meshgrid(np.arange(channels), np.arange(ho * pool), np.arange(wo * pool),
                          indexing="ij")
    pre = (c * height + y) * width + x
    post = (c * ho + y // pool) * wo + x // pool
    return pre.ravel().astype(np.int64), post.ravel().astype(np.int64)


def linear_connections(in_features: int, out_features: int):
    """All-to-all synapses of a ``Linear`` layer; ``widx`` indexes ``w (out, in)`` flattened.

    Returns
    -------
    pre, post, widx : numpy.ndarray
        int64 arrays of length ``in_features * out_features``.
    """
    pre, post = np.divmod(np.arange(in_features * out_features, dtype=np.int64), out_features)
    return pre, post, post * in_features + pre
