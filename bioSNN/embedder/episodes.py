"""Episodic sampling of N-way K-shot few-shot tasks (Vinyals et al. 2016; Snell et al. 2017).

An episode draws ``n_way`` classes from an allowed subset, then ``k_shot`` support and
``n_query`` query items per class, without replacement (support and query are disjoint).
All randomness comes from a ``torch.Generator`` passed to :meth:`EpisodeSampler.sample`.

References
----------
O. Vinyals et al. (2016) Matching networks for one shot learning. NeurIPS 29.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Episode", "EpisodeSampler"]


@dataclass(frozen=True, eq=False)
class Episode:
    """Indices and labels of one few-shot episode.

    Attributes
    ----------
    support : torch.Tensor
        Dataset indices of the support items, int64 ``(n_way * k_shot,)``, grouped by
        episode class (``k_shot`` items of class 0, then of class 1, ...).
    query : torch.Tensor
        Dataset indices of the query items, int64 ``(n_way * n_query,)``, grouped likewise.
    support_labels, query_labels : torch.Tensor
        Episode labels in ``0 .. n_way - 1``, int64, aligned with ``support`` / ``query``.
    classes : torch.Tensor
        Dataset class of each episode label, int64 ``(n_way,)``.
    """

    support: torch.Tensor
    query: torch.Tensor
    support_labels: torch.Tensor
    query_labels: torch.Tensor
    classes: torch.Tensor

    @property
    def n_way(self) -> int:
        return len(self.classes)


class EpisodeSampler:
    """Draws N-way K-shot Q-query episodes from a labelled dataset.

    Parameters
    ----------
    labels : array_like of int
        Class label of every dataset item, shape ``(n_items,)``.
    n_way : int
        Classes per episode.
    k_shot : int
        Support items per class.
    n_query : int
        Query items per class.
    classes : sequence of int, optional
        The classes episodes may use (e.g. the meta-training classes). Default: every
        class present in ``labels``.

    Raises
    ------
    ValueError
        If a size is not a positive integer, ``classes`` has duplicates, fewer than
        ``n_way`` classes are allowed, or an allowed class has fewer than
        ``k_shot + n_query`` items.
    """

    def __init__(
        self,
        labels: torch.Tensor | np.ndarray | Sequence[int],
        n_way: int,
        k_shot: int,
        n_query: int,
        classes: Sequence[int] | torch.Tensor | np.ndarray | None = None,
    ):
        for name, value in (("n_way", n_way), ("k_shot", k_shot), ("n_query", n_query)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        labels = torch.as_tensor(labels)
        if labels.dim() != 1 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(
                f"labels must be a 1-D integer array, got dtype {labels.dtype} and shape "
                f"{tuple(labels.shape)}")
        labels = labels.to(torch.int64)
        present, counts = torch.unique(labels, return_counts=True)  # sorted
        by_class = dict(zip(present.tolist(),
                            torch.argsort(labels, stable=True).split(counts.tolist())))
        if classes is None:
            allowed = present.tolist()
        else:
            allowed = [int(c) for c in torch.as_tensor(classes).flatten().tolist()]
            if len(set(allowed)) != len(allowed):
                raise ValueError(f"classes must not contain duplicates, got {allowed}")
        need = k_shot + n_query
        short = {c: len(by_class.get(c, ())) for c in allowed if len(by_class.get(c, ())) < need}
        if short:
            listed = ", ".join(f"{c}: {n}" for c, n in list(short.items())[:10])
            more = f" (and {len(short) - 10} more)" if len(short) > 10 else ""
            raise ValueError(
                f"k_shot + n_query = {k_shot} + {n_query} = {need} items per class are needed, "
                f"but {len(short)} allowed class(es) have fewer (class: items) {listed}{more}; "
                f"lower k_shot or n_query, or leave these classes out of `classes`")
        if len(allowed) < n_way:
            raise ValueError(
                f"n_way = {n_way} classes per episode, but only {len(allowed)} class(es) are "
                f"allowed ({allowed}); lower n_way or allow more classes")
        self.n_way, self.k_shot, self.n_query = int(n_way), int(k_shot), int(n_query)
        self.classes = torch.tensor(allowed, dtype=torch.int64)
        self._indices = [by_class[c] for c in allowed]

    def sample(self, generator: torch.Generator) -> Episode:
        """Draw one episode.

        Parameters
        ----------
        generator : torch.Generator
            The only source of randomness, e.g. ``torch.Generator().manual_seed(seed)``;
            it is advanced, so successive calls give different episodes.

        Returns
        -------
        Episode
        """
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
                f"got {type(generator).__name__}")
        k, need = self.k_shot, self.k_shot + self.n_query
        picked = torch.randperm(len(self.classes), generator=generator)[: self.n_way]
        support, query = [], []
        for i in picked.tolist():
            items = self._indices[i]
            chosen = items[torch.randperm(len(items), generator=generator)[:need]]
            support.append(chosen[:k])
            query.append(chosen[k:])
        episode_labels = torch.arange(self.n_way)
        return Episode(
            support=torch.cat(support),
            query=torch.cat(query),
            support_labels=episode_labels.repeat_interleave(self.k_shot),
            query_labels=episode_labels.repeat_interleave(self.n_query),
            classes=self.classes[picked],
        )

    def __repr__(self) -> str:
        return (f"EpisodeSampler(n_way={self.n_way}, k_shot={self.k_shot}, "
                f"n_query={self.n_query}, classes={self.classes.tolist()})")
