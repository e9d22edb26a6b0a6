"""Omniglot (Lake et al. 2015) loaded whole into tensors, with the class splits of the
few-shot literature.

The data folder is found as for MNIST (:func:`bioSNN.embedder.data.resolve_data_root`:
``data_root``, then ``$BIOSNN_DATA``, then the download cache) and uses torchvision's
layout, ``<root>/omniglot-py/images_background/<Alphabet>/characterNN/*.png`` and
``images_evaluation/``. torchvision's :class:`~torchvision.datasets.Omniglot` walks the
folders; its integrity check needs the official zip archives, so when the images are
present and the archives are not, the check is skipped (the folder tree is checked here
instead: 1 623 characters in 50 alphabets). A download is only tried when the images
are missing and the machine is online.

Images and classes
------------------
* Every one of the 1 623 characters of both sets is one class. Class ``c`` is the
  ``c``-th name ``"<Alphabet>/characterNN"`` in sorted order (torchvision numbers them
  in ``os.listdir`` order, which differs between machines).
* Each 105 x 105 1-bit drawing is converted to 8-bit grey and reduced to 28 x 28 by
  area averaging (PIL's ``BOX`` filter), as in Vinyals et al. (2016) and Snell et al.
  (2017) (Snell's code resizes the 1-bit image with PIL's default filter; area averaging
  keeps thin strokes). Ink is 1 and paper 0, then the pixels are normalised by
  :data:`OMNIGLOT_MEAN` and :data:`OMNIGLOT_STD` (the ink map of the 19 280 background
  images at 28 x 28), so that paper is dark as in MNIST.
* Decoding the 32 460 PNG files takes ~10 s; the 28 x 28 pixels are kept in
  ``<cache>/omniglot/<digest>.npy`` (:func:`bioSNN.paths.cache_root`), where the digest
  covers every file's path, size and modification time and the resizing method, so a
  changed folder is decoded again. Delete the folder to drop the cache.

Splits (:data:`SPLITS`)
-----------------------
``vinyals-train`` (1 028 characters), ``vinyals-val`` (172), ``vinyals-trainval``
(1 200) and ``vinyals-test`` (423): the split of Vinyals et al. (2016) as distributed
with Snell et al.'s code (``data/omniglot/splits/vinyals/*.txt`` of
jakesnell/prototypical-networks). It is alphabet-wise with one exception: the test set
is 12 whole evaluation alphabets (:data:`VINYALS_TEST_ALPHABETS`) plus Gurmukhi
characters 42-45; validation is 5 background alphabets (:data:`VINYALS_VAL_ALPHABETS`);
training is everything else. ``background`` (964) and ``evaluation`` (659) are Lake's
own two sets. The counts are checked when the data is loaded.

References
----------
B. M. Lake, R. Salakhutdinov, J. B. Tenenbaum (2015) Human-level concept learning
through probabilistic program induction. Science 350, 1332-1338.
O. Vinyals et al. (2016) Matching networks for one shot learning. NeurIPS 29.
J. Snell, K. Swersky, R. Zemel (2017) Prototypical networks for few-shot learning. NeurIPS 30.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..errors import DataNotFoundError
from ..omniglot_splits import (DISJOINT, SPLIT_SIZES, SPLITS, VINYALS_TEST_ALPHABETS,
                               VINYALS_TEST_GURMUKHI, VINYALS_VAL_ALPHABETS)
from .data import DATA_ENV_VAR, _source, resolve_data_root, try_download

__all__ = ["DISJOINT", "OMNIGLOT_MEAN", "OMNIGLOT_STD", "OMNIGLOT_BACKGROUND", "SPLITS", "SPLIT_SIZES",
           "VINYALS_TEST_ALPHABETS", "VINYALS_VAL_ALPHABETS", "OmniglotSet", "load_omniglot",
           "split_classes"]

#: Mean and standard deviation of the ink map (ink 1, paper 0) of the 19 280 background
#: images at 28 x 28 (area-averaged).
OMNIGLOT_MEAN, OMNIGLOT_STD = 0.0779, 0.2327
#: A paper pixel after normalisation: the value outside the image (augmentation).
OMNIGLOT_BACKGROUND = -OMNIGLOT_MEAN / OMNIGLOT_STD

_N_CHARACTERS, _N_ALPHABETS, _SIZE = 1623, 50, 28
_SETS = ("images_background", "images_evaluation")


class OmniglotSet(NamedTuple):
    """All Omniglot drawings in memory.

    Attributes
    ----------
    images : torch.Tensor
        float32 ``(32460, 1, 28, 28)``, normalised (paper dark, ink bright).
    labels : torch.Tensor
        int64 ``(32460,)``: the character (class) of each drawing, ``0 .. 1622``.
    characters : tuple of str
        ``"<Alphabet>/characterNN"`` of each class, sorted.
    background : tuple of bool
        Whether each class comes from Lake's background set.
    """

    images: torch.Tensor
    labels: torch.Tensor
    characters: tuple
    background: tuple


def _vinyals_test(character: str) -> bool:
    alphabet, _, name = character.partition("/")
    if alphabet in VINYALS_TEST_ALPHABETS:
        return True
    return alphabet == "Gurmukhi" and int(name.removeprefix("character")) in VINYALS_TEST_GURMUKHI


def split_classes(data: OmniglotSet, split: str) -> list[int]:
    """Class indices of a named split (:data:`SPLITS`), ascending.

    Raises
    ------
    ValueError
        For an unknown split name, or when the loaded folder does not give the split its
        published number of characters.
    """
    if split not in SPLIT_SIZES:
        raise ValueError(f"unknown Omniglot split {split!r}; known: {', '.join(SPLITS)}")
    test = [_vinyals_test(c) for c in data.characters]
    val = [c.partition("/")[0] in VINYALS_VAL_ALPHABETS for c in data.characters]
    keep = {
        "vinyals-test": test,
        "vinyals-val": val,
        "vinyals-trainval": [not t for t in test],
        "vinyals-train": [not t and not v for t, v in zip(test, val)],
        "background": list(data.background),
        "evaluation": [not b for b in data.background],
    }[split]
    out = [i for i, k in enumerate(keep) if k]
    if len(out) != SPLIT_SIZES[split]:
        raise ValueError(f"Omniglot split {split!r} should have {SPLIT_SIZES[split]} "
                         f"characters, the loaded folder gives {len(out)}")
    return out


def _local_class():
    from torchvision.datasets import Omniglot

    class LocalOmniglot(Omniglot):
        """torchvision's Omniglot on an unpacked folder without the official zips."""

        def _check_integrity(self) -> bool:
            return True

    return LocalOmniglot


