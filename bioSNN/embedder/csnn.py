"""Convolutional spiking embedder (CSNN) and its non-spiking (ANN) baseline.

Architecture (the seed's ``SNNFeatureExtractor``), for ``(B, 1, 28, 28)`` images::

    Conv2d(1 -> 16, k5, pad 2) -> LIF -> MaxPool2d(2)      # (B, 16, 14, 14)
    Conv2d(16 -> 32, k3, pad 1) -> LIF -> MaxPool2d(2)     # (B, 32, 7, 7)
    flatten (1568) -> Linear(-> 64) -> LIF                 # (B, 64)

``pool = "sum"`` replaces each 2x2 max-pool by a 2x2 sum-pool (the number of spikes in
the window, 0-4), which NIR expresses exactly (``nir.SumPool2d``); max-pool (the default)
is the seed's network and is unchanged.

The image (normalised pixels) is injected as a constant current at every step; the
embedding is the membrane potential of the last LIF layer averaged over the steps. The
network is a static-image embedder for prototypical networks (Snell et al. 2017).

References
----------
J. Snell, K. Swersky, R. Zemel (2017) Prototypical networks for few-shot learning.
NeurIPS 30.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .fused import lif_maxpool
from .lif import LeakyParams, lif_sequence, lif_step

__all__ = ["CSNNConfig", "CSNN", "ANNEmbedder", "LAYER_NAMES", "POOLS", "pool2d"]

#: Names of the spiking layers, in order; keys of the spike-count dictionary.
LAYER_NAMES = ("lif1", "lif2", "lif3")
#: The 2x2 pooling of the convolutional layers: max (the seed's) or sum.
POOLS = ("max", "sum")


def pool2d(x: torch.Tensor, pool: str) -> torch.Tensor:
    """2x2 pooling with stride 2 of ``(..., C, H, W)``: max, or the exact sum of the window
    (``avg_pool2d`` with divisor 1: sums of spikes are small integers, exact in float)."""
    if pool == "max":
        return F.max_pool2d(x, 2)
    return F.avg_pool2d(x, 2, divisor_override=1)


@dataclass(frozen=True)
class CSNNConfig:
    """Architecture and neuron parameters of the CSNN (and the ANN baseline).

    Parameters
    ----------
    in_channels : int
        Image channels.
    image_size : int
        Image height = width in pixels; must be divisible by 4 (two 2x2 poolings).
    conv1_channels, conv2_channels : int
        Output channels of the two convolutions.
    conv1_kernel, conv2_kernel : int
        Odd kernel sizes; padding ``k // 2`` keeps the spatial size.
    embedding_dim : int
        Size of the embedding (output of the linear layer).
    num_steps : int
        Number of simulation time steps (CSNN only).
    beta, threshold, slope : float
        LIF parameters shared by all three spiking layers, see
        :class:`bioSNN.embedder.lif.LeakyParams` (CSNN only).
    surrogate : str
        Surrogate gradient of the spikes by name (``"fast_sigmoid"``, the seed's;
        ``"sigmoid"``, ``"atan"``, ``"triangle"``); training only. Not stored in the
        state dict.
    pool : str
        ``"max"`` (default, the seed's 2x2 max-pool) or ``"sum"`` (2x2 sum-pool: spikes
        in the window; exportable to NIR exactly). Not stored in the state dict.
    """

    in_channels: int = 1
    image_size: int = 28
    conv1_channels: int = 16
    conv1_kernel: int = 5
    conv2_channels: int = 32
    conv2_kernel: int = 3
    embedding_dim: int = 64
    num_steps: int = 50
    beta: float = 0.95
    threshold: float = 1.0
    slope: float = 5.0
    pool: str = "max"
    surrogate: str = "fast_sigmoid"

    def __post_init__(self):
        for name in ("in_channels", "image_size", "conv1_channels", "conv2_channels",
                     "embedding_dim", "num_steps", "conv1_kernel", "conv2_kernel"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"CSNNConfig.{name} must be a positive integer, got {value!r}")
        if self.image_size % 4:
            raise ValueError(
                f"CSNNConfig.image_size must be divisible by 4 (two 2x2 max-poolings), "
                f"got {self.image_size}")
        for name in ("conv1_kernel", "conv2_kernel"):
            if getattr(self, name) % 2 == 0:
                raise ValueError(f"CSNNConfig.{name} must be odd ('same' padding k // 2), "
                                 f"got {getattr(self, name)}")
        LeakyParams(self.beta, self.threshold, self.slope, self.surrogate)  # raises if bad
        if self.pool not in POOLS:
            raise ValueError(f"CSNNConfig.pool must be one of {', '.join(POOLS)}, "
                             f"got {self.pool!r}")

    @property
    def lif(self) -> LeakyParams:
        """The LIF parameters of all three spiking layers."""
        return LeakyParams(beta=self.beta, threshold=self.threshold, slope=self.slope,
                           surrogate=self.surrogate)

    @property
    def flat_features(self) -> int:
        """Input size of the linear layer: ``conv2_channels * (image_size // 4) ** 2``."""
        return self.conv2_channels * (self.image_size // 4) ** 2


class _ConvTrunk(nn.Module):
    """The learnable layers shared by the CSNN and the ANN (same names, same shapes)."""

    def __init__(self, config: CSNNConfig = CSNNConfig(),
                 generator: torch.Generator | None = None):
        super().__init__()
        c = config
        self.config = c
        self.conv1 = nn.Conv2d(c.in_channels, c.conv1_channels, c.conv1_kernel,
                               padding=c.conv1_kernel // 2)
        self.conv2 = nn.Conv2d(c.conv1_channels, c.conv2_channels, c.conv2_kernel,
                               padding=c.conv2_kernel // 2)
        self.fc = nn.Linear(c.flat_features, c.embedding_dim)
        if generator is not None:
            self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Redraw all weights and biases from ``generator``.

        Same distributions as PyTorch's default ``Conv2d`` / ``Linear`` initialisation
        (weights Kaiming-uniform with ``a = sqrt(5)``, biases uniform in
        :math:`\\pm 1/\\sqrt{\\text{fan\\_in}}`), drawn in layer order, so a generator
        seeded with ``s`` gives the weights the default init gives after
        ``torch.manual_seed(s)``, without touching the global RNG.
        """
        with torch.no_grad():
            for layer in (self.conv1, self.conv2, self.fc):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                bound = 1 / math.sqrt(layer.weight[0].numel())  # 1 / sqrt(fan_in)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    def _check_input(self, x: torch.Tensor) -> None:
        c = self.config
        expected = (c.in_channels, c.image_size, c.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"images must have shape (B, {', '.join(map(str, expected))}), "
                             f"got {tuple(x.shape)}")


class CSNN(_ConvTrunk):
    """Convolutional spiking embedder; see the module docstring for the architecture.

    Parameters
    ----------
    config : CSNNConfig
        Architecture, number of steps and LIF parameters.
    generator : torch.Generator, optional
        Source of the initial weights (see :meth:`reset_parameters`); without it, PyTorch's
        default initialisation draws from the global RNG.

    Notes
    -----
    The parameter names (``conv1``, ``conv2``, ``fc``) equal those of
    :class:`ANNEmbedder`, so state dicts can be moved between the two.
    """

    def forward(
        self, x: torch.Tensor, return_counts: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Embed a batch of images.

        Parameters
        ----------
        x : torch.Tensor
            Normalised images, shape ``(B, C, H, W)``, used as a constant input current.
        return_counts : bool
            Also return the number of spikes of every neuron of each spiking layer.

        Returns
        -------
        embedding : torch.Tensor
            Time-averaged membrane potential of the last layer, ``(B, embedding_dim)``:
            :math:`e = \\frac{1}{T} \\sum_{t=1}^{T} U_3[t]`.
        counts : dict of str to torch.Tensor
            Only with ``return_counts``: spike counts over the ``num_steps`` steps (divide
            by ``num_steps`` for spikes per step), keyed by :data:`LAYER_NAMES`, shapes
            ``(B, conv1_channels, H, W)``, ``(B, conv2_channels, H/2, W/2)`` and
            ``(B, embedding_dim)``. Detached from the graph (for recording).

        Notes
        -----
        Layer by layer rather than step by step: the input is constant, so ``conv1(x)``
        is computed once; each convolutional LIF layer and its 2x2 max-pool run all
        ``num_steps`` steps in one call (:func:`~bioSNN.embedder.fused.lif_maxpool`: a
        compiled kernel that keeps only the pooled spikes, with its own backward pass;
        for ``pool = "sum"``, :func:`~bioSNN.embedder.lif.lif_sequence` and the sum);
        conv2 and the linear layer see all steps at once as one batch of ``num_steps * B``;
        the last LIF layer runs in :func:`~bioSNN.embedder.lif.lif_sequence`. The result
        equals the step-by-step formulation :meth:`forward_steps` (the seed's loop) up to
        float rounding of the batched convolution (tested: embeddings within 1e-5 in
        float32, identical in float64; the LIF and pooling arithmetic is bit-identical).
        Memory grows as ``num_steps * B`` times the pooled layer sizes and conv2's output
        (about 0.5 GB for B = 100 at 50 steps in training); embed large image sets in
        batches (:func:`~bioSNN.embedder.evaluate.embed`).
        """
        self._check_input(x)
        c, p = self.config, self.config.lif
        T, b = c.num_steps, x.shape[0]
        if c.pool == "max":
            h, n1 = lif_maxpool(self.conv1(x), p, steps=T)                # (T, B, C1, H/2, W/2)
            h, n2 = lif_maxpool(self.conv2(h.flatten(0, 1)).unflatten(0, (T, b)), p)
        else:  # sum-pool: the LIF layers in lif_sequence, then the exact window sums
            s1, _ = lif_sequence(self.conv1(x), p, steps=T)               # (T, B, C1, H, W)
            h, n1 = pool2d(s1.flatten(0, 1), "sum"), s1.sum(0).detach()
            s2, _ = lif_sequence(self.conv2(h).unflatten(0, (T, b)), p)
            h, n2 = pool2d(s2.flatten(0, 1), "sum").unflatten(0, (T, b)), s2.sum(0).detach()
        h = h.flatten(0, 1).flatten(1)                                    # (T*B, flat)
        spk3, mem3 = lif_sequence(self.fc(h).unflatten(0, (T, b)), p)     # (T, B, D)
        mem_sum = mem3[0]
        for t in range(1, T):  # summed in step order, as forward_steps
            mem_sum = mem_sum + mem3[t]
        embedding = mem_sum / T
        if return_counts:
            return embedding, dict(zip(LAYER_NAMES, (n1, n2, spk3.sum(0).detach())))
        return embedding

    def forward_activity(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Embed a batch and return every LIF layer's spikes per step, differentiable.

        For training with an activity penalty (:mod:`bioSNN.embedder.activity`): the
        convolutional LIF layers run in :func:`~bioSNN.embedder.lif.lif_sequence` and are
        pooled afterwards (the fused kernel keeps only pooled spikes and has no gradient
        for the others), so this is slower than :meth:`forward` and needs more memory.
        The embedding is the same computation as :meth:`forward` (tested).

        Returns
        -------
        embedding : torch.Tensor
            ``(B, embedding_dim)``, as :meth:`forward`.
        rates : dict of str to torch.Tensor
            Spikes per step of every neuron for every image (the spike count over
            ``num_steps`` divided by ``num_steps``), keyed by :data:`LAYER_NAMES`, shaped
            like ``forward``'s counts; part of the graph.
        """
        self._check_input(x)
        c, p = self.config, self.config.lif
        T, b = c.num_steps, x.shape[0]
        s1, _ = lif_sequence(self.conv1(x), p, steps=T)                   # (T, B, C1, H, W)
        h = pool2d(s1.flatten(0, 1), c.pool)                              # (T*B, C1, H/2, W/2)
        s2, _ = lif_sequence(self.conv2(h).unflatten(0, (T, b)), p)
        h = pool2d(s2.flatten(0, 1), c.pool).flatten(1)                   # (T*B, flat)
        spk3, mem3 = lif_sequence(self.fc(h).unflatten(0, (T, b)), p)     # (T, B, D)
        mem_sum = mem3[0]
        for t in range(1, T):  # summed in step order, as forward
            mem_sum = mem_sum + mem3[t]
        rates = (s1.mean(0), s2.mean(0), spk3.mean(0))
        return mem_sum / T, dict(zip(LAYER_NAMES, rates))

    def forward_steps(
        self, x: torch.Tensor, return_counts: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The step-by-step formulation of :meth:`forward` (the seed's loop, with
        ``conv1(x)`` computed once): all layers advance one step at a time. Same
        parameters and returns as :meth:`forward`; kept as the reference it is tested
        against.
        """
        self._check_input(x)
        c, p = self.config, self.config.lif
        b, half = x.shape[0], c.image_size // 2
        cur1 = self.conv1(x)  # hoisted out of the time loop
        mem1 = torch.zeros_like(cur1)
        mem2 = x.new_zeros(b, c.conv2_channels, half, half)
        mem3 = x.new_zeros(b, c.embedding_dim)
        mem_sum = torch.zeros_like(mem3)
        counts = [0, 0, 0]
        for _ in range(c.num_steps):
            spk1, mem1 = lif_step(cur1, mem1, p)
            spk2, mem2 = lif_step(self.conv2(pool2d(spk1, c.pool)), mem2, p)
            spk3, mem3 = lif_step(self.fc(pool2d(spk2, c.pool).flatten(1)), mem3, p)
            mem_sum = mem_sum + mem3
            if return_counts:
                counts = [n + s for n, s in zip(counts, (spk1, spk2, spk3))]
        embedding = mem_sum / c.num_steps
        if return_counts:
            return embedding, dict(zip(LAYER_NAMES, counts))
        return embedding


class ANNEmbedder(_ConvTrunk):
    """Non-spiking baseline: the CSNN's layers with ReLU and no time dimension.

    ``conv1 -> ReLU -> pool -> conv2 -> ReLU -> pool -> flatten -> fc`` (``config.pool``:
    max or sum); the embedding is the linear output. ``num_steps`` and the LIF fields of
    the config are ignored.

    Parameters
    ----------
    config : CSNNConfig
        Architecture (same layers and parameter names as :class:`CSNN`).
    generator : torch.Generator, optional
        Source of the initial weights, as for :class:`CSNN`.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed images ``(B, C, H, W)`` into ``(B, embedding_dim)``."""
        self._check_input(x)
        pool = self.config.pool
        h = pool2d(F.relu(self.conv1(x)), pool)
        h = pool2d(F.relu(self.conv2(h)), pool)
        return self.fc(h.flatten(1))
