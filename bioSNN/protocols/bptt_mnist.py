"""Protocol kind ``bptt-mnist``: the seed CSNN as an MNIST classifier trained by BPTT.

The seed's convolutional spiking network (:class:`bioSNN.embedder.csnn.CSNN`: conv 5x5
x16 -> LIF -> max-pool 2 -> conv 3x3 x32 -> LIF -> max-pool 2) with its last layer, the
seed's Linear(1568 -> 64) -> LIF embedding, replaced by a 10-class output
Linear(1568 -> 10) -> LIF, trained end to end by backpropagation through time with a
surrogate gradient. Input: the normalised image as a constant current every step, or
Bernoulli spikes with p = pixel intensity. Loss: cross-entropy of the output spike
counts, or of the output layer's mean membrane potential. Synaptic operations (spikes x
fan-out) and energy estimates beside the equivalent ANN's multiply-accumulates.
Manual: ``docs/bptt.md``.

References
----------
J. K. Eshraghian et al. (2023) Training spiking neural networks using lessons from deep
learning. Proc. IEEE 111(9), 1016-1054 (snnTorch; its CSNN tutorial).
E. O. Neftci, H. Mostafa, F. Zenke (2019) Surrogate gradient learning in spiking neural
networks. IEEE Signal Process. Mag. 36(6), 51-63.
M. Horowitz (2014) Computing's energy problem (and what we can do about it). ISSCC,
10-14 (45 nm, 32-bit float: add 0.9 pJ, multiply-accumulate 4.6 pJ).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import xarray as xr

from .base import TorchProtocol
from .conversion_mnist import ADD_PJ, MAC_PJ
from .registry import register
from .schema import SURROGATE_NAMES, param
from .spec import ParamConflict

__all__ = ["BPTTMNIST", "BPTTParams", "bptt_features", "build_classifier", "classify",
           "spike_count_loss", "membrane_loss", "readout", "fanouts", "synaptic_operations",
           "classifier_macs", "LAYERS", "LOSSES", "ENCODINGS"]

#: Recorded layers, in order: the input (rate-code spikes), the two convolutional LIF
#: layers and the 10 output LIF neurons.
LAYERS = ("input", "lif1", "lif2", "output")
LOSSES = ("count", "membrane")
ENCODINGS = ("current", "rate")
N_TRAIN, N_TEST = 60000, 10000
_N_SEEDS = 5


@dataclass(frozen=True)
class BPTTParams:
    encoding: str = param("current", choices=ENCODINGS,
                          doc="input: the normalised image as a constant current every step, "
                          "or Bernoulli spikes with p = pixel intensity per step")
    loss: str = param("membrane", choices=LOSSES,
                      doc="cross-entropy of the output spike counts (readout: most spikes) or "
                      "of the output mean membrane potential (readout: largest mean)")
    num_steps: int = param(25, min=1, max=1000, doc="time steps T per image")
    beta: float = param(0.95, min=0, max=1, doc="LIF membrane decay per step (all layers)")
    surrogate: str = param("fast_sigmoid", choices=SURROGATE_NAMES,
                           doc="surrogate gradient of the spikes (the fused conv kernel "
                           "computes only fast_sigmoid; others take the slower PyTorch path)")
    slope: float = param(5.0, min=0, min_inclusive=False, doc="surrogate steepness k")
    epochs: int = param(4, min=1, max=1000, doc="passes over the training set")
    batch_size: int = param(128, min=1, max=4096, doc="images per Adam step")
    lr: float = param(2e-3, min=0, min_inclusive=False, max=1,
                      doc="Adam learning rate (cosine-annealed to 0 over all steps)")
    max_train: int = param(0, min=0, max=N_TRAIN, doc="training images (0: all 60000; the "
                           "first of a seeded permutation)")
    max_test: int = param(0, min=0, max=N_TEST, doc="test images (0: all 10000; the first "
                          "in file order)")
    eval_batch: int = param(500, min=1, max=10000, doc="test images simulated at once")
    torch_threads: int = param(1, min=0, max=256, doc="torch intra-op threads during the "
                               "run (0: torch's default)")

    def check(self):
        n_train = self.max_train or N_TRAIN
        if self.batch_size > n_train:
            raise ParamConflict("batch_size", f"batch_size = {self.batch_size} exceeds the "
                                f"{n_train} training images (max_train); lower batch_size "
                                "or raise max_train")


# ------------------------------------------------------------------ network

def build_classifier(p: BPTTParams, generator):
    """The seed CSNN with a 10-class output layer (:class:`~bioSNN.embedder.csnn.CSNN`
    with ``embedding_dim = 10``): weights drawn from ``generator``, the global RNG
    untouched."""
    import torch

    from ..embedder.csnn import CSNN, CSNNConfig

    config = CSNNConfig(embedding_dim=10, num_steps=p.num_steps, beta=p.beta,
                        slope=p.slope, surrogate=p.surrogate)
    with torch.random.fork_rng():   # nn.Module's own init draws from the global RNG
        return CSNN(config, generator=generator)


class Forward(NamedTuple):
    """One pass of :func:`classify`.

    Attributes
    ----------
    spk, mem : torch.Tensor
        Output spikes and membrane potentials ``(T, B, 10)``, in the graph.
    spikes : dict of str to torch.Tensor
        Spikes of each layer of :data:`LAYERS` summed over the steps, per neuron
        (``input``: the rate code; ``None`` for current input), detached.
    events : dict of str to torch.Tensor
        What each layer sends on, summed over the steps, detached: ``input`` its spikes,
        ``lif1``/``lif2`` the 2x2 max-pooled spikes (a window with at least one spike in a
        step sends one event), ``(B, C, H/2, W/2)``.
    """

    spk: object
    mem: object
    spikes: dict
    events: dict


def classify(net, x, spikes_in=None) -> Forward:
    """Run the classifier for ``net.config.num_steps`` steps.

    Parameters
    ----------
    net : CSNN
        From :func:`build_classifier`.
    x : torch.Tensor
        Images ``(B, 1, 28, 28)``: the input current (normalised pixels), used when
        ``spikes_in`` is None.
    spikes_in : torch.Tensor, optional
        Input spikes ``(T, B, 1, 28, 28)`` (rate code) instead of the constant current.

    Returns
    -------
    Forward

    Notes
    -----
    Layer by layer as :meth:`CSNN.forward` (the fused LIF/max-pool kernel, then
    :func:`~bioSNN.embedder.lif.lif_sequence` for the output layer), each LIF layer

    .. math:: U[t] = \\beta U[t-1] + I[t] - \\theta H(U[t-1] - \\theta), \\qquad
              S[t] = H(U[t] - \\theta)

    with the surrogate gradient of ``net.config.surrogate`` for ``dS/dU``.
    """
    from ..embedder.fused import lif_maxpool
    from ..embedder.lif import lif_sequence

    p, T = net.config.lif, net.config.num_steps
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must have shape (B, 1, 28, 28), got {tuple(x.shape)}")
    b = x.shape[0]
    if spikes_in is None:
        h1, n1 = lif_maxpool(net.conv1(x), p, steps=T)                   # (T, B, 16, 14, 14)
        n0 = None
    else:
        if tuple(spikes_in.shape) != (T, b, 1, 28, 28):
            raise ValueError(f"input spikes must have shape ({T}, {b}, 1, 28, 28), got "
                             f"{tuple(spikes_in.shape)}")
        h1, n1 = lif_maxpool(net.conv1(spikes_in.flatten(0, 1)).unflatten(0, (T, b)), p)
        n0 = spikes_in.sum(0).detach()
    h2, n2 = lif_maxpool(net.conv2(h1.flatten(0, 1)).unflatten(0, (T, b)), p)  # (T, B, 32, 7, 7)
    spk, mem = lif_sequence(net.fc(h2.flatten(0, 1).flatten(1)).unflatten(0, (T, b)), p)
    spikes = {"input": n0, "lif1": n1, "lif2": n2, "output": spk.sum(0).detach()}
    events = {"input": n0, "lif1": h1.sum(0).detach(), "lif2": h2.sum(0).detach()}
    return Forward(spk, mem, spikes, events)


# ------------------------------------------------------------------ loss and readout

def spike_count_loss(spk, target):
    """Cross-entropy of the output spike counts (snnTorch's ``ce_count_loss``).

    Parameters
    ----------
    spk : torch.Tensor
        Output spikes ``(T, B, C)``.
    target : torch.Tensor
        Classes ``(B,)`` (int64).

    Returns
    -------
    torch.Tensor
        Scalar, the mean over the batch of

        .. math:: \\mathcal{L} = -\\log \\frac{e^{c_y}}{\\sum_k e^{c_k}}, \\qquad
                  c_k = \\sum_{t=1}^{T} S[t, k]

    Notes
    -----
    Seed 003 (section 2.3.1) takes the softmax of the spike counts and its cross-entropy
    with the one-hot target (written there without the minus sign): this function, the
    same as snnTorch 1.0.0 ``functional.ce_count_loss`` (log-softmax of the summed spikes,
    then NLL). snnTorch's ``ce_rate_loss``, used by its CSNN tutorial, is a different
    loss: the cross-entropy of each step's spikes taken as logits, averaged over the
    steps, :math:`\\frac1T \\sum_t -\\log\\mathrm{softmax}(S[t])_y`; it is not
    implemented here.
    """
    import torch.nn.functional as F

    return F.cross_entropy(spk.sum(0), target)


def membrane_loss(mem, target):
    """Cross-entropy of the output layer's mean membrane potential.

    .. math:: \\mathcal{L} = -\\log \\frac{e^{m_y}}{\\sum_k e^{m_k}}, \\qquad
              m_k = \\frac1T \\sum_{t=1}^{T} U[t, k]

    ``mem``: ``(T, B, C)``; ``target``: ``(B,)``; mean over the batch.
    """
    import torch.nn.functional as F

    return F.cross_entropy(mem.mean(0), target)


def readout(loss: str, spk, mem):
    """Predicted class consistent with ``loss``: ``"count"``, the output neuron with most
    spikes (:func:`bioSNN.training.decode_count`; ties to the lowest index);
    ``"membrane"``, the largest mean membrane potential (ties to the lowest index)."""
    from ..training.decoders import decode_count

    if loss == "count":
        return decode_count(spk).prediction
    if loss == "membrane":
        return mem.mean(0).argmax(-1)
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


def _loss_fn(loss: str):
    if loss == "count":
        return lambda f, y: spike_count_loss(f.spk, y)
    if loss == "membrane":
        return lambda f, y: membrane_loss(f.mem, y)
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


# ------------------------------------------------------------------ operation counts

def fanouts(net) -> dict:
    """Fan-out of every sender (:data:`LAYERS` but the output): the number of neurons of
    the next layer that one event reaches, i.e. the synaptic operations it costs
    (:func:`bioSNN.training.conversion.fanout_maps`).

    Returns
    -------
    dict of str to torch.Tensor
        ``input``: ``(1, 28, 28)`` into conv1 (16 x 25 inside, fewer at the padded
        border); ``lif1``: ``(16, 14, 14)``, each pooled window into conv2 (32 x 9
        inside); ``lif2``: ``(32, 7, 7)``, each pooled window into the 10 outputs.
    """
    from torch import nn

    from ..training.conversion import fanout_maps

    return {"input": fanout_maps(nn.Sequential(net.conv1), (1, 28, 28))[0],
            "lif1": fanout_maps(nn.Sequential(net.conv2), (16, 14, 14))[0],
            "lif2": fanout_maps(nn.Sequential(nn.Flatten(), net.fc), (32, 7, 7))[0]}


def synaptic_operations(events: dict, fan: dict) -> dict:
    """Synaptic operations of a batch: :math:`\\sum_i n_i f_i` per sender layer, with
    :math:`n_i` the events of sender ``i`` summed over the steps and the batch
    (``events[layer]``: ``(B, *fan[layer].shape)`` or None) and :math:`f_i` its fan-out.
    Floats (float64); a missing sender (current input) counts 0."""
    out = {}
    for layer, f in fan.items():
        n = events.get(layer)
        out[layer] = 0.0 if n is None else float((n.double() * f.double()).sum())
    return out


def classifier_macs(net) -> tuple[int, int]:
    """``(ann_macs, first_layer_macs)``: multiply-accumulates of one inference of the
    equivalent ANN (the same layers with ReLU, no time; biases and pooling not counted)
    and of its first convolution alone (:func:`bioSNN.training.conversion.ann_macs`)."""
    from torch import nn

    from ..training.conversion import ann_macs

    ann = nn.Sequential(net.conv1, nn.ReLU(), nn.MaxPool2d(2), net.conv2, nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), net.fc)
    return ann_macs(ann, (1, 28, 28)), ann_macs(nn.Sequential(net.conv1), (1, 28, 28))


# ------------------------------------------------------------------ training and test

def _inputs(x, encoding: str, steps: int, generator):
    """``(current, spikes)`` for :func:`classify`: pixels -> normalised current, or the
    Bernoulli rate code of the pixels (:func:`bioSNN.training.rate_encode`)."""
    from ..embedder.data import MNIST_MEAN, MNIST_STD
    from ..training.encoders import rate_encode

    if encoding == "current":
        return (x - MNIST_MEAN) / MNIST_STD, None
    return x, rate_encode(x, steps, generator)


def train_classifier(net, x, y, p: BPTTParams, seed_shuffle: int, seed_code: int,
                     desc: str | None = None):
    """Adam with a cosine-annealed learning rate, ``p.epochs`` passes over ``(x, y)``.

    ``x``: pixels in [0, 1], ``(N, 1, 28, 28)``. Returns per-epoch arrays of the mean
    training loss, the training accuracy (readout of each batch before its update) and
    the wall time (s).
    """
    import torch

    from ..progress import bar

    n = len(y)
    steps = math.ceil(n / p.batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=p.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p.epochs * steps)
    g_order = torch.Generator().manual_seed(seed_shuffle)
    g_code = torch.Generator().manual_seed(seed_code)
    loss_fn = _loss_fn(p.loss)
    loss_curve, acc_curve, wall = (np.zeros(p.epochs) for _ in range(3))
    progress = bar(p.epochs * steps, desc or "", unit="step", enabled=bool(desc))
    net.train()
    try:
        for epoch in range(p.epochs):
            t0 = time.perf_counter()
            order = torch.randperm(n, generator=g_order)
            loss_sum = correct = 0.0
            for b in range(steps):
                idx = order[b * p.batch_size:(b + 1) * p.batch_size]
                current, spikes = _inputs(x[idx], p.encoding, p.num_steps, g_code)
                f = classify(net, current, spikes)
                loss = loss_fn(f, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(idx)
                correct += float((readout(p.loss, f.spk.detach(), f.mem.detach())
                                  == y[idx]).sum())
                progress.update(1)
            loss_curve[epoch], acc_curve[epoch] = loss_sum / n, correct / n
            wall[epoch] = time.perf_counter() - t0
            progress.set_postfix({"loss": f"{loss_curve[epoch]:.3f}",
                                  "acc": f"{acc_curve[epoch]:.3f}"}, refresh=False)
    finally:
        progress.close()
    net.eval()
    return loss_curve, acc_curve, wall


def evaluate_classifier(net, x, p: BPTTParams, seed_code: int, desc: str | None = None):
    """Predictions on ``x`` (pixels) and, summed over all images, each layer's spikes
    and each sender's synaptic operations (dicts keyed by :data:`LAYERS`)."""
    import torch

    from ..progress import bar

    fan = fanouts(net)
    g_code = torch.Generator().manual_seed(seed_code)
    preds, spikes = [], dict.fromkeys(LAYERS, 0.0)
    synops = dict.fromkeys(LAYERS, 0.0)
    batches = range(0, len(x), p.eval_batch)
    progress = bar(len(batches), desc or "", unit="batch", enabled=bool(desc))
    try:
        with torch.no_grad():
            for s in batches:
                current, code = _inputs(x[s:s + p.eval_batch], p.encoding, p.num_steps,
                                        g_code)
                f = classify(net, current, code)
                preds.append(readout(p.loss, f.spk, f.mem))
                for layer, n in f.spikes.items():
                    spikes[layer] += 0.0 if n is None else float(n.double().sum())
                for layer, ops in synaptic_operations(f.events, fan).items():
                    synops[layer] += ops
                progress.update(1)
    finally:
        progress.close()
    return torch.cat(preds), spikes, synops


@register
class BPTTMNIST(TorchProtocol):
    """MNIST: the seed CSNN with a 10-class LIF output, trained by BPTT."""

    kind = "bptt-mnist"
    headline = ("test_accuracy", "time_per_epoch_s", "synops_per_inference",
                "snn_energy_uJ", "ann_energy_uJ")
    figures = {"training": "bioSNN.plots.bptt:plot_training"}
    Params = BPTTParams
    uses_data = True

    def simulate(self, ctx):
        import torch

        from ..embedder.checkpoint import state_dict_bytes
        from ..embedder.data import mnist_pixel_splits

        p = self.params
        g = ctx.streams.torch_generator()
        seed_init, seed_shuffle, seed_subset, seed_train_code, seed_test_code = torch.randint(
            0, 2**62, (_N_SEEDS,), generator=g).tolist()
        x_train, y_train, x_test, y_test = mnist_pixel_splits(ctx.data_root, seed_subset,
                                                              p.max_train, p.max_test)
        n_test = len(y_test)

        net = build_classifier(p, torch.Generator().manual_seed(seed_init))
        desc = f"{self.spec.name} train" if ctx.progress else None
        loss_curve, acc_curve, epoch_s = train_classifier(
            net, x_train, y_train, p, seed_shuffle, seed_train_code, desc)
        t0 = time.perf_counter()
        pred, spikes, synops = evaluate_classifier(
            net, x_test, p, seed_test_code, f"{self.spec.name} test" if ctx.progress else None)
        test_s = time.perf_counter() - t0
        ctx.add_file("classifier.pt", state_dict_bytes(net))
        macs, first_macs = classifier_macs(net)
        return xr.Dataset(
            {
                "train_loss": ("epoch", loss_curve, {"units": "1", "long_name":
                               f"mean training loss ({p.loss} cross-entropy) in the epoch"}),
                "train_accuracy": ("epoch", acc_curve, {"units": "1", "long_name":
                                   "training accuracy during the epoch (before each update)"}),
                "epoch_time": ("epoch", epoch_s, {"units": "s", "long_name":
                               "wall time of the epoch"}),
                "prediction": ("test_item", pred.numpy().astype(np.int64),
                               {"units": "1", "long_name": "predicted digit"}),
                "test_label": ("test_item", y_test.numpy(), {"units": "1"}),
                "spike_count": ("layer", np.array([spikes[k] for k in LAYERS]) / n_test,
                                {"units": "1", "long_name": "spikes per inference of each "
                                 "layer (input: the rate code)"}),
                "synops": ("layer", np.array([synops[k] for k in LAYERS]) / n_test,
                           {"units": "1", "long_name": "synaptic operations (events x "
                            "fan-out) per inference sent by each layer (conv layers: their "
                            "max-pooled spikes)"}),
                "test_time": ((), test_s, {"units": "s", "long_name":
                                           "simulation time of the test set"}),
            },
            coords={
                "epoch": ("epoch", np.arange(1, p.epochs + 1), {"units": "1"}),
                "layer": ("layer", list(LAYERS), {"units": "1"}),
            },
            attrs={"n_train": len(y_train), "n_test": n_test, "ann_macs": macs,
                   "first_layer_macs": first_macs, "encoding": p.encoding, "loss": p.loss,
                   "num_steps": p.num_steps},
        )

    @staticmethod
    def summarize(data, params):
        return bptt_features(data, params)


def bptt_features(data: xr.Dataset, params: BPTTParams | None = None) -> dict:
    """Headline numbers of a ``bptt-mnist`` run (pure function of the saved data).

    Accuracies are fractions (0-1). Operations are per test image: ``synops`` are the
    spike-driven accumulates (events x fan-out, all layers); with current input the first
    convolution's real-valued multiply-accumulates, its ANN MACs at every one of the T
    steps, are counted apart (``first_layer_macs_per_inference``). Energies (uJ):
    accumulate 0.9 pJ, multiply-accumulate 4.6 pJ (Horowitz 2014, 45 nm, 32-bit float).
    ``time_per_epoch_s``: the mean wall time of the training epochs.
    """
    label = data["test_label"].values
    T = int(data.attrs["num_steps"])
    macs = int(data.attrs["ann_macs"])
    first = int(data.attrs["first_layer_macs"]) * T if data.attrs["encoding"] == "current" \
        else 0
    synops = float(data["synops"].sum())
    out = {
        "n_train": int(data.attrs["n_train"]), "n_test": int(label.size),
        "encoding": str(data.attrs["encoding"]), "loss": str(data.attrs["loss"]),
        "num_steps": T,
        "test_accuracy": float((data["prediction"].values == label).mean()),
        "final_train_accuracy": float(data["train_accuracy"][-1]),
        "final_train_loss": float(data["train_loss"][-1]),
        "time_per_epoch_s": float(data["epoch_time"].mean()),
        "train_time_s": float(data["epoch_time"].sum()),
        "test_time_s": float(data["test_time"]),
        "synops_per_inference": synops,
        "first_layer_macs_per_inference": first,
        "snn_energy_uJ": (synops * ADD_PJ + first * MAC_PJ) * 1e-6,
        "ann_macs_per_inference": macs,
        "ann_energy_uJ": macs * MAC_PJ * 1e-6,
    }
    for layer in data["layer"].values:
        out[f"spikes_per_inference_{layer}"] = float(data["spike_count"].sel(layer=layer))
    for layer in data["layer"].values:
        out[f"synops_per_inference_{layer}"] = float(data["synops"].sel(layer=layer))
    return out
