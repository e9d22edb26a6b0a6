r"""Episodic meta-training of an embedder with prototypical networks: schedule, augmentation,
validation with early stopping, periodic checkpoints and exact resume.

The loop (:func:`meta_train`) draws one N-way K-shot episode per task from an
:class:`~bioSNN.embedder.episodes.EpisodeSampler`, embeds support and query images in one
batch, and takes one Adam step on the prototypical-network loss (Snell et al. 2017). The
logits of a query :math:`q` against the prototype :math:`c_k` are

.. math::

    z_k = -\frac{d(\hat q, \hat c_k)}{T}, \qquad
    \hat e = \begin{cases} e / \lVert e \rVert_2 & \text{(normalize)} \\ e & \text{otherwise}
    \end{cases}

with :math:`d` the Euclidean or squared Euclidean distance, prototypes the mean of the
(normalised) support embeddings and :math:`T` a fixed temperature (Oreshkin et al. 2018
call :math:`1/T` the metric scale; with unit-norm embeddings the squared distance is
:math:`2 - 2\cos`).

Optional parts, all documented in :class:`TrainConfig`:

* **augmentation** of every training image by a random affine map (rotation, scale,
  translation; :func:`augment`) drawn from the training generator;
* **rotation classes**: each training class rotated by 90°, 180°, 270° counts as a new
  class (:class:`RotatedClasses`), the class augmentation of Santoro et al. (2016),
  Vinyals et al. (2016) and Snell et al. (2017) on Omniglot;
* a cosine learning-rate schedule and Adam weight decay;
* **validation** every ``val_every`` tasks on fixed episodes from held-out images, and
  **early stopping** (the weights with the best validation accuracy are kept).

Checkpoints (:func:`save_checkpoint`) hold only tensors and plain containers (model and
optimiser state dicts, the generator state as a uint8 tensor, counters and curves), so
they load with ``torch.load(weights_only=True)``. Every random draw of the loop comes
from the one ``generator`` (and the validation episodes from their own fixed seed), and
the learning rate is a pure function of the task index, so a run resumed from a checkpoint
ends with exactly the weights of an uninterrupted run with the same seed (same thread
count, same machine).

References
----------
J. Snell, K. Swersky, R. Zemel (2017) Prototypical networks for few-shot learning. NeurIPS 30.
B. Oreshkin, P. Rodríguez López, A. Lacoste (2018) TADAM: task dependent adaptive metric
for improved few-shot learning. NeurIPS 31.
A. Santoro et al. (2016) Meta-learning with memory-augmented neural networks. ICML.
O. Vinyals et al. (2016) Matching networks for one shot learning. NeurIPS 29.
I. Loshchilov, F. Hutter (2017) SGDR: stochastic gradient descent with warm restarts. ICLR.
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
import io
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BioSNNError
from .allocator import keep_heap
from .data import MNIST_MEAN, MNIST_STD
from .episodes import Episode, EpisodeSampler
from .protonet import proto_logits, prototypes

__all__ = ["torch_threads", "compute_settings", "Augmentation", "TrainConfig", "TrainHistory",
           "RotatedClasses", "augment", "episode_logits", "meta_train", "evaluate", "embed", "lr_at",
           "save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT", "DISTANCES",
           "LR_SCHEDULES", "MNIST_BACKGROUND"]

DISTANCES = ("euclidean", "squared-euclidean")
LR_SCHEDULES = ("constant", "cosine")
CHECKPOINT_FORMAT = 1
#: A black MNIST pixel after normalisation, (0 - mean) / std: the value outside the image.
MNIST_BACKGROUND = -MNIST_MEAN / MNIST_STD


@dataclass(frozen=True)
class Augmentation:
    """Random affine augmentation of training images (off when all ranges are 0).

    Parameters
    ----------
    rotate_deg : float
        Rotation angle drawn uniformly in ``[-rotate_deg, rotate_deg]`` degrees.
    scale : float
        Zoom factor drawn uniformly in ``[1 - scale, 1 + scale]``.
    shift_px : float
        Translation along each axis drawn uniformly in ``[-shift_px, shift_px]`` pixels.
    background : float
        Value of pixels that come from outside the image.
    """

    rotate_deg: float = 0.0
    scale: float = 0.0
    shift_px: float = 0.0
    background: float = MNIST_BACKGROUND

    def __post_init__(self):
        if self.rotate_deg < 0 or self.shift_px < 0 or not 0 <= self.scale < 1:
            raise ValueError(f"augmentation ranges must be >= 0 (scale < 1), got {self}")

    @property
    def active(self) -> bool:
        return bool(self.rotate_deg or self.scale or self.shift_px)


def augment(images: torch.Tensor, aug: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """Apply one random affine map per image (bilinear resampling).

    Parameters
    ----------
    images : torch.Tensor
        ``(B, C, H, W)``.
    aug : Augmentation
        Ranges; when inactive, ``images`` is returned unchanged and nothing is drawn.
    generator : torch.Generator
        Source of the 4 uniform numbers drawn per image (angle, scale, x and y shift).

    Returns
    -------
    torch.Tensor
        ``(B, C, H, W)``: output pixel :math:`p` takes the input at
        :math:`R(\\alpha)^{-1} p / s - t` (about the image centre).
    """
    if not aug.active:
        return images
    b, _, h, w = images.shape
    u = torch.rand(b, 4, generator=generator, dtype=images.dtype) * 2 - 1
    angle = u[:, 0] * math.radians(aug.rotate_deg)
    inv_scale = 1.0 / (1.0 + u[:, 1] * aug.scale)
    cos, sin = torch.cos(angle) * inv_scale, torch.sin(angle) * inv_scale
    theta = torch.stack([torch.stack([cos, -sin, u[:, 2] * aug.shift_px * 2 / w], 1),
                         torch.stack([sin, cos, u[:, 3] * aug.shift_px * 2 / h], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images - aug.background, grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    return out + aug.background


class RotatedClasses:
    """A labelled image set in which each class rotated by ``k * 360° / n_rotations`` is a
    new class (class augmentation; Santoro et al. 2016, Snell et al. 2017).

    Item ``r * N + i`` is image ``i`` rotated by ``r`` quarter turns (``n_rotations = 4``)
    or half turns (``n_rotations = 2``), with label ``r * label_stride + label[i]``.
    Rotations are applied when items are fetched (``rotated[indices]``), so nothing is
    copied.

    Parameters
    ----------
    images : torch.Tensor
        ``(N, C, H, W)`` with ``H == W``.
    labels : torch.Tensor
        int64 ``(N,)``, values in ``0 .. label_stride - 1``.
    n_rotations : {1, 2, 4}
        Number of orientations per class (1: the set itself).
    label_stride : int
        Offset between the labels of successive orientations (e.g. 10 for digits).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, n_rotations: int,
                 label_stride: int):
        if n_rotations not in (1, 2, 4):
            raise ValueError(f"n_rotations must be 1, 2 or 4, got {n_rotations}")
        if labels.numel() and int(labels.max()) >= label_stride:
            raise ValueError(f"labels must lie below label_stride = {label_stride}")
        self.images, self.n_rotations = images, n_rotations
        self._quarter_turns = 4 // n_rotations
        self.labels = torch.cat([labels + r * label_stride for r in range(n_rotations)])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, indices: torch.Tensor) -> torch.Tensor:
        n = len(self.images)
        base, rot = indices % n, indices // n
        out = self.images[base]
        for r in range(1, self.n_rotations):
            mask = rot == r
            if bool(mask.any()):
                out[mask] = torch.rot90(out[mask], r * self._quarter_turns, dims=(2, 3))
        return out


