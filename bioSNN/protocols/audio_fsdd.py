"""Protocol kind ``audio-fsdd``: spoken-digit classification on the Free Spoken Digit
Dataset with a recurrent spiking network trained by BPTT with surrogate gradients, against
its non-spiking twin (a GRU) on the same log-mel filterbank levels.

Front end (:mod:`bioSNN.audio`): log-mel energies -> per-recording level in [0, 1] ->
spikes (delta ON/OFF or rate). SNN: input spikes -> linear -> recurrent LIF layer
(per-neuron learnable decay) -> linear -> leaky non-spiking readout, logits = readout
membrane averaged over frames. ANN: level -> GRU -> linear, logits averaged over frames.
One time step is one frame (``hop``). Manual: ``docs/audio.md``.

References
----------
E. O. Neftci, H. Mostafa, F. Zenke (2019) Surrogate gradient learning in spiking neural
networks. IEEE Signal Process. Mag. 36(6), 51-63.
B. Cramer, Y. Stradmann, J. Schemmel, F. Zenke (2022) The Heidelberg spiking data sets
for the systematic evaluation of spiking neural networks. IEEE TNNLS 33(7), 2744-2757.
K. Cho et al. (2014) Learning phrase representations using RNN encoder-decoder for
statistical machine translation. EMNLP (the GRU).
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
from .schema import SURROGATE_NAMES, param
from .spec import ParamConflict

__all__ = ["AudioFSDD", "AudioParams", "audio_features", "MODELS", "SURROGATE_NAMES"]

MODELS = ("snn", "ann")
_N_DIGITS = 10
_N_SEEDS = 4


@dataclass(frozen=True)
class AudioParams:
    split: str = param("official", doc="'official' (index 0-4 test, 5-49 train) or "
                       "'speaker:<name>' (that speaker's 500 recordings are the test set)")
    channels: int = param(40, min=1, max=256, doc="mel filterbank channels")
    frames: int = param(100, min=1, max=1000, doc="frames per recording (= time steps): "
                        "longer recordings are cut, shorter ones padded with silence")
    window: Quantity = param(25 * ms, unit=ms, min=0, min_inclusive=False,
                             doc="Hann window of the STFT")
    hop: Quantity = param(10 * ms, unit=ms, min=0, min_inclusive=False,
                          doc="step between frames: one SNN time step")
    f_min: Quantity = param(50 * Hz, unit=Hz, min=0, doc="lower edge of the filterbank")
    f_max: Quantity = param(4000 * Hz, unit=Hz, min=0, min_inclusive=False,
                            doc="upper edge of the filterbank (<= 4000 Hz, FSDD's Nyquist)")
    dynamic_range_db: float = param(60.0, min=0, min_inclusive=False, max=200,
                                    doc="level in [0, 1] spans the top this many dB of a "
                                    "recording")
    encoding: str = param("delta", choices=("delta", "rate"), doc="spike code per channel: "
                          "delta ON/OFF (2 inputs per channel) or rate (Bernoulli per frame)")
    delta_threshold: float = param(0.05, min=0, min_inclusive=False, max=1,
                                   doc="delta code: level step per spike")
    hidden: int = param(128, min=1, max=4096, doc="recurrent hidden neurons (SNN) / GRU units "
                        "(ANN)")
    beta: float = param(0.9, min=0, max=1, doc="initial membrane decay per step of the hidden "
                        "LIF neurons (learned per neuron)")
    beta_out: float = param(0.9, min=0, max=1, doc="decay per step of the leaky readout")
    surrogate: str = param("fast_sigmoid", choices=SURROGATE_NAMES,
                           doc="surrogate gradient of the spike (bioSNN.training)")
    slope: float = param(0.0, min=0, doc="surrogate slope (0: the surrogate's default)")
    epochs: int = param(30, min=1, max=10000, doc="passes over the training set (both models)")
    batch_size: int = param(64, min=1, max=4096, doc="recordings per Adam step")
    lr: float = param(2e-3, min=0, min_inclusive=False, max=1,
                      doc="Adam learning rate (cosine-annealed to 0 over the epochs)")
    max_train_per_class: int = param(0, min=0, doc="training recordings per digit (0: all; "
                                     "taken across speakers in index order)")
    max_test_per_class: int = param(0, min=0, doc="test recordings per digit (0: all)")
    torch_threads: int = param(1, min=0, max=256, doc="torch intra-op threads during the run "
                               "(0: torch's default); results depend on it in the last bits")

    def check(self):
        from ..audio.data import parse_split

        try:
            parse_split(self.split)
        except ValueError as err:
            raise ParamConflict("split", str(err)) from None
        if self.hop > self.window:
            raise ParamConflict("hop", "must not exceed the window (frames would skip samples)")
        if self.f_max > 4000 * Hz:
            raise ParamConflict("f_max", "must be <= 4000 Hz, the Nyquist frequency of FSDD")
        if not self.f_min < self.f_max:
            raise ParamConflict("f_min", "must be below f_max")

    def filterbank(self, sample_rate_hz: int = 8000):
        from ..audio.filterbank import FilterbankParams

        win = int(round(float(self.window / second) * sample_rate_hz))
        return FilterbankParams(
            sample_rate_hz=sample_rate_hz, n_channels=self.channels,
            window_ms=float(self.window / ms), hop_ms=float(self.hop / ms),
            f_min_hz=float(self.f_min / Hz), f_max_hz=float(self.f_max / Hz),
            n_fft=max(512, 1 << (win - 1).bit_length()))


def _subset(recordings, idx, per_class):
    """``per_class`` indices of each digit, taken in (index, speaker) order so that every
    speaker contributes; all when 0. Returned ascending."""
    if not per_class:
        return idx
    keep = []
    for d in range(_N_DIGITS):
        mine = [i for i in idx if recordings[i].digit == d]
        mine.sort(key=lambda i: (recordings[i].index, recordings[i].speaker))
        keep += mine[:per_class]
    return np.array(sorted(keep), dtype=np.int64)


def _features(recordings, p: AudioParams):
    """Levels ``(N, frames, channels)`` float32 of ``recordings`` (computed once per run)."""
    from ..audio.data import load_waveforms
    from ..audio.filterbank import fix_frames, level, log_mel, mel_filterbank

    rate, waves = load_waveforms(recordings)
    fb = p.filterbank(rate)
    weights = mel_filterbank(fb)
    out = np.empty((len(waves), p.frames, p.channels), dtype=np.float32)
    for i, x in enumerate(waves):
        out[i] = fix_frames(level(log_mel(x, fb, weights), p.dynamic_range_db, fb.floor_db),
                            p.frames)
    return out


def _models(p: AudioParams, n_in: int, seed: int):
    import torch
    from torch import nn

    from ..training import LIFParams, get_surrogate, lif_step

    class RecurrentSNN(nn.Module):
        """spikes (T, B, n_in) -> logits (B, 10); see the module docstring."""

        def __init__(self):
            super().__init__()
            self.fc_in = nn.Linear(n_in, p.hidden)
            self.fc_rec = nn.Linear(p.hidden, p.hidden, bias=False)
            self.fc_out = nn.Linear(p.hidden, _N_DIGITS)
            self.beta = nn.Parameter(torch.full((p.hidden,), p.beta))
            self.lif = LIFParams(beta=p.beta, threshold=1.0, reset="subtract",
                                 surrogate=get_surrogate(p.surrogate, p.slope or None))

        def forward(self, x, record=False):
            current_in = self.fc_in(x)                      # (T, B, H), all steps at once
            state, spk, u, out, spikes = None, None, 0.0, 0.0, []
            for t in range(x.shape[0]):
                i = current_in[t] if spk is None else current_in[t] + self.fc_rec(spk)
                spk, state = lif_step(i, state, self.lif, beta=self.beta)
                u = p.beta_out * u + self.fc_out(spk)       # leaky non-spiking readout
                out = out + u
                if record:
                    spikes.append(spk.detach())
            logits = out / x.shape[0]
            return (logits, torch.stack(spikes)) if record else logits

    class GRUNet(nn.Module):
        """levels (T, B, channels) -> logits (B, 10)."""

        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(p.channels, p.hidden)
            self.fc_out = nn.Linear(p.hidden, _N_DIGITS)

        def forward(self, x, record=False):
            h, _ = self.gru(x)
            return self.fc_out(h).mean(dim=0)

    with torch.random.fork_rng():     # nn.Module initialisation draws from the global RNG
        torch.manual_seed(seed)
        snn = RecurrentSNN()
        torch.manual_seed(seed)
        ann = GRUNet()
    return {"snn": snn, "ann": ann}


def _train_and_test(model, inputs, y_train, y_test, p: AudioParams, shuffle_seed: int,
                    desc: str | None):
    """Adam + cosine schedule; per epoch the training loss/accuracy and the test accuracy.

    ``inputs(split, idx, epoch)`` returns the time-first input batch.
    """
    import torch

    from ..progress import bar

    n = len(y_train)
    steps = math.ceil(n / p.batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=p.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p.epochs * steps)
    g = torch.Generator().manual_seed(shuffle_seed)
    curves = {k: np.zeros(p.epochs) for k in ("loss", "acc", "test_acc")}
    progress = bar(p.epochs * steps, desc, unit="step", enabled=bool(desc))
    wall = 0.0
    try:
        for epoch in range(p.epochs):
            t0 = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=g)
            loss_sum = correct = 0.0
            for b in range(steps):
                idx = order[b * p.batch_size:(b + 1) * p.batch_size]
                logits = model(inputs("train", idx, epoch))
                loss = torch.nn.functional.cross_entropy(logits, y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += loss.item() * len(idx)
                correct += float((logits.argmax(-1) == y_train[idx]).sum())
                progress.set_postfix({"loss": f"{loss.item():.3f}"}, refresh=False)
                progress.update(1)
            wall += time.perf_counter() - t0
            curves["loss"][epoch] = loss_sum / n
            curves["acc"][epoch] = correct / n
            pred = _predict(model, inputs, len(y_test), p.batch_size)
            curves["test_acc"][epoch] = float((pred == y_test).double().mean())
            progress.set_postfix({"loss": f"{curves['loss'][epoch]:.3f}",
                                  "test": f"{100 * curves['test_acc'][epoch]:.1f}%"},
                                 refresh=False)
    finally:
        progress.close()
    return curves, pred, wall


def _predict(model, inputs, n, batch_size):
    import torch

    model.eval()
    with torch.no_grad():
        return torch.cat([model(inputs("test", torch.arange(s, min(s + batch_size, n)), 0)
                                ).argmax(-1) for s in range(0, n, batch_size)])


@register
class AudioFSDD(TorchProtocol):
    """Spoken digits (FSDD): recurrent SNN on filterbank spikes vs a GRU on the levels."""

    kind = "audio-fsdd"
    headline = ("snn_test_accuracy", "ann_test_accuracy", "snn_s_per_epoch")
    figures = {"overview": "bioSNN.plots.audio:plot_audio_overview"}
    Params = AudioParams
    uses_data = True

    def simulate(self, ctx):
        import torch

        from ..audio.data import find_fsdd, list_recordings, split_indices
        from ..audio.spikes import encode, n_inputs

        p = self.params
        recordings = list_recordings(find_fsdd(ctx.data_root))
        train_idx, test_idx = split_indices(recordings, p.split)
        train_idx = _subset(recordings, train_idx, p.max_train_per_class)
        test_idx = _subset(recordings, test_idx, p.max_test_per_class)
        used = np.concatenate([train_idx, test_idx])
        levels = torch.from_numpy(_features([recordings[i] for i in used], p))
        lv = {"train": levels[:len(train_idx)], "test": levels[len(train_idx):]}
        y = {s: torch.tensor([recordings[i].digit for i in idx], dtype=torch.int64)
             for s, idx in (("train", train_idx), ("test", test_idx))}

        g = ctx.streams.torch_generator()
        seed_init, seed_shuffle, seed_rate, seed_test = torch.randint(
            0, 2**62, (_N_SEEDS,), generator=g).tolist()
        # delta spikes are deterministic: encoded once (uint8, (N, T, 2C)); rate spikes
        # are drawn anew per batch (training) and once from a fixed seed (test)
        if p.encoding == "delta":
            spikes = {s: encode(v.transpose(0, 1), "delta", p.delta_threshold).transpose(0, 1)
                      .to(torch.uint8) for s, v in lv.items()}
        else:
            g_test = torch.Generator().manual_seed(seed_test)
            spikes = {"test": encode(lv["test"].transpose(0, 1), "rate", generator=g_test)
                      .transpose(0, 1).to(torch.uint8)}
        g_rate = torch.Generator().manual_seed(seed_rate)

        def snn_inputs(split, idx, epoch):
            if split == "train" and p.encoding == "rate":
                return encode(lv["train"][idx].transpose(0, 1), "rate", generator=g_rate)
            return spikes[split][idx].transpose(0, 1).to(torch.float32)

        def ann_inputs(split, idx, epoch):
            return lv[split][idx].transpose(0, 1)

        nets = _models(p, n_inputs(p.encoding, p.channels), seed_init)
        inputs = {"snn": snn_inputs, "ann": ann_inputs}
        out = {}
        for m in MODELS:
            desc = f"{self.spec.name} {m}" if ctx.progress else None
            out[m] = _train_and_test(nets[m], inputs[m], y["train"], y["test"], p,
                                     seed_shuffle, desc)

        # SNN activity on the test set: hidden spikes per neuron and frame
        snn = nets["snn"].eval()
        counts = torch.zeros(p.hidden, dtype=torch.float64)
        with torch.no_grad():
            for s in range(0, len(test_idx), p.batch_size):
                idx = torch.arange(s, min(s + p.batch_size, len(test_idx)))
                _, spk = snn(snn_inputs("test", idx, 0), record=True)
                counts += spk.double().sum(dim=(0, 1))
        hop_s = float(p.hop / second)
        hidden_rate = counts.numpy() / (len(test_idx) * p.frames * hop_s)
        test_spikes = spikes["test"]
        input_rate = test_spikes.double().mean(dim=(0, 1)).numpy() / hop_s

        # one test recording per digit for the figure (the first in dataset order)
        examples = [next(j for j, i in enumerate(test_idx) if recordings[i].digit == d)
                    for d in range(_N_DIGITS) if any(recordings[i].digit == d for i in test_idx)]
        ex_rec = [recordings[test_idx[j]] for j in examples]
        n_in = test_spikes.shape[-1]
        return xr.Dataset(
            {
                **epoch_curves({m: out[m][0] for m in MODELS}, MODELS,
                               "(reported only; never used to choose weights)"),
                "train_time": ("model", np.array([out[m][2] for m in MODELS]),
                               {"units": "s", "long_name": "training wall time (test passes "
                                "excluded)"}),
                "n_parameters": ("model", np.array([sum(q.numel() for q in nets[m].parameters())
                                                    for m in MODELS], dtype=np.int64),
                                 {"units": "1", "long_name": "trainable parameters"}),
                "test_prediction": (("model", "test_item"),
                                    np.stack([out[m][1].numpy() for m in MODELS]).astype(np.int64),
                                    {"units": "1", "long_name": "predicted digit"}),
                "test_label": ("test_item", y["test"].numpy(),
                               {"units": "1", "long_name": "spoken digit"}),
                "test_speaker": ("test_item", np.array([recordings[i].speaker for i in test_idx]),
                                 {"units": "1"}),
                "test_index": ("test_item", np.array([recordings[i].index for i in test_idx],
                                                     dtype=np.int64),
                               {"units": "1", "long_name": "repetition index of the recording"}),
                "hidden_rate": ("hidden_neuron", hidden_rate,
                                {"units": "Hz", "long_name": "firing rate of each hidden SNN "
                                 "neuron on the test set (one step = hop)"}),
                "input_rate": ("input", input_rate,
                               {"units": "Hz", "long_name": "firing rate of each spike input "
                                "on the test set"}),
                "example_level": (("example", "frame", "channel"),
                                  lv["test"][examples].numpy(),
                                  {"units": "1", "long_name": "filterbank level (top "
                                   "dynamic_range_db of the recording mapped to [0, 1])"}),
                "example_spikes": (("example", "frame", "input"),
                                   test_spikes[examples].numpy().astype(np.int8),
                                   {"units": "1", "long_name": "input spikes (delta: ON "
                                    "channels then OFF channels)"}),
                "example_digit": ("example", np.array([r.digit for r in ex_rec], dtype=np.int64),
                                  {"units": "1"}),
                "example_name": ("example", np.array([r.path.stem for r in ex_rec]),
                                 {"units": "1"}),
            },
            coords={
                "model": ("model", list(MODELS), {"units": "1"}),
                "epoch": ("epoch", np.arange(1, p.epochs + 1), {"units": "1"}),
                "frame_time": ("frame", np.arange(p.frames) * float(p.hop / ms),
                               {"units": "ms", "long_name": "start of each frame"}),
                "centre_frequency": ("channel", p.filterbank().centres_hz(),
                                     {"units": "Hz", "long_name": "mel channel centre"}),
            },
            attrs={"n_train": len(train_idx), "n_test": len(test_idx), "split": p.split,
                   "encoding": p.encoding, "channels": p.channels, "n_inputs": int(n_in),
                   "hop_ms": float(p.hop / ms)},
        )

    @staticmethod
    def summarize(data, params):
        return audio_features(data, params)


def audio_features(data: xr.Dataset, params: AudioParams) -> dict:
    """Headline numbers of an ``audio-fsdd`` run (pure function of the saved data).

    Accuracies are fractions (0-1) of the test recordings; ``*_s_per_epoch`` is training
    wall time per epoch (test passes excluded).
    """
    label = data["test_label"].values
    epochs = int(data.sizes["epoch"])
    out: dict = {"split": params.split, "encoding": params.encoding,
                 "n_train": int(data.attrs["n_train"]), "n_test": int(label.size),
                 "epochs": epochs}
    acc = {}
    for m in MODELS:
        acc[m] = float((data["test_prediction"].sel(model=m).values == label).mean())
        out[f"{m}_test_accuracy"] = acc[m]
    out["snn_minus_ann"] = acc["snn"] - acc["ann"]
    for m in MODELS:
        out[f"{m}_final_train_accuracy"] = float(data["train_accuracy"].sel(model=m)[-1])
        t = float(data["train_time"].sel(model=m))
        out[f"{m}_train_time_s"] = t
        out[f"{m}_s_per_epoch"] = t / epochs
        out[f"{m}_parameters"] = int(data["n_parameters"].sel(model=m))
    out["hidden_rate_Hz"] = float(data["hidden_rate"].mean())
    out["silent_fraction_hidden"] = float((data["hidden_rate"].values == 0).mean())
    out["input_rate_Hz"] = float(data["input_rate"].mean())
    return out
