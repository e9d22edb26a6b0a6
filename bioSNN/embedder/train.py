"""Episodic meta-training of an embedder as a prototypical network (Snell et al. 2017):
one Adam step per N-way K-shot episode, with a learning-rate schedule, validation with
early stopping, and checkpoints from which a run resumes exactly (:func:`meta_train`).
The loop, its options and the resume guarantee are described in ``docs/embedder.md``.

References
----------
J. Snell, K. Swersky, R. Zemel (2017) Prototypical networks for few-shot learning. NeurIPS 30.
I. Loshchilov, F. Hutter (2017) SGDR: stochastic gradient descent with warm restarts. ICLR.
"""
from __future__ import annotations

import copy
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
from .activity import activity_penalty
from .augment import Augmentation, augment
from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from .episodes import Episode, EpisodeSampler
from .evaluate import episode_logits, evaluate

__all__ = ["TrainConfig", "TrainHistory", "meta_train", "lr_at", "DISTANCES", "LR_SCHEDULES"]

DISTANCES = ("euclidean", "squared-euclidean")
LR_SCHEDULES = ("constant", "cosine")


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
    rate_penalty : float
        Weight :math:`\\lambda` of the activity penalty
        (:func:`bioSNN.embedder.activity.activity_penalty`) added to the loss of models
        that have ``forward_activity`` (the CSNN; the ANN has no spikes); 0: off. The
        recorded loss curve stays the cross-entropy.
    rate_min, rate_max : float
        The penalty's bounds in spikes per step (rate x dt); 0 leaves a bound out.
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
    rate_penalty: float = 0.0
    rate_min: float = 0.0
    rate_max: float = 0.0

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
        if self.rate_penalty < 0:
            raise ValueError(f"rate_penalty must be >= 0, got {self.rate_penalty}")
        if self.rate_penalty:
            if not 0 <= self.rate_min < 1 or not 0 <= self.rate_max <= 1 or \
                    not (self.rate_min or self.rate_max) or \
                    (self.rate_max and self.rate_min >= self.rate_max):
                raise ValueError(f"rate_penalty needs 0 <= rate_min < rate_max <= 1 spikes "
                                 f"per step (either may be 0, not both), got "
                                 f"rate_min={self.rate_min}, rate_max={self.rate_max}")


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


def lr_at(config: TrainConfig, task: int) -> float:
    """Learning rate of 0-based task ``task`` under ``config``'s schedule."""
    if config.lr_schedule == "cosine" and config.n_tasks > 0:
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * task / config.n_tasks))
    return config.lr


def _episode_images(images, episode: Episode) -> torch.Tensor:
    return images[torch.cat([episode.support, episode.query])]


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
            penalty = None
            if c.rate_penalty and hasattr(model, "forward_activity"):
                emb, rates = model.forward_activity(batch)
                penalty = c.rate_penalty * activity_penalty(rates, c.rate_min, c.rate_max)
            else:
                emb = model(batch)
            logits = episode_logits(emb, episode, c)
            loss = F.cross_entropy(logits, episode.query_labels)
            (loss if penalty is None else loss + penalty).backward()
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
