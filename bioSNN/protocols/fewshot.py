"""Protocol kind ``fewshot-protonet``: few-shot image classification with a spiking
prototypical network (:class:`bioSNN.embedder.csnn.CSNN`, meta-trained by
:func:`bioSNN.embedder.train.meta_train`), against its non-spiking twin trained and tested
on the same episodes. The trained weights are results (``snn.pt``, ``ann.pt`` in the run
folder); an interrupted run resumes from its checkpoints. Protocol, recorded data and
measured results: ``docs/protocols.md``; seeds and checkpoints: ``docs/embedder.md``.

References
----------
J. Snell, K. Swersky, R. Zemel (2017) Prototypical networks for few-shot learning. NeurIPS 30.
L. van der Maaten, G. Hinton (2008) Visualizing data using t-SNE. JMLR 9, 2579-2605.
"""
from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from brian2 import Hz, Quantity, ms, second

from ..errors import BioSNNError
from ..stats import ci95
from .base import TorchProtocol
from .registry import register
from .schema import SURROGATE_NAMES, param
from .spec import ParamConflict

__all__ = ["FewShotProtoNet", "FewShotParams", "parse_classes", "checkpoint_dir",
           "fewshot_features", "MODELS"]

MODELS = ("snn", "ann")
DATASETS = ("mnist", "omniglot")
_N_SEEDS = 6
_DIGITS = range(10)
_LABEL_STRIDE = {"mnist": 10, "omniglot": 1623}  # offset of each rotation class's labels
_CROSS_TEST_CLASSES = {"mnist": "0-9", "omniglot": "vinyals-test"}


def parse_classes(text: str) -> list[int]:
    """Class labels from a comma-separated list (``"0,1,2"``) or range (``"0-4"``) text.

    Raises
    ------
    ValueError
        If an entry is not a digit class 0-9, a range is empty or a class repeats.
    """
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            values = list(range(int(lo), int(hi) + 1)) if sep else [int(part)]
        except ValueError:
            raise ValueError(f"expected comma-separated digit classes 0-9 or ranges like "
                             f"0-4, got {text!r}") from None
        if not values or any(v not in _DIGITS for v in values):
            raise ValueError(f"classes must be digits 0-9 (ranges ascending), got {part!r} "
                             f"in {text!r}")
        out += values
    if len(set(out)) != len(out):
        raise ValueError(f"a class is listed twice in {text!r}")
    return out


def class_names(dataset: str, text: str) -> list:
    """The classes a ``train_classes`` / ``test_classes`` text names: MNIST digits
    (:func:`parse_classes`) or, for Omniglot, the split's size as ``range`` of that many
    (the split itself is resolved on the loaded data, :func:`bioSNN.embedder.omniglot.split_classes`).

    Raises
    ------
    ValueError
        If the text is not valid for the dataset.
    """
    if dataset == "omniglot":
        from ..omniglot_splits import SPLIT_SIZES, SPLITS

        if text not in SPLIT_SIZES:
            raise ValueError(f"Omniglot classes are named by split: one of {', '.join(SPLITS)}; "
                             f"got {text!r}")
        return list(range(SPLIT_SIZES[text]))
    return parse_classes(text)


def disjoint_splits(a: str, b: str) -> bool:
    """Whether two Omniglot splits share no character (:data:`~bioSNN.embedder.omniglot.SPLITS`)."""
    from ..omniglot_splits import DISJOINT

    return frozenset((a, b)) in DISJOINT


