"""Trained weights on disk, one format for the few-shot training and the replay: the
resumable meta-training checkpoint (:func:`save_checkpoint`, :func:`load_checkpoint`), the
trained model kept in a run folder (:func:`state_dict_bytes`), and a CSNN loaded from
either, with a clear error when the weights do not fit the architecture
(:func:`load_embedder`). Files hold tensors and plain containers only, so they load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import hashlib
import io
import os
from dataclasses import replace
from pathlib import Path

import torch

from ..errors import BioSNNError

__all__ = ["CHECKPOINT_FORMAT", "checkpoint_root", "state_dict_bytes", "save_checkpoint",
           "load_checkpoint", "CheckpointInfo", "expected_shapes", "check_state_dict",
           "config_from_state_dict", "find_checkpoint", "load_embedder"]

CHECKPOINT_FORMAT = 1

#: spec parameter that sets each dimension of each tensor (None: fixed by the image)
_SHAPE_PARAMS = {
    "conv1.weight": ("conv1_channels", "in_channels", "conv1_kernel", "conv1_kernel"),
    "conv1.bias": ("conv1_channels",),
    "conv2.weight": ("conv2_channels", "conv1_channels", "conv2_kernel", "conv2_kernel"),
    "conv2.bias": ("conv2_channels",),
    "fc.weight": ("embedding_dim", "conv2_channels x (image_size / 4)^2"),
    "fc.bias": ("embedding_dim",),
}


def checkpoint_root() -> Path:
    """Folder of the resumable training checkpoints: ``<cache>/checkpoints`` (``<cache>``
    is :func:`bioSNN.paths.cache_root`), one subfolder per protocol."""
    from ..paths import cache_root

    return cache_root() / "checkpoints"


def _to_bytes(obj) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _torch_load(source, path, fix: str):
    """``torch.load(source, weights_only=True)`` on the CPU; a file that cannot be read
    that way raises a :class:`BioSNNError` naming ``path`` and ending with ``fix``."""
    try:
        return torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle refused by weights_only, ...
        detail = str(exc).strip()
        detail = f": {detail.splitlines()[0]}" if detail else ""
        raise BioSNNError(f"checkpoint {path} cannot be loaded ({type(exc).__name__}{detail}); "
                          f"{fix}") from None


def state_dict_bytes(model) -> bytes:
    """``torch.save`` of ``model``'s state dict (detached CPU tensors only), as bytes: the
    trained-model file of a run folder (``snn.pt``, ``ann.pt``)."""
    return _to_bytes({k: v.detach().cpu() for k, v in model.state_dict().items()})


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` (tensors and plain containers only) atomically with ``torch.save``."""
    from ..results import atomic_write_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, _to_bytes(state))


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises
    ------
    BioSNNError
        If the file cannot be read as a bioSNN checkpoint.
    """
    state = _torch_load(path, path, "delete it to start again")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise BioSNNError(f"checkpoint {path} is not a bioSNN meta-training checkpoint of "
                          f"format {CHECKPOINT_FORMAT}; delete it to start again")
    return state


class CheckpointInfo(dict):
    """Where the weights came from: ``path``, ``sha256`` of the file, ``task`` (tasks
    trained, -1 if the file does not say) and ``kind`` (``"meta-training"`` or
    ``"state_dict"``)."""


def expected_shapes(config) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of a :class:`~bioSNN.embedder.csnn.CSNN` with ``config``."""
    c = config
    return {
        "conv1.weight": (c.conv1_channels, c.in_channels, c.conv1_kernel, c.conv1_kernel),
        "conv1.bias": (c.conv1_channels,),
        "conv2.weight": (c.conv2_channels, c.conv1_channels, c.conv2_kernel, c.conv2_kernel),
        "conv2.bias": (c.conv2_channels,),
        "fc.weight": (c.embedding_dim, c.flat_features),
        "fc.bias": (c.embedding_dim,),
    }


def config_from_state_dict(state: dict, base):
    """The :class:`~bioSNN.embedder.csnn.CSNNConfig` whose shapes fit ``state`` (LIF
    parameters, steps and image size taken from ``base``), or None if none does."""
    try:
        w1, w2, wf = (tuple(state[k].shape) for k in ("conv1.weight", "conv2.weight", "fc.weight"))
        cfg = replace(base, in_channels=w1[1], conv1_channels=w1[0], conv1_kernel=w1[2],
                      conv2_channels=w2[0], conv2_kernel=w2[2], embedding_dim=wf[0])
    except (KeyError, IndexError, ValueError, AttributeError):
        return None
    shapes = expected_shapes(cfg)
    ok = all(k in state and tuple(state[k].shape) == s for k, s in shapes.items())
    return cfg if ok else None


