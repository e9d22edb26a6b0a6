"""Brian2 replay of a converted (ANN -> SNN) network, spike by spike against torch.

The normalised network of ``conversion-mnist`` is written as a NIR graph
(:func:`bioSNN.exchange.nir_converted.converted_to_nir`), lowered and built as a Brian2
network in biological units by the NIR machinery (:func:`bioSNN.protocols.nir_replay.
replay_nir`: membrane 0 = ``E_L``, threshold 1 = ``V_th``), and run on the same rate code
as :func:`bioSNN.training.conversion.simulate_if` (or the same constant current), both
in float64. Compared per IF
layer: neuron-steps with the same spike/no spike, spike counts, and the class decisions.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from brian2 import mV, ms

__all__ = ["ConvertedReplay", "replay_converted"]


class ConvertedReplay(NamedTuple):
    """What :func:`replay_converted` measured (per IF layer in network order).

    Attributes
    ----------
    layers : list of str
        NIR node names of the IF layers (``if1``, ``if2``, ...).
    n_neurons : list of int
    identical : list of float
        Fraction of neuron-steps (neurons x steps x images) with the same spike/no spike.
    spikes_torch, spikes_brian2 : list of int
        Spikes of each layer over all images and steps.
    decision_torch, decision_brian2 : numpy.ndarray
        Class of each image: torch's readout, and the one of the Brian2 spikes through the
        graph's output (the largest summed output current; most output spikes).
    n_synapses : int
        Brian2 synapses.
    brian2_s : float
        Wall time of building and running the Brian2 network.
    """

    layers: list
    n_neurons: list
    identical: list
    spikes_torch: list
    spikes_brian2: list
    decision_torch: np.ndarray
    decision_brian2: np.ndarray
    n_synapses: int
    brian2_s: float


def replay_converted(snn, x, steps: int, generator=None, *, encoding: str = "rate",
                     readout: str = "membrane", E_L=-65 * mV, V_th=-58 * mV, dt=1 * ms,
                     report=None) -> ConvertedReplay:
    """Run a converted network in torch and in Brian2 on one input and compare.

    Parameters
    ----------
    snn : torch.nn.Sequential
        The normalised network (:func:`~bioSNN.training.conversion.normalize`).
    x : torch.Tensor
        Pixel intensities in [0, 1], ``(N, 1, H, W)``.
    steps : int
        Time steps per image.
    generator : torch.Generator
        Draws the rate code (Bernoulli, p = pixel per step), used by both simulators
        (``encoding = "rate"``).
    encoding : {"rate", "current"}
        As :func:`~bioSNN.training.conversion.simulate_if`: the rate code, or the pixels
        as a current every step (Brian2: an input event of value ``x`` every step).
    readout : {"membrane", "spikes"}
    E_L, V_th, dt : Quantity
        Brian2's rest (membrane 0), threshold (membrane 1) and step.
    report : optional
        Brian2's ``report`` argument of ``Network.run`` (progress).

    Returns
    -------
    ConvertedReplay
    """
    import copy

    import torch

    from ..backend import brian_target
    from ..exchange.nir_converted import converted_to_nir
    from ..exchange.nir_io import decisions, lower
    from ..protocols.nir_replay import replay_nir
    from ..training.conversion import simulate_if

    x = x.double()
    net = copy.deepcopy(snn).double()
    held = x.unsqueeze(0).repeat((steps,) + (1,) * x.dim())
    if encoding == "rate":
        if not isinstance(generator, torch.Generator):
            raise TypeError("replay_converted: encoding='rate' needs a torch.Generator")
        code = torch.bernoulli(held.clamp(0, 1), generator=generator)
        run = simulate_if(net, x, steps, encoding="rate", readout=readout, input_spikes=code,
                          record_spikes=True)
    else:
        code = held
        run = simulate_if(net, x, steps, encoding=encoding, readout=readout,
                          record_spikes=True)
    torch_decision = run.readout[-1].argmax(-1).numpy().astype(np.int64)
    dt_s = float(dt / ms) * 1e-3
    graph = converted_to_nir(net, tuple(x.shape[1:]), readout=readout, dt_s=dt_s)
    plan = lower(graph, "exact", reset="auto", dt_s=dt_s)
    t0 = time.perf_counter()
    with brian_target("numpy"):
        got = replay_nir(plan, code.transpose(0, 1).numpy(), E_L=E_L, V_th=V_th, dt=dt,
                         report=report, name="converted")
    brian2_s = time.perf_counter() - t0
    names = [k for k, layer in plan.layers.items() if layer.spiking]
    identical, s_torch, s_brian, sizes = [], [], [], []
    for name, train in zip(names, run.trains):
        ref = train.transpose(0, 1).numpy()                      # (N, steps, n)
        b = got["values"][name]
        identical.append(float((ref == b).mean()))
        s_torch.append(int(ref.sum()))
        s_brian.append(int(b.sum()))
        sizes.append(int(ref.shape[-1]))
    return ConvertedReplay(layers=names, n_neurons=sizes, identical=identical,
                           spikes_torch=s_torch, spikes_brian2=s_brian,
                           decision_torch=torch_decision,
                           decision_brian2=decisions(got["output"]),
                           n_synapses=int(got["n_synapses"]), brian2_s=brian2_s)
