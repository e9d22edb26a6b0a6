r"""Activity regularisation of the CSNN: a penalty on each LIF layer's firing rates, so
that a trained embedder can sit inside biological firing regimes (Zenke & Vogels 2021,
after Cramer et al. 2022's per-neuron bounds).

For each spiking layer :math:`l` with neurons :math:`i` and the batch's images :math:`b`,
the rate of a neuron is its spikes per step averaged over the steps and the batch,
:math:`r_i = \frac{1}{B T} \sum_{b,t} s_{b,i}[t]`, and

.. math::

    P = \sum_l \frac{1}{N_l} \sum_i \left[
        \left(\frac{[r_i - r_{max}]_+}{r_{max}}\right)^2 +
        \left(\frac{[r_{min} - r_i]_+}{r_{min}}\right)^2 \right]

(a term is left out when its bound is 0). Both terms are relative to their bound, so
:math:`P` is dimensionless and a neuron at twice the upper bound costs 1. The training
loss is the prototypical cross-entropy plus :math:`\lambda P`
(:class:`~bioSNN.embedder.train.TrainConfig` ``rate_penalty``). The upper bound holds
every neuron's rate down; the lower bound keeps neurons from falling silent.

References
----------
F. Zenke, T. P. Vogels (2021) The remarkable robustness of surrogate gradient learning
for instilling complex function in spiking neural networks. Neural Comput 33, 899-925.
B. Cramer et al. (2022) Surrogate gradients for analog neuromorphic computing. PNAS 119,
e2109194119.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["activity_penalty"]


def activity_penalty(rates: dict[str, torch.Tensor], r_min: float, r_max: float) -> torch.Tensor:
    """The penalty :math:`P` of the module docstring.

    Parameters
    ----------
    rates : dict of str to torch.Tensor
        Per layer, the spikes per step of every neuron for every image, ``(B, ...)``
        (:meth:`bioSNN.embedder.csnn.CSNN.forward_activity`); differentiable.
    r_min, r_max : float
        Bounds in spikes per step (rate x dt); 0 leaves that term out.

    Returns
    -------
    torch.Tensor
        Scalar.

    Raises
    ------
    ValueError
        If a bound is negative, both are 0, or ``r_min >= r_max > 0``.
    """
    if r_min < 0 or r_max < 0 or not (r_min or r_max):
        raise ValueError(f"rate bounds must be >= 0 and not both 0, got r_min={r_min}, "
                         f"r_max={r_max}")
    if r_max and r_min >= r_max:
        raise ValueError(f"r_min must be below r_max, got r_min={r_min}, r_max={r_max}")
    total = None
    for r in rates.values():
        per_neuron = r.flatten(1).mean(0)  # over the batch: (N_l,)
        term = torch.zeros((), dtype=per_neuron.dtype)
        if r_max:
            term = term + (F.relu(per_neuron - r_max) / r_max).pow(2).mean()
        if r_min:
            term = term + (F.relu(r_min - per_neuron) / r_min).pow(2).mean()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("rates is empty: no spiking layer to regularise")
    return total
