"""Torch side of bioSNN: a few-shot spiking image embedder.

``lif`` (functional LIF neuron with surrogate gradient), ``fused`` (LIF + max-pool layer as
a compiled kernel), ``allocator`` (glibc heap setting for large tensors), ``csnn``
(convolutional spiking embedder and its ANN baseline), ``protonet`` (prototypical-network
loss), ``episodes`` (N-way K-shot sampling), ``train`` (meta-training, evaluation,
checkpoints) and ``data`` (datasets loaded whole into tensors).
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
