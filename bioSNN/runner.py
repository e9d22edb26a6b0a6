"""Run a protocol into its run folder: ``<out>/<protocol>/<run-id>/``.

The folder is assembled under a hidden ``.partial-<run-id>`` name: results are
saved, loaded back, the figures are drawn *from the saved files*, and only then is
the folder renamed to its final name. An interrupted or failed run removes its
partial folder (or, if killed hard, leaves only a hidden ``.partial-*`` folder that
no bioSNN command treats as a result).

:func:`find_run` looks up a finished run of a given resolved spec, so that commands
that need results (``biosnn figures``) reuse a run instead of repeating it.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

from .errors import BioSNNError
from .protocols.registry import get_kind
from .results import REQUIRED_FILES, Results, atomic_write_text, dumps_json

__all__ = ["run_protocol", "render_figures", "find_run", "DEFAULT_OUT"]

DEFAULT_OUT = Path("results")


def _run_id(spec) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-seed{spec.seed}" + ("-quick" if spec.mode == "quick" else "")


def render_figures(results: Results, folder: str | os.PathLike) -> list[Path]:
    """Draw every figure of the protocol kind from ``results`` into ``folder``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from .plots import load_plot
    from .plots.style import save_figure

    written = []
    for name, ref in get_kind(results.spec.kind).figures.items():
        fig = load_plot(ref)(results)
        written.append(save_figure(fig, Path(folder) / f"fig-{name}.png"))
        plt.close(fig)
    return written


def run_protocol(spec, *, out: str | os.PathLike = DEFAULT_OUT, progress: bool = True,
                 figures: bool = True, build_dir=None,
                 data_root: str | os.PathLike | None = None) -> Path:
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
    data_root : path, optional
        Dataset folder for protocols that read data (``--data-root``); default
        ``$BIOSNN_DATA``. A run option: not part of the spec (the resolved folder is
        recorded in the provenance).

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
        results = proto.run(progress=progress, build_dir=build_dir, data_root=data_root)
        results.save(partial)
        if figures:
            t0 = time.perf_counter()
            saved = Results.load(partial)  # figures are drawn from the files, not memory
            render_figures(saved, partial)
            results.provenance["figures_wall_time_s"] = round(time.perf_counter() - t0, 3)
            atomic_write_text(partial / "provenance.json", dumps_json(results.provenance))
        while True:  # another process may have taken the name meanwhile (parallel sweeps)
            try:
                os.rename(partial, final)
                break
            except OSError:
                if not final.exists():
                    raise
                n += 1
                final = parent / f"{run_id}-{n}"
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if progress:
        print(f"{spec.name}: done in {results.provenance['wall_time_s']:.1f} s", file=sys.stderr)
    return final


def find_run(spec, out: str | os.PathLike = DEFAULT_OUT) -> Path | None:
    """The newest complete run folder of ``spec`` under ``out/<spec.name>/``, or None.

    A folder matches when its ``spec.toml`` has the same name, kind, seed, Brian2
    target and resolved parameter table as ``spec`` (so a quick run matches a quick
    spec, a full run a full one, and a ``--set`` run only the same overrides). Hidden
    folders (``.partial-*``), folders missing one of the result files and folders
    whose spec no longer loads (e.g. written by an older bioSNN) are skipped.

    Parameters
    ----------
    spec : ProtocolSpec
        Resolved spec (quick mode, overrides, seed, target applied).
    out : path
        Results root.

    Returns
    -------
    Path or None
        Among matches, the last by name (run ids start with a timestamp).
    """
    from .protocols.spec import load_spec

    parent = Path(out) / spec.name
    if not parent.is_dir():
        return None
    want = (spec.name, spec.kind, spec.seed, spec.target, spec.parameter_table())
    for folder in sorted(parent.iterdir(), reverse=True):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        if not all((folder / f).is_file() for f in REQUIRED_FILES):
            continue
        try:
            saved = load_spec(folder / "spec.toml")
        except BioSNNError:
            continue
        if (saved.name, saved.kind, saved.seed, saved.target, saved.parameter_table()) == want:
            return folder
    return None
