"""Protocol kind ``replay-crossval``: the trained CSNN re-run in Brian2, in biological
units, and compared neuron by neuron with snnTorch (:mod:`bioSNN.replay`). The CSNN comes
from ``checkpoint`` (a ``.pt`` file, a run folder, or a few-shot protocol in progress;
:func:`bioSNN.embedder.checkpoint.load_embedder`) or is meta-trained here. Protocol,
goals and measured results: ``docs/protocols.md``; the mapping: ``docs/replay.md``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from brian2 import Hz, Quantity, mV, ms

from ..errors import BioSNNError
from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["ReplayCrossval", "ReplayParams", "replay_features", "pick_trace_neurons",
           "VARIANTS", "SIMULATORS", "GOALS"]

#: Input variants: the CSNN's constant image current, and the unbiased rate code.
VARIANTS = ("constant", "rate")
SIMULATORS = ("snntorch", "brian2")
#: Agreement goals (float64): identical neuron-steps, relative embedding error, decisions.
GOALS = {"spikes_identical": 0.999, "embedding_rel_error": 1e-4, "decision_agreement": 0.99}
_N_SEEDS = 3


@dataclass(frozen=True)
class ReplayParams:
    checkpoint: str = param("", doc="trained CSNN: a .pt file (state dict or bioSNN "
                            "meta-training checkpoint), a folder searched for the newest "
                            "snn.pt (e.g. a finished fewshot-protonet run folder), or a protocol name (its folder under "
                            "$BIOSNN_CACHE/checkpoints); empty: meta-train one here for "
                            "train_tasks episodes")
    dataset: str = param("mnist", choices=("mnist",), doc="image dataset (torchvision layout "
                         "under --data-root / $BIOSNN_DATA)")
    classes: str = param("0-9", doc="test-split classes of the replayed images "
                         "(comma-separated, ranges like 0-4)")
    k_shot: int = param(5, min=1, max=100, doc="support images per class (prototypes)")
    n_query: int = param(5, min=1, max=100, doc="query images per class")
    inputs: str = param("both", choices=("constant", "rate", "both"),
                        doc="replayed inputs: the constant image current, the rate code, both")
    rate_max: Quantity = param(500 * Hz, unit=Hz, min=0, min_inclusive=False,
                               doc="rate code: spike rate of a white pixel (<= 1/dt)")
    E_L: Quantity = param(-65 * mV, unit=mV, doc="resting potential (membrane 0)")
    V_th: Quantity = param(-58 * mV, unit=mV, doc="firing threshold (membrane = threshold); "
                           "(V_th - E_L) / threshold is the mV per unit")
    dt: Quantity = param(1 * ms, unit=ms, min=0, min_inclusive=False,
                         doc="duration of one step (tau_m = -dt / ln beta, rates in Hz)")
    num_steps: int = param(50, min=1, max=10000, doc="time steps per image")
    beta: float = param(0.95, min=0, max=1, min_inclusive=False, max_inclusive=False,
                        doc="LIF membrane decay per step")
    threshold: float = param(1.0, min=0, min_inclusive=False, doc="LIF threshold (unit-less)")
    slope: float = param(5.0, min=0, min_inclusive=False, doc="surrogate slope (training only)")
    conv1_channels: int = param(16, min=1, max=1024, doc="channels of the first convolution")
    conv1_kernel: int = param(5, min=1, max=27, doc="kernel size of the first convolution (odd)")
    conv2_channels: int = param(32, min=1, max=1024, doc="channels of the second convolution")
    conv2_kernel: int = param(3, min=1, max=13, doc="kernel size of the second convolution (odd)")
    embedding_dim: int = param(64, min=1, max=4096, doc="size of the embedding")
    n_traces: int = param(3, min=0, max=20, doc="neurons per LIF layer whose membrane is "
                          "saved (first image)")
    train_tasks: int = param(300, min=1, max=10**6, doc="meta-training episodes when no "
                             "checkpoint is given")
    train_way: int = param(5, min=2, max=10, doc="classes per training episode")
    train_shot: int = param(5, min=1, max=100, doc="support images per class per episode")
    train_query: int = param(15, min=1, max=100, doc="query images per class per episode")
    lr: float = param(1e-3, min=0, min_inclusive=False, max=1, doc="Adam learning rate")
    torch_threads: int = param(1, min=0, max=256, doc="torch intra-op threads (0: default)")

    def check(self):
        from .fewshot import parse_classes

        try:
            classes = parse_classes(self.classes)
        except ValueError as err:
            raise ParamConflict("classes", str(err)) from None
        if len(classes) < 2:
            raise ParamConflict("classes", "needs at least 2 classes for prototype decisions")
        if not float(self.rate_max * self.dt) <= 1.0:
            raise ParamConflict("rate_max", f"must be at most 1/dt = {1 / self.dt} (one "
                                "spike per step)")
        if not self.V_th > self.E_L:
            raise ParamConflict("V_th", f"must lie above E_L ({self.E_L})")
        for name in ("conv1_kernel", "conv2_kernel"):
            if getattr(self, name) % 2 == 0:
                raise ParamConflict(name, f"must be odd ('same' padding), got {getattr(self, name)}")

    @property
    def class_list(self) -> list[int]:
        from .fewshot import parse_classes

        return parse_classes(self.classes)

    @property
    def variants(self) -> tuple[str, ...]:
        return VARIANTS if self.inputs == "both" else (self.inputs,)

    def csnn_config(self):
        from ..embedder.csnn import CSNNConfig

        return CSNNConfig(conv1_channels=self.conv1_channels, conv1_kernel=self.conv1_kernel,
                          conv2_channels=self.conv2_channels, conv2_kernel=self.conv2_kernel,
                          embedding_dim=self.embedding_dim, num_steps=self.num_steps,
                          beta=self.beta, threshold=self.threshold, slope=self.slope)

    def mapping(self):
        from ..replay.units import BioMapping

        return BioMapping(E_L=self.E_L, V_th=self.V_th, dt=self.dt, threshold=self.threshold)


def pick_trace_neurons(counts: np.ndarray, n: int) -> np.ndarray:
    """Neurons to trace: spread over the range of spike counts of the active ones.

    Parameters
    ----------
    counts : numpy.ndarray
        Spike counts of one image ``(n_neurons,)``.
    n : int
        How many.

    Returns
    -------
    numpy.ndarray
        ``min(n, n_neurons)`` distinct indices: active neurons at the 10-90 % quantiles
        of their counts (low, middle, high firing), completed with silent ones.
    """
    order = np.argsort(counts, kind="stable")
    active = order[counts[order] > 0]
    n = min(n, len(counts))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    picked = []
    if len(active):
        q = np.linspace(0.1, 0.9, n) if n > 1 else np.array([0.5])
        picked = list(dict.fromkeys(active[np.round(q * (len(active) - 1)).astype(int)]))
    rest = [i for i in order[::-1] if i not in set(picked)]
    return np.sort(np.asarray((picked + rest)[:n], dtype=np.int64))


def _pick_images(labels, classes, per_class, generator):
    import torch

    picked = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise BioSNNError(f"k_shot + n_query = {per_class}, but test class {c} has only "
                              f"{len(idx)} images")
        picked.append(idx[torch.randperm(len(idx), generator=generator)[:per_class]])
    return torch.stack(picked).numpy()  # (n_classes, per_class)


@register
class ReplayCrossval(BrianProtocol):
    """Cross-validation of the trained CSNN: snnTorch vs its Brian2 replay."""

    kind = "replay-crossval"
    headline = ("spikes_identical_min", "embedding_max_rel_error", "decision_agreement_min")
    figures = {
        "spike-counts": "bioSNN.plots.replay:plot_count_scatter_all",
        "rates": "bioSNN.plots.replay:plot_rate_histograms",
        "traces": "bioSNN.plots.replay:plot_replay_traces",
    }
    Params = ReplayParams
    uses_data = True

    def _embedder(self, seeds, ctx):
        """The trained model and where it came from (checkpoint or training here)."""
        import torch

        from ..embedder.csnn import CSNN
        from ..embedder.data import load_mnist
        from ..embedder.episodes import EpisodeSampler
        from ..embedder.train import TrainConfig, meta_train
        from ..embedder.checkpoint import load_embedder

        p = self.params
        if p.checkpoint:
            model, info = load_embedder(p.checkpoint, p.csnn_config())
            return model, dict(info, source="checkpoint"), None
        train = load_mnist(train=True, data_root=ctx.data_root)
        with torch.random.fork_rng():  # nn.Module construction draws from the global RNG
            model = CSNN(p.csnn_config(), generator=torch.Generator().manual_seed(seeds[0]))
        sampler = EpisodeSampler(train.labels, p.train_way, p.train_shot, p.train_query)
        hist = meta_train(model, train.images, sampler, torch.Generator().manual_seed(seeds[1]),
                          TrainConfig(n_tasks=p.train_tasks, lr=p.lr),
                          progress=f"{self.spec.name} train" if ctx.progress else None)
        model.eval()
        info = {"source": "trained", "path": "", "sha256": "", "task": p.train_tasks,
                "kind": "trained here"}
        return model, info, hist

    def simulate(self, ctx):
        import torch
        from brian2 import get_device

        from ..embedder.data import load_mnist
        from ..replay.network import replay_brian2
        from ..replay.reference import LIF_STAGES, rate_code, torch_reference

        p = self.params
        g = ctx.streams.torch_generator()
        seeds = torch.randint(0, 2**62, (_N_SEEDS,), generator=g).tolist()
        model, info, hist = self._embedder(seeds, ctx)
        test = load_mnist(train=False, data_root=ctx.data_root)
        classes = p.class_list
        per_class = p.k_shot + p.n_query
        picked = _pick_images(test.labels, classes, per_class,
                              torch.Generator().manual_seed(seeds[2]))
        index = picked.reshape(-1)
        labels = np.repeat(np.asarray(classes, dtype=np.int64), per_class)
        support = np.tile(np.arange(per_class) < p.k_shot, len(classes))
        images = test.images[torch.from_numpy(index)]
        mapping = p.mapping()
        rng = ctx.streams.numpy_rng()
        device = get_device()
        base_dir = getattr(device, "build_options", {}).get("directory")

        out = {}
        for variant in p.variants:
            coded = (rate_code(images.numpy(), p.num_steps, float(p.rate_max * p.dt), rng)
                     if variant == "rate" else None)
            # neurons to trace: chosen from the first image's spikes (torch, cheap)
            first = torch_reference(model, images[:1], None if coded is None else
                                    _first(coded))
            traced = {s: pick_trace_neurons(first.counts(s)[0], p.n_traces) for s in LIF_STAGES}
            ref = torch_reference(model, images, coded, traced)
            rec = replay_brian2(
                model, images.numpy(), mapping, coded, traced,
                report=ctx.brian_report(f"{self.spec.name} {variant}"),  # one per variant
                name=f"replay_{variant}",
                # one cached project per input variant and step count (the code differs)
                build_dir=None if base_dir is None else
                Path(base_dir) / f"{variant}-{p.num_steps}steps")
            out[variant] = (ref, rec, traced)

        return _dataset(p, mapping, out, index, labels, support, info, hist,
                        device_name=type(device).__name__)

    @staticmethod
    def summarize(data, params):
        return replay_features(data, params)


def _first(coded):
    from ..replay.reference import RateCoded

    return RateCoded(spikes=coded.spikes[:1], amplitude=coded.amplitude, offset=coded.offset,
                     p_max=coded.p_max)


def _dataset(p, mapping, out, index, labels, support, info, hist, device_name):
    from ..replay import compare
    from ..replay.reference import LIF_STAGES, STAGES

    variants = list(out)
    T = p.num_steps
    E_L, s_mV = float(mapping.E_L / mV), float(mapping.scale / mV)
    dt_ms = float(p.dt / ms)
    n_img = len(index)
    queries = np.flatnonzero(~support)
    data = xr.Dataset(coords={
        "variant": ("variant", variants, {"units": "1", "long_name": "input: constant image "
                                           "current or rate code"}),
        "simulator": ("simulator", list(SIMULATORS), {"units": "1"}),
        "image": ("image", np.arange(n_img), {"units": "1"}),
        "query": ("query", np.arange(len(queries)), {"units": "1"}),
        "step": ("step", np.arange(1, T + 1), {"units": "1"}),
        "time": ("step", np.arange(1, T + 1) * dt_ms, {"units": "ms",
                                                       "long_name": "end of each step"}),
        "embedding_dim": ("embedding_dim", np.arange(p.embedding_dim), {"units": "1"}),
        "trace": ("trace", np.arange(p.n_traces), {"units": "1"}),
    })
    data["image_index"] = ("image", index.astype(np.int64),
                           {"units": "1", "long_name": "index in the MNIST test split"})
    data["image_label"] = ("image", labels, {"units": "1", "long_name": "digit class"})
    data["is_support"] = ("image", support.astype(np.int8),
                          {"units": "1", "long_name": "1: support image (prototype), 0: query"})
    for stage in STAGES:
        dim = f"{stage}_neuron"
        counts = np.stack([np.stack([r.counts(stage) for r in out[v][:2]]) for v in variants])
        data[f"count_{stage}"] = (("variant", "simulator", "image", dim),
                                  counts.astype(np.int16 if T < 2**15 else np.int32),
                                  {"units": "1", "long_name": f"spikes of each {stage} neuron "
                                   f"in the {T} steps of each image"})
        mism = np.stack([compare.mismatches(out[v][0].spikes[stage], out[v][1].spikes[stage])
                         for v in variants])
        data[f"mismatch_{stage}"] = (("variant", "image"), mism,
                                     {"units": "1", "long_name": f"{stage} neuron-steps whose "
                                      "spike differs between the simulators"})
    emb = np.stack([np.stack([out[v][0].embedding, out[v][1].embedding]) for v in variants])
    data["embedding"] = (("variant", "simulator", "image", "embedding_dim"), emb,
                         {"units": "1", "long_name": "mean lif3 membrane over the steps, "
                          "threshold units (1 = V_th - E_L)"})
    data["mean_membrane"] = (("variant", "simulator", "image", "embedding_dim"),
                             E_L + s_mV * emb, {"units": "mV", "long_name": "mean lif3 "
                                                "membrane potential over the steps"})
    decisions = np.stack([np.stack([compare.prototype_decisions(r.embedding, labels, support)
                                    for r in out[v][:2]]) for v in variants])
    data["decision"] = (("variant", "simulator", "query"), decisions,
                        {"units": "1", "long_name": "class of the nearest prototype"})
    data["query_label"] = ("query", labels[queries], {"units": "1"})
    for stage in LIF_STAGES:
        traced = out[variants[0]][2][stage]
        n = len(traced)
        v = np.full((len(variants), 2, p.n_traces, T), np.nan)
        neurons = np.full((len(variants), p.n_traces), -1, dtype=np.int64)
        for a, var in enumerate(variants):
            neurons[a, :n] = out[var][2][stage]
            for b, rec in enumerate(out[var][:2]):
                v[a, b, :n] = E_L + s_mV * rec.traces[stage][0].T
        data[f"v_trace_{stage}"] = (("variant", "simulator", "trace", "step"), v,
                                    {"units": "mV", "long_name": f"membrane potential of traced "
                                     f"{stage} neurons, first image"})
        data[f"trace_neuron_{stage}"] = (("variant", "trace"), neurons,
                                         {"units": "1", "long_name": "index of each traced "
                                          "neuron (-1: none)"})
    timing = {k: np.array([out[v][1].timing[k] if out[v][1].timing[k] is not None else np.nan
                           for v in variants], dtype=float)
              for k in ("setup_s", "build_s", "run_s", "total_s", "compile_s")}
    for k, val in timing.items():
        data[f"brian2_{k[:-2]}_time"] = ("variant", val, {"units": "s", "long_name": {
            "setup": "Brian2 objects and connections", "build": "Brian2 code generation and "
            "compilation (incl. the run's bookkeeping)", "run": "Brian2 simulation loop "
            "(cpp_standalone: the binary)", "total": "Brian2 replay from the model to the "
            "decoded spikes", "compile": "cpp_standalone compilation (make)"}[k[:-2]]})
    data["snntorch_time"] = ("variant", np.array([out[v][0].timing["run_s"] for v in variants]),
                             {"units": "s", "long_name": "snnTorch reference (float64) run"})
    if hist is not None:
        data["train_accuracy"] = ("task", hist.accuracy, {"units": "1", "long_name": "query "
                                  "accuracy of each training task"})
        data = data.assign_coords(task=("task", np.arange(1, len(hist.accuracy) + 1),
                                        {"units": "1"}))
    n_syn = out[variants[0]][1].timing["n_synapses"]
    data.attrs.update({
        "stages": ",".join(STAGES), "lif_stages": ",".join(LIF_STAGES),
        "dt_ms": dt_ms, "E_L_mV": E_L, "V_th_mV": float(mapping.V_th / mV),
        "scale_mV_per_unit": s_mV, "tau_m_ms": float(mapping.tau_m(p.beta) / ms),
        "n_synapses": int(n_syn), "brian2_device": device_name,
        "checkpoint_source": info["source"], "checkpoint_path": info["path"],
        "checkpoint_sha256": info["sha256"], "checkpoint_task": int(info["task"]),
        "checkpoint_kind": info["kind"],
    })
    return data


def replay_features(data: xr.Dataset, params: ReplayParams) -> dict:
    """Headline numbers of a replay (pure function of the saved data).

    Per variant ``v`` and stage ``s``: ``{v}_{s}_spikes_identical`` (fraction of identical
    neuron-steps), ``{v}_{s}_counts_equal`` (fraction of (image, neuron) pairs with equal
    counts), ``{v}_{s}_rate_snntorch_Hz`` / ``_brian2_Hz`` (mean rate); per variant the
    embedding errors (relative to each image's embedding norm, and absolute in mV), the
    decision agreement and each simulator's prototype accuracy, and the wall times. Over
    all: the worst values and ``goals_met``.
    """
    from ..replay import compare

    out: dict = {"n_images": int(data.sizes["image"]), "n_queries": int(data.sizes["query"]),
                 "num_steps": int(data.sizes["step"]), "dt_ms": data.attrs["dt_ms"],
                 "tau_m_ms": data.attrs["tau_m_ms"],
                 "scale_mV_per_unit": data.attrs["scale_mV_per_unit"],
                 "n_synapses": int(data.attrs["n_synapses"]),
                 "checkpoint_source": data.attrs["checkpoint_source"],
                 "checkpoint_task": int(data.attrs["checkpoint_task"]),
                 "checkpoint_sha256": data.attrs["checkpoint_sha256"]}
    T, dt_s = data.sizes["step"], data.attrs["dt_ms"] / 1000.0
    stages = data.attrs["stages"].split(",")
    worst_spikes, worst_emb, worst_dec = 1.0, 0.0, 1.0
    for v in (str(x) for x in data["variant"].values):
        for s in stages:
            n_neurons = data.sizes[f"{s}_neuron"]
            mism = int(data[f"mismatch_{s}"].sel(variant=v).sum())
            ident = 1.0 - mism / (data.sizes["image"] * T * n_neurons)
            counts = data[f"count_{s}"].sel(variant=v)
            a, b = counts.sel(simulator="snntorch").values, counts.sel(simulator="brian2").values
            out[f"{v}_{s}_spikes_identical"] = ident
            out[f"{v}_{s}_counts_equal"] = float((a == b).mean())
            out[f"{v}_{s}_rate_snntorch_Hz"] = float(a.mean() / (T * dt_s))
            out[f"{v}_{s}_rate_brian2_Hz"] = float(b.mean() / (T * dt_s))
            worst_spikes = min(worst_spikes, ident)
        emb = data["embedding"].sel(variant=v)
        err = compare.embedding_errors(emb.sel(simulator="snntorch").values,
                                       emb.sel(simulator="brian2").values)
        out[f"{v}_embedding_max_rel_error"] = float(err["relative"].max())
        out[f"{v}_embedding_max_abs_error_mV"] = float(err["abs_max"].max()
                                                       * data.attrs["scale_mV_per_unit"])
        dec = data["decision"].sel(variant=v)
        a, b = dec.sel(simulator="snntorch").values, dec.sel(simulator="brian2").values
        labels = data["query_label"].values
        out[f"{v}_decision_agreement"] = float((a == b).mean())
        out[f"{v}_accuracy_snntorch"] = float((a == labels).mean())
        out[f"{v}_accuracy_brian2"] = float((b == labels).mean())
        worst_emb = max(worst_emb, out[f"{v}_embedding_max_rel_error"])
        worst_dec = min(worst_dec, out[f"{v}_decision_agreement"])
        for k in ("setup", "build", "run", "total", "compile"):
            val = float(data[f"brian2_{k}_time"].sel(variant=v))
            out[f"{v}_brian2_{k}_s"] = None if math.isnan(val) else val
        out[f"{v}_snntorch_s"] = float(data["snntorch_time"].sel(variant=v))
    out["spikes_identical_min"] = worst_spikes
    out["embedding_max_rel_error"] = worst_emb
    out["decision_agreement_min"] = worst_dec
    out["goals_met"] = bool(worst_spikes >= GOALS["spikes_identical"]
                            and worst_emb <= GOALS["embedding_rel_error"]
                            and worst_dec >= GOALS["decision_agreement"])
    return out
