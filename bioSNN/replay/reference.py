"""The torch side of the replay: the CSNN forward pass with every spike recorded.

:func:`torch_reference` runs exactly the computation of
:meth:`bioSNN.embedder.csnn.CSNN.forward` (same layers, same :func:`~bioSNN.embedder.lif.lif_step`,
in float64) and keeps the spike train of every neuron of every spiking stage (the three
LIF layers and the two max-pooling outputs), the membrane trace of chosen neurons and the
embedding. The input is either the constant image current of the CSNN or a spike train
(rate coding, :func:`rate_code`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["STAGES", "LIF_STAGES", "Recording", "RateCoded", "torch_reference", "rate_code"]

#: The spiking stages of the CSNN, in order, and whether each is a LIF layer.
STAGES = ("lif1", "pool1", "lif2", "pool2", "lif3")
LIF_STAGES = ("lif1", "lif2", "lif3")


@dataclass
class Recording:
    """What one simulator produced for a batch of images (same layout for both).

    Attributes
    ----------
    spikes : dict of str to numpy.ndarray
        Per stage (:data:`STAGES`): bool ``(n_images, n_steps, n_neurons)``; neurons
        numbered as torch flattens the layer's ``(C, H, W)``.
    embedding : numpy.ndarray
        float64 ``(n_images, embedding_dim)``: mean over the steps of the last LIF layer's
        membrane, unit-less (threshold 1).
    traces : dict of str to numpy.ndarray
        Per LIF stage: unit-less membrane ``(n_images, n_steps, n_traced)`` of the neurons
        in ``traced`` (after each step's update).
    traced : dict of str to numpy.ndarray
        Per LIF stage: indices of the traced neurons.
    timing : dict of str to float
        Wall times in seconds (``build_s``, ``run_s``, ...).
    """

    spikes: dict
    embedding: np.ndarray
    traces: dict = field(default_factory=dict)
    traced: dict = field(default_factory=dict)
    timing: dict = field(default_factory=dict)

    def counts(self, stage: str) -> np.ndarray:
        """Spike counts ``(n_images, n_neurons)`` of one stage (int64)."""
        return self.spikes[stage].sum(axis=1, dtype=np.int64)


@dataclass(frozen=True)
class RateCoded:
    """A rate-coded input: at step ``t`` the image presented to ``conv1`` is
    ``offset + amplitude * spikes[:, t]``.

    Attributes
    ----------
    spikes : numpy.ndarray
        bool ``(N, T, C, H, W)``.
    amplitude : float
        Unit-less input carried by one spike.
    offset : float
        Unit-less input added to every pixel at every step.
    p_max : float
        Spike probability per step of a white pixel.
    """

    spikes: np.ndarray
    amplitude: float
    offset: float
    p_max: float

    def step_image(self, t: int, images=slice(None)) -> np.ndarray:
        """The (float64) image seen by ``conv1`` at step ``t``."""
        return self.offset + self.amplitude * self.spikes[images, t].astype(np.float64)


def rate_code(images, n_steps: int, p_max: float, rng: np.random.Generator,
              mean: float | None = None, std: float | None = None) -> RateCoded:
    r"""Unbiased Bernoulli rate coding of normalised images.

    Each pixel of intensity :math:`q = \mathrm{clip}(x\sigma + \mu, 0, 1)` (the raw
    pixel in [0, 1]) spikes at each step with probability :math:`p_{max} q`, and a spike
    carries :math:`1 / (p_{max}\sigma)` on top of a constant :math:`-\mu/\sigma`, so the
    input presented to ``conv1`` at each step,

    .. math:: x_t = -\frac{\mu}{\sigma} + \frac{s_t}{p_{max}\,\sigma}, \qquad
              \mathbb{E}[x_t] = \frac{q - \mu}{\sigma},

    equals the normalised image in expectation (for pixels inside [0, 1], i.e. all of
    MNIST): the network is driven at the operating point it was trained at, with
    Poisson-like fluctuations.

    Parameters
    ----------
    images : array-like
        Normalised images ``(N, C, H, W)`` (``(q - mean) / std``, the CSNN's input).
    n_steps : int
        Number of steps.
    p_max : float
        Spike probability per step of a white pixel, in (0, 1]: the maximum rate times dt.
    rng : numpy.random.Generator
        Source of the uniform numbers (one per pixel and step, drawn in
        ``(N, n_steps, C, H, W)`` order).
    mean, std : float, optional
        The normalisation (default: MNIST's 0.1307, 0.3081).

    Returns
    -------
    RateCoded
    """
    from ..embedder.data import MNIST_MEAN, MNIST_STD

    if not 0.0 < p_max <= 1.0:
        raise ValueError(f"p_max must be a probability in (0, 1], got {p_max}")
    mean = MNIST_MEAN if mean is None else mean
    std = MNIST_STD if std is None else std
    x = np.asarray(images, dtype=np.float64)
    intensity = np.clip(x * std + mean, 0.0, 1.0)
    u = rng.random((x.shape[0], n_steps, *x.shape[1:]))
    spikes = u < p_max * intensity[:, None]
    return RateCoded(spikes=spikes, amplitude=1.0 / (p_max * std), offset=-mean / std,
                     p_max=p_max)


def torch_reference(model, images, rate_coded: RateCoded | None = None, trace_neurons=None,
                    batch_size: int = 25) -> Recording:
    """Run the CSNN in float64 and record every spike (the snnTorch side of the replay).

    Parameters
    ----------
    model : CSNN
        The embedder (not modified; a float64 copy is used).
    images : torch.Tensor or numpy.ndarray
        Normalised images ``(N, C, H, W)``: the constant input current (unless
        ``rate_coded`` is given).
    rate_coded : RateCoded, optional
        Rate-coded input: the current at step ``t`` is ``conv1(rate_coded.step_image(t))``
        instead of the constant ``conv1(image)`` (``T`` must equal ``config.num_steps``).
    trace_neurons : dict of str to array-like, optional
        Per LIF stage, neurons whose membrane is kept at every step.
    batch_size : int
        Images per forward pass (memory only; results do not depend on it).

    Returns
    -------
    Recording
        Spikes of every stage, embedding, traces; ``timing["run_s"]``.

    Notes
    -----
    Per step, exactly as :meth:`CSNN.forward`:
    ``spk1, U1 = lif(conv1(x), U1)``, ``spk2, U2 = lif(conv2(pool(spk1)), U2)``,
    ``spk3, U3 = lif(fc(flatten(pool(spk2))), U3)``; the embedding is the mean of U3.
    """
    import copy
    import time

    import torch
    import torch.nn.functional as F

    from ..embedder.lif import lif_step

    t0 = time.perf_counter()
    net = copy.deepcopy(model).double().eval()
    c, p = net.config, net.config.lif
    x_all = torch.as_tensor(np.asarray(images), dtype=torch.float64)
    n, T = x_all.shape[0], c.num_steps
    if rate_coded is not None and tuple(rate_coded.spikes.shape) != (n, T, *x_all.shape[1:]):
        raise ValueError(f"rate_coded.spikes must have shape (N, num_steps, C, H, W) = "
                         f"{(n, T, *x_all.shape[1:])}, got {tuple(rate_coded.spikes.shape)}")
    trace_neurons = {k: np.asarray(v, dtype=np.int64) for k, v in (trace_neurons or {}).items()}
    spikes = {s: [] for s in STAGES}
    traces = {s: [] for s in trace_neurons}
    emb = []
    with torch.no_grad():
        for start in range(0, n, batch_size):
            x = x_all[start:start + batch_size]
            b = x.shape[0]
            net._check_input(x)
            cur1 = net.conv1(x) if rate_coded is None else None
            mem1 = x.new_zeros(b, c.conv1_channels, c.image_size, c.image_size)
            mem2 = x.new_zeros(b, c.conv2_channels, c.image_size // 2, c.image_size // 2)
            mem3 = x.new_zeros(b, c.embedding_dim)
            mem_sum = torch.zeros_like(mem3)
            rec = {s: [] for s in STAGES}
            tr = {s: [] for s in trace_neurons}
            for t in range(T):
                if rate_coded is not None:
                    cur1 = net.conv1(torch.from_numpy(
                        rate_coded.step_image(t, slice(start, start + b))))
                spk1, mem1 = lif_step(cur1, mem1, p)
                pool1 = F.max_pool2d(spk1, 2)
                spk2, mem2 = lif_step(net.conv2(pool1), mem2, p)
                pool2 = F.max_pool2d(spk2, 2)
                spk3, mem3 = lif_step(net.fc(pool2.flatten(1)), mem3, p)
                mem_sum = mem_sum + mem3
                for s, v in zip(STAGES, (spk1, pool1, spk2, pool2, spk3)):
                    rec[s].append(v.flatten(1).bool())
                for s, m in (("lif1", mem1), ("lif2", mem2), ("lif3", mem3)):
                    if s in tr:
                        tr[s].append(m.flatten(1)[:, trace_neurons[s]].clone())
            for s in STAGES:
                spikes[s].append(torch.stack(rec[s], 1).numpy())
            for s in tr:
                traces[s].append(torch.stack(tr[s], 1).numpy())
            emb.append((mem_sum / T).numpy())
    return Recording(spikes={s: np.concatenate(v) for s, v in spikes.items()},
                     embedding=np.concatenate(emb),
                     traces={s: np.concatenate(v) for s, v in traces.items()},
                     traced=trace_neurons, timing={"run_s": time.perf_counter() - t0})
