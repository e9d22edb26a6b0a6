"""Run a protocol into its run folder: ``<out>/<protocol>/<run-id>/``.

The folder is assembled under a hidden ``.partial-<run-id>`` name: results are
saved, loaded back, the figures are drawn *from the saved files*, and only then is
the folder renamed to its final name. An interrupted or failed run removes its
partial folder (or, if killed hard, leaves only a hidden ``.partial-*`` folder that
no bioSNN command treats as a result).

:func:`find_run` looks up a finished run of a given resolved spec and
:func:`ensure_run` reuses it or runs the spec, so that commands that need results
(``biosnn figures``, ``validate``, ``pipeline``, ``sweep``) never repeat a run.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

from .errors import BioSNNError, writing_to
from .protocols.registry import get_kind
from .results import REQUIRED_FILES, Results, atomic_write_text, dumps_json

__all__ = ["run_protocol", "render_figures", "find_run", "finished_run_folders", "RunIndex",
           "ensure_run", "quick_for", "DEFAULT_OUT", "RESULTS_OPTION"]

DEFAULT_OUT = Path("results")
RESULTS_OPTION = "results folder (--out / --results)"


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
    run_id = _run_id(spec)
    final = parent / run_id
    n = 1
    while final.exists():
        n += 1
        final = parent / f"{run_id}-{n}"
    partial = parent / f".partial-{final.name}-{os.getpid()}"
    with writing_to(out, RESULTS_OPTION):  # before the run: a bad --out fails at once
        partial.mkdir(parents=True)
    try:
        results = proto.run(progress=progress, build_dir=build_dir, data_root=data_root)
        with writing_to(out, RESULTS_OPTION):
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


def _finished(name: str, out) -> list[tuple[Path, object]]:
    """(folder, saved spec) of every complete run of ``name`` under ``out``, newest first."""
    from .protocols.spec import load_spec

    parent = Path(out) / name
    if not parent.is_dir():
        return []
    found = []
    for folder in sorted(parent.iterdir(), reverse=True):  # run ids start with a timestamp
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        if not all((folder / f).is_file() for f in REQUIRED_FILES):
            continue
        try:
            found.append((folder, load_spec(folder / "spec.toml")))
        except BioSNNError:
            continue
    return found


def finished_run_folders(name: str, out: str | os.PathLike = DEFAULT_OUT) -> list[Path]:
    """Complete run folders of protocol ``name`` under ``out/<name>/``, newest first.

    Hidden folders (``.partial-*``), folders missing one of the result files and folders
    whose spec no longer loads (e.g. written by an older bioSNN) are skipped.
    """
    return [folder for folder, _ in _finished(name, out)]


class RunIndex:
    """The finished runs under a results root, by :meth:`ProtocolSpec.identity`.

    Each protocol's saved specs are read once, on the first :meth:`find` for that
    protocol (a sweep of hundreds of points over hundreds of runs would otherwise read
    every spec once per point). The index does not see runs finished after that read.
    """

    def __init__(self, out: str | os.PathLike = DEFAULT_OUT):
        self.out = Path(out)
        self._by_name: dict[str, dict[tuple, Path]] = {}

    def find(self, spec) -> Path | None:
        """The newest complete run folder of ``spec`` (same identity: name, kind, seed,
        Brian2 target and resolved parameter table), or None."""
        if spec.name not in self._by_name:
            index: dict[tuple, Path] = {}
            for folder, saved in _finished(spec.name, self.out):
                index.setdefault(saved.identity(), folder)  # newest first: keep the first
            self._by_name[spec.name] = index
        return self._by_name[spec.name].get(spec.identity())


def find_run(spec, out: str | os.PathLike = DEFAULT_OUT) -> Path | None:
    """The newest complete run folder of ``spec`` under ``out/<spec.name>/``, or None.

    A folder matches when its saved spec has the same :meth:`ProtocolSpec.identity`
    (name, kind, seed, Brian2 target and resolved parameter table) as ``spec``: a quick
    run matches a quick spec, a full run a full one, and a ``--set`` run only the same
    overrides. Hidden ``.partial-*`` folders, incomplete folders and folders whose spec
    no longer loads never match.
    """
    return RunIndex(out).find(spec)


def ensure_run(spec, out: str | os.PathLike = DEFAULT_OUT, *, progress: bool = True,
               data_root: str | os.PathLike | None = None,
               label: str | None = None) -> tuple[Path, bool]:
    """The finished run folder of ``spec`` under ``out``: reused (:func:`find_run`) when
    one exists, run (:func:`run_protocol`) otherwise.

    Returns
    -------
    (Path, bool)
        The run folder and whether it was reused. With ``progress``, one line on stderr
        says which (prefixed by ``label``, default the protocol name).
    """
    label = label or spec.name
    folder = find_run(spec, out)
    if folder is not None:
        if progress:
            print(f"{label}: reusing {folder}", file=sys.stderr)
        return folder, True
    if progress:
        sets = "".join(f", {k}={v}" for k, v in spec.overrides.items())
        print(f"{label}: running {spec.name} (seed {spec.seed}, {spec.mode}{sets})",
              file=sys.stderr)
    return run_protocol(spec, out=out, progress=progress, data_root=data_root), False


def quick_for(quick, name: str) -> bool:
    """Whether protocol ``name`` runs at its quick size: ``quick`` is one bool for every
    protocol, or the collection of the protocol names that run quick."""
    return quick if isinstance(quick, bool) else name in quick
