"""ANN -> SNN conversion: data-based weight normalisation and the integrate-and-fire
simulation of a converted ``nn.Sequential`` (reset by subtraction).

A ReLU network of ``Conv2d`` / ``Linear`` / ``AvgPool2d`` (stride = kernel) / ``Flatten``
/ ``ReLU`` modules becomes a spiking one by replacing each ReLU by integrate-and-fire
neurons (threshold 1, :func:`bioSNN.training.lif_step` with ``beta = 1`` and
``reset="subtract"``) after scaling each weighted layer so that the ``p``-th percentile
of its activations on training data maps to the threshold. Pooling and flattening stay
linear and act on spikes. The output layer has no threshold: its input current is
summed (the "membrane" readout), or it has IF neurons too (the "spikes" readout).
Manual: ``docs/conversion.md``.

References
----------
P. U. Diehl et al. (2015) Fast-classifying, high-accuracy spiking deep networks through
weight and threshold balancing. IJCNN, 1-8.
B. Rueckauer, I.-A. Lungu, Y. Hu, M. Pfeiffer, S.-C. Liu (2017) Conversion of
continuous-valued deep networks to efficient event-driven networks for image
classification. Front. Neurosci. 11:682 (robust normalisation, biases as currents).
"""
from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from .lif import LIFParams, lif_step

__all__ = ["READOUTS", "ENCODINGS", "stages", "percentile_scale", "layer_scales",
           "normalize", "ann_macs", "fanout_maps", "IFRun", "simulate_if",
           "clipped_activations"]

READOUTS = ("membrane", "spikes")
ENCODINGS = ("rate", "current")
_LINEAR = (nn.Flatten, nn.AvgPool2d)
_WEIGHTED = (nn.Conv2d, nn.Linear)


def stages(model: nn.Sequential) -> list[nn.Sequential]:
    """Split ``model`` at its ReLUs: each stage is the linear part (pooling, flattening,
    one weighted layer) that feeds one population of spiking neurons; the last stage
    feeds the output.

    Raises
    ------
    ValueError
        For a module the conversion does not support (naming it), a stage without
        exactly one weighted layer, or overlapping pooling.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"conversion needs an nn.Sequential, got {type(model).__name__}")
    out, current = [], []
    for i, m in enumerate(model):
        if isinstance(m, nn.ReLU):
            out.append(current)
            current = []
        elif isinstance(m, _WEIGHTED + _LINEAR):
            if isinstance(m, nn.AvgPool2d) and (m.stride not in (m.kernel_size, None)
                                                or m.padding):
                raise ValueError(f"module {i} ({m}): only non-overlapping average pooling "
                                 "without padding (stride = kernel_size) is supported")
            current.append(m)
        else:
            raise ValueError(f"module {i} ({type(m).__name__}) is not supported by the "
                             "conversion (Conv2d, Linear, AvgPool2d, Flatten, ReLU)")
    out.append(current)
    for k, s in enumerate(out):
        if sum(isinstance(m, _WEIGHTED) for m in s) != 1:
            raise ValueError(f"stage {k} of the network needs exactly one Conv2d/Linear "
                             f"between ReLUs, got {[type(m).__name__ for m in s]}")
    return [nn.Sequential(*s) for s in out]


def percentile_scale(activations, percentile: float) -> float:
    """The normalisation scale of one layer: the ``percentile``-th percentile of its
    positive activations (as the SNN toolbox of Rueckauer et al. does; zeros, the
    silent units, would otherwise dominate the distribution). 1.0 when none is positive.

    Parameters
    ----------
    activations : array-like or torch.Tensor
        The layer's activations on a training subset, any shape.
    percentile : float
        In (0, 100]; 100 is the maximum (Diehl et al. 2015), 99.9 the robust variant.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    a = activations.detach().cpu().numpy() if isinstance(activations, torch.Tensor) \
        else np.asarray(activations)
    a = a[a > 0]
    return float(np.percentile(a.astype(np.float64), percentile)) if a.size else 1.0


