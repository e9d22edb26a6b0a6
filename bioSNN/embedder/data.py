"""Image datasets for the embedders, loaded whole into tensors.

Where data is looked for (first match wins), see :func:`resolve_data_root`:

1. the explicit ``data_root`` argument (the CLI's ``--data-root DIR``);
2. the environment variable ``BIOSNN_DATA``;
3. the download cache :data:`DEFAULT_DATA_ROOT` (``~/.cache/bioSNN/data``).

The folder uses torchvision's layout (``<root>/MNIST/raw/train-images-idx3-ubyte`` ...).
A download is only attempted when the files are missing, downloading is allowed, and the
machine is online; otherwise :class:`bioSNN.errors.DataNotFoundError` says where we looked.

References
----------
Y. LeCun, C. Cortes, C. J. C. Burges. The MNIST database of handwritten digits.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import NamedTuple

import torch

from bioSNN.errors import DataNotFoundError

__all__ = [
    "mnist_pixels", "mnist_pixel_splits",
    "DATA_ENV_VAR", "DEFAULT_DATA_ROOT", "MNIST_MEAN", "MNIST_STD", "ImageSet",
    "resolve_data_root", "load_mnist", "try_download",
]

#: Environment variable naming the data folder.
DATA_ENV_VAR = "BIOSNN_DATA"
#: Where datasets are downloaded when neither ``data_root`` nor ``BIOSNN_DATA`` is given.
DEFAULT_DATA_ROOT = Path("~/.cache/bioSNN/data")
#: Mean and standard deviation of the MNIST training pixels (in [0, 1]).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def mnist_pixels(images):
    """Normalised MNIST images (``load_mnist``'s) back to pixel intensities in [0, 1]."""
    return (images * MNIST_STD + MNIST_MEAN).clamp_(0, 1)


def mnist_pixel_splits(data_root, seed: int, max_train: int = 0, max_test: int = 0):
    """MNIST as pixel intensities in [0, 1]: ``(x_train, y_train, x_test, y_test)``.

    Training images: the first ``max_train`` of a permutation drawn from ``seed`` (all
    60 000 when 0, in that order); test images: the first ``max_test`` in file order (all
    10 000 when 0). Images ``(N, 1, 28, 28)`` float32, labels int64.
    """
    import torch

    train, test = load_mnist(True, data_root), load_mnist(False, data_root)
    order = torch.randperm(len(train.labels), generator=torch.Generator().manual_seed(seed))
    if max_train:
        order = order[:max_train]
    n_test = max_test or len(test.labels)
    return (mnist_pixels(train.images[order]), train.labels[order],
            mnist_pixels(test.images[:n_test]), test.labels[:n_test])


_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_MNIST_HOST = ("ossci-datasets.s3.amazonaws.com", 443)  # torchvision's first mirror


class ImageSet(NamedTuple):
    """A whole dataset split in memory.

    Attributes
    ----------
    images : torch.Tensor
        float32 ``(N, C, H, W)``, normalised.
    labels : torch.Tensor
        int64 ``(N,)``.
    """

    images: torch.Tensor
    labels: torch.Tensor


def resolve_data_root(data_root: str | os.PathLike | None = None) -> Path:
    """The data folder: ``data_root`` if given, else ``$BIOSNN_DATA``, else the cache.

    Parameters
    ----------
    data_root : str or path-like, optional
        Explicit folder (``--data-root DIR``).

    Returns
    -------
    pathlib.Path
        The folder (``~`` expanded); it need not exist.
    """
    if data_root is not None and str(data_root) != "":
        return Path(data_root).expanduser()
    env = os.environ.get(DATA_ENV_VAR, "")
    if env:
        return Path(env).expanduser()
    return DEFAULT_DATA_ROOT.expanduser()


def _source(data_root) -> str:
    if data_root is not None and str(data_root) != "":
        return "the data_root argument"
    if os.environ.get(DATA_ENV_VAR, ""):
        return DATA_ENV_VAR
    return f"the default download cache; neither data_root nor {DATA_ENV_VAR} was set"


def _is_online(timeout: float = 2.0) -> bool:
    """Whether torchvision's MNIST mirror is reachable (one TCP connection attempt)."""
    try:
        with socket.create_connection(_MNIST_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def try_download(download: bool | None, fetch, root) -> str | None:
    """Call ``fetch()`` (a torchvision download) if ``download`` allows it: ``True``, or
    ``None`` on a machine that is online.

    Returns
    -------
    str or None
        None if ``fetch`` ran without error; otherwise why there is no download, worded
        for the "not found" error message.
    """
    if download or (download is None and _is_online()):
        try:
            fetch()
            return None
        except Exception as exc:  # network, disk or checksum errors alike
            return f"the download into {root} failed: {str(exc).strip().splitlines()[0]}"
    if download is None:
        return "the machine is offline, so no download was attempted"
    return "downloading is disabled (download=False)"


def load_mnist(
    train: bool, data_root: str | os.PathLike | None = None, download: bool | None = None
) -> ImageSet:
    """Load an MNIST split as one normalised tensor.

    Parameters
    ----------
    train : bool
        The 60,000-image training split if True, else the 10,000-image test split.
    data_root : str or path-like, optional
        Folder containing ``MNIST/raw/``; see :func:`resolve_data_root`.
    download : bool, optional
        ``None`` (default): download into the resolved folder only if the files are
        missing and the machine is online. ``False``: never download. ``True``: download
        if the files are missing (an error if that fails).

    Returns
    -------
    ImageSet
        ``images`` float32 ``(N, 1, 28, 28)`` with :math:`(x / 255 - 0.1307) / 0.3081`,
        ``labels`` int64 ``(N,)``.

    Raises
    ------
    DataNotFoundError
        If the files are not in the resolved folder and were not downloaded.
    """
    from torchvision.datasets import MNIST  # imported here: torchvision is slow to import

    root = resolve_data_root(data_root)
    raw = root / "MNIST" / "raw"
    missing = [f for f in _MNIST_FILES if not (raw / f).is_file()]
    if missing:
        reason = try_download(download, lambda: MNIST(root, train=train, download=True), root)
        if reason is None:
            missing = []
    if missing:
        raise DataNotFoundError(
            f"MNIST not found: looked in {raw} (from {_source(data_root)}) for "
            f"{', '.join(missing)}; {reason}. Point bioSNN at a folder containing MNIST/raw/ "
            f"with --data-root DIR or {DATA_ENV_VAR}=DIR.")
    dataset = MNIST(root, train=train, download=False)
    images = dataset.data.unsqueeze(1).to(torch.float32).div_(255.0)
    images.sub_(MNIST_MEAN).div_(MNIST_STD)
    return ImageSet(images=images, labels=dataset.targets.to(torch.int64))
