"""Protocol kind ``delay-learning``: learnable synaptic delays (DCLS) recover planted
delays on a synthetic coincidence task, against the same network with fixed random delays.

Each class ``c`` has planted delays ``d*_ci`` (steps); in a sample of class ``c`` input
``i`` spikes once at ``j + (K-1) - d*_ci`` (``K`` = ``max_delay_steps``, ``j`` =
``jitter_steps``) plus uniform jitter in ``[-j, j]`` and background Poisson spikes, so only
the planted delays make the class's spikes coincide at the readout step
``t_r = j + K - 1``. Network: inputs -> :class:`~bioSNN.training.delays.DelayedLinear`
(excitatory weights, one delay per synapse) -> one LIF output neuron per class; logits =
the output membranes at ``t_r``. Trained by BPTT with Adam (delays on their own, larger
learning rate), the kernel width annealed by :func:`~bioSNN.training.delays.sigma_schedule`;
tested with the rounded integer delays. Manual: ``docs/delays.md``.

References
----------
I. Hammouamri, I. Khalfaoui-Hassani, T. Masquelier (2024) Learning delays in spiking
neural networks using dilated convolutions with learnable spacings. ICLR 2024.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import Hz, Quantity, ms, second

from ._curves import epoch_curves
from .base import TorchProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["DelayLearning", "DelayParams", "MODELS", "coincidence_task", "delay_features"]

MODELS = ("learned", "fixed")
"""``learned``: DCLS delays; ``fixed``: delays drawn once at random (integers), not learned."""
_N_SEEDS = 3


@dataclass(frozen=True)
class DelayParams:
    n_inputs: int = param(20, min=1, max=10000, doc="input channels (one spike each per sample)")
    n_classes: int = param(10, min=2, max=1000, doc="classes = output neurons, each with its "
                           "own planted delays")
    max_delay_steps: int = param(16, min=2, max=1000, doc="delay taps K: planted and learned "
                                 "delays lie in [0, K-1] steps")
    dt: Quantity = param(1 * ms, unit=ms, min=0, min_inclusive=False, doc="one time step")
    jitter_steps: int = param(1, min=0, max=100, doc="each pattern spike moved by a uniform "
                              "integer in [-jitter, jitter] steps")
    noise_rate: Quantity = param(50 * Hz, unit=Hz, min=0, doc="background Poisson spikes per "
                                 "input (rate * dt per step, < 1)")
    tau_m: Quantity = param(2 * ms, unit=ms, min=0, min_inclusive=False,
                            doc="membrane time constant of the output LIF neurons")
    threshold: float = param(1.0, min=0, min_inclusive=False, doc="output firing threshold "
                             "(membrane units; reset by subtraction)")
    logit_scale: float = param(5.0, min=0, min_inclusive=False, doc="logits = this x the "
                               "readout membranes")
    n_train: int = param(2000, min=1, max=1_000_000, doc="training samples")
    n_test: int = param(500, min=1, max=1_000_000, doc="test samples")
    epochs: int = param(15, min=1, max=10000, doc="passes over the training set")
    batch_size: int = param(64, min=1, max=65536, doc="samples per Adam step")
    lr_weight: float = param(1e-3, min=0, max=10, doc="Adam learning rate of the weights "
                             "(learned-delay network)")
    lr_delay: float = param(0.1, min=0, max=100, doc="Adam learning rate of the delays "
                            "(steps per update, roughly)")
    baseline_lr: float = param(1e-2, min=0, min_inclusive=False, max=10,
                               doc="Adam learning rate of the weights of the fixed-delay "
                               "network (its only parameters)")
    sigma0: float = param(16.0, min=0, min_inclusive=False, max=1000,
                          doc="initial Gaussian kernel width (steps)")
    sigma_min: float = param(0.3, min=0, min_inclusive=False, max=1000,
                             doc="final kernel width (steps)")
    schedule: str = param("exponential", choices=("exponential", "linear"),
                          doc="annealing of sigma from sigma0 to sigma_min over the steps")
    torch_threads: int = param(1, min=0, max=256, doc="torch intra-op threads during the run "
                               "(0: torch's default)")

    def check(self):
        if not self.sigma_min <= self.sigma0:
            raise ParamConflict("sigma_min", "must not exceed sigma0")
        if not float(self.noise_rate * self.dt) < 1:
            raise ParamConflict("noise_rate", "noise_rate * dt must be < 1 (a probability "
                                "per step)")
        if self.lr_weight == 0 and self.lr_delay == 0:
            raise ParamConflict("lr_delay", "lr_weight and lr_delay cannot both be 0")

    @property
    def readout_step(self) -> int:
        """Step at which the planted delays make a class's spikes coincide."""
        return self.jitter_steps + self.max_delay_steps - 1

    @property
    def n_steps(self) -> int:
        """Steps per sample: up to the last pattern spike (readout + jitter)."""
        return self.readout_step + self.jitter_steps + 1


