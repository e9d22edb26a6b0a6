"""Augmentation of meta-training images: a random affine map per image
(:func:`augment`) and rotation classes (:class:`RotatedClasses`, each class turned by
90/180/270 degrees counts as a new class; Santoro et al. 2016, Snell et al. 2017).

References
----------
A. Santoro et al. (2016) Meta-learning with memory-augmented neural networks. ICML.
J. Snell, K. Swersky, R. Zemel (2017) Prototypical networks for few-shot learning. NeurIPS 30.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import MNIST_MEAN, MNIST_STD

__all__ = ["Augmentation", "RotatedClasses", "augment", "MNIST_BACKGROUND"]

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