@dataclass(frozen=True)
class FewShotParams:
    dataset: str = param("mnist", choices=DATASETS, doc="image dataset (torchvision layout "
                         "under --data-root / $BIOSNN_DATA): mnist or omniglot (28 x 28, "
                         "bioSNN.embedder.omniglot)")
    train_classes: str = param("0-9", doc="classes of the meta-training episodes. mnist: "
                               "digits of the training split (comma-separated, ranges like "
                               "0-4 allowed); omniglot: a split name (vinyals-train, "
                               "vinyals-trainval, background, ...)")
    test_classes: str = param("0-9", doc="classes of the meta-test episodes. mnist: digits of "
                              "the test split; omniglot: a split name disjoint from "
                              "train_classes (vinyals-test, evaluation, ...)")
    n_way: int = param(5, min=2, max=2000, doc="classes per episode")
    train_way: int = param(0, min=0, max=2000, doc="classes per meta-training episode (0: "
                           "n_way); more ways than at test time give each step more "
                           "negatives (Snell et al. 2017)")
    k_shot: int = param(5, min=1, max=500, doc="support images per class")
    n_query: int = param(15, min=1, max=500, doc="query images per class")
    train_query: int = param(0, min=0, max=500, doc="query images per class in meta-training "
                             "episodes (0: n_query); Snell et al. train Omniglot with 5")
    n_train_tasks: int = param(2000, min=1, max=10**7, doc="meta-training episodes (one "
                               "Adam step each)")
    n_test_episodes: int = param(600, min=2, max=10**6, doc="meta-test episodes")
    also_test_way: int = param(0, min=0, max=2000, doc="also test the same trained "
                               "embedders on n_test_episodes episodes of this many ways "
                               "(0: no); Snell et al. report 5- and 20-way from one model")
    lr: float = param(1e-3, min=0, min_inclusive=False, max=1, doc="Adam learning rate")
    lr_schedule: str = param("constant", choices=("constant", "cosine"),
                             doc="learning-rate schedule over the training tasks")
    weight_decay: float = param(0.0, min=0, max=1, doc="Adam L2 weight decay")
    num_steps: int = param(50, min=1, max=10000, doc="SNN time steps per image")
    dt: Quantity = param(1 * ms, unit=ms, min=0, min_inclusive=False,
                         doc="duration of one SNN time step (firing rates in Hz, tau_m)")
    beta: float = param(0.95, min=0, max=1, doc="LIF membrane decay per step, "
                        "exp(-dt/tau_m)")
    threshold: float = param(1.0, min=0, min_inclusive=False, doc="LIF threshold "
                             "(dimensionless membrane units)")
    slope: float = param(5.0, min=0, min_inclusive=False, doc="surrogate slope k (the "
                         "seed's fast sigmoid: 5)")
    surrogate: str = param("fast_sigmoid", choices=SURROGATE_NAMES,
                           doc="surrogate gradient of the CSNN's spikes (bioSNN.training); "
                           "the fused kernel has only fast_sigmoid, others run the PyTorch "
                           "path")
    rate_penalty: float = param(0.0, min=0, doc="weight of the SNN's activity penalty "
                                "(bioSNN.embedder.activity): each LIF neuron's rate held "
                                "between rate_min and rate_max; 0: off. Trains without the "
                                "fused kernel (slower)")
    rate_min: Quantity = param(0 * Hz, unit=Hz, min=0, doc="lower bound of every LIF "
                               "neuron's rate in the activity penalty (0: none)")
    rate_max: Quantity = param(10 * Hz, unit=Hz, min=0, doc="upper bound of every LIF "
                               "neuron's rate in the activity penalty (0: none)")
    pool: str = param("max", choices=("max", "sum"), doc="2x2 pooling of the convolutional "
                      "layers (SNN and ANN): max (the seed's) or sum (exports to NIR exactly)")
    conv1_channels: int = param(16, min=1, max=1024, doc="channels of the first convolution")
    conv1_kernel: int = param(5, min=1, max=27, doc="kernel size of the first convolution (odd)")
    conv2_channels: int = param(32, min=1, max=1024, doc="channels of the second convolution")
    conv2_kernel: int = param(3, min=1, max=13, doc="kernel size of the second convolution (odd)")
    embedding_dim: int = param(64, min=1, max=4096, doc="size of the embedding")
    distance: str = param("euclidean", choices=("euclidean", "squared-euclidean"),
                          doc="query-prototype distance")
    normalize: bool = param(False, doc="L2-normalise embeddings before prototypes and distances")
    temperature: float = param(1.0, min=0, min_inclusive=False,
                               doc="logits = -distance / temperature")
    rotation_classes: int = param(1, min=1, max=4, doc="1, 2 or 4: training classes rotated by "
                                  "multiples of 360/n degrees count as new classes")
    test_rotation_classes: int = param(1, min=1, max=4, doc="1, 2 or 4: the same for the "
                                       "test classes (Snell et al. 2017's Omniglot setting: "
                                       "4 for both)")
    augment_rotate_deg: float = param(0.0, min=0, max=180, doc="random rotation of training "
                                      "images, +- degrees")
    augment_scale: float = param(0.0, min=0, max=0.5, doc="random zoom of training images, "
                                 "factor in 1 +- this")
    augment_shift_px: float = param(0.0, min=0, max=14, doc="random translation of training "
                                    "images, +- pixels per axis")
    val_fraction: float = param(0.0, min=0, max=0.5, doc="fraction of each training class's "
                                "images held out for validation (0: none)")
    val_every: int = param(0, min=0, doc="validate every this many tasks (0: never)")
    n_val_episodes: int = param(100, min=1, max=10**5, doc="validation episodes (the same each "
                                "time)")
    early_stopping: bool = param(False, doc="keep the weights with the best validation accuracy")
    baseline: bool = param(True, doc="also train and test the ANN baseline")
    n_embed_per_class: int = param(50, min=2, max=1000, doc="test images per test class that "
                                   "are embedded, mapped in 2-D and used for firing rates")
    n_embed_classes: int = param(0, min=0, max=2000, doc="test classes whose images are "
                                 "embedded, drawn at random (0: every test class)")
    cross_dataset: str = param("", choices=("",) + DATASETS, doc="also test the trained "
                               "embedders on this dataset's test classes (mnist: digits 0-9 "
                               "of the test split; omniglot: vinyals-test); '' for none")
    cross_way: int = param(5, min=2, max=2000, doc="classes per cross-dataset test episode")
    cross_shot: int = param(5, min=1, max=500, doc="support images per class in "
                            "cross-dataset test episodes (queries: n_query)")
    tsne_perplexity: float = param(30.0, min=1, max=100, doc="t-SNE perplexity of the 2-D map")
    checkpoint_every: int = param(100, min=0, doc="checkpoint every this many tasks (0: only "
                                  "at the end); not part of the spec hash")
    torch_threads: int = param(1, min=0, max=256, doc="torch intra-op threads during the run "
                               "(0: torch's default); results depend on it in the last bits")

    def check(self):
        n_classes = {}
        for name in ("train_classes", "test_classes"):
            try:
                n_classes[name] = len(class_names(self.dataset, getattr(self, name)))
            except ValueError as err:
                raise ParamConflict(name, str(err)) from None
            if n_classes[name] < self.n_way:
                raise ParamConflict(name, f"needs at least n_way = {self.n_way} classes, got "
                                    f"{n_classes[name]} ({getattr(self, name)!r})")
        if self.dataset == "omniglot" and not disjoint_splits(self.train_classes,
                                                              self.test_classes):
            raise ParamConflict("test_classes", f"Omniglot split {self.test_classes!r} shares "
                                f"characters with train_classes = {self.train_classes!r}; "
                                f"pick disjoint splits (e.g. vinyals-trainval and vinyals-test)")
        if self.also_test_way and not 2 <= self.also_test_way <= \
                n_classes["test_classes"] * self.test_rotation_classes:
            raise ParamConflict("also_test_way", f"must be 0 or between 2 and the "
                                f"{n_classes['test_classes'] * self.test_rotation_classes} "
                                f"test classes (test_classes x test_rotation_classes), got "
                                f"{self.also_test_way}")
        if self.cross_dataset == self.dataset:
            raise ParamConflict("cross_dataset", f"must name another dataset than dataset = "
                                f"{self.dataset!r} (or '' for none)")
        if self.cross_dataset == "mnist" and self.cross_way > 10:
            raise ParamConflict("cross_way", f"MNIST has 10 classes, got {self.cross_way}")
        for name in ("rotation_classes", "test_rotation_classes"):
            if getattr(self, name) not in (1, 2, 4):
                raise ParamConflict(name, f"must be 1, 2 or 4, got {getattr(self, name)}")
        n_train_classes = n_classes["train_classes"] * self.rotation_classes
        if self.train_way and not 2 <= self.train_way <= n_train_classes:
            raise ParamConflict("train_way", f"must be 0 (= n_way) or between 2 and the "
                                f"{n_train_classes} training classes (train_classes x "
                                f"rotation_classes), got {self.train_way}")
        for name in ("conv1_kernel", "conv2_kernel"):
            if getattr(self, name) % 2 == 0:
                raise ParamConflict(name, f"must be odd ('same' padding), got {getattr(self, name)}")
        if self.val_every and not self.val_fraction:
            raise ParamConflict("val_every", "validation needs held-out images: set "
                                "val_fraction > 0 (or val_every = 0)")
        if self.early_stopping and not self.val_every:
            raise ParamConflict("early_stopping", "needs validation: set val_every > 0")
        if self.rate_penalty:
            lo, hi = float(self.rate_min * self.dt), float(self.rate_max * self.dt)
            if not (lo or hi):
                raise ParamConflict("rate_max", "the activity penalty needs a bound: set "
                                    "rate_max and/or rate_min > 0 (or rate_penalty = 0)")
            if hi > 1:
                raise ParamConflict("rate_max", f"must be at most 1 spike per step, 1/dt = "
                                    f"{1 / float(self.dt / second):g} Hz")
            if hi and lo >= hi:
                raise ParamConflict("rate_min", f"must be below rate_max = {self.rate_max}")
        if self.n_embed_classes > n_classes["test_classes"]:
            raise ParamConflict("n_embed_classes", f"must be at most the "
                                f"{n_classes['test_classes']} test classes (0: all), got "
                                f"{self.n_embed_classes}")
        n_embed = self.n_embed_per_class * (self.n_embed_classes or n_classes["test_classes"])
        if not self.tsne_perplexity < n_embed:
            raise ParamConflict("tsne_perplexity", f"must be below the number of embedded "
                                f"images, n_embed_per_class x embedded classes = {n_embed}")

    @property
    def train_class_list(self) -> list[int]:
        """MNIST digits of the training episodes (mnist only)."""
        return parse_classes(self.train_classes)

    @property
    def test_class_list(self) -> list[int]:
        """MNIST digits of the test episodes (mnist only)."""
        return parse_classes(self.test_classes)

    @property
    def tau_m(self) -> Quantity:
        """Membrane time constant implied by ``beta`` and ``dt``: -dt / ln(beta)."""
        if self.beta <= 0:
            return 0 * ms
        if self.beta >= 1:
            return math.inf * ms
        return -self.dt / math.log(self.beta)

    def csnn_config(self):
        from ..embedder.csnn import CSNNConfig

        return CSNNConfig(conv1_channels=self.conv1_channels, conv1_kernel=self.conv1_kernel,
                          conv2_channels=self.conv2_channels, conv2_kernel=self.conv2_kernel,
                          embedding_dim=self.embedding_dim, num_steps=self.num_steps,
                          beta=self.beta, threshold=self.threshold, slope=self.slope,
                          pool=self.pool, surrogate=self.surrogate)

    def train_config(self):
        from ..embedder.augment import MNIST_BACKGROUND, Augmentation
        from ..embedder.omniglot import OMNIGLOT_BACKGROUND
        from ..embedder.train import TrainConfig

        background = OMNIGLOT_BACKGROUND if self.dataset == "omniglot" else MNIST_BACKGROUND
        return TrainConfig(
            n_tasks=self.n_train_tasks, lr=self.lr, lr_schedule=self.lr_schedule,
            weight_decay=self.weight_decay, distance=self.distance, normalize=self.normalize,
            temperature=self.temperature,
            augmentation=Augmentation(rotate_deg=self.augment_rotate_deg,
                                      scale=self.augment_scale, shift_px=self.augment_shift_px,
                                      background=background),
            val_every=self.val_every, early_stopping=self.early_stopping,
            checkpoint_every=self.checkpoint_every, rate_penalty=self.rate_penalty,
            rate_min=float(self.rate_min * self.dt), rate_max=float(self.rate_max * self.dt))