@dataclass(frozen=True)
class TrainConfig:
    """How :func:`meta_train` trains.

    Parameters
    ----------
    n_tasks : int
        Number of episodes (one Adam step each).
    lr : float
        Adam learning rate (peak of the schedule).
    lr_schedule : {"constant", "cosine"}
        ``cosine``: :math:`\\eta_i = \\eta\\,(1 + \\cos(\\pi i / n))/2` at task ``i`` (0-based),
        without restarts (Loshchilov & Hutter 2017).
    weight_decay : float
        Adam's L2 penalty coefficient.
    distance : {"euclidean", "squared-euclidean"}
        Distance between query and prototype embeddings.
    normalize : bool
        L2-normalise embeddings before computing prototypes and distances.
    temperature : float
        The logits are minus the distance divided by ``temperature`` (> 0).
    augmentation : Augmentation
        Random affine augmentation of support and query images during training.
    val_every : int
        Evaluate on the validation episodes every ``val_every`` tasks and at the end
        (0: never).
    early_stopping : bool
        Keep the weights with the best validation accuracy (ties: the earlier).
    checkpoint_every : int
        Write a checkpoint every ``checkpoint_every`` tasks and at the end (0: never).
    """

    n_tasks: int
    lr: float = 1e-3
    lr_schedule: str = "constant"
    weight_decay: float = 0.0
    distance: str = "euclidean"
    normalize: bool = False
    temperature: float = 1.0
    augmentation: Augmentation = field(default_factory=Augmentation)
    val_every: int = 0
    early_stopping: bool = False
    checkpoint_every: int = 0

    def __post_init__(self):
        if self.n_tasks < 0:
            raise ValueError(f"n_tasks must be >= 0, got {self.n_tasks}")
        if self.distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, got {self.distance!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.early_stopping and not self.val_every:
            raise ValueError("early_stopping needs validation (val_every > 0)")


@dataclass
class TrainHistory:
    """What :func:`meta_train` recorded.

    Attributes
    ----------
    loss, accuracy : numpy.ndarray
        Query loss and accuracy of every training task, ``(n_tasks,)`` (before its update).
    classes : numpy.ndarray
        Dataset label of each way of every training episode, int ``(n_tasks, n_way)``.
    val_task : numpy.ndarray
        Number of tasks trained when each validation was made, int ``(n_val,)``.
    val_accuracy : numpy.ndarray
        Mean validation accuracy at those points, ``(n_val,)``.
    kept_task : int
        Number of tasks trained by the returned weights (``n_tasks`` unless early stopping
        chose an earlier validation point).
    wall_time_s : float
        Training time in seconds, summed over interrupted and resumed segments
        (validation included).
    resumed_from : int
        Task count of the checkpoint this call started from (0: from scratch).
    """

    loss: np.ndarray
    accuracy: np.ndarray
    classes: np.ndarray
    val_task: np.ndarray
    val_accuracy: np.ndarray
    kept_task: int
    wall_time_s: float
    resumed_from: int = 0


@contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads (0: leave the setting alone);
    the previous setting is restored afterwards."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def compute_settings(threads: int):
    """The embedder protocols' settings for a block of torch work: ``threads`` intra-op
    threads (:func:`torch_threads`) and large freed tensors kept in the heap
    (:func:`~bioSNN.embedder.allocator.keep_heap`; process-wide, speed only)."""
    keep_heap()
    with torch_threads(threads):
        yield


def lr_at(config: TrainConfig, task: int) -> float:
    """Learning rate of 0-based task ``task`` under ``config``'s schedule."""
    if config.lr_schedule == "cosine" and config.n_tasks > 0:
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * task / config.n_tasks))
    return config.lr


