"""Prototypical-network loss for few-shot classification (Snell et al. 2017).

Each class's prototype is the mean embedding of its support items; a query's logits are
minus its distances to the prototypes; the loss is the cross-entropy of the query labels.
By default the distance is the plain Euclidean distance, as in the seed CSNN notebook
(``torch.cdist``); Snell et al. use its square (``squared=True``).

References
----------
J. Snell, K. Swersky, R. Zemel (2017) Prototypical networks for few-shot learning.
NeurIPS 30.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .episodes import Episode

__all__ = ["prototypes", "proto_logits", "protonet_loss", "episode_loss", "train_step"]


def prototypes(embeddings: torch.Tensor, labels: torch.Tensor, n_way: int) -> torch.Tensor:
    """Mean embedding per class.

    Parameters
    ----------
    embeddings : torch.Tensor
        Support embeddings ``(S, D)``.
    labels : torch.Tensor
        Episode labels in ``0 .. n_way - 1``, int64 ``(S,)``.
    n_way : int
        Number of classes.

    Returns
    -------
    torch.Tensor
        Prototypes ``(n_way, D)``: :math:`c_k = \\frac{1}{|S_k|} \\sum_{i \\in S_k} e_i`.
    """
    counts = torch.bincount(labels, minlength=n_way)
    if len(counts) != n_way or bool((counts == 0).any()):
        raise ValueError(
            f"every class 0..{n_way - 1} needs at least one support item; support counts per "
            f"label are {counts.tolist()}")
    sums = embeddings.new_zeros(n_way, embeddings.shape[1]).index_add_(0, labels, embeddings)
    return sums / counts.unsqueeze(1).to(embeddings.dtype)


def proto_logits(
    queries: torch.Tensor, protos: torch.Tensor, squared: bool = False
) -> torch.Tensor:
    """Logits = minus the Euclidean (or squared Euclidean) distance to each prototype.

    Parameters
    ----------
    queries : torch.Tensor
        Query embeddings ``(Q, D)``.
    protos : torch.Tensor
        Prototypes ``(N, D)``.
    squared : bool
        Use :math:`-\\lVert q - c \\rVert^2` instead of :math:`-\\lVert q - c \\rVert`.

    Returns
    -------
    torch.Tensor
        ``(Q, N)``.
    """
    # Direct differences rather than the matrix-product shortcut: exact, and cdist's
    # backward gives a zero (not NaN) gradient at zero distance.
    dist = torch.cdist(queries, protos, compute_mode="donot_use_mm_for_euclid_dist")
    return -(dist**2) if squared else -dist


def protonet_loss(
    support: torch.Tensor,
    support_labels: torch.Tensor,
    query: torch.Tensor,
    query_labels: torch.Tensor,
    n_way: int,
    squared: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prototypical-network loss and accuracy of one episode.

    Parameters
    ----------
    support, query : torch.Tensor
        Embeddings ``(S, D)`` and ``(Q, D)``.
    support_labels, query_labels : torch.Tensor
        Episode labels, int64 ``(S,)`` and ``(Q,)``.
    n_way : int
        Number of classes.
    squared : bool
        Squared Euclidean distance (see :func:`proto_logits`).

    Returns
    -------
    loss : torch.Tensor
        Mean cross-entropy over the queries, scalar.
    accuracy : torch.Tensor
        Fraction of queries whose nearest prototype is their class, scalar (no gradient).
    """
    logits = proto_logits(query, prototypes(support, support_labels, n_way), squared)
    loss = F.cross_entropy(logits, query_labels)
    accuracy = (logits.detach().argmax(1) == query_labels).to(logits.dtype).mean()
    return loss, accuracy


def episode_loss(
    model: nn.Module, images: torch.Tensor, episode: Episode, squared: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Embed an episode's images with ``model`` (one batch) and apply :func:`protonet_loss`.

    Parameters
    ----------
    model : nn.Module
        Embedder mapping ``(B, C, H, W)`` images to ``(B, D)``.
    images : torch.Tensor
        The whole image set ``(N_items, C, H, W)`` that the episode indexes.
    episode : Episode
        Support / query indices and labels.
    squared : bool
        Squared Euclidean distance.

    Returns
    -------
    loss, accuracy : torch.Tensor
        Scalars, see :func:`protonet_loss`.
    """
    n_support = len(episode.support)
    emb = model(images[torch.cat([episode.support, episode.query])])
    return protonet_loss(emb[:n_support], episode.support_labels, emb[n_support:],
                         episode.query_labels, episode.n_way, squared)


def train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    episode: Episode,
    squared: bool = False,
) -> tuple[float, float]:
    """One gradient step on one episode.

    Puts ``model`` in training mode, then zero-grad, forward, backward, optimiser step.

    Returns
    -------
    loss, accuracy : float
        The episode's query loss and accuracy before the update.
    """
    model.train()
    optimizer.zero_grad()
    loss, accuracy = episode_loss(model, images, episode, squared)
    loss.backward()
    optimizer.step()
    return loss.item(), accuracy.item()
