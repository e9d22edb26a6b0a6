r"""Protocol kind ``stdp-mnist``: unsupervised STDP on MNIST (Diehl & Cook 2015).

784 Poisson inputs (rate :math:`\propto` pixel, ``max_rate`` at 255) drive ``n_exc``
conductance-based LIF neurons with an adaptive threshold :math:`\theta`; each excites
one inhibitory neuron, which inhibits all other excitatory ones. Input -> excitatory
weights learn by STDP (``rule``: the paper's presynaptic-trace rule or the public code's
triplet rule) with per-neuron weight normalisation. After training, neurons are labelled
from their responses to training images (frozen network) and test images are classified
by the vote. One Brian2 run covers training, labelling and test
(:mod:`bioSNN.stdp_mnist.network`). Equations and parameters: ``docs/stdp_mnist.md``.

Diehl, P. U. & Cook, M. (2015). Unsupervised learning of digit recognition using
spike-timing-dependent plasticity. Front. Comput. Neurosci. 9:99.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import Hz, Quantity, mV, ms, second

from ..stdp_mnist.readout import accepted_slots, assign_labels, presentation_counts, vote
from ..stdp_mnist.schedule import PHASES
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["StdpMnist", "StdpMnistParams", "stdp_mnist_features", "image_responses",
           "label_assignments"]

_POS = dict(min=0, min_inclusive=False)


@dataclass(frozen=True)
class StdpMnistParams:
    # data and schedule
    n_exc: int = param(400, min=1, max=10000, doc="N_e excitatory (= inhibitory) neurons")
    n_train: int = param(60000, min=1, doc="training presentations (60 000 = one epoch)")
    n_label: int = param(10000, min=1,
                         doc="of the training images shown, the last n_label are shown again "
                             "with learning off to assign labels (training data only)")
    n_test: int = param(10000, min=1, max=10000, doc="test images (the test split)")
    shuffle: bool = param(True, doc="training order and test subset drawn from the numpy stream")
    repeat_budget: float = param(1.0, min=0, max=10,
                                 doc="extra slots for boosted repeats, as a fraction of each "
                                     "phase's images (a phase out of spare slots accepts "
                                     "every presentation: n_forced)")
    # input
    max_rate: Quantity = param(63.75 * Hz, unit=Hz, **_POS, doc="input rate of a pixel of 255")
    boost_rate: Quantity = param(31.875 * Hz, unit=Hz, min=0,
                                 doc="added to max_rate at each repeat of an image")
    min_spikes: int = param(5, min=0, doc="repeat an image when the E layer fires fewer spikes")
    max_boosts: int = param(20, min=0, doc="accept a presentation after this many repeats")
    presentation: Quantity = param(350 * ms, unit=ms, **_POS, doc="image presentation")
    rest: Quantity = param(150 * ms, unit=ms, min=0, doc="silent rest after each presentation")
    input_delay_max: Quantity = param(10 * ms, unit=ms, min=0,
                                      doc="input->E delays uniform in [0, max]")
    # excitatory neurons
    v_rest_e: Quantity = param(-65 * mV, unit=mV, doc="E resting potential")
    v_reset_e: Quantity = param(-65 * mV, unit=mV, doc="E reset")
    v_thresh_e: Quantity = param(-52 * mV, unit=mV, doc="E threshold (plus theta - theta_offset)")
    tau_e: Quantity = param(100 * ms, unit=ms, **_POS, doc="E membrane time constant")
    refrac_e: Quantity = param(5 * ms, unit=ms, min=0, doc="E refractory period")
    E_inh_e: Quantity = param(-100 * mV, unit=mV, doc="inhibitory reversal potential of E")
    theta_plus: Quantity = param(0.05 * mV, unit=mV, min=0, doc="theta increment per E spike")
    tau_theta: Quantity = param(1e7 * ms, unit=second, **_POS, doc="theta decay time constant")
    theta_init: Quantity = param(20 * mV, unit=mV, min=0, doc="initial theta")
    theta_offset: Quantity = param(20 * mV, unit=mV, doc="subtracted from the threshold")
    # inhibitory neurons
    v_rest_i: Quantity = param(-60 * mV, unit=mV, doc="I resting potential")
    v_reset_i: Quantity = param(-45 * mV, unit=mV, doc="I reset")
    v_thresh_i: Quantity = param(-40 * mV, unit=mV, doc="I threshold")
    tau_i: Quantity = param(10 * ms, unit=ms, **_POS, doc="I membrane time constant")
    refrac_i: Quantity = param(2 * ms, unit=ms, min=0, doc="I refractory period")
    E_inh_i: Quantity = param(-85 * mV, unit=mV, doc="inhibitory reversal potential of I")
    # synapses
    E_exc: Quantity = param(0 * mV, unit=mV, doc="excitatory reversal potential")
    tau_ge: Quantity = param(1 * ms, unit=ms, **_POS, doc="excitatory conductance decay")
    tau_gi: Quantity = param(2 * ms, unit=ms, **_POS, doc="inhibitory conductance decay")
    w_ei: float = param(10.4, min=0, doc="E->I weight (one-to-one; conductance in units of the leak)")
    w_ie: float = param(17.0, min=0, doc="I->E weight (to all other E neurons)")
    # plasticity
    rule: str = param("triplet", choices=("triplet", "pre_trace"),
                      doc="STDP rule: the public code's triplet rule or the paper's "
                          "presynaptic-trace rule")
    tau_pre: Quantity = param(20 * ms, unit=ms, **_POS, doc="presynaptic trace")
    tau_post1: Quantity = param(20 * ms, unit=ms, **_POS, doc="postsynaptic trace 1 (triplet)")
    tau_post2: Quantity = param(40 * ms, unit=ms, **_POS, doc="postsynaptic trace 2 (triplet)")
    nu_pre: float = param(0.0001, min=0, doc="depression rate (triplet)")
    nu_post: float = param(0.01, min=0, doc="potentiation rate")
    x_tar: float = param(0.4, min=0, doc="target presynaptic trace (pre_trace)")
    mu: float = param(0.2, min=0, doc="weight dependence exponent (pre_trace)")
    w_max: float = param(1.0, **_POS, doc="maximum input->E weight")
    w_init_min: float = param(0.003, min=0, doc="initial weights uniform low bound")
    w_init_max: float = param(0.303, min=0, doc="initial weights uniform high bound")
    w_sum: float = param(78.0, **_POS, doc="normalised sum of each E neuron's input weights")
    dt: Quantity = param(0.5 * ms, unit=ms, **_POS, max=1, doc="time step")

    def check(self):
        if self.n_label > self.n_train:
            raise ParamConflict("n_label", f"must be at most n_train ({self.n_train}): "
                                           f"labelling images come from the training images shown")
        if self.w_init_max < self.w_init_min:
            raise ParamConflict("w_init_max", f"must be at least w_init_min ({self.w_init_min})")
        if self.w_init_max > self.w_max:
            raise ParamConflict("w_init_max", f"must be at most w_max ({self.w_max})")
        for name in ("presentation", "rest", "input_delay_max"):
            steps = float(getattr(self, name) / self.dt)
            if abs(steps - round(steps)) > 1e-6:
                raise ParamConflict(name, f"must be a whole number of time steps dt ({self.dt})")
        top = float((self.max_rate + self.max_boosts * self.boost_rate) * self.dt)
        if top > 1:
            raise ParamConflict("max_boosts", f"must keep (max_rate + max_boosts boost_rate) "
                                              f"dt <= 1 (it is {top:.2f})")

    @property
    def slot(self) -> Quantity:
        return self.presentation + self.rest

    @property
    def n_images(self) -> int:
        return self.n_train + self.n_label + self.n_test

    @property
    def n_slots(self) -> int:
        return self.n_images + max(10, math.ceil(self.repeat_budget * self.n_images))


def load_pixels(data_root):
    """MNIST as (train_pixels, train_labels, test_pixels, test_labels), pixels uint8
    0-255 of shape (n, 784), read from the raw idx files in the folder
    :func:`bioSNN.embedder.data.resolve_data_root` names (a few hundred ms, without
    torchvision); when a file is missing, :func:`bioSNN.embedder.data.load_mnist` raises
    its one-line error."""
    from ..embedder.data import load_mnist, resolve_data_root

    raw = resolve_data_root(data_root) / "MNIST" / "raw"
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    if not all((raw / n).is_file() for n in names):
        load_mnist(train=True, data_root=data_root, download=False)  # raises
    out = []
    for name in names:
        buf = (raw / name).read_bytes()
        if "images" in name:
            out.append(np.frombuffer(buf, dtype=np.uint8, offset=16).reshape(-1, 784))
        else:
            out.append(np.frombuffer(buf, dtype=np.uint8, offset=8).astype(np.int64))
    return tuple(out)


@register
class StdpMnist(BrianProtocol):
    """Diehl & Cook (2015): unsupervised STDP on MNIST, labels and vote readout."""

    kind = "stdp-mnist"
    uses_data = True
    headline = ("test_accuracy", "n_train", "n_test", "sim_wall_s", "syn_events_per_s")
    figures = {"receptive-fields": "bioSNN.plots.stdp_mnist:plot_receptive_fields"}
    populations = {"exc": "Diehl & Cook (2015) conductance-based LIF with adaptive threshold "
                          "(excitatory layer)"}
    Params = StdpMnistParams

    @staticmethod
    def recording(data, params, rec):
        """NWB/Neo export: one interval per presentation slot (image, phase, boost)."""
        from ..exchange import Intervals

        T = float((params.presentation + params.rest) / second)
        n = data.sizes["slot"]
        rec.t_stop = max(rec.t_stop, n * T)
        img = data["slot_image"].values.astype(np.int64)
        phase = np.where(img < data.sizes["image"],
                         data["image_phase"].values[np.minimum(img, data.sizes["image"] - 1)], -1)
        rec.intervals.append(Intervals(
            name="presentations", start=np.arange(n) * T, stop=np.arange(1, n + 1) * T,
            columns={"image": img, "phase": phase.astype(np.int64),
                     "boost": data["slot_boost"].values.astype(np.int64)},
            descriptions={"image": "index into the run's image sequence (n_images: idle)",
                          "phase": "0 training, 1 labelling, 2 test, -1 idle",
                          "boost": "repeats of this image so far (rate raised each time)"}))
        rec.population("exc").size = int(data.sizes["exc"])

    def simulate(self, ctx):
        from ..stdp_mnist.network import build_network
        from ..stdp_mnist.schedule import make_schedule

        p = self.params
        rng = ctx.streams.numpy_rng()
        x_tr, y_tr, x_te, y_te = load_pixels(ctx.data_root)
        sched = make_schedule(p.n_train, p.n_label, p.n_test, len(x_tr), len(x_te), rng,
                              p.shuffle)
        is_test = sched.phase == 2
        pixels = np.empty((len(sched.source), x_tr.shape[1]))
        labels = np.empty(len(sched.source), dtype=np.int64)
        for split, (x, y) in ((False, (x_tr, y_tr)), (True, (x_te, y_te))):
            rows = is_test == split
            pixels[rows] = x[sched.source[rows]] / 255.0
            labels[rows] = y[sched.source[rows]]
        net, g = build_network(p, pixels, p.n_train, rng)
        t0 = time.perf_counter()
        net.run(p.n_slots * p.slot + p.dt, report=ctx.report, report_period=10 * second,
                namespace={})
        wall = time.perf_counter() - t0
        import brian2

        sim_wall = float(getattr(brian2.get_device(), "_last_run_time", None) or wall)
        slot_image = np.asarray(g["schedule"].img[0], dtype=np.int64)
        slot_boost = np.asarray(g["schedule"].boost[0], dtype=np.int64)
        slot_forced = np.asarray(g["schedule"].forced[0], dtype=np.int64)
        n_e = p.n_exc
        syn = g["syn"]
        W = np.zeros((pixels.shape[1], n_e))
        W[np.asarray(syn.i[:]), np.asarray(syn.j[:])] = np.asarray(syn.w[:])
        st = np.asarray(g["spikes"].t[:] / ms)
        si = np.asarray(g["spikes"].i[:], dtype=np.int32)
        order = np.lexsort((si, st))
        n_in_spikes = int(np.asarray(g["input_count"].count[:]).sum())
        n_inh_spikes = int(np.asarray(g["inh_count"].count[:]).sum())
        shown = int(slot_image[-1])
        if shown < p.n_images:
            warnings.warn(f"stdp-mnist: the repeat budget ran out: {p.n_images - shown} of "
                          f"{p.n_images} images were not shown (raise repeat_budget)",
                          stacklevel=2)
        events = n_in_spikes * n_e + len(st) * 2 + n_inh_spikes * (n_e - 1)
        return xr.Dataset(
            {
                "exc_spike_neuron": ("exc_spike", si[order], {"units": "1"}),
                "exc_spike_time": ("exc_spike", st[order], {"units": "ms"}),
                "slot_image": ("slot", slot_image,
                               {"units": "1", "long_name": "image shown in each slot (plus "
                                                           "the state after the last)"}),
                "slot_boost": ("slot", slot_boost, {"units": "1"}),
                "slot_forced": ("slot", slot_forced, {"units": "1", "long_name":
                                "1: the presentation that ended was accepted with too few "
                                "spikes, its phase out of spare slots"}),
                "image_source": ("image", sched.source, {"units": "1",
                                 "long_name": "index in its MNIST split"}),
                "image_phase": ("image", sched.phase, {"units": "1",
                                "long_name": "0 train, 1 label (train split), 2 test"}),
                "image_label": ("image", labels.astype(np.int64), {"units": "1"}),
                "weights": (("input", "exc"), W, {"units": "1",
                            "long_name": "learned input->E weight"}),
                "theta": ("exc", np.asarray(g["exc"].theta[:] / mV), {"units": "mV",
                          "long_name": "adaptive threshold at the end of the run"}),
                "theta_train": ("exc", np.asarray(g["exc"].theta_train[:] / mV),
                                {"units": "mV", "long_name": "theta at the end of training"}),
            },
            coords={"exc": ("exc", np.arange(n_e), {"units": "1"})},
            attrs={"slot_ms": float(p.slot / ms), "presentation_ms": float(p.presentation / ms),
                   "dt_ms": float(p.dt / ms), "sim_wall_s": sim_wall, "run_wall_s": wall,
                   "n_input_spikes": n_in_spikes, "n_inh_spikes": n_inh_spikes,
                   "syn_events": int(events), "phases": " ".join(PHASES)},
        )

    @staticmethod
    def summarize(data, params):
        return stdp_mnist_features(data, params)


def image_responses(data: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Per image of the run's sequence, the E-layer spike counts ``(n_images, N_e)`` of
    its accepted presentation and whether it was shown at all."""
    n_images = data.sizes["image"]
    slots = accepted_slots(data["slot_image"].values, n_images)
    counts = presentation_counts(data["exc_spike_neuron"].values,
                                 data["exc_spike_time"].values, data.sizes["exc"],
                                 float(data.attrs["slot_ms"]),
                                 float(data.attrs["presentation_ms"]), slots)
    return counts, slots >= 0


