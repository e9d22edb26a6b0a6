"""Torch side of bioSNN: a few-shot spiking image embedder.

``lif`` (functional LIF neuron with surrogate gradient), ``fused`` (LIF + max-pool layer as
a compiled kernel), ``csnn`` (convolutional spiking embedder and its ANN baseline),
``protonet`` (prototypical-network loss), ``episodes`` (N-way K-shot sampling), ``data``
(datasets loaded whole into tensors), ``augment`` (training-image augmentation),
``train`` (the meta-training loop), ``evaluate`` (test accuracy, embeddings),
``checkpoint`` (trained weights on disk), ``runtime`` and ``allocator`` (threads, heap).
"""
from .csnn import CSNN, LAYER_NAMES, ANNEmbedder, CSNNConfig
from .data import ImageSet, load_mnist, resolve_data_root
from .episodes import Episode, EpisodeSampler
from .fused import lif_maxpool
from .lif import LIF, LeakyParams, lif_sequence, lif_step, spike_fn
from .protonet import episode_loss, proto_logits, protonet_loss, prototypes, train_step

__all__ = [
    "ANNEmbedder", "CSNN", "CSNNConfig", "Episode", "EpisodeSampler", "ImageSet", "LAYER_NAMES",
    "LIF", "LeakyParams", "episode_loss", "lif_maxpool", "lif_sequence", "lif_step",
    "load_mnist", "proto_logits",
    "protonet_loss", "prototypes", "resolve_data_root", "spike_fn", "train_step",
]
