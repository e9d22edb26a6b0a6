"""Scoring a trained embedder on few-shot episodes: the prototypical-network logits of
an episode (:func:`episode_logits`, shared with training), the accuracy over many test
episodes (:func:`evaluate`) and batched embeddings (:func:`embed`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .episodes import Episode, EpisodeSampler
from .protonet import proto_logits, prototypes

if TYPE_CHECKING:
    from .train import TrainConfig

__all__ = ["episode_logits", "evaluate", "embed"]


def episode_logits(embeddings: torch.Tensor, episode: Episode, config: TrainConfig) -> torch.Tensor:
    r"""Query logits ``(Q, n_way)`` from the embeddings of ``[support; query]``.

    Notes
    -----
    The logit of query :math:`q` for prototype :math:`c_k` (the mean of the, optionally
    L2-normalised, support embeddings of way :math:`k`) is

    .. math::

        z_k = -\frac{d(\hat q, \hat c_k)}{T}, \qquad
        \hat e = \begin{cases} e / \lVert e \rVert_2 & \text{(normalize)} \\ e & \text{otherwise}
        \end{cases}

    with :math:`d` the Euclidean or squared Euclidean distance (``config.distance``) and
    :math:`T` = ``config.temperature``.
    """
    if config.normalize:
        embeddings = F.normalize(embeddings, dim=1)
    n_support = len(episode.support)
    protos = prototypes(embeddings[:n_support], episode.support_labels, episode.n_way)
    logits = proto_logits(embeddings[n_support:], protos,
                          squared=config.distance == "squared-euclidean")
    return logits / config.temperature if config.temperature != 1.0 else logits


@torch.no_grad()
def evaluate(model: nn.Module, images, sampler: EpisodeSampler, generator: torch.Generator,
             n_episodes: int, config: TrainConfig, progress: str | None = None,
             return_classes: bool = False, batch_size: int = 250):
    """Query accuracy of ``n_episodes`` episodes (no gradient, no augmentation).

    All episodes are drawn first; every image they use is embedded once (in batches of
    ``batch_size``, in index order), and each episode is scored from those embeddings.
    The embedders have no batch-dependent layers, so this is the same computation as
    embedding episode by episode (up to float32 rounding, which kernels may block
    differently for other batch sizes), at a fraction of the cost when episodes share
    images: 600 test episodes of 100 images draw on ~5,000-10,000 MNIST test images.

    Returns
    -------
    accuracy : numpy.ndarray
        Accuracy of each episode, ``(n_episodes,)``.
    classes : numpy.ndarray
        Only with ``return_classes``: dataset label of each way of each episode, int
        ``(n_episodes, n_way)``.
    """
    episodes = [sampler.sample(generator) for _ in range(n_episodes)]
    needed = [torch.cat([e.support, e.query]) for e in episodes]
    items = torch.unique(torch.cat(needed)) if needed else torch.zeros(0, dtype=torch.int64)
    emb = embed(model, images[items], batch_size=batch_size, progress=progress)
    position = torch.full((int(items.max()) + 1 if len(items) else 0,), -1, dtype=torch.int64)
    position[items] = torch.arange(len(items))
    out = np.empty(n_episodes)
    classes = np.empty((n_episodes, sampler.n_way), dtype=np.int64)
    for k, (episode, idx) in enumerate(zip(episodes, needed)):
        classes[k] = episode.classes.numpy()
        logits = episode_logits(emb[position[idx]], episode, config)
        out[k] = (logits.argmax(1) == episode.query_labels).double().mean().item()
    return (out, classes) if return_classes else out


@torch.no_grad()
def embed(model: nn.Module, images: torch.Tensor, batch_size: int = 250,
          return_counts: bool = False, progress: str | None = None):
    """Embeddings of ``images`` in batches (no gradient).

    Parameters
    ----------
    model : nn.Module
        Embedder; with ``return_counts`` a :class:`~bioSNN.embedder.csnn.CSNN`.
    images : torch.Tensor
        ``(N, C, H, W)``.
    return_counts : bool
        Also return each layer's spike counts summed over the images, per neuron.
    progress : str, optional
        Description of a tqdm progress bar over the images (None: no bar).

    Returns
    -------
    embeddings : torch.Tensor
        ``(N, D)``.
    counts : dict of str to torch.Tensor
        Only with ``return_counts``: per layer, spikes of each neuron summed over the
        ``N`` images and all time steps (shape of one image's layer output).
    """
    model.eval()
    parts, totals = [], {}
    bar = None
    if progress:
        from ..progress import bar as progress_bar

        bar = progress_bar(len(images), progress, unit="image")
    try:
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            if return_counts:
                e, counts = model(x, return_counts=True)
                for name, n in counts.items():
                    totals[name] = totals.get(name, 0) + n.sum(0)
            else:
                e = model(x)
            parts.append(e)
            if bar is not None:
                bar.update(len(x))
    finally:
        if bar is not None:
            bar.close()
    emb = torch.cat(parts) if parts else images.new_zeros(0, 0)
    return (emb, totals) if return_counts else emb
