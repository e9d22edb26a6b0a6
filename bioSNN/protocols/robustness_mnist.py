"""Protocol kind ``robustness-mnist``: accuracy of a converted SNN and its ANN twin
under input perturbations.

The ANN is the ``conversion-mnist`` ReLU CNN, trained here exactly as that kind trains it
(same functions, same seed streams) or loaded from a ``conversion-mnist`` run folder
(``source``; its ``ann.pt`` and its normalisation scales). The converted SNN runs on
rate-coded input for ``steps`` steps with the membrane readout (``readout``). Four
perturbations, each at its levels (:mod:`bioSNN.training.perturb`): Gaussian pixel
noise and salt-and-pepper noise (the SNN and the ANN see the same noisy images), spike
deletion and spike jitter on the SNN's input spikes, for which the ANN twin gets the
statistically equivalent pixel input (deletion ``p``: intensities x (1 - p), the
expected rate; jitter: the clean image, rates are unchanged). Each level is evaluated
over ``repeats`` independent noise draws; accuracy mean and 95 % CI per level.
Manual: ``docs/robustness.md``.

References
----------
B. Rueckauer et al. (2017) Conversion of continuous-valued deep networks to efficient
event-driven networks for image classification. Front. Neurosci. 11:682.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import xarray as xr

from ..errors import SpecError
from .base import TorchProtocol
from .conversion_mnist import ANNTrainingParams, ConversionParams, _train, build_ann
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["RobustnessMNIST", "RobustnessParams", "PERTURBATIONS", "parse_levels",
           "robustness_features"]

#: Perturbation name -> (level parameter / coordinate, unit, what the ANN twin gets).
PERTURBATIONS = {
    "gaussian": ("gaussian_sigma", "1", "the same noisy images"),
    "salt_pepper": ("salt_pepper_p", "1", "the same noisy images"),
    "deletion": ("deletion_p", "1", "intensities x (1 - p): the expected rate after "
                 "deletion"),
    "jitter": ("jitter_steps", "1", "the clean images: jitter keeps every rate"),
}
_N_SEEDS = 4   # conversion-mnist's streams: init, shuffle, training subset, rate code
_TRAINING = tuple(f.name for f in fields(ANNTrainingParams)) + ("percentile", "norm_images")


def parse_levels(text: str, *, integer: bool = False, at_most: float | None = None) -> list:
    """Perturbation levels from comma-separated text (``"0,0.1,0.2"``): non-negative,
    strictly ascending; integers when ``integer``; at most ``at_most`` when given."""
    kind = "non-negative integers" if integer else "non-negative numbers"
    try:
        out = [(int if integer else float)(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"expected comma-separated {kind}, got {text!r}") from None
    if not out or any(not v >= 0 for v in out):
        raise ValueError(f"expected comma-separated {kind}, got {text!r}")
    if out != sorted(set(out)):
        raise ValueError(f"levels must be strictly ascending, got {text!r}")
    if at_most is not None and out[-1] > at_most:
        raise ValueError(f"levels are probabilities, at most {at_most}; got {text!r}")
    return out


@dataclass(frozen=True)
class RobustnessParams(ANNTrainingParams):
    source: str = param("", doc="a conversion-mnist run folder whose ann.pt and layer "
                        "scales to use (the ANN training parameters are then ignored); "
                        "empty: train the ANN here as conversion-mnist does")
    max_test: int = param(2000, min=0, doc="test images (0: all 10000; the first in file "
                          "order)")
    percentile: float = param(99.9, min=0, min_inclusive=False, max=100,
                              doc="normalisation percentile of each layer's positive "
                              "activations")
    norm_images: int = param(1000, min=1, doc="training images whose activations set the "
                             "normalisation")
    readout: str = param("membrane", choices=("membrane", "spikes"),
                         doc="class = largest summed output current, or most output spikes")
    steps: int = param(50, min=1, max=100000, doc="time steps T of every SNN inference "
                       "(rate-coded input)")
    repeats: int = param(5, min=1, max=1000, doc="independent noise (and rate-code) draws "
                         "per level")
    gaussian_sigma: str = param("0,0.1,0.2,0.3,0.5", doc="Gaussian pixel noise standard "
                                "deviations (intensity units; images clipped to [0, 1])")
    salt_pepper_p: str = param("0,0.05,0.1,0.2,0.3", doc="salt-and-pepper probabilities "
                               "(pixel set to 0 or 1 with equal odds)")
    deletion_p: str = param("0,0.1,0.2,0.3,0.5", doc="input-spike deletion probabilities")
    jitter_steps: str = param("0,1,2,4,8", doc="input-spike jitter standard deviations, "
                              "in time steps (integers)")
    sim_batch: int = param(500, min=1, max=10000, doc="test images simulated at once")
    torch_threads: int = param(1, min=0, max=256, doc="torch intra-op threads during the "
                               "run (0: torch's default)")

    def check(self):
        for name in ("gaussian_sigma", "salt_pepper_p", "deletion_p", "jitter_steps"):
            try:
                self.levels(name)
            except ValueError as err:
                raise ParamConflict(name, str(err)) from None
        if not self.source:
            self.conversion_params().check()

    def levels(self, name: str) -> list:
        """The parsed levels of one perturbation parameter (e.g. ``"deletion_p"``)."""
        return parse_levels(getattr(self, name), integer=name == "jitter_steps",
                            at_most=1.0 if name.endswith("_p") else None)

    def conversion_params(self) -> ConversionParams:
        """The conversion-mnist parameters of the ANN trained here (shared fields)."""
        return replace(ConversionParams(), readout=self.readout, max_test=self.max_test,
                       sim_batch=self.sim_batch, torch_threads=self.torch_threads,
                       replay_images=0, **{k: getattr(self, k) for k in _TRAINING})


def _seed(base: int, *keys: int) -> int:
    """A torch seed for one (perturbation, repeat, batch) from ``base`` (SeedSequence)."""
    return int(np.random.SeedSequence([int(base), *map(int, keys)]).generate_state(
        1, np.uint64)[0] >> 1)


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@register
class RobustnessMNIST(TorchProtocol):
    """MNIST: converted SNN vs its ANN twin under pixel noise, spike deletion and jitter."""

    kind = "robustness-mnist"
    headline = ("ann_clean_accuracy", "snn_clean_accuracy",
                "snn_gaussian_max", "ann_gaussian_max",
                "snn_salt_pepper_max", "ann_salt_pepper_max",
                "snn_deletion_max", "ann_deletion_max",
                "snn_jitter_max", "ann_jitter_max")
    figures = {"robustness": "bioSNN.plots.robustness:plot_robustness"}
    Params = RobustnessParams
    uses_data = True

    def _source_ann(self):
        """The ANN, its layer scales and provenance attrs of a conversion-mnist run."""
        import torch

        from ..results import Results

        p = self.params
        where, field = self.spec.source, "parameters.source"
        folder = Path(p.source).expanduser()
        try:
            run = Results.load(folder, lazy=True)
        except Exception as err:   # missing folder, incomplete run, unreadable spec
            raise SpecError(where, field, f"{p.source!r} is not a conversion-mnist run "
                            f"folder ({err})") from None
        if run.spec.kind != "conversion-mnist":
            raise SpecError(where, field, f"{p.source!r} is a {run.spec.kind!r} run; "
                            "expected a conversion-mnist run folder")
        weights = folder / "ann.pt"
        if not weights.is_file():
            raise SpecError(where, field, f"{p.source!r} has no ann.pt (a conversion-mnist "
                            "run made before the ANN was saved); re-run conversion-mnist")
        cp = run.spec.params
        ann = build_ann(cp)
        try:
            ann.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        except Exception as err:
            raise SpecError(where, field, f"{weights} does not load into the run's ANN "
                            f"({type(err).__name__}: {str(err).splitlines()[0]})") from None
        ann.eval()
        scales = [float(v) for v in run.data["layer_scale"].values]
        git = run.provenance.get("git") or {}
        attrs = {"source": str(folder.resolve()), "source_seed": int(run.seed),
                 "source_mode": str(run.spec.mode),
                 "source_spec_sha256": _file_sha256(folder / "spec.toml"),
                 "source_ann_sha256": _file_sha256(weights),
                 "source_git_commit": str(git.get("commit", "") if isinstance(git, dict)
                                          else git),
                 "n_train": int(run.data.attrs.get("n_train", -1))}
        return ann, scales, cp, attrs

    def simulate(self, ctx):
        import torch

        from ..embedder.data import load_mnist, mnist_pixel_splits, mnist_pixels
        from ..progress import bar
        from ..training import perturb
        from ..training.conversion import fanout_maps, layer_scales, normalize, simulate_if

        p = self.params
        g = ctx.streams.torch_generator()
        # the four streams of conversion-mnist first (the same ANN for the same seed and
        # parameters), then the noise stream
        seed_init, seed_shuffle, seed_subset, seed_code = torch.randint(
            0, 2**62, (_N_SEEDS,), generator=g).tolist()
        seed_noise = int(torch.randint(0, 2**62, (1,), generator=g))
        t0 = time.perf_counter()
        if p.source:
            ann, scales, cp, attrs = self._source_ann()
            test = load_mnist(False, ctx.data_root)
            n_test = p.max_test or len(test.labels)
            x_test, y_test = mnist_pixels(test.images[:n_test]), test.labels[:n_test]
        else:
            cp = p.conversion_params()
            x_train, y_train, x_test, y_test = mnist_pixel_splits(
                ctx.data_root, seed_subset, cp.max_train, cp.max_test)
            with torch.random.fork_rng():   # nn.Module initialisation draws globally
                torch.manual_seed(seed_init)
                ann = build_ann(cp)
            desc = f"{self.spec.name} ANN" if ctx.progress else None
            _train(ann, x_train, y_train, cp, seed_shuffle, desc)
            scales = layer_scales(ann, x_train[:cp.norm_images], cp.percentile)
            attrs = {"source": "", "source_seed": -1, "source_mode": "",
                     "source_spec_sha256": "", "source_ann_sha256": "",
                     "source_git_commit": "", "n_train": len(y_train)}
        train_s = time.perf_counter() - t0
        snn = normalize(ann, scales)
        fan = fanout_maps(snn, (1, 28, 28))
        n_test = len(y_test)
        levels = {k: p.levels(PERTURBATIONS[k][0]) for k in PERTURBATIONS}
        batches = list(range(0, n_test, p.sim_batch))

        @torch.no_grad()
        def ann_pred(x):
            return ann(x).argmax(-1)

        def snn_pred(x, spikes):
            return simulate_if(snn, x, p.steps, encoding="rate", readout=p.readout,
                               fanout=fan, input_spikes=spikes).readout[-1].argmax(-1)

        ann_clean = torch.cat([ann_pred(x_test[s:s + p.sim_batch]) for s in batches])
        correct = {(net, k): np.zeros((p.repeats, len(levels[k])), dtype=np.int64)
                   for net in ("snn", "ann") for k in PERTURBATIONS}
        snn_clean = np.zeros(p.repeats, dtype=np.int64)
        n_sims = p.repeats * len(batches) * (1 + sum(map(len, levels.values())))
        progress = bar(n_sims, f"{self.spec.name} SNN ({p.steps} steps)", unit="sim",
                       enabled=ctx.progress)
        t1 = time.perf_counter()
        try:
            for r in range(p.repeats):
                for b, s in enumerate(batches):
                    x, y = x_test[s:s + p.sim_batch], y_test[s:s + p.sim_batch]
                    # the rate code's uniforms: one draw per (repeat, batch), shared by the
                    # clean input and every perturbation and level (common random numbers:
                    # a level that leaves the input unchanged gives the clean spikes)
                    u = torch.rand((p.steps,) + tuple(x.shape), dtype=x.dtype,
                                   generator=torch.Generator().manual_seed(
                                       _seed(seed_code, r, b)))
                    clean = u < x
                    clean_pred = snn_pred(x, clean)
                    snn_clean[r] += int((clean_pred == y).sum())
                    progress.update(1)
                    for ik, k in enumerate(PERTURBATIONS):
                        for il, level in enumerate(levels[k]):
                            # the same noise seed at every level of a perturbation
                            gn = torch.Generator().manual_seed(_seed(seed_noise, ik, r, b))
                            if k in ("gaussian", "salt_pepper"):
                                fn = (perturb.gaussian_pixel_noise if k == "gaussian"
                                      else perturb.salt_and_pepper)
                                xn = fn(x, level, gn)
                                spikes, x_ann = u < xn, xn
                            elif k == "deletion":
                                spikes, x_ann = perturb.delete_spikes(clean, level, gn), \
                                    x * (1 - level)
                            else:
                                spikes, x_ann = perturb.jitter_spikes(clean, level, gn), x
                            # the simulation is deterministic given its input spikes: a
                            # level that leaves them as they were (0) has the clean result
                            pred = clean_pred if torch.equal(spikes, clean) \
                                else snn_pred(x, spikes)
                            correct["snn", k][r, il] += int((pred == y).sum())
                            correct["ann", k][r, il] += int((ann_pred(x_ann) == y).sum())
                            progress.update(1)
        finally:
            progress.close()
        sim_s = time.perf_counter() - t1

        acc = {"units": "1"}
        variables = {
            "test_label": ("test_item", y_test.numpy(), {"units": "1"}),
            "ann_prediction": ("test_item", ann_clean.numpy().astype(np.int64),
                               {"units": "1", "long_name": "ANN's predicted digit, clean "
                                "input"}),
            "snn_clean_accuracy": ("repeat", snn_clean / n_test, {
                **acc, "long_name": "SNN test accuracy on clean input (one rate-code draw "
                "per repeat)"}),
            "layer_scale": ("stage", np.array(scales), {"units": "1", "long_name":
                            "normalisation scale lambda of each stage's activations"}),
            "train_time": ((), train_s, {"units": "s", "long_name": "ANN training (or "
                                         "loading) and normalisation time"}),
            "sim_time": ((), sim_s, {"units": "s", "long_name": "SNN and ANN evaluation "
                                     "time of every perturbation"}),
        }
        coords = {"repeat": ("repeat", np.arange(p.repeats), {"units": "1"}),
                  "stage": ("stage", np.arange(1, len(scales) + 1), {"units": "1"})}
        for k, (dim, unit, twin) in PERTURBATIONS.items():
            coords[dim] = (dim, np.array(levels[k]), {
                "units": unit, "long_name": dim.replace("_", " ") + (
                    " (standard deviation of the shift, time steps)" if k == "jitter"
                    else "")})
            variables[f"snn_accuracy_{k}"] = (("repeat", dim), correct["snn", k] / n_test, {
                **acc, "long_name": f"SNN test accuracy under {k} perturbation"})
            variables[f"ann_accuracy_{k}"] = (("repeat", dim), correct["ann", k] / n_test, {
                **acc, "long_name": f"ANN twin test accuracy under {k} perturbation",
                "ann_input": twin})
        attrs.update({
            "n_test": n_test, "steps": p.steps, "repeats": p.repeats,
            "readout": p.readout, "encoding": "rate",
            "architecture": ",".join(f"{f}={getattr(cp, f)}" for f in
                                     ("channels1", "kernel1", "channels2", "kernel2",
                                      "pool", "bias")),
            "ann_twin": "gaussian, salt_pepper: the same noisy images as the SNN; "
                        "deletion p: intensities x (1 - p); jitter: the clean images",
        })
        return xr.Dataset(variables, coords=coords, attrs=attrs)

    @staticmethod
    def summarize(data, params):
        return robustness_features(data)


def robustness_features(data: xr.Dataset) -> dict:
    """Headline numbers of a ``robustness-mnist`` run (pure function of the saved data).

    Accuracies are fractions (0-1), means over the repeats with the half-width of their
    95 % CI (:func:`bioSNN.stats.mean_ci95`, ``*_ci95``). ``<net>_<perturbation>_max``:
    at the largest level; ``snn_minus_ann_<perturbation>_max`` their difference of
    means; ``<net>_<perturbation>_<level>``: at each level.
    """
    from ..stats import mean_ci95

    label = data["test_label"].values
    snn_clean, snn_clean_ci, _ = mean_ci95(data["snn_clean_accuracy"].values)
    out = {"n_test": int(label.size), "steps": int(data.attrs["steps"]),
           "repeats": int(data.attrs["repeats"]), "source": str(data.attrs["source"]),
           "ann_clean_accuracy": float((data["ann_prediction"].values == label).mean()),
           "snn_clean_accuracy": snn_clean, "snn_clean_accuracy_ci95": snn_clean_ci}
    per_level = {}
    for k, (dim, _, _) in PERTURBATIONS.items():
        levels = data[dim].values
        for net in ("snn", "ann"):
            da = data[f"{net}_accuracy_{k}"]
            stats = [mean_ci95(da.isel({dim: i}).values) for i in range(levels.size)]
            out[f"{net}_{k}_max"], out[f"{net}_{k}_max_ci95"] = stats[-1][:2]
            for lev, (m, h, _) in zip(levels, stats):
                per_level[f"{net}_{k}_{lev:g}"] = m
                per_level[f"{net}_{k}_{lev:g}_ci95"] = h
        out[f"snn_minus_ann_{k}_max"] = out[f"snn_{k}_max"] - out[f"ann_{k}_max"]
        out[f"{dim}_max"] = float(levels[-1])
    out.update(per_level)
    out["train_time_s"] = float(data["train_time"])
    out["sim_time_s"] = float(data["sim_time"])
    return out