def checkpoint_dir(spec, seed: int) -> Path:
    """Checkpoint folder of one run: ``<cache>/checkpoints/<name>/<hash>-seed<seed>``.

    ``<cache>`` is ``$BIOSNN_CACHE`` or ``~/.cache/bioSNN``; ``<hash>`` is the first 16
    hex digits of the SHA-256 of the protocol name, kind and resolved parameters
    (``checkpoint_every`` excluded), so only the same spec and seed resumes.
    """
    table = {k: v for k, v in spec.parameter_table().items() if k != "checkpoint_every"}
    key = json.dumps({"name": spec.name, "kind": spec.kind, "parameters": table},
                     sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    from ..embedder.checkpoint import checkpoint_root

    return checkpoint_root() / spec.name / f"{digest}-seed{seed}"


def _split_validation(labels, classes, fraction, generator):
    """Indices of the meta-training and validation images of ``classes`` (per class,
    a random ``fraction`` of the images is held out)."""
    import torch

    train, val = [], []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        n_val = int(round(fraction * len(idx)))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return torch.sort(torch.cat(train)).values, torch.sort(torch.cat(val)).values


def _sampler(labels, p: FewShotParams, classes, what: str, n_way: int | None = None,
             n_query: int | None = None):
    from ..embedder.episodes import EpisodeSampler

    try:
        return EpisodeSampler(labels, n_way or p.n_way, p.k_shot, n_query or p.n_query,
                              classes=classes)
    except ValueError as err:
        raise BioSNNError(f"{what} episodes: {err}") from None


def _load(dataset, train_classes, test_classes, data_root, train=True):
    """(training set, test set, training class labels, test class labels) of a dataset.

    MNIST's test classes come from its test split; Omniglot has one pool of 1 623
    characters, split by class (both sets are the same tensors). ``train=False`` skips
    MNIST's training split (its training set is then ``None``)."""
    from ..embedder.data import ImageSet, load_mnist

    if dataset == "omniglot":
        from ..embedder.omniglot import load_omniglot, split_classes

        full = load_omniglot(data_root=data_root)
        images = ImageSet(images=full.images, labels=full.labels)
        try:
            return (images, images, split_classes(full, train_classes),
                    split_classes(full, test_classes))
        except ValueError as err:
            raise BioSNNError(str(err)) from None
    train_set = load_mnist(train=True, data_root=data_root) if train else None
    test_set = load_mnist(train=False, data_root=data_root)
    return train_set, test_set, parse_classes(train_classes), parse_classes(test_classes)


def _class_items(labels, classes):
    """Indices (ascending) of the items of ``classes``."""
    import torch

    return torch.nonzero(torch.isin(labels, torch.as_tensor(classes))).flatten()


def _pick_embed_items(labels, classes, per_class, generator):
    import torch

    picked = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise BioSNNError(f"n_embed_per_class = {per_class}, but test class {c} has only "
                              f"{len(idx)} images")
        picked.append(idx[torch.randperm(len(idx), generator=generator)[:per_class]])
    return torch.cat(picked)


def _tsne(x: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    """2-D t-SNE map (PCA initialisation, one thread: deterministic for a seed)."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto",
                    random_state=seed % 2**32).fit_transform(x.astype(np.float64))


@register
class FewShotProtoNet(TorchProtocol):
    """Few-shot classification: spiking prototypical network vs its ANN twin."""

    kind = "fewshot-protonet"
    headline = ("snn_test_accuracy", "ann_test_accuracy", "snn_s_per_task")
    figures = {
        "training-curve": "bioSNN.plots.fewshot:plot_training_curve",
        "accuracy": "bioSNN.plots.fewshot:plot_accuracy",
        "embedding-map": "bioSNN.plots.fewshot:plot_embedding_map",
        "firing-rates": "bioSNN.plots.fewshot:plot_firing_rates",
    }
    Params = FewShotParams
    uses_data = True

    def simulate(self, ctx):
        import torch

        from ..embedder.csnn import ANNEmbedder, CSNN, LAYER_NAMES
        from ..embedder.augment import RotatedClasses
        from ..embedder.checkpoint import state_dict_bytes
        from ..embedder.evaluate import embed, evaluate
        from ..embedder.train import meta_train  # looked up at run time (tests wrap it)

        p = self.params
        name = self.spec.name
        show = ctx.progress
        train_set, test_set, train_classes, test_classes = _load(p.dataset, p.train_classes,
                                                                 p.test_classes, ctx.data_root)
        stride = _LABEL_STRIDE[p.dataset]
        g = ctx.streams.torch_generator()
        (seed_init, seed_train, seed_split, seed_val, seed_test,
         seed_embed) = torch.randint(0, 2**62, (_N_SEEDS,), generator=g).tolist()
        # drawn after the six above, so adding it left their values unchanged
        seed_cross = int(torch.randint(0, 2**62, (1,), generator=g))

        train_idx, val_idx = _split_validation(train_set.labels, train_classes, p.val_fraction,
                                               torch.Generator().manual_seed(seed_split))
        source = RotatedClasses(train_set.images[train_idx], train_set.labels[train_idx],
                                p.rotation_classes, label_stride=stride)
        train_sampler = _sampler(source.labels, p, None, "training", n_way=p.train_way,
                                 n_query=p.train_query)
        val = None
        if p.val_every:
            val = (train_set.images[val_idx],
                   _sampler(train_set.labels[val_idx], p, None, "validation"),
                   seed_val, p.n_val_episodes)
        if p.test_rotation_classes == 1:
            test_images = test_set.images
            test_sampler = _sampler(test_set.labels, p, test_classes, "test")
            test_sampler2 = p.also_test_way and _sampler(test_set.labels, p, test_classes,
                                                         "test", n_way=p.also_test_way)
        else:
            test_idx = _class_items(test_set.labels, test_classes)
            test_images = RotatedClasses(test_set.images[test_idx], test_set.labels[test_idx],
                                         p.test_rotation_classes, label_stride=stride)
            test_sampler = _sampler(test_images.labels, p, None, "test")
            test_sampler2 = p.also_test_way and _sampler(test_images.labels, p, None, "test",
                                                         n_way=p.also_test_way)
        embed_classes = test_classes
        if p.n_embed_classes:
            pick = torch.randperm(len(test_classes),
                                  generator=torch.Generator().manual_seed(seed_embed + 1))
            embed_classes = sorted(test_classes[i] for i in pick[:p.n_embed_classes].tolist())
        embed_idx = _pick_embed_items(test_set.labels, embed_classes, p.n_embed_per_class,
                                      torch.Generator().manual_seed(seed_embed))
        embed_images = test_set.images[embed_idx]
        cross = None
        if p.cross_dataset:
            c = p.cross_dataset
            _, c_set, _, c_classes = _load(c, _CROSS_TEST_CLASSES[c] if c == "mnist" else
                                           "vinyals-train", _CROSS_TEST_CLASSES[c],
                                           ctx.data_root, train=False)
            try:
                from ..embedder.episodes import EpisodeSampler

                c_sampler = EpisodeSampler(c_set.labels, p.cross_way, p.cross_shot, p.n_query,
                                           classes=c_classes)
            except ValueError as err:
                raise BioSNNError(f"cross-dataset ({c}) test episodes: {err}") from None
            cross = (c_set.images, c_sampler)

        tc = p.train_config()
        ckdir = checkpoint_dir(self.spec, ctx.streams.seed)
        models = MODELS if p.baseline else MODELS[:1]
        out: dict[str, dict] = {}
        for m in models:
            cls = CSNN if m == "snn" else ANNEmbedder
            with torch.random.fork_rng():  # nn.Module construction draws from the global RNG
                model = cls(p.csnn_config(), generator=torch.Generator().manual_seed(seed_init))
            hist = meta_train(model, source, train_sampler,
                              torch.Generator().manual_seed(seed_train), tc, val=val,
                              checkpoint=ckdir / f"{m}.pt",
                              progress=f"{name} {m} train" if show else None)
            acc, test_ep_classes = evaluate(
                model, test_images, test_sampler, torch.Generator().manual_seed(seed_test),
                p.n_test_episodes, tc, progress=f"{name} {m} test" if show else None,
                return_classes=True)
            acc2 = None
            if p.also_test_way:  # its own episodes: the test stream, one draw further on
                acc2 = evaluate(model, test_images, test_sampler2,
                                torch.Generator().manual_seed(seed_test + 1),
                                p.n_test_episodes, tc,
                                progress=f"{name} {m} test {p.also_test_way}-way"
                                if show else None)
            cross_acc = None
            if cross is not None:
                cross_acc = evaluate(model, cross[0], cross[1],
                                     torch.Generator().manual_seed(seed_cross),
                                     p.n_test_episodes, tc,
                                     progress=f"{name} {m} test on {p.cross_dataset}"
                                     if show else None)
            if m == "snn":
                emb, counts = embed(model, embed_images, return_counts=True)
            else:
                emb, counts = embed(model, embed_images), None
            emb = emb.double().numpy()
            # the trained model is a result: <run>/<m>.pt, a plain state dict
            # (torch.load(..., weights_only=True); replay-crossval --set checkpoint=<run>)
            ctx.add_file(f"{m}.pt", state_dict_bytes(model))
            out[m] = {"hist": hist, "acc": acc, "emb": emb, "counts": counts,
                      "cross": cross_acc, "acc2": acc2, "map": _tsne(emb, p.tsne_perplexity, seed_embed)}

        # SNN and ANN drew the same training and test episodes (same seeds)
        data = _dataset(p, models, out, out["snn"]["hist"].classes, test_ep_classes,
                        test_set.labels[embed_idx].numpy(), LAYER_NAMES)
        shutil.rmtree(ckdir, ignore_errors=True)  # finished: nothing left to resume
        return data

    @staticmethod
    def summarize(data, params):
        return fewshot_features(data, params)


def _dataset(p, models, out, train_classes, test_classes, embed_labels, layer_names):
    n_models = len(models)
    hist = [out[m]["hist"] for m in models]
    val_task = hist[0].val_task
    data = xr.Dataset(
        {
            "train_loss": (("model", "task"), np.stack([h.loss for h in hist]),
                           {"units": "1", "long_name": "query cross-entropy of each training task"}),
            "train_accuracy": (("model", "task"), np.stack([h.accuracy for h in hist]),
                               {"units": "1", "long_name": "query accuracy of each training task "
                                "(before its update)"}),
            "train_episode_classes": (("task", "train_way"), train_classes,
                                      {"units": "1", "long_name": "dataset class of each way of "
                                       "each training episode (+label stride per rotation "
                                       "step for rotation classes: 10 for MNIST, 1623 for "
                                       "Omniglot)"}),
            "val_accuracy": (("model", "val_point"),
                             np.stack([h.val_accuracy for h in hist]).reshape(n_models, -1),
                             {"units": "1", "long_name": "mean validation-episode accuracy"}),
            "kept_task": ("model", np.array([h.kept_task for h in hist], dtype=np.int64),
                          {"units": "1", "long_name": "tasks trained by the tested weights"}),
            "train_time": ("model", np.array([h.wall_time_s for h in hist]),
                           {"units": "s", "long_name": "meta-training wall time (all segments)"}),
            "test_accuracy": (("model", "episode"), np.stack([out[m]["acc"] for m in models]),
                              {"units": "1", "long_name": "query accuracy of each test episode"}),
            "test_episode_classes": (("episode", "way"), test_classes,
                                     {"units": "1", "long_name": "dataset class of each way of "
                                      "each test episode (+label stride per rotation step for "
                                      "rotation classes)"}),
            "embedding": (("model", "item", "embedding_dim"),
                          np.stack([out[m]["emb"] for m in models]),
                          {"units": "1", "long_name": "embedding of test images (SNN: mean "
                           "membrane potential, threshold units)"}),
            "embedding_map": (("model", "item", "map_axis"),
                              np.stack([out[m]["map"] for m in models]),
                              {"units": "1", "long_name": "t-SNE map of the embeddings"}),
            "embed_label": ("item", embed_labels.astype(np.int64),
                            {"units": "1", "long_name": "class of each embedded test image"}),
        },
        coords={
            "model": ("model", list(models), {"units": "1"}),
            "task": ("task", np.arange(1, p.n_train_tasks + 1), {"units": "1"}),
            "val_task": ("val_point", val_task.astype(np.int64),
                         {"units": "1", "long_name": "tasks trained at each validation"}),
            "episode": ("episode", np.arange(p.n_test_episodes), {"units": "1"}),
            "map_axis": ("map_axis", ["x", "y"], {"units": "1"}),
        },
    )
    counts = out["snn"]["counts"]
    n_images = len(embed_labels)
    dt_s = float(p.dt / second)
    for layer in layer_names:
        rate = counts[layer].double().flatten().numpy() / (n_images * p.num_steps * dt_s)
        data[f"rate_{layer}"] = ((f"{layer}_neuron",), rate,
                                 {"units": "Hz", "long_name": f"firing rate of each {layer} "
                                  f"neuron over the embedded test images"})
    if p.also_test_way:
        w = p.also_test_way
        data[f"test_accuracy_{w}way"] = (
            ("model", "episode"), np.stack([out[m]["acc2"] for m in models]),
            {"units": "1", "long_name": f"query accuracy of each {w}-way test episode (the "
             f"same trained embedders, episodes of their own)"})
        data.attrs["also_test_way"] = w
    if p.cross_dataset:
        data["cross_test_accuracy"] = (
            ("model", "cross_episode"), np.stack([out[m]["cross"] for m in models]),
            {"units": "1", "long_name": f"query accuracy of each {p.cross_way}-way "
             f"{p.cross_shot}-shot test episode on {p.cross_dataset} (cross-dataset)"})
    data.attrs.update({"layers": ",".join(layer_names), "dt_ms": float(p.dt / ms),
                       "dataset": p.dataset, "label_stride": _LABEL_STRIDE[p.dataset]})
    return data




def fewshot_features(data: xr.Dataset, params: FewShotParams) -> dict:
    """Headline numbers of a few-shot run (pure function of the saved data).

    Accuracies are fractions (0-1); ``*_ci95`` are half-widths of the 95 % confidence
    interval of the mean over test episodes (:func:`bioSNN.stats.ci95`, Student t). ``snn_minus_ann`` is
    the paired difference (same test episodes) with its own interval.
    """
    out: dict = {
        "dataset": params.dataset,
        "n_way": params.n_way, "train_way": params.train_way or params.n_way,
        "k_shot": params.k_shot, "n_query": params.n_query,
        "train_classes": params.train_classes, "test_classes": params.test_classes,
        "n_train_tasks": int(data.sizes["task"]), "n_test_episodes": int(data.sizes["episode"]),
        "num_steps": params.num_steps, "dt_ms": float(params.dt / ms),
        "tau_m_ms": float(params.tau_m / ms),
    }
    models = [str(m) for m in data["model"].values]
    acc = {m: data["test_accuracy"].sel(model=m).values for m in models}
    for m in models:
        out[f"{m}_test_accuracy"] = float(acc[m].mean())
        out[f"{m}_test_ci95"] = ci95(acc[m])
    for m in models:
        train_acc = data["train_accuracy"].sel(model=m).values
        out[f"{m}_final_train_accuracy"] = float(np.nanmean(train_acc[-100:]))
        val = data["val_accuracy"].sel(model=m).values
        out[f"{m}_best_val_accuracy"] = float(val.max()) if val.size else None
        out[f"{m}_kept_task"] = int(data["kept_task"].sel(model=m))
        out[f"{m}_s_per_task"] = float(data["train_time"].sel(model=m)) / data.sizes["task"]
    if "ann" in models:
        diff = acc["snn"] - acc["ann"]
        out["snn_minus_ann"] = float(diff.mean())
        out["snn_minus_ann_ci95"] = ci95(diff)
        out["snn_at_least_ann"] = bool(diff.mean() >= 0)
    layers = data.attrs.get("layers", "lif1,lif2,lif3").split(",")
    for layer in layers:
        rate = data[f"rate_{layer}"].values
        out[f"rate_{layer}_Hz"] = float(rate.mean())
        out[f"median_rate_{layer}_Hz"] = float(np.median(rate))
        out[f"silent_fraction_{layer}"] = float((rate == 0).mean())
    w = int(data.attrs.get("also_test_way", 0))
    if w:
        acc2 = {m: data[f"test_accuracy_{w}way"].sel(model=m).values for m in models}
        for m in models:
            out[f"{m}_test_accuracy_{w}way"] = float(acc2[m].mean())
            out[f"{m}_test_ci95_{w}way"] = ci95(acc2[m])
        if "ann" in models:
            diff = acc2["snn"] - acc2["ann"]
            out[f"snn_minus_ann_{w}way"] = float(diff.mean())
            out[f"snn_minus_ann_ci95_{w}way"] = ci95(diff)
    if "cross_test_accuracy" in data:
        out["cross_dataset"] = params.cross_dataset
        for m in models:
            cross = data["cross_test_accuracy"].sel(model=m).values
            out[f"{m}_cross_test_accuracy"] = float(cross.mean())
            out[f"{m}_cross_test_ci95"] = ci95(cross)
    stride = int(data.attrs.get("label_stride", 10))
    train_seen = np.unique(data["train_episode_classes"].values % stride)
    test_seen = np.unique(data["test_episode_classes"].values % stride)
    out["n_train_classes_seen"] = int(len(train_seen))
    out["n_test_classes_seen"] = int(len(test_seen))
    if stride == 10:  # the digits themselves
        out["train_classes_seen"] = ",".join(map(str, train_seen))
        out["test_classes_seen"] = ",".join(map(str, np.unique(data["test_episode_classes"].values)))
    return out
