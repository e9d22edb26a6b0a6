"""A converted ANN (``conversion-mnist``'s integrate-and-fire network) as a NIR graph.

:func:`converted_to_nir` writes a normalised ReLU ``nn.Sequential``
(:func:`bioSNN.training.conversion.normalize`) as the graph that
:func:`bioSNN.training.conversion.simulate_if` integrates: each ReLU becomes an ``IF``
node, the linear modules between them ``Conv2d`` / ``AvgPool2d`` / ``Flatten`` /
``Affine`` (or ``Linear`` without bias) nodes. With the "membrane" readout the last stage
feeds the ``Output`` directly (its summed input current is the readout); with "spikes" it
feeds IF output neurons. :mod:`bioSNN.replay.conversion` replays the graph in Brian2.

IF node, step ``dt``: ``r = 1 / dt`` so that the exact integral over one step of NIR's
``dv/dt = r x`` with ``x`` held is ``v += x`` (the conversion's ``U[t] = U[t-1] + I[t]``);
``v_threshold = 1``, ``v_reset = 0``; the metadata say ``reset = "subtract"``,
``reset_delay = 1`` (``simulate_if`` subtracts the threshold one step after the spike,
as snnTorch's ``Leaky``), which NIR's IF (reset to ``v_reset``) does not express.
"""
from __future__ import annotations

import numpy as np

from ..errors import BioSNNError

__all__ = ["converted_to_nir"]


def converted_to_nir(model, input_shape, *, readout: str = "membrane", dt_s: float = 1e-3):
    """The NIR graph of a normalised (converted) ``nn.Sequential``.

    Parameters
    ----------
    model : torch.nn.Sequential
        Conv2d / Linear / AvgPool2d (stride = kernel) / Flatten / ReLU modules, threshold 1
        (as :func:`~bioSNN.training.conversion.normalize` returns it).
    input_shape : tuple of int
        Input shape without the batch, e.g. ``(1, 28, 28)``.
    readout : {"membrane", "spikes"}
        As :func:`~bioSNN.training.conversion.simulate_if`.
    dt_s : float
        One step in seconds.

    Returns
    -------
    nir.NIRGraph
        ``input -> [linear nodes -> ifK] per stage -> output``.

    Raises
    ------
    BioSNNError
        For a module or readout the conversion does not support (named).
    """
    from torch import nn

    from ..training.conversion import READOUTS, _shapes, stages
    from .nir_io import _nir

    nir = _nir()
    if readout not in READOUTS:
        raise BioSNNError(f"readout must be one of {', '.join(READOUTS)}, got {readout!r}")
    if not dt_s > 0:
        raise BioSNNError(f"dt_s must be > 0 seconds, got {dt_s!r}")
    try:
        parts, shapes = stages(model), _shapes(model, input_shape)
    except ValueError as err:
        raise BioSNNError(str(err)) from None
    meta = {"reset": "subtract", "reset_delay": 1, "dt_s": float(dt_s),
            "source": "bioSNN conversion (simulate_if: U[t] = U[t-1] + I[t] - S[t-1], "
                      "S[t] = H(U[t] - 1))"}
    nodes = {"input": nir.Input(input_type=np.array(shapes[0]))}
    order = ["input"]
    n_if = len(parts) if readout == "spikes" else len(parts) - 1
    for k, (stage, shape) in enumerate(zip(parts, shapes)):
        h = tuple(shape)
        for m in stage:
            if isinstance(m, nn.Conv2d):
                w = m.weight.detach().double().cpu().numpy()
                b = (m.bias.detach().double().cpu().numpy() if m.bias is not None
                     else np.zeros(w.shape[0]))
                node = nir.Conv2d(input_shape=h[1:], weight=w, stride=m.stride,
                                  padding=m.padding, dilation=m.dilation, groups=m.groups,
                                  bias=b)
                name = f"conv{k + 1}"
            elif isinstance(m, nn.Linear):
                w = m.weight.detach().double().cpu().numpy()
                node = (nir.Affine(weight=w, bias=m.bias.detach().double().cpu().numpy())
                        if m.bias is not None else nir.Linear(weight=w))
                name = f"fc{k + 1}"
            elif isinstance(m, nn.AvgPool2d):
                size = np.broadcast_to(np.asarray(m.kernel_size), (2,)).astype(np.int64)
                node = nir.AvgPool2d(kernel_size=size, stride=size.copy(),
                                     padding=np.array([0, 0]))
                name = f"pool{k + 1}"
            else:  # Flatten (stages() admits nothing else)
                node = nir.Flatten(input_type=np.array(h), start_dim=0, end_dim=-1)
                name = f"flatten{k + 1}"
            h = _out_shape(m, h)
            nodes[name] = node
            order.append(name)
        if k < n_if:
            n = tuple(shapes[k + 1])
            ones = np.ones(n)
            nodes[f"if{k + 1}"] = nir.IF(r=ones / dt_s, v_threshold=ones.copy(),
                                         v_reset=0.0 * ones, metadata=dict(meta))
            order.append(f"if{k + 1}")
    nodes["output"] = nir.Output(output_type=np.array(shapes[-1]))
    order.append("output")
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])),
                        metadata={"source": "bioSNN conversion-mnist", "readout": readout,
                                  "dt_s": float(dt_s)})


def _out_shape(m, shape: tuple) -> tuple:
    import torch

    with torch.no_grad():
        return tuple(m(torch.zeros((1,) + shape, dtype=torch.float64)
                       if not hasattr(m, "weight") else
                       torch.zeros((1,) + shape, dtype=m.weight.dtype)).shape[1:])