_RESIZE = "L-BOX-28"  # part of the cache digest: change it when the resizing changes


def _decode(paths) -> np.ndarray:
    from PIL import Image

    pixels = np.empty((len(paths), _SIZE, _SIZE), dtype=np.uint8)
    for k, path in enumerate(paths):
        with Image.open(path) as im:
            pixels[k] = np.asarray(im.convert("L").resize((_SIZE, _SIZE), Image.BOX))
    return pixels


def _pixels(paths: list[Path], folder: Path) -> np.ndarray:
    """28 x 28 uint8 pixels of ``paths`` in order, from the cache when it matches."""
    import hashlib

    from ..paths import cache_root

    h = hashlib.sha256(_RESIZE.encode())
    for path in paths:
        st = path.stat()
        h.update(f"{path.relative_to(folder).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n"
                 .encode())
    cache = cache_root() / "omniglot" / f"{h.hexdigest()[:24]}.npy"
    if cache.is_file():
        try:
            pixels = np.load(cache, allow_pickle=False)
            if pixels.shape == (len(paths), _SIZE, _SIZE) and pixels.dtype == np.uint8:
                return pixels
        except (OSError, ValueError):
            pass  # unreadable: decode again and replace it
    pixels = _decode(paths)
    tmp = cache.with_name(f"{cache.stem}.{os.getpid()}.tmp.npy")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp, pixels, allow_pickle=False)
        os.replace(tmp, cache)  # atomic: a reader never sees half a file
    except OSError:  # a read-only or full cache only costs the decoding next time
        tmp.unlink(missing_ok=True)
    return pixels


def _missing(folder: Path) -> list[str]:
    return [s for s in _SETS if not (folder / s).is_dir() or not any((folder / s).iterdir())]


def load_omniglot(data_root: str | os.PathLike | None = None,
                  download: bool | None = None) -> OmniglotSet:
    """Load every Omniglot drawing (background and evaluation sets) as one tensor.

    Parameters
    ----------
    data_root : str or path-like, optional
        Folder containing ``omniglot-py/``; see :func:`~bioSNN.embedder.data.resolve_data_root`.
    download : bool, optional
        ``None`` (default): download only if the images are missing and the machine is
        online. ``False``: never. ``True``: download if missing (an error if that fails).

    Returns
    -------
    OmniglotSet

    Raises
    ------
    DataNotFoundError
        If the images are not in the resolved folder and were not downloaded, or the
        folder does not hold the 1 623 characters of 50 alphabets.
    """
    root = resolve_data_root(data_root)
    folder = root / "omniglot-py"
    missing = _missing(folder)
    if missing:
        def fetch():
            from torchvision.datasets import Omniglot

            for s in missing:
                Omniglot(root, background=(s == _SETS[0]), download=True)

        reason = try_download(download, fetch, root) or \
            f"torchvision's download into {root} did not create them"
        missing = _missing(folder)
    if missing:
        raise DataNotFoundError(
            f"Omniglot not found: looked in {folder} (from {_source(data_root)}) for "
            f"{', '.join(missing)}/; {reason}. Point bioSNN at a folder containing "
            f"omniglot-py/images_background/ and images_evaluation/ with --data-root DIR or "
            f"{DATA_ENV_VAR}=DIR.")

    cls = _local_class()
    files: list[tuple[str, bool, Path]] = []   # (character, background?, png)
    for s in _SETS:
        ds = cls(root, background=(s == _SETS[0]), download=False)
        target = Path(ds.target_folder)
        for image, idx in ds._flat_character_images:
            character = ds._characters[idx]
            files.append((character.replace(os.sep, "/"), s == _SETS[0],
                          target / character / image))
    characters = sorted({c for c, _, _ in files})
    alphabets = {c.partition("/")[0] for c in characters}
    if len(characters) != _N_CHARACTERS or len(alphabets) != _N_ALPHABETS:
        raise DataNotFoundError(
            f"Omniglot in {folder} is incomplete: {len(characters)} characters in "
            f"{len(alphabets)} alphabets, expected {_N_CHARACTERS} in {_N_ALPHABETS}")
    files.sort(key=lambda f: (f[0], f[2].name))
    index = {c: i for i, c in enumerate(characters)}
    pixels = _pixels([path for _, _, path in files], folder)
    images = torch.from_numpy(pixels).unsqueeze(1).to(torch.float32).div_(255.0)
    images.neg_().add_(1.0).sub_(OMNIGLOT_MEAN).div_(OMNIGLOT_STD)
    labels = torch.tensor([index[c] for c, _, _ in files], dtype=torch.int64)
    background = {c: b for c, b, _ in files}
    return OmniglotSet(images=images, labels=labels, characters=tuple(characters),
                       background=tuple(background[c] for c in characters))

