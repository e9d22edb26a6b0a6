"""The driver: resume from finished runs, run the rest, write sweep.json, the table and
the summary figure."""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SpecError
from .cluster import _execute
from .definition import CONNECT_TIMEOUT_S, DEFAULT_RETRIES
from .figures import draw_sweep_figures

if TYPE_CHECKING:
    from .definition import Sweep
from .table import _build_rows, choose_metric, write_table
from .worker import _read_run, _task

__all__ = ["SweepOutcome", "run_sweep"]


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    sweep : Sweep
    folder : Path
        ``<out>/sweeps/<sweep-id>``.
    table_path : Path
        ``table.csv``.
    columns : list of str
    rows : list of dict
        One per point, in point order.
    metric : str or None
        Metric of the summary figure (None when no point succeeded).
    figure_path : Path or None
    n_reused, n_run, n_failed : int
        Points found finished before submitting, points submitted, points failed.
    wall_time_s : float
        Wall time of the whole sweep (s).
    extra_figures : list of Path
        Figures beyond the summary (:mod:`bioSNN.sweep.figures`, e.g. ``phase.png``).
    """

    sweep: Sweep
    folder: Path
    table_path: Path
    columns: list
    rows: list
    metric: str | None
    figure_path: Path | None
    n_reused: int
    n_run: int
    n_failed: int
    wall_time_s: float
    extra_figures: list = field(default_factory=list)


def run_sweep(sweep: Sweep, *, out: str | os.PathLike = "results", scheduler: str | None = None,
              workers: int | None = None, metric: str | None = None,
              data_root: str | os.PathLike | None = None, figures: bool = True,
              progress: bool = True, retries: int = DEFAULT_RETRIES,
              connect_timeout: float = CONNECT_TIMEOUT_S) -> SweepOutcome:
    """Run every point of ``sweep`` that has no finished run yet; write table and figure.

    Parameters
    ----------
    sweep : Sweep
        From :func:`define_sweep`.
    out : path
        Results root: run folders go to ``out/<protocol>/``, the sweep's files to
        ``out/sweeps/<sweep-id>/``. Passed to the workers as an absolute path (a remote
        cluster's workers must see the same file system).
    scheduler : str, optional
        Address ``tcp://HOST:PORT`` of a running Dask scheduler; None: an embedded
        ``LocalCluster``.
    workers : int, optional
        Worker processes of the embedded cluster (default: the CPU count, at most one
        per point to run). Only without ``scheduler``.
    metric : str, optional
        Metric of the summary figure (see :func:`choose_metric`).
    data_root : path, optional
        Dataset folder for protocols that read data (as ``biosnn run --data-root``).
    figures : bool
        Draw each run's own figures into its run folder.
    progress : bool
        Report progress (points done / total, failed) on stderr.
    retries : int
        Extra attempts of a point whose task raises.
    connect_timeout : float
        Seconds to wait for ``scheduler`` and for it to have a worker.

    Returns
    -------
    SweepOutcome

    Raises
    ------
    BioSNNError
        ``workers < 1``, ``workers`` together with ``scheduler``, an unreachable
        scheduler or one without workers, an unknown ``metric`` (raised after the table
        is written).
    """
    from ..runner import RunIndex

    from ..results import atomic_write_text, dumps_json

    if workers is not None and workers < 1:
        raise SpecError("--workers", None, f"expected at least 1 worker, got {workers}")
    if workers is not None and scheduler is not None:
        raise SpecError("--workers", None, "sets the size of the local cluster; with "
                        "--scheduler the cluster's own workers run the points")
    t0 = time.perf_counter()
    out_given = Path(out)
    out_abs = out_given.resolve()
    folder = out_given / "sweeps" / sweep.sweep_id
    folder.mkdir(parents=True, exist_ok=True)
    definition = {"sweep_id": sweep.sweep_id, **sweep.definition(), "source": sweep.base.source,
                  "n_points": sweep.n_points, "retries": retries}
    atomic_write_text(folder / "sweep.json", dumps_json(definition))

    points = sweep.points()
    outcome: dict[int, Any] = {}
    tasks = {}
    root = None if data_root is None else str(Path(data_root).resolve())
    index = RunIndex(out_abs)
    for p in points:
        existing = index.find(sweep.spec_of(p))
        if existing is not None:
            outcome[p.index] = {**_read_run(existing), "reused": True}
        else:
            tasks[p.index] = _task(sweep, p, out_abs, figures, root)
    n_reused = len(outcome)
    if tasks or scheduler is not None:  # a given scheduler is checked even with nothing to run
        outcome.update(_execute(tasks, scheduler=scheduler, workers=workers, retries=retries,
                                timeout=connect_timeout, progress=progress,
                                n_total=len(points), n_done=n_reused, name=sweep.sweep_id))
    elif progress:
        print(f"sweep {sweep.sweep_id}: all {len(points)} points already done", file=sys.stderr)
    columns, rows, metric_cols = _build_rows(sweep, points, outcome, out_given, out_abs)
    table_path = write_table(folder, columns, rows)[0]
    try:
        chosen = choose_metric(metric, sweep.base.kind, rows, metric_cols)
    except SpecError as err:
        raise SpecError(err.source, err.field, f"{err.message} (table written: {table_path})"
                        ) from None
    figure_path, extra = None, []
    if chosen is not None:
        figure_path = _draw_summary(folder, chosen, sweep)
        definition["metric"] = chosen
        atomic_write_text(folder / "sweep.json", dumps_json(definition))
    if any(r["status"] == "ok" for r in rows):
        extra = draw_sweep_figures(folder, sweep)
    return SweepOutcome(sweep=sweep, folder=folder, table_path=table_path, columns=columns,
                        rows=rows, metric=chosen, figure_path=figure_path, n_reused=n_reused,
                        n_run=len(tasks), n_failed=sum(r["status"] == "failed" for r in rows),
                        wall_time_s=time.perf_counter() - t0, extra_figures=extra)


def _draw_summary(folder: Path, metric: str, sweep: Sweep) -> Path:
    """Draw ``summary.png`` from the saved ``table.csv`` (never from memory)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import pandas as pd
    from matplotlib import pyplot as plt

    from ..plots.style import save_figure
    from ..plots.sweep import plot_sweep

    table = pd.read_csv(folder / "table.csv", keep_default_na=True)
    axes = [ax.as_dict() for ax in sweep.axes]
    fig = plot_sweep(table, metric, axes, title=f"{sweep.base.name} ({sweep.sweep_id})")
    path = save_figure(fig, folder / "summary.png")
    plt.close(fig)
    return path
