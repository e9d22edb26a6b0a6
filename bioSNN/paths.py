"""Where bioSNN keeps its caches: ``$BIOSNN_CACHE``, else ``~/.cache/bioSNN``.

Below it: ``cpp_standalone/<protocol>`` (Brian2 builds), ``kernels/`` (the compiled
CSNN kernel), ``checkpoints/<protocol>/`` (resumable training) and ``crash-reports/``
(tracebacks of internal errors). Datasets are found by :mod:`bioSNN.embedder.data`.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """``$BIOSNN_CACHE`` if set, else ``~/.cache/bioSNN`` (read at each call)."""
    root = os.environ.get("BIOSNN_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "bioSNN"


def make_output_dirs(*folders: tuple) -> None:
    """Create output folders, each given as ``(path, what)`` (``what`` names the folder
    and its option in the error, e.g. ``"figures folder (--out)"``), before any work.

    On the first that cannot be created, those this call created are removed again and
    one :class:`~bioSNN.errors.OutputError` is raised, so bad input leaves nothing behind.
    """
    from .errors import writing_to

    created: list[Path] = []
    try:
        for path, what in folders:
            path = Path(path)
            missing = [p for p in (path, *path.parents) if not p.exists()]
            with writing_to(path, what):
                path.mkdir(parents=True, exist_ok=True)
            created += missing
    except BaseException:
        for p in created:  # deepest first
            try:
                p.rmdir()
            except OSError:
                pass
        raise