def coincidence_task(p: DelayParams, rng: np.random.Generator):
    """Planted delays and the train/test samples, drawn from ``rng`` in this order: the
    planted delays, then for the training and then the test split the labels, the jitter
    and the background spikes.

    Returns
    -------
    planted : ndarray (n_classes, n_inputs) int64
        Planted delays in steps, uniform in ``[0, K-1]``.
    data : dict
        ``{"train", "test"}`` -> ``(x, y)``: spikes ``(T, N, n_inputs)`` uint8 (time first)
        and labels ``(N,)`` int64 (uniform over classes).
    """
    k, j = p.max_delay_steps, p.jitter_steps
    planted = rng.integers(0, k, (p.n_classes, p.n_inputs))
    p_noise = float(p.noise_rate * p.dt)
    data = {}
    for split, n in (("train", p.n_train), ("test", p.n_test)):
        y = rng.integers(0, p.n_classes, n)
        t = j + (k - 1) - planted[y] + rng.integers(-j, j + 1, (n, p.n_inputs))
        x = (rng.random((p.n_steps, n, p.n_inputs)) < p_noise).astype(np.uint8)
        x[t, np.arange(n)[:, None], np.arange(p.n_inputs)[None, :]] = 1
        data[split] = (x, y)
    return planted, data


def _network(p: DelayParams, learn: bool, generator):
    import torch
    from torch import nn

    from ..training import LIFParams, lif_step
    from ..training.delays import DelayedLinear

    beta = math.exp(-float(p.dt / p.tau_m))
    lif = LIFParams(beta=beta, threshold=p.threshold, reset="subtract")

    class CoincidenceNet(nn.Module):
        """spikes (T, B, n_in) -> logits (B, C): logit_scale x LIF membranes at t_r."""

        def __init__(self):
            super().__init__()
            self.delays = DelayedLinear(p.n_inputs, p.n_classes, p.max_delay_steps,
                                        learn_delays=learn, sigma=p.sigma0,
                                        generator=generator)
            with torch.no_grad():
                self.delays.weight.abs_()     # excitatory: uniform in [0, 1/sqrt(n_in)]

        def forward(self, x, record=False):
            current = self.delays(x)
            state, spikes = None, []
            for t in range(p.readout_step + 1):
                spk, state = lif_step(current[t], state, lif)
                spikes.append(spk)
            logits = p.logit_scale * state.mem
            return (logits, torch.stack(spikes)) if record else logits

        def project_(self):
            """After each optimiser step: weights >= 0, delays within the taps."""
            with torch.no_grad():
                self.delays.weight.clamp_(min=0)
            if learn:
                self.delays.clamp_delays_()

    return CoincidenceNet()