def episode_logits(embeddings: torch.Tensor, episode: Episode, config: TrainConfig) -> torch.Tensor:
    """Query logits ``(Q, n_way)`` from the embeddings of ``[support; query]``.

    See the module docstring for the formula.
    """
    if config.normalize:
        embeddings = F.normalize(embeddings, dim=1)
    n_support = len(episode.support)
    protos = prototypes(embeddings[:n_support], episode.support_labels, episode.n_way)
    logits = proto_logits(embeddings[n_support:], protos,
                          squared=config.distance == "squared-euclidean")
    return logits / config.temperature if config.temperature != 1.0 else logits


def _episode_images(images, episode: Episode) -> torch.Tensor:
    return images[torch.cat([episode.support, episode.query])]


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` (tensors and plain containers only) atomically with ``torch.save``."""
    from ..results import atomic_write_bytes

    buf = io.BytesIO()
    torch.save(state, buf)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises
    ------
    BioSNNError
        If the file cannot be read as a bioSNN checkpoint.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle refused by weights_only, ...
        raise BioSNNError(f"checkpoint {path} cannot be loaded ({type(exc).__name__}: "
                          f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}); "
                          f"delete it to start again") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise BioSNNError(f"checkpoint {path} is not a bioSNN meta-training checkpoint of "
                          f"format {CHECKPOINT_FORMAT}; delete it to start again")
    return state


class _Progress:
    """tqdm bar on stderr: task i/N, running loss and accuracy (last 50 tasks), rate."""

    def __init__(self, desc: str | None, total: int, initial: int):
        self.bar = None
        if desc:
            from ..progress import bar

            self.bar = bar(total, desc, unit="task", initial=initial)

    def update(self, loss: np.ndarray, acc: np.ndarray, val: float | None = None):
        if self.bar is not None:
            post = {"loss": f"{loss[-50:].mean():.3f}", "acc": f"{100 * acc[-50:].mean():.1f}%"}
            if val is not None:
                post["val"] = f"{100 * val:.1f}%"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _validate(model, val, config: TrainConfig) -> float:
    images, sampler, seed, n_episodes = val
    return float(evaluate(model, images, sampler, torch.Generator().manual_seed(seed),
                          n_episodes, config).mean())


def meta_train(
    model: nn.Module,
    images,
    sampler: EpisodeSampler,
    generator: torch.Generator,
    config: TrainConfig,
    *,
    val: tuple | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: str | None = None,
    on_task: Callable[[int, float, float], None] | None = None,
) -> TrainHistory:
    """Meta-train ``model`` on ``config.n_tasks`` episodes; resume from ``checkpoint``.

    Parameters
    ----------
    model : nn.Module
        Embedder ``(B, C, H, W) -> (B, D)``; trained in place (its initial weights must be
        the same on every call with a given checkpoint path).
    images : torch.Tensor or RotatedClasses
        Image source indexed by the sampler's item indices.
    sampler : EpisodeSampler
        Training episodes.
    generator : torch.Generator
        Source of episodes and augmentation; advanced (its state is checkpointed).
    config : TrainConfig
    val : tuple (images, sampler, seed, n_episodes), optional
        Validation episodes, drawn anew from ``seed`` at every validation (the same
        episodes every time). Needed when ``config.val_every > 0``.
    checkpoint : path, optional
        Checkpoint file. If it exists, training resumes from it (model, optimiser,
        generator, curves); it is rewritten every ``config.checkpoint_every`` tasks and
        at the end.
    progress : str, optional
        Description of a tqdm progress bar on stderr (None: no bar).
    on_task : callable, optional
        Called as ``on_task(i, loss, accuracy)`` after task ``i`` (1-based) and any
        checkpoint of that task; an exception raised there interrupts training (tests).

    Returns
    -------
    TrainHistory
    """
    c = config
    if c.val_every and val is None:
        raise ValueError("config.val_every > 0 needs val=(images, sampler, seed, n_episodes)")
    optimizer = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    loss_curve = np.full(c.n_tasks, np.nan)
    acc_curve = np.full(c.n_tasks, np.nan)
    class_curve = np.full((c.n_tasks, sampler.n_way), -1, dtype=np.int64)
    val_task: list[int] = []
    val_acc: list[float] = []
    best_val, best_task, best_state = -math.inf, 0, None
    start, elapsed = 0, 0.0
    if checkpoint is not None and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint)
        if int(state["n_tasks"]) != c.n_tasks:
            raise BioSNNError(f"checkpoint {checkpoint} was written for {int(state['n_tasks'])} "
                              f"tasks, not {c.n_tasks}; delete it to start again")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise BioSNNError(f"checkpoint {checkpoint} does not fit this model "
                              f"({str(exc).strip().splitlines()[0]}); delete it to start again"
                              ) from None
        generator.set_state(state["generator"])
        start = int(state["task"])
        elapsed = float(state["elapsed_s"])
        loss_curve[:start] = state["loss"].numpy()[:start]
        acc_curve[:start] = state["accuracy"].numpy()[:start]
        class_curve[:start] = state["classes"].numpy()[:start]
        val_task = state["val_task"].tolist()
        val_acc = state["val_accuracy"].tolist()
        best_val, best_task = float(state["best_val"]), int(state["best_task"])
        best_state = state["best_model"] or None

    def snapshot(task: int) -> dict:
        return {
            "format": CHECKPOINT_FORMAT, "task": task, "n_tasks": c.n_tasks,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "generator": generator.get_state(), "elapsed_s": elapsed,
            "loss": torch.from_numpy(loss_curve.copy()),
            "accuracy": torch.from_numpy(acc_curve.copy()),
            "classes": torch.from_numpy(class_curve.copy()),
            "val_task": torch.tensor(val_task, dtype=torch.int64),
            "val_accuracy": torch.tensor(val_acc, dtype=torch.float64),
            "best_val": best_val, "best_task": best_task, "best_model": best_state or {},
        }

    bar = _Progress(progress, c.n_tasks, start)
    try:
        for i in range(start, c.n_tasks):
            t0 = time.perf_counter()
            episode = sampler.sample(generator)
            class_curve[i] = episode.classes.numpy()
            batch = augment(_episode_images(images, episode), c.augmentation, generator)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(c, i)
            model.train()
            optimizer.zero_grad()
            logits = episode_logits(model(batch), episode, c)
            loss = F.cross_entropy(logits, episode.query_labels)
            loss.backward()
            optimizer.step()
            loss_curve[i] = loss.item()
            acc_curve[i] = (logits.detach().argmax(1) == episode.query_labels).double().mean().item()
            done = i + 1
            v = None
            if c.val_every and (done % c.val_every == 0 or done == c.n_tasks):
                v = _validate(model, val, c)
                val_task.append(done)
                val_acc.append(v)
                if v > best_val:
                    best_val, best_task = v, done
                    if c.early_stopping:
                        best_state = copy.deepcopy(model.state_dict())
            elapsed += time.perf_counter() - t0
            if checkpoint is not None and ((c.checkpoint_every and done % c.checkpoint_every == 0)
                                           or done == c.n_tasks):
                save_checkpoint(checkpoint, snapshot(done))
            bar.update(loss_curve[: done], acc_curve[: done], v)
            if on_task is not None:
                on_task(done, loss_curve[i], acc_curve[i])
    finally:
        bar.close()
    kept = c.n_tasks
    if c.early_stopping and best_state is not None:
        model.load_state_dict(best_state)
        kept = best_task
    return TrainHistory(loss=loss_curve, accuracy=acc_curve, classes=class_curve,
                        val_task=np.asarray(val_task, dtype=np.int64),
                        val_accuracy=np.asarray(val_acc, dtype=float), kept_task=kept,
                        wall_time_s=elapsed, resumed_from=start)


@torch.no_grad()
def evaluate(model: nn.Module, images, sampler: EpisodeSampler, generator: torch.Generator,
             n_episodes: int, config: TrainConfig, progress: str | None = None,
             return_classes: bool = False, batch_size: int = 250):
    """Query accuracy of ``n_episodes`` episodes (no gradient, no augmentation).

    All episodes are drawn first; every image they use is embedded once (in batches of
    ``batch_size``, in index order), and each episode is scored from those embeddings.
    The embedders have no batch-dependent layers, so this is the same computation as
    embedding episode by episode (up to float32 rounding, which kernels may block
    differently for other batch sizes), at a fraction of the cost when episodes share
    images: 600 test episodes of 100 images draw on ~5,000-10,000 MNIST test images.

    Returns
    -------
    accuracy : numpy.ndarray
        Accuracy of each episode, ``(n_episodes,)``.
    classes : numpy.ndarray
        Only with ``return_classes``: dataset label of each way of each episode, int
        ``(n_episodes, n_way)``.
    """
    episodes = [sampler.sample(generator) for _ in range(n_episodes)]
    needed = [torch.cat([e.support, e.query]) for e in episodes]
    items = torch.unique(torch.cat(needed)) if needed else torch.zeros(0, dtype=torch.int64)
    emb = embed(model, images[items], batch_size=batch_size, progress=progress)
    position = torch.full((int(items.max()) + 1 if len(items) else 0,), -1, dtype=torch.int64)
    position[items] = torch.arange(len(items))
    out = np.empty(n_episodes)
    classes = np.empty((n_episodes, sampler.n_way), dtype=np.int64)
    for k, (episode, idx) in enumerate(zip(episodes, needed)):
        classes[k] = episode.classes.numpy()
        logits = episode_logits(emb[position[idx]], episode, config)
        out[k] = (logits.argmax(1) == episode.query_labels).double().mean().item()
    return (out, classes) if return_classes else out


@torch.no_grad()
def embed(model: nn.Module, images: torch.Tensor, batch_size: int = 250,
          return_counts: bool = False, progress: str | None = None):
    """Embeddings of ``images`` in batches (no gradient).

    Parameters
    ----------
    model : nn.Module
        Embedder; with ``return_counts`` a :class:`~bioSNN.embedder.csnn.CSNN`.
    images : torch.Tensor
        ``(N, C, H, W)``.
    return_counts : bool
        Also return each layer's spike counts summed over the images, per neuron.
    progress : str, optional
        Description of a tqdm progress bar over the images (None: no bar).

    Returns
    -------
    embeddings : torch.Tensor
        ``(N, D)``.
    counts : dict of str to torch.Tensor
        Only with ``return_counts``: per layer, spikes of each neuron summed over the
        ``N`` images and all time steps (shape of one image's layer output).
    """
    model.eval()
    parts, totals = [], {}
    bar = None
    if progress:
        from ..progress import bar as progress_bar

        bar = progress_bar(len(images), progress, unit="image")
    try:
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            if return_counts:
                e, counts = model(x, return_counts=True)
                for name, n in counts.items():
                    totals[name] = totals.get(name, 0) + n.sum(0)
            else:
                e = model(x)
            parts.append(e)
            if bar is not None:
                bar.update(len(x))
    finally:
        if bar is not None:
            bar.close()
    emb = torch.cat(parts) if parts else images.new_zeros(0, 0)
    return (emb, totals) if return_counts else emb
