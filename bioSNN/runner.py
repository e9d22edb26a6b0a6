"""Run a protocol into its run folder: ``<out>/<protocol>/<run-id>/``.

The folder is assembled under a hidden ``.partial-<run-id>`` name: results are
saved, loaded back, the figures are drawn *from the saved files*, and only then is
the folder renamed to its final name. An interrupted or failed run removes its
partial folder (or, if killed hard, leaves only a hidden ``.partial-*`` folder that
no bioSNN command treats as a result).
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

from .protocols.registry import get_kind
from .results import Results, atomic_write_text, dumps_json

__all__ = ["run_protocol", "render_figures", "DEFAULT_OUT"]

DEFAULT_OUT = Path("results")


def _run_id(spec) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-seed{spec.seed}" + ("-quick" if spec.mode == "quick" else "")


def render_figures(results: Results, folder: str | os.PathLike) -> list[Path]:
    """Draw every figure of the protocol kind from ``results`` into ``folder``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    written = []
    for name, fn in get_kind(results.spec.kind).figures.items():
        fig = fn(results)
        path = Path(folder) / f"fig-{name}.png"
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=150, metadata={"Software": None})
        plt.close(fig)
        os.replace(tmp, path)
        written.append(path)
    return written


def run_protocol(spec, *, out: str | os.PathLike = DEFAULT_OUT, progress: bool = True,
                 figures: bool = True, build_dir=None) -> Path:
    """Run a resolved spec and write its complete run folder.

    Parameters
    ----------
    spec : ProtocolSpec
        Already resolved (quick mode, overrides, seed, target).
    out : path
        Results root; the run goes to ``out/<spec.name>/<run-id>/``.
    progress : bool
        Show progress on stderr.
    figures : bool
        Draw the protocol's figures into the run folder.

    Returns
    -------
    Path
        The finished run folder.
    """
    proto = get_kind(spec.kind)(spec)
    parent = Path(out) / spec.name
    parent.mkdir(parents=True, exist_ok=True)
    run_id = _run_id(spec)
    final = parent / run_id
    n = 1
    while final.exists():
        n += 1
        final = parent / f"{run_id}-{n}"
    partial = parent / f".partial-{final.name}-{os.getpid()}"
    try:
        results = proto.run(progress=progress, build_dir=build_dir)
        results.save(partial)
        if figures:
            t0 = time.perf_counter()
            saved = Results.load(partial)  # figures are drawn from the files, not memory
            render_figures(saved, partial)
            results.provenance["figures_wall_time_s"] = round(time.perf_counter() - t0, 3)
            atomic_write_text(partial / "provenance.json", dumps_json(results.provenance))
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if progress:
        print(f"{spec.name}: done in {results.provenance['wall_time_s']:.1f} s", file=sys.stderr)
    return final
