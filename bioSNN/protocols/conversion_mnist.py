"""Protocol kind ``conversion-mnist``: ANN -> SNN conversion ("shadow training") on MNIST.

A small ReLU CNN (conv -> ReLU -> avgpool -> conv -> ReLU -> avgpool -> linear) is
trained on pixels in [0, 1]; its weights are normalised layer by layer by the
``percentile``-th percentile of the activations on a training subset and run as
integrate-and-fire neurons with reset by subtraction (:mod:`bioSNN.training.conversion`)
on rate-coded or constant-current input. Accuracy is read after each of ``steps`` time
steps, beside the ANN's; synaptic operations (spikes x fan-out) beside the ANN's
multiply-accumulates. Biases (``bias = true``) become constant input currents
(``b / lambda_l`` every step). The first ``replay_images`` test images are replayed in
Brian2 in biological units (the converted network as a NIR graph,
:mod:`bioSNN.replay.conversion`) on the same input and compared spike by spike.
Manual: ``docs/conversion.md``.

References
----------
P. U. Diehl et al. (2015) Fast-classifying, high-accuracy spiking deep networks through
weight and threshold balancing. IJCNN, 1-8.
B. Rueckauer et al. (2017) Conversion of continuous-valued deep networks to efficient
event-driven networks for image classification. Front. Neurosci. 11:682.
M. Horowitz (2014) Computing's energy problem (and what we can do about it). ISSCC,
10-14 (45 nm: 32-bit float add 0.9 pJ, multiply 3.7 pJ; multiply-accumulate 4.6 pJ).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import xarray as xr

from .base import TorchProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["ConversionMNIST", "ConversionParams", "conversion_features", "parse_steps",
           "ADD_PJ", "MAC_PJ"]

#: Energy per operation, 45 nm, 32-bit float (Horowitz 2014): accumulate, multiply-accumulate.
ADD_PJ, MAC_PJ = 0.9, 4.6
_N_SEEDS = 4


def parse_steps(text: str) -> list[int]:
    """Checkpoint step counts from comma-separated text (``"10,20,50"``), ascending."""
    try:
        out = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"expected comma-separated positive integers, got {text!r}") from None
    if not out or any(s < 1 for s in out):
        raise ValueError(f"expected comma-separated positive integers, got {text!r}")
    if out != sorted(set(out)):
        raise ValueError(f"step counts must be strictly ascending, got {text!r}")
    return out


@dataclass(frozen=True)
class ANNTrainingParams:
    """The ReLU CNN and its training: shared by ``conversion-mnist`` and the kinds that
    train the same ANN (``robustness-mnist``)."""

    channels1: int = param(16, min=1, max=512, doc="feature maps of the first convolution")
    kernel1: int = param(5, min=1, max=27, doc="kernel size of the first convolution")
    channels2: int = param(32, min=1, max=512, doc="feature maps of the second convolution")
    kernel2: int = param(3, min=1, max=13, doc="kernel size of the second convolution")
    pool: int = param(2, min=1, max=8, doc="average pooling (kernel = stride) after each "
                      "convolution; 1: none")
    bias: bool = param(False, doc="layers have biases (run as constant currents b / lambda)")
    epochs: int = param(4, min=1, max=1000, doc="ANN training passes over the training set")
    batch_size: int = param(64, min=1, max=4096, doc="images per Adam step")
    lr: float = param(2e-3, min=0, min_inclusive=False, max=1,
                      doc="Adam learning rate (cosine-annealed to 0)")
    max_train: int = param(0, min=0, doc="training images (0: all 60000; the first of a "
                           "seeded permutation)")


@dataclass(frozen=True)
class ConversionParams(ANNTrainingParams):
    max_test: int = param(0, min=0, doc="test images (0: all 10000; the first in file order)")
    percentile: float = param(99.9, min=0, min_inclusive=False, max=100,
                              doc="normalisation percentile of each layer's positive "
                              "activations (100: the maximum, Diehl et al. 2015)")
    norm_images: int = param(1000, min=1, doc="training images whose activations set the "
                             "normalisation")
    encoding: str = param("rate", choices=("rate", "current"),
                          doc="SNN input: Bernoulli spikes with p = pixel per step, or the "
                          "pixel as a constant current")
    readout: str = param("membrane", choices=("membrane", "spikes"),
                         doc="class = largest summed output current, or most output spikes")
    steps: str = param("10,20,50,100,200", doc="time steps T at which SNN accuracy is read "
                       "(one simulation of the largest)")
    tolerance: float = param(0.003, min=0, max=1, doc="accuracy gap to the ANN (fraction) "
                             "that counts as matched, for best_steps")
    sim_batch: int = param(500, min=1, max=10000, doc="test images simulated at once")
    torch_threads: int = param(1, min=0, max=256, doc="torch intra-op threads during the "
                               "run (0: torch's default; one is as fast here on a shared "
                               "2-core machine, and far faster on small tensors)")
    replay_images: int = param(20, min=0, max=10000, doc="first test images replayed in "
                               "Brian2 (biological units, the same input) and compared "
                               "spike by spike with torch; 0: no replay")
    replay_steps: int = param(100, min=1, max=10000, doc="time steps of the Brian2 replay")

    def check(self):
        try:
            parse_steps(self.steps)
        except ValueError as err:
            raise ParamConflict("steps", str(err)) from None
        if self.max_test and self.replay_images > self.max_test:
            raise ParamConflict("replay_images", f"must be at most max_test "
                                f"({self.max_test}): the replayed images are test images")
        size = 28 - self.kernel1 + 1
        if size < 1:
            raise ParamConflict("kernel1", "larger than the 28-pixel image")
        size //= self.pool
        if size - self.kernel2 + 1 < 1:
            raise ParamConflict("kernel2", f"larger than the {size}-pixel feature map "
                                "after the first convolution and pooling")
        if (size - self.kernel2 + 1) // self.pool < 1:
            raise ParamConflict("pool", "pools the second feature map away")


def build_ann(p: ConversionParams):
    """The ReLU CNN of the spec (``nn.Sequential``; weights from torch's default init)."""
    from torch import nn

    size = ((28 - p.kernel1 + 1) // p.pool - p.kernel2 + 1) // p.pool
    pool = [nn.AvgPool2d(p.pool)] if p.pool > 1 else []
    return nn.Sequential(
        nn.Conv2d(1, p.channels1, p.kernel1, bias=p.bias), nn.ReLU(), *pool,
        nn.Conv2d(p.channels1, p.channels2, p.kernel2, bias=p.bias), nn.ReLU(), *pool,
        nn.Flatten(), nn.Linear(p.channels2 * size * size, 10, bias=p.bias))


def _train(model, x, y, p: ConversionParams, seed: int, desc: str | None):
    import torch

    from ..progress import bar

    n = len(y)
    steps = math.ceil(n / p.batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=p.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p.epochs * steps)
    g = torch.Generator().manual_seed(seed)
    loss_curve, acc_curve = np.zeros(p.epochs), np.zeros(p.epochs)
    progress = bar(p.epochs * steps, desc, unit="step", enabled=bool(desc))
    t0 = time.perf_counter()
    try:
        for epoch in range(p.epochs):
            model.train()
            order = torch.randperm(n, generator=g)
            loss_sum = correct = 0.0
            for b in range(steps):
                idx = order[b * p.batch_size:(b + 1) * p.batch_size]
                logits = model(x[idx])
                loss = torch.nn.functional.cross_entropy(logits, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(idx)
                correct += float((logits.argmax(-1) == y[idx]).sum())
                progress.update(1)
            loss_curve[epoch], acc_curve[epoch] = loss_sum / n, correct / n
            progress.set_postfix({"loss": f"{loss_curve[epoch]:.3f}"}, refresh=False)
    finally:
        progress.close()
    model.eval()
    return loss_curve, acc_curve, time.perf_counter() - t0


@register
class ConversionMNIST(TorchProtocol):
    """MNIST: a ReLU CNN converted to IF neurons (robust percentile normalisation)."""

    kind = "conversion-mnist"
    headline = ("ann_test_accuracy", "snn_test_accuracy", "best_steps",
                "snn_minus_ann_at_max_steps", "synops_per_inference",
                "replay_spikes_identical_min")
    figures = {"accuracy": "bioSNN.plots.conversion:plot_accuracy_vs_steps"}
    Params = ConversionParams
    uses_data = True

    def simulate(self, ctx):
        import torch

        from ..embedder.checkpoint import state_dict_bytes
        from ..embedder.data import mnist_pixel_splits
        from ..progress import bar
        from ..training.conversion import (ann_macs, fanout_maps, layer_scales, normalize,
                                           simulate_if)

        p = self.params
        checkpoints = parse_steps(p.steps)
        g = ctx.streams.torch_generator()
        seed_init, seed_shuffle, seed_subset, seed_code = torch.randint(
            0, 2**62, (_N_SEEDS,), generator=g).tolist()
        seed_replay = int(torch.randint(0, 2**62, (1,), generator=g))  # drawn after: the
        # four streams above are those of runs made before the replay existed
        x_train, y_train, x_test, y_test = mnist_pixel_splits(ctx.data_root, seed_subset,
                                                              p.max_train, p.max_test)
        n_test = len(y_test)

        with torch.random.fork_rng():   # nn.Module initialisation draws from the global RNG
            torch.manual_seed(seed_init)
            ann = build_ann(p)
        desc = f"{self.spec.name} ANN" if ctx.progress else None
        loss_curve, acc_curve, train_s = _train(ann, x_train, y_train, p, seed_shuffle, desc)
        ctx.add_file("ann.pt", state_dict_bytes(ann))   # the trained ANN (robustness-mnist)
        with torch.no_grad():
            ann_pred = torch.cat([ann(x_test[s:s + p.sim_batch]).argmax(-1)
                                  for s in range(0, n_test, p.sim_batch)])

        t0 = time.perf_counter()
        scales = layer_scales(ann, x_train[:p.norm_images], p.percentile)
        snn = normalize(ann, scales)
        fan = fanout_maps(snn, (1, 28, 28))
        g_code = torch.Generator().manual_seed(seed_code)
        readout, spikes, synops = [], 0.0, 0.0
        batches = range(0, n_test, p.sim_batch)
        progress = bar(len(batches), f"{self.spec.name} SNN ({checkpoints[-1]} steps)",
                       unit="batch", enabled=ctx.progress)
        try:
            for s in batches:
                run = simulate_if(snn, x_test[s:s + p.sim_batch], checkpoints[-1],
                                  encoding=p.encoding, readout=p.readout,
                                  checkpoints=checkpoints, generator=g_code, fanout=fan)
                readout.append(run.readout.argmax(-1))
                spikes, synops = spikes + run.spikes, synops + run.synops
                progress.update(1)
        finally:
            progress.close()
        sim_s = time.perf_counter() - t0
        snn_pred = torch.cat(readout, dim=1)                       # (checkpoint, item)
        replay = _replay(snn, x_test, y_test, p, seed_replay, ctx)
        macs = ann_macs(ann, (1, 28, 28))
        first_macs = ann_macs(ann[:1], (1, 28, 28))
        layers = ["input"] + [f"hidden{k}" for k in range(1, len(fan))]
        data = xr.Dataset(
            {
                "train_loss": ("epoch", loss_curve, {"units": "1", "long_name":
                                                     "mean ANN training cross-entropy"}),
                "train_accuracy": ("epoch", acc_curve, {"units": "1", "long_name":
                                                        "ANN training accuracy during the epoch"}),
                "ann_prediction": ("test_item", ann_pred.numpy().astype(np.int64),
                                   {"units": "1", "long_name": "ANN's predicted digit"}),
                "snn_prediction": (("steps", "test_item"), snn_pred.numpy().astype(np.int64),
                                   {"units": "1", "long_name": "converted SNN's predicted "
                                    "digit after each number of steps"}),
                "test_label": ("test_item", y_test.numpy(), {"units": "1"}),
                "layer_scale": ("stage", np.array(scales), {"units": "1", "long_name":
                                "normalisation scale lambda of each stage's activations"}),
                "spike_count": (("steps", "layer"), spikes.numpy() / n_test,
                                {"units": "1", "long_name": "spikes per inference of each "
                                 "layer feeding a stage (input: the rate code)"}),
                "synops": (("steps", "layer"), synops.numpy() / n_test,
                           {"units": "1", "long_name": "synaptic operations (spike x "
                            "fan-out) per inference caused by each layer's spikes"}),
                "train_time": ((), train_s, {"units": "s", "long_name": "ANN training time"}),
                "sim_time": ((), sim_s, {"units": "s", "long_name": "normalisation and SNN "
                                         "simulation time of the test set"}),
            },
            coords={
                "steps": ("steps", np.array(checkpoints), {"units": "1", "long_name":
                                                           "time steps T"}),
                "epoch": ("epoch", np.arange(1, p.epochs + 1), {"units": "1"}),
                "layer": ("layer", layers, {"units": "1"}),
                "stage": ("stage", np.arange(1, len(scales) + 1), {"units": "1"}),
            },
            attrs={"n_train": len(y_train), "n_test": n_test, "ann_macs": macs,
                   "first_layer_macs": first_macs, "encoding": p.encoding,
                   "readout": p.readout},
        )
        return data if replay is None else data.merge(replay, combine_attrs="no_conflicts")

    @staticmethod
    def summarize(data, params):
        return conversion_features(data, params)


def _replay(snn, x_test, y_test, p: ConversionParams, seed: int, ctx) -> xr.Dataset | None:
    """The Brian2 replay of the first ``replay_images`` test images (None when 0)."""
    if not p.replay_images:
        return None
    import torch

    from ..replay.conversion import replay_converted

    n = p.replay_images
    r = replay_converted(snn, x_test[:n], p.replay_steps, torch.Generator().manual_seed(seed),
                         encoding=p.encoding, readout=p.readout,
                         report=ctx.brian_report(f"conversion replay in Brian2 ({n} images, "
                                                 f"{p.replay_steps} steps)"))
    return xr.Dataset(
        {
            "replay_identical": ("replay_layer", np.array(r.identical), {
                "units": "1", "long_name": "fraction of neuron-steps with the same spike or "
                "no spike in Brian2 and torch"}),
            "replay_spikes_torch": ("replay_layer", np.array(r.spikes_torch), {
                "units": "1", "long_name": "spikes of the layer, torch (all replayed images)"}),
            "replay_spikes_brian2": ("replay_layer", np.array(r.spikes_brian2), {
                "units": "1", "long_name": "spikes of the layer, Brian2"}),
            "replay_neurons": ("replay_layer", np.array(r.n_neurons), {"units": "1"}),
            "replay_decision_torch": ("replay_item", r.decision_torch, {
                "units": "1", "long_name": "torch's class of the replayed image"}),
            "replay_decision_brian2": ("replay_item", r.decision_brian2, {
                "units": "1", "long_name": "class read from Brian2's spikes"}),
            "replay_label": ("replay_item", y_test[:n].numpy(), {"units": "1"}),
        },
        coords={"replay_layer": ("replay_layer", r.layers, {"units": "1"})},
        attrs={"replay_steps": p.replay_steps, "replay_n_synapses": r.n_synapses,
               "replay_brian2_s": r.brian2_s},
    )


def conversion_features(data: xr.Dataset, params: ConversionParams) -> dict:
    """Headline numbers of a ``conversion-mnist`` run (pure function of the saved data).

    Accuracies are fractions (0-1). ``best_steps``: the fewest steps T whose SNN accuracy
    is within ``tolerance`` of the ANN's (None if none is). Operations are per test image;
    with current input the first layer's real-valued multiply-accumulates (its ANN MACs
    every step) are counted apart from the spike-driven accumulates. Energies use
    Horowitz (2014): accumulate 0.9 pJ, multiply-accumulate 4.6 pJ. ``snn_test_accuracy``
    and ``synops_per_inference`` are at the largest T; ``*_T<t>`` at each T.
    """
    label = data["test_label"].values
    steps = [int(s) for s in data["steps"].values]
    ann = float((data["ann_prediction"].values == label).mean())
    snn = {t: float((data["snn_prediction"].sel(steps=t).values == label).mean())
           for t in steps}
    matched = [t for t in steps if snn[t] >= ann - params.tolerance - 1e-12]
    t_max = steps[-1]
    synops = data["synops"].sum("layer")
    macs = int(data.attrs["ann_macs"])
    first = int(data.attrs["first_layer_macs"]) if data.attrs["encoding"] == "current" else 0
    out = {
        "n_train": int(data.attrs["n_train"]), "n_test": int(label.size),
        "encoding": str(data.attrs["encoding"]), "readout": str(data.attrs["readout"]),
        "ann_test_accuracy": ann,
        "snn_test_accuracy": snn[t_max],
        "best_steps": matched[0] if matched else None,
        "snn_minus_ann_at_max_steps": snn[t_max] - ann,
        "max_steps": t_max,
    }
    for t in steps:
        out[f"snn_test_accuracy_T{t}"] = snn[t]
    out.update({
        "ann_final_train_accuracy": float(data["train_accuracy"][-1]),
        "ann_train_time_s": float(data["train_time"]),
        "snn_sim_time_s": float(data["sim_time"]),
        "ann_macs_per_inference": macs,
        "ann_energy_uJ": macs * MAC_PJ * 1e-6,
        "synops_per_inference": float(synops.sel(steps=t_max)),
    })
    for t in steps:
        out[f"spikes_per_inference_T{t}"] = float(data["spike_count"].sel(steps=t).sum())
        out[f"synops_per_inference_T{t}"] = float(synops.sel(steps=t))
        if first:
            out[f"first_layer_macs_per_inference_T{t}"] = first * t
        out[f"snn_energy_uJ_T{t}"] = (float(synops.sel(steps=t)) * ADD_PJ
                                      + first * t * MAC_PJ) * 1e-6
    out["layer_scales"] = ",".join(f"{float(v):.4g}" for v in data["layer_scale"].values)
    if "replay_identical" in data:
        same = data["replay_identical"].values
        dec_t, dec_b = data["replay_decision_torch"].values, data["replay_decision_brian2"].values
        out.update({
            "replay_images": int(dec_t.size),
            "replay_steps": int(data.attrs["replay_steps"]),
            "replay_spikes_identical_min": float(same.min()),
            "replay_spikes_equal_count": bool(np.array_equal(data["replay_spikes_torch"].values,
                                                             data["replay_spikes_brian2"].values)),
            "replay_decision_agreement": float((dec_t == dec_b).mean()),
            "replay_brian2_accuracy": float((dec_b == data["replay_label"].values).mean()),
            "replay_brian2_s": float(data.attrs["replay_brian2_s"]),
        })
    return out