@torch.no_grad()
def layer_scales(model: nn.Sequential, x: torch.Tensor, percentile: float,
                 batch_size: int = 500) -> list[float]:
    """:func:`percentile_scale` of each stage's ReLU output (the output stage: of its
    positive pre-activations) on inputs ``x`` (the ANN's own inputs, in [0, 1])."""
    parts = stages(model)
    acts = [[] for _ in parts]
    for s in range(0, len(x), batch_size):
        h = x[s:s + batch_size]
        for k, st in enumerate(parts):
            h = st(h).clamp(min=0)
            acts[k].append(h.flatten())
    return [percentile_scale(torch.cat(a), percentile) for a in acts]


def normalize(model: nn.Sequential, scales: list[float]) -> nn.Sequential:
    """A copy of ``model`` with each stage's weighted layer scaled by
    ``lambda_{l-1} / lambda_l`` and its bias by ``1 / lambda_l`` (``lambda_0 = 1``: the
    input is in [0, 1]).

    Notes
    -----
    .. math:: W_l \\leftarrow W_l\\,\\frac{\\lambda_{l-1}}{\\lambda_l}, \\qquad
              b_l \\leftarrow \\frac{b_l}{\\lambda_l}

    Then the normalised network's ReLU activations are the original ones divided by
    ``lambda_l``, so the ``p``-th percentile of each layer sits at the threshold 1.
    """
    if len(scales) != len(stages(model)):
        raise ValueError(f"need one scale per stage ({len(stages(model))}), got {len(scales)}")
    if any(not s > 0 for s in scales):
        raise ValueError(f"scales must be > 0, got {scales}")
    out = copy.deepcopy(model)
    weighted = [m for m in out if isinstance(m, _WEIGHTED)]
    prev = 1.0
    with torch.no_grad():
        for m, lam in zip(weighted, scales):
            m.weight.mul_(prev / lam)
            if m.bias is not None:
                m.bias.div_(lam)
            prev = lam
    return out


def _dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def _shapes(model: nn.Sequential, input_shape) -> list[tuple]:
    """Input shape (without batch) of each stage, then the output's."""
    h = torch.zeros((1,) + tuple(input_shape), dtype=_dtype(model))
    shapes = [tuple(input_shape)]
    with torch.no_grad():
        for st in stages(model):
            h = st(h)
            shapes.append(tuple(h.shape[1:]))
    return shapes


def ann_macs(model: nn.Sequential, input_shape) -> int:
    """Multiply-accumulates of one ANN inference (weighted layers only; pooling, biases
    and ReLUs not counted). ``input_shape`` without the batch, e.g. ``(1, 28, 28)``."""
    total = 0
    h = torch.zeros((1,) + tuple(input_shape), dtype=_dtype(model))
    with torch.no_grad():
        for m in model:
            y = m(h)
            if isinstance(m, nn.Conv2d):
                total += y[0].numel() * (m.in_channels // m.groups) * int(np.prod(m.kernel_size))
            elif isinstance(m, nn.Linear):
                total += m.in_features * m.out_features
            h = y
    return int(total)


def fanout_maps(model: nn.Sequential, input_shape) -> list[torch.Tensor]:
    """Fan-out of every neuron that feeds a stage (the input, then each spiking layer):
    the number of neurons of the next stage it reaches, i.e. the synaptic operations one
    spike there costs. Computed as the gradient of the summed outputs of each stage with
    all weights set to 1 and average pooling replaced by sum pooling.

    Returns
    -------
    list of torch.Tensor
        One map per stage, shaped as that stage's input (without batch).
    """
    maps = []
    for st, shape in zip(stages(model), _shapes(model, input_shape)):
        ones = []
        for m in st:
            if isinstance(m, nn.Conv2d):
                c = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                              m.padding, m.dilation, m.groups, bias=False)
                nn.init.ones_(c.weight)
                ones.append(c)
            elif isinstance(m, nn.Linear):
                lin = nn.Linear(m.in_features, m.out_features, bias=False)
                nn.init.ones_(lin.weight)
                ones.append(lin)
            elif isinstance(m, nn.AvgPool2d):
                k = m.kernel_size if isinstance(m.kernel_size, int) else int(np.prod(m.kernel_size))
                area = k * k if isinstance(m.kernel_size, int) else k
                ones += [m, _Scale(area)]
            else:
                ones.append(m)
        x = torch.zeros((1,) + shape, requires_grad=True)
        with torch.enable_grad():   # also when called under no_grad (simulate_if)
            nn.Sequential(*ones)(x).sum().backward()
        maps.append(x.grad[0].detach().round())
    return maps