def check_state_dict(state: dict, config, source: str = "the checkpoint") -> None:
    """Raise a :class:`BioSNNError` naming the first mismatch and the fix, unless
    ``state`` has exactly the tensors of a CSNN with ``config``.

    Parameters
    ----------
    state : dict
        ``CSNN.state_dict()``-like mapping of tensors.
    config : CSNNConfig
        The architecture the spec asks for.
    source : str
        How to name the checkpoint in the message.
    """
    want = expected_shapes(config)
    if not isinstance(state, dict):
        raise BioSNNError(f"{source} holds no state dict (got {type(state).__name__}); "
                          "pass a CSNN state dict or a bioSNN meta-training checkpoint")
    missing = [k for k in want if k not in state]
    extra = [k for k in state if k not in want]
    if missing or extra:
        raise BioSNNError(
            f"{source} does not match the CSNN architecture: "
            + (f"missing {', '.join(missing)}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected {', '.join(extra)}" if extra else "")
            + f" (expected exactly {', '.join(want)}); pass a checkpoint of a bioSNN CSNN "
              "(e.g. the snn.pt of a fewshot-protonet run)")
    bad = [(k, tuple(state[k].shape), s) for k, s in want.items() if tuple(state[k].shape) != s]
    if bad:
        k, got, exp = bad[0]
        fits = config_from_state_dict(state, config)
        if fits is not None:
            names = ("in_channels", "conv1_channels", "conv1_kernel", "conv2_channels",
                     "conv2_kernel", "embedding_dim")
            sets = " ".join(f"--set {n}={getattr(fits, n)}" for n in names
                            if getattr(fits, n) != getattr(config, n) and n != "in_channels")
            fix = (f"run with {sets} to match the checkpoint" if sets else
                   "the checkpoint's image size or channels differ from the spec's")
        else:
            fix = ("no CSNN architecture fits these shapes (image_size must make fc.weight "
                   "have conv2_channels x (image_size/4)^2 inputs)")
        raise BioSNNError(
            f"{source} does not match the CSNN architecture of the spec: {k} has shape "
            f"{got}, the spec expects {exp} ({' x '.join(_SHAPE_PARAMS[k])}); {fix}, "
            "or pass a checkpoint trained with this architecture")


def find_checkpoint(path: str | os.PathLike) -> Path:
    """The checkpoint file named by ``path``: the file itself, or the newest ``snn.pt``
    below a folder (e.g. a finished few-shot run folder). A bare name that is not a file
    or folder here (``fewshot-mnist-seed``) names the protocol's folder of a run in
    progress, :func:`checkpoint_root` ``/ <name>``.

    Raises
    ------
    BioSNNError
        If nothing is found.
    """
    p = Path(path).expanduser()
    if not p.exists() and len(p.parts) == 1 and (checkpoint_root() / p).exists():
        p = checkpoint_root() / p
    if p.is_file():
        return p
    if p.is_dir():
        found = sorted(p.rglob("snn.pt"), key=lambda f: f.stat().st_mtime)
        if found:
            return found[-1]
        raise BioSNNError(f"checkpoint folder {p} contains no snn.pt; pass a checkpoint file "
                          "or a folder with a fewshot-protonet run's checkpoints")
    raise BioSNNError(f"checkpoint {p} does not exist; pass an existing .pt file or folder")


def _check_trained_pool(file: Path, pool: str) -> None:
    """A run folder's ``snn.pt`` must have been trained with the pooling ``config`` uses:
    max- and sum-pool CSNNs have identical state dicts, so only the spec tells them apart."""
    import tomllib

    spec = file.parent / "spec.toml"
    if not spec.is_file():
        return
    try:
        trained = tomllib.loads(spec.read_text()).get("parameters", {}).get("pool", "max")
    except (OSError, tomllib.TOMLDecodeError):
        return
    if trained != pool:
        raise BioSNNError(
            f"checkpoint {file} was trained with pool = {trained!r}, but this network uses "
            f"pool = {pool!r}" + ("; replay-crossval replays max-pool CSNNs: replay a "
                                  "sum-pool one with `biosnn export RUN --format nir` and "
                                  "`biosnn run nir-replay --set graph=FILE.nir`"
                                  if pool == "max" else ""))


def load_embedder(path: str | os.PathLike, config):
    """Load a trained CSNN from a checkpoint file or folder.

    Parameters
    ----------
    path : path
        File or folder (see :func:`find_checkpoint`): a plain ``CSNN.state_dict()`` such
        as a run folder's ``snn.pt``, or a meta-training checkpoint (its ``"model"``).
    config : CSNNConfig
        Architecture and LIF parameters the weights must fit.

    Returns
    -------
    model : CSNN
        In ``eval`` mode, float32 as trained (cast with ``.double()`` for the replay).
    info : CheckpointInfo

    Raises
    ------
    BioSNNError
        If the file cannot be read or does not fit ``config``.
    """
    from .csnn import CSNN

    file = find_checkpoint(path)
    _check_trained_pool(file, getattr(config, "pool", "max"))
    raw = file.read_bytes()
    state = _torch_load(io.BytesIO(raw), file, "pass a file written by torch.save of a CSNN "
                        "state dict or a bioSNN meta-training checkpoint")
    kind, task = "state_dict", -1
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        kind, task = "meta-training", int(state.get("task", -1))
        state = state["model"]
    check_state_dict(state, config, source=f"checkpoint {file}")
    model = CSNN(config)
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
    model.eval()
    info = CheckpointInfo(path=str(file.resolve()), sha256=hashlib.sha256(raw).hexdigest(),
                          task=task, kind=kind)
    return model, info