def _train(net, data, p: DelayParams, learn: bool, shuffle_seed: int, desc):
    import torch

    from ..progress import bar
    from ..training.delays import sigma_schedule

    x_tr, y_tr = (torch.from_numpy(data["train"][0]), torch.from_numpy(data["train"][1]))
    n = len(y_tr)
    steps = math.ceil(n / p.batch_size)
    if learn:
        groups = [{"params": [net.delays.weight], "lr": p.lr_weight},
                  {"params": [net.delays.delay], "lr": p.lr_delay}]
    else:
        groups = [{"params": [net.delays.weight], "lr": p.baseline_lr}]
    opt = torch.optim.Adam(groups)
    g = torch.Generator().manual_seed(shuffle_seed)
    curves = {k: np.zeros(p.epochs) for k in ("loss", "acc", "test_acc", "sigma")}
    progress = bar(p.epochs * steps, desc, unit="step", enabled=bool(desc))
    wall, k = 0.0, 0
    try:
        for epoch in range(p.epochs):
            t0 = time.perf_counter()
            net.train()
            order = torch.randperm(n, generator=g)
            loss_sum = correct = 0.0
            for b in range(steps):
                if learn:
                    net.delays.set_sigma(sigma_schedule(k, p.epochs * steps, p.sigma0,
                                                        p.sigma_min, p.schedule))
                k += 1
                idx = order[b * p.batch_size:(b + 1) * p.batch_size]
                logits = net(x_tr[:, idx].to(torch.float32))
                loss = torch.nn.functional.cross_entropy(logits, y_tr[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                net.project_()
                loss_sum += loss.item() * len(idx)
                correct += float((logits.argmax(-1) == y_tr[idx]).sum())
                progress.update(1)
            wall += time.perf_counter() - t0
            curves["loss"][epoch] = loss_sum / n
            curves["acc"][epoch] = correct / n
            curves["sigma"][epoch] = float(net.delays.sigma)
            pred, _ = _predict(net, data["test"][0], p.batch_size)
            curves["test_acc"][epoch] = float((pred == data["test"][1]).mean())
            progress.set_postfix({"loss": f"{curves['loss'][epoch]:.3f}",
                                  "test": f"{100 * curves['test_acc'][epoch]:.1f}%"},
                                 refresh=False)
    finally:
        progress.close()
    return curves, wall


def _predict(net, x, batch_size):
    """Test predictions with the rounded integer delays, and the output spike counts."""
    import torch

    net.eval()
    net.delays.rounded(True)
    preds, counts = [], []
    try:
        with torch.no_grad():
            for s in range(0, x.shape[1], batch_size):
                logits, spk = net(torch.from_numpy(x[:, s:s + batch_size]).to(torch.float32),
                                  record=True)
                preds.append(logits.argmax(-1).numpy())
                counts.append(spk.sum(dim=0).numpy())
    finally:
        net.delays.rounded(False)
    return np.concatenate(preds), np.concatenate(counts)


@register
class DelayLearning(TorchProtocol):
    """Planted-delay coincidence task: DCLS-learned delays vs fixed random delays."""

    kind = "delay-learning"
    headline = ("recovery_within_1", "learned_test_accuracy", "fixed_test_accuracy")
    figures = {"delays": "bioSNN.plots.delays:plot_delay_recovery",
               "training": "bioSNN.plots.delays:plot_training_curves"}
    Params = DelayParams
    uses_data = False

    def simulate(self, ctx):
        import torch

        p = self.params
        planted, data = coincidence_task(p, ctx.streams.numpy_rng())
        g = ctx.streams.torch_generator()
        seed_init, seed_shuffle, seed_fixed = torch.randint(0, 2**62, (_N_SEEDS,),
                                                            generator=g).tolist()
        out, nets = {}, {}
        for m, seed in (("learned", seed_init), ("fixed", seed_fixed)):
            learn = m == "learned"
            nets[m] = _network(p, learn, torch.Generator().manual_seed(seed))
            desc = f"{self.spec.name} {m}" if ctx.progress else None
            out[m] = _train(nets[m], data, p, learn, seed_shuffle, desc)
        preds, counts = zip(*(_predict(nets[m], data["test"][0], p.batch_size) for m in MODELS))
        dt_ms = float(p.dt / ms)
        syn = ("class", "input")
        return xr.Dataset(
            {
                "planted_delay": (syn, planted * dt_ms, {"units": "ms",
                                  "long_name": "planted delay (integer steps x dt)"}),
                "delay": (("model",) + syn,
                          np.stack([nets[m].delays.delay.detach().double().numpy() * dt_ms
                                    for m in MODELS]),
                          {"units": "ms", "long_name": "delay after training (learned: "
                           "continuous, used rounded to a step; fixed: the random integer "
                           "delays)"}),
                "weight": (("model",) + syn,
                           np.stack([nets[m].delays.weight.detach().double().numpy()
                                     for m in MODELS]),
                           {"units": "1", "long_name": "synaptic weight (membrane units)"}),
                **epoch_curves({m: out[m][0] for m in MODELS}, MODELS,
                               "with rounded delays (reported only)"),
                "sigma": ("epoch", out["learned"][0]["sigma"],
                          {"units": "1", "long_name": "kernel width at the end of each epoch "
                           "(steps)"}),
                "train_time": ("model", np.array([out[m][1] for m in MODELS]),
                               {"units": "s", "long_name": "training wall time (test passes "
                                "excluded)"}),
                "n_weights": ("model", np.array([nets[m].delays.weight.numel()
                                                 for m in MODELS], dtype=np.int64),
                              {"units": "1", "long_name": "synaptic weights (trained)"}),
                "n_delays": ("model", np.array([nets[m].delays.delay.numel() for m in MODELS],
                                               dtype=np.int64),
                             {"units": "1", "long_name": "synaptic delays (trained only in "
                              "'learned')"}),
                "test_prediction": (("model", "test_item"), np.stack(preds).astype(np.int64),
                                    {"units": "1", "long_name": "predicted class"}),
                "test_output_spikes": (("model", "test_item", "class"),
                                       np.stack(counts).astype(np.int64),
                                       {"units": "1", "long_name": "output spikes up to the "
                                        "readout step"}),
                "test_label": ("test_item", data["test"][1].astype(np.int64),
                               {"units": "1", "long_name": "class"}),
            },
            coords={
                "model": ("model", list(MODELS), {"units": "1"}),
                "epoch": ("epoch", np.arange(1, p.epochs + 1), {"units": "1"}),
            },
            attrs={"dt_ms": dt_ms, "max_delay_steps": p.max_delay_steps,
                   "readout_step": p.readout_step, "n_steps": p.n_steps,
                   "n_train": p.n_train, "n_test": p.n_test,
                   "readout_time_ms": p.readout_step * dt_ms,
                   "duration_s": float(p.n_steps * p.dt / second)},
        )

    @staticmethod
    def summarize(data, params):
        return delay_features(data, params)


def delay_features(data: xr.Dataset, params: DelayParams | None = None) -> dict:
    """Headline numbers of a ``delay-learning`` run (pure function of the saved data).

    ``recovery_within_1``: fraction of synapses whose learned delay, rounded to a step, is
    within one step of the planted one (absolute: the readout at a fixed step makes the
    delays identifiable); ``*_shift_corrected``: the same after removing each output's
    median offset. Accuracies are fractions of the test samples, rounded delays.
    """
    from ..training.delays import delay_recovery

    dt = float(data.attrs["dt_ms"])
    planted = data["planted_delay"].values / dt
    label = data["test_label"].values
    out: dict = {}
    for m in MODELS:
        d = data["delay"].sel(model=m).values / dt
        key = "" if m == "learned" else "fixed_"
        out[f"{key}recovery_within_1"] = delay_recovery(d, planted, 1)
        out[f"{key}recovery_exact"] = delay_recovery(d, planted, 0)
        out[f"{key}recovery_within_1_shift_corrected"] = delay_recovery(d, planted, 1,
                                                                        common_shift=True)
    for m in MODELS:
        out[f"{m}_test_accuracy"] = float((data["test_prediction"].sel(model=m).values
                                           == label).mean())
    for m in MODELS:
        out[f"{m}_final_train_accuracy"] = float(data["train_accuracy"].sel(model=m)[-1])
        out[f"{m}_train_time_s"] = float(data["train_time"].sel(model=m))
        out[f"{m}_weights"] = int(data["n_weights"].sel(model=m))
        out[f"{m}_delays"] = int(data["n_delays"].sel(model=m))
    learned = np.round(data["delay"].sel(model="learned").values / dt)
    out["mean_abs_delay_error_steps"] = float(np.abs(learned - planted).mean())
    out["final_sigma_steps"] = float(data["sigma"].values[-1])
    out["n_synapses"] = int(planted.size)
    out["epochs"] = int(data.sizes["epoch"])
    return out