class _Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


@torch.no_grad()
def clipped_activations(model: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """The rate model of a converted network: each stage's activation clipped to [0, 1]
    (the most an IF neuron of threshold 1 can fire is one spike per step), fed forward;
    the last entry is the output stage's pre-activation. ``model`` already normalised."""
    out, h = [], x
    parts = stages(model)
    for k, st in enumerate(parts):
        h = st(h)
        if k < len(parts) - 1:
            h = h.clamp(0, 1)
        out.append(h)
    return out


class IFRun(NamedTuple):
    """What :func:`simulate_if` recorded.

    Attributes
    ----------
    readout : torch.Tensor
        ``(n_checkpoints, B, n_out)``: output membrane (summed input current) or output
        spike count after each checkpoint step.
    spikes : torch.Tensor
        ``(n_checkpoints, n_stages)`` float64: spikes summed over the batch up to each
        checkpoint, of the input (rate code; 0 for current input) then of each hidden
        spiking layer.
    synops : torch.Tensor
        ``(n_checkpoints, n_stages)`` float64: synaptic operations (spike x fan-out)
        caused by those spikes, summed over the batch.
    counts : list of torch.Tensor or None
        With ``record_counts``: each spiking layer's spike count per neuron after the
        last step (hidden layers, then the output layer for the "spikes" readout).
    trains : list of torch.Tensor or None
        With ``record_spikes``: each spiking layer's spikes at every step, ``(steps, B,
        n)`` uint8 (neurons flattened in (C, H, W) order), in the order of ``counts``.
    """

    readout: torch.Tensor
    spikes: torch.Tensor
    synops: torch.Tensor
    counts: list | None
    trains: list | None = None


@torch.no_grad()
def simulate_if(model: nn.Sequential, x: torch.Tensor, steps: int, *,
                encoding: str = "rate", readout: str = "membrane",
                checkpoints=None, generator: torch.Generator | None = None,
                fanout: list | None = None, record_counts: bool = False,
                input_spikes: torch.Tensor | None = None,
                record_spikes: bool = False) -> IFRun:
    """Run a normalised network (:func:`normalize`) as IF neurons for ``steps`` steps.

    Parameters
    ----------
    model : nn.Sequential
        The normalised ReLU network (threshold 1 everywhere).
    x : torch.Tensor
        Input intensities in [0, 1], ``(B, ...)`` as the ANN takes them.
    steps : int
        Time steps ``T``.
    encoding : {"rate", "current"}
        "rate": each pixel spikes with probability ``x`` per step (Bernoulli,
        :func:`bioSNN.training.rate_encode`); "current": ``x`` itself is injected every
        step (the first layer then does real-valued multiply-accumulates).
    readout : {"membrane", "spikes"}
        Output: summed input current of non-spiking output units, or IF output neurons'
        spike counts (ties go to the lower class).
    checkpoints : sequence of int, optional
        Steps (1..steps) after which the readout is recorded; default ``[steps]``. The
        dynamics are causal, so the readout at ``t`` is that of a run of ``t`` steps.
    generator : torch.Generator
        Randomness of the rate code (required for ``encoding="rate"``).
    fanout : list of torch.Tensor, optional
        :func:`fanout_maps` of ``model`` (computed when None).
    record_counts : bool
        Also return each spiking layer's spike counts per neuron (memory: one tensor per
        layer of the batch's shape).
    input_spikes : torch.Tensor, optional
        ``(steps, B, ...)`` 0/1: the rate code to use instead of drawing it (``encoding =
        "rate"``; no generator needed), e.g. to replay the same input elsewhere.
    record_spikes : bool
        Also return every spiking layer's spikes at every step (``IFRun.trains``).

    Returns
    -------
    IFRun

    Notes
    -----
    Each hidden unit, with input current :math:`I[t]` from the stage before (bias
    included as a constant current) and :math:`\\theta = 1`, follows
    :func:`~bioSNN.training.lif_step` with ``beta = 1``, ``reset = "subtract"``:

    .. math:: U[t] = U[t-1] + I[t] - \\theta S[t-1], \\qquad S[t] = H(U[t] - \\theta)

    so after ``T`` steps :math:`\\theta N = \\sum_t I[t] - (U[T] - \\theta S[T])`: the
    rate ``N / T`` is the mean input minus a residual that shrinks as ``1/T``.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {', '.join(READOUTS)}, got {readout!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    checkpoints = [steps] if checkpoints is None else sorted(int(c) for c in checkpoints)
    if not checkpoints or checkpoints[0] < 1 or checkpoints[-1] > steps:
        raise ValueError(f"checkpoints must lie in 1..{steps}, got {checkpoints}")
    if input_spikes is not None:
        if encoding != "rate":
            raise ValueError("simulate_if: input_spikes is a rate code; use encoding='rate'")
        if tuple(input_spikes.shape) != (steps,) + tuple(x.shape):
            raise ValueError(f"simulate_if: input_spikes must have shape (steps,) + x.shape "
                             f"= {(steps,) + tuple(x.shape)}, got {tuple(input_spikes.shape)}")
    elif encoding == "rate" and not isinstance(generator, torch.Generator):
        raise TypeError("simulate_if: encoding='rate' needs a torch.Generator")
    parts = stages(model)
    if fanout is None:
        fanout = fanout_maps(model, tuple(x.shape[1:]))
    fan = [f.to(torch.float64) for f in fanout]
    n_out = len(parts) - 1 if readout == "membrane" else len(parts)
    lif = LIFParams(beta=1.0, threshold=1.0, reset="subtract")
    states = [None] * n_out
    counts = [torch.zeros((), dtype=x.dtype)] * (n_out + 1)   # input, then each IF layer
    out_acc = None
    rec_readout, rec_spikes, rec_synops = [], [], []
    trains = [[] for _ in range(n_out)] if record_spikes else None
    marks = set(checkpoints)
    for t in range(1, steps + 1):
        if input_spikes is not None:
            h = input_spikes[t - 1].to(x.dtype)
            counts[0] = counts[0] + h
        elif encoding == "rate":
            h = torch.bernoulli(x.clamp(0, 1), generator=generator)
            counts[0] = counts[0] + h
        else:
            h = x
        for k, st in enumerate(parts):
            current = st(h)
            if k < n_out:
                h, states[k] = lif_step(current, states[k], lif)
                counts[k + 1] = counts[k + 1] + h
                if record_spikes:
                    trains[k].append(h.reshape(len(h), -1).to(torch.uint8))
            else:
                out_acc = current.clone() if out_acc is None else out_acc + current
        if t in marks:
            rec_readout.append((out_acc if readout == "membrane" else counts[-1]).clone())
            # spikes feeding each stage (the output layer's own spikes feed nothing)
            feeding = [counts[k].double() * (k > 0 or encoding == "rate")
                       for k in range(len(parts))]
            rec_spikes.append(torch.stack([c.sum() for c in feeding]))
            rec_synops.append(torch.stack([(c * f).sum() if c.dim() else c * f.sum()
                                           for c, f in zip(feeding, fan)]))
    return IFRun(readout=torch.stack(rec_readout), spikes=torch.stack(rec_spikes),
                 synops=torch.stack(rec_synops),
                 counts=counts[1:] if record_counts else None,
                 trains=[torch.stack(tr) for tr in trains] if record_spikes else None)
