"""What runs on a Dask worker: one point, from plain data, into its normal run folder."""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from distributed import WorkerPlugin


if TYPE_CHECKING:
    from .definition import Sweep, SweepPoint

__all__ = ["BrianWorkerSetup", "run_point"]


def _task(sweep: Sweep, point: SweepPoint, out: Path, figures: bool,
          data_root: str | None) -> dict:
    """The plain-data description of one point sent to a worker."""
    from ..protocols.registry import get_kind

    return {
        "spec_data": dict(sweep.spec_data), "source": sweep.base.source,
        "kind_module": get_kind(sweep.base.kind).__module__,
        "quick": sweep.quick, "target": sweep.target,
        "overrides": dict(point.values), "seed": point.seed,
        "out": str(out), "figures": figures, "data_root": data_root,
    }


def _task_key(task: Mapping) -> str:
    """Dask key of a point: readable prefix + digest of everything that defines the run."""
    digest = hashlib.sha256(json.dumps(task, sort_keys=True, default=str).encode()).hexdigest()
    name = str(task["spec_data"].get("name", "point"))
    return f"biosnn-{name}-seed{task['seed']}-{digest[:16]}"


def _worker_quiet() -> None:
    """One torch / BLAS thread in this worker process (effective for libraries loaded
    later through the environment, for torch if already loaded through its API)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


class BrianWorkerSetup(WorkerPlugin):
    """Dask worker plugin: prepare a worker process for Brian2 protocol runs.

    ``setup`` runs on the worker's main thread when the plugin is registered and on
    every worker that joins later: it limits torch/BLAS to one thread and imports brian2
    there (its import installs a signal handler, impossible from a task thread).
    """

    name = "bioSNN-brian-setup"
    idempotent = True

    def setup(self, worker=None):
        _worker_quiet()
        import brian2  # noqa: F401


def _read_run(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    provenance = json.loads((folder / "provenance.json").read_text())
    return {"run": str(folder), "wall_time_s": provenance.get("wall_time_s"), "summary": summary}


def run_point(task: Mapping) -> dict:
    """Run one sweep point (the Dask task; also usable serially).

    The spec is rebuilt from the spec file's content (plain data travels to any worker)
    and resolved exactly as ``biosnn run NAME [--quick] --set ... --seed S`` would, then
    run into its run folder. The driver has already skipped points with a finished run;
    a worker that dies between finishing a run and reporting it makes the point run again
    (a second, identical run folder; the newest one is used).

    Parameters
    ----------
    task : mapping
        As made by the sweep driver: ``spec_data``, ``source``, ``kind_module``,
        ``quick``, ``target``, ``overrides``, ``seed``, ``out`` (absolute path),
        ``figures``, ``data_root``.

    Returns
    -------
    dict
        ``run`` (absolute run folder), ``wall_time_s`` (simulation wall time from the
        provenance, s), ``summary`` (summary.json), ``reused`` (False).
    """
    import importlib
    import threading

    if "brian2" not in sys.modules and threading.current_thread() is not threading.main_thread():
        raise RuntimeError("brian2 must be imported on the main thread of a worker process "
                           "before a sweep point runs there (register the "
                           "bioSNN.sweep.BrianWorkerSetup worker plugin)")
    from ..protocols.spec import parse_spec
    from ..runner import run_protocol

    _worker_quiet()
    importlib.import_module(task["kind_module"])  # registers a kind defined outside bioSNN
    spec = parse_spec(task["spec_data"], task["source"]).resolve(
        quick=task["quick"], overrides=task["overrides"] or None, target=task["target"],
        seed=task["seed"])
    folder = run_protocol(spec, out=Path(task["out"]), progress=False,
                          figures=task["figures"], data_root=task["data_root"])
    return {**_read_run(folder), "reused": False}
