"""Compute settings for a block of torch work: the intra-op thread count
(:func:`torch_threads`) and, with it, the heap setting for large tensors
(:func:`compute_settings`; see :mod:`bioSNN.embedder.allocator`). Speed only, except
that the thread count can change results in the last float bits.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from .allocator import keep_heap

__all__ = ["torch_threads", "compute_settings"]


@contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads (0: leave the setting alone);
    the previous setting is restored afterwards."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def compute_settings(threads: int):
    """The embedder protocols' settings for a block of torch work: ``threads`` intra-op
    threads (:func:`torch_threads`) and large freed tensors kept in the heap
    (:func:`~bioSNN.embedder.allocator.keep_heap`; process-wide, speed only)."""
    keep_heap()
    with torch_threads(threads):
        yield