def label_assignments(data: xr.Dataset, responses=None) -> np.ndarray:
    """Class of each E neuron from the labelling phase only (training images, frozen
    network); -1 for a neuron that never fired there. ``responses``: the result of
    :func:`image_responses` when already computed."""
    counts, shown = image_responses(data) if responses is None else responses
    lab = (data["image_phase"].values == 1) & shown
    return assign_labels(counts[lab], data["image_label"].values[lab])


def stdp_mnist_features(data: xr.Dataset, params) -> dict:
    """Labels from the labelling (training) images, test accuracy by the vote; plus
    image counts, repeats, rates and throughput."""
    counts, shown = image_responses(data)
    phase = data["image_phase"].values
    labels = data["image_label"].values
    lab = (phase == 1) & shown
    test = (phase == 2) & shown
    assignments = label_assignments(data, (counts, shown))
    pred = vote(counts[test], assignments)
    acc = float((pred == labels[test]).mean()) if test.any() else float("nan")
    img = data["slot_image"].values
    live = img[:-1] < data.sizes["image"]
    sim = float(data.attrs["sim_wall_s"])
    n_slots = data.sizes["slot"] - 1
    return {
        "test_accuracy": acc,
        "n_train": int(((phase == 0) & shown).sum()), "n_label": int(lab.sum()),
        "n_test": int(test.sum()),
        "n_repeats": int((live & (img[1:] == img[:-1])).sum()),
        "n_forced": int(data["slot_forced"].values.sum()) if "slot_forced" in data else 0,
        "n_idle_slots": int((~live).sum()),
        "n_assigned": int((assignments >= 0).sum()),
        "classes_covered": int(len(set(assignments[assignments >= 0].tolist()))),
        "test_spikes_per_image": float(counts[test].sum(axis=1).mean()) if test.any() else 0.0,
        "theta_mean_mV": float(data["theta"].values.mean()),
        "sim_wall_s": sim,
        "run_wall_s": float(data.attrs["run_wall_s"]),
        "s_per_slot": sim / max(n_slots, 1),
        "syn_events_per_s": float(data.attrs["syn_events"]) / sim if sim > 0 else float("nan"),
    }
