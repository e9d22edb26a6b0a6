"""Parameter sweeps: the cartesian product of ``--set`` values x seeds, run on Dask distributed.

A sweep is defined by a protocol spec, a list of swept parameters with their values
(``--set tau_m=10ms,20ms``: each value parsed and checked exactly as ``biosnn run --set``
would, canonicalised to the spec's units) and a list of seeds (``--seeds 0-9``). Its
*points* are the cartesian product of the values of every swept parameter and the seeds
(the last ``--set`` varies fastest, seeds innermost); each point is one
:func:`bioSNN.runner.run_protocol` call on the resolved spec, writing its normal run
folder ``<out>/<protocol>/<run-id>/``, exactly as ``biosnn run NAME --set ... --seed S``.

Execution
---------
Every point that has no finished run yet (the rule of :func:`bioSNN.runner.find_run`,
see :func:`finished_runs`; this is the resume) is submitted to a Dask ``distributed``
cluster as one task, keyed by a digest of the point (the same point always gets the
same key) and with ``retries``: a point whose task raises is run again up to
``retries`` times, a point whose worker dies (killed, out of memory) is rescheduled on another worker by the
scheduler (up to ``distributed.scheduler.allowed-failures`` times, default 3). A point
that still fails is reported in the table (``status = failed`` and its error) and the
other points complete. Without a scheduler address, an embedded ``LocalCluster`` of
single-threaded worker *processes* bound to 127.0.0.1 runs the points; with one
(``tcp://HOST:PORT``), the same command runs on an existing cluster (whose workers must
see the same ``out`` folder and have bioSNN installed).

Brian2 in parallel worker processes
-----------------------------------
* ``cpp_standalone``: :func:`bioSNN.backend.brian_target` locks the per-protocol build
  folder (``$BIOSNN_CACHE/cpp_standalone/<protocol>``) with ``flock`` for the whole run;
  a worker that finds it locked builds in a private sibling ``<folder>-<pid>`` instead.
  No two processes ever build into the same folder, and each worker keeps reusing its
  compiled objects, so no per-point build folder is needed (that would recompile every
  point).
* ``cython``: Brian2 2.9's extension manager
  (``brian2/codegen/runtime/cython_rt/extension_manager.py``) writes and loads each
  compiled module under a per-module ``FileLock`` in the shared cache
  (``prefs.codegen.runtime.cython.multiprocess_safe``, default True) and compiles in
  that module's own temporary names, so concurrent workers do not race; the cache is
  left shared (a private cache per worker would only recompile everything).
* ``import brian2`` installs a Ctrl-C handler (``signal.signal``), which Python allows
  only in a process's main thread, while Dask runs tasks in a worker's executor thread:
  the :class:`BrianWorkerSetup` worker plugin imports brian2 on each worker's main
  (event-loop) thread when the worker joins, before it receives any task (also on
  workers that join or restart later).
* Workers run torch on one intra-op thread (the Dask nanny already starts workers with
  ``OMP_NUM_THREADS=1``; :func:`run_point` also applies it in-process; a protocol whose
  spec sets ``torch_threads`` still uses its own value) and draw no progress bars; the
  driver shows points done / total and the number failed on stderr.

Outputs
-------
``<out>/sweeps/<sweep-id>/``, where the sweep id is the protocol name plus a digest of
the definition (so running the same sweep again resumes into the same folder):

``sweep.json``
    The definition: protocol, mode, target, base parameters, swept parameters with
    their canonical values and display units, seeds, number of points.
``table.csv`` (and ``table.parquet`` when pyarrow is installed)
    One row per point (see :func:`table_columns`), written atomically.
``summary.png``
    The chosen metric against each swept parameter, mean ± 95 % CI over seeds
    (:func:`bioSNN.plots.sweep.plot_sweep`, drawn from the saved table).
"""
from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import os
import re
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from distributed import WorkerPlugin

from .errors import BioSNNError, SpecError

__all__ = ["SweepAxis", "SweepPoint", "Sweep", "SweepOutcome", "BrianWorkerSetup",
           "define_sweep", "parse_seeds", "parse_sweep_set", "run_sweep", "run_point",
           "finished_runs", "run_key", "table_columns", "write_table", "numeric_metrics",
           "choose_metric", "mean_ci95", "format_summary", "DEFAULT_METRICS", "DEFAULT_RETRIES",
           "CONNECT_TIMEOUT_S"]

DEFAULT_RETRIES = 2
"""Extra attempts of a point whose task raises (Dask ``retries=``)."""

CONNECT_TIMEOUT_S = 5.0
"""Seconds to wait for a ``--scheduler`` (and for it to have a worker) before giving up."""

DEFAULT_METRICS = {
    "lif-fi-curve": "rate_at_I_max_Hz",
    "lif-poisson-trace": "mean_output_rate_Hz",
    "izhikevich-patterns": "RS_rate_during_step_Hz",
    "rstdp-classification": "test_accuracy",
    "distal-reward": "w_chosen_final",
    "fewshot-protonet": "snn_test_accuracy",
    "stdp-window": "tau_plus_ms",
}
"""Default ``--metric`` per protocol kind (when present in the table); otherwise the first
numeric summary metric."""

_FIXED_COLUMNS = ("protocol", "seed", "status", "error", "run", "wall_time_s", "reused")


# --------------------------------------------------------------------------- definition

def parse_seeds(text: str | int | Iterable[int]) -> tuple[int, ...]:
    """Seeds from ``"0-9"`` (inclusive range), ``"0,3,5"``, ``"7"`` or a mix (``"0-4,9"``).

    Parameters
    ----------
    text : str, int or iterable of int

    Returns
    -------
    tuple of int
        In the given order; non-negative, without duplicates.

    Raises
    ------
    SpecError
        (source ``--seeds``) for anything else: empty items, negative numbers, a range
        whose end is below its start, duplicates.
    """
    def bad(why):
        return SpecError("--seeds", None, f"{why}; expected seeds like 0-9, 0,3,5 or 7, "
                         f"got {text!r}")

    if isinstance(text, bool):
        raise bad("not a seed")
    if isinstance(text, int):
        items: list[int] = [text]
    elif isinstance(text, str):
        items = []
        for part in text.split(","):
            part = part.strip()
            m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
            if not m:
                raise bad(f"cannot read {part!r}" if part else "empty item")
            lo = int(m.group(1))
            hi = int(m.group(2)) if m.group(2) is not None else lo
            if hi < lo:
                raise bad(f"range {part!r} ends before it starts")
            items.extend(range(lo, hi + 1))
    else:
        items = list(text)
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in items):
            raise bad("not all integers")
    if not items:
        raise bad("no seeds")
    if any(s < 0 for s in items):
        raise bad("seeds must be non-negative")
    dup = sorted({s for s in items if items.count(s) > 1})
    if dup:
        raise bad(f"seed {dup[0]} given twice")
    return tuple(items)


def parse_sweep_set(text: str) -> tuple[str, list[Any]]:
    """Split ``key=v1,v2,...`` into the key and its raw values.

    Each value is read like one ``biosnn run --set key=value``
    (:func:`bioSNN.protocols.spec.parse_override`: TOML when it parses — ``5``,
    ``0.01``, ``true``, ``"-55 mV"`` — text otherwise, e.g. ``10ms``). Values are
    separated by commas, so a value must not contain one.

    Raises
    ------
    SpecError
        (source ``--set``) for a missing ``=``, key or value, or an empty item.
    """
    from .protocols.spec import parse_override

    if "=" not in text:
        raise SpecError("--set", None, f"expected key=value[,value...], got {text!r}")
    key, raw = (s.strip() for s in text.split("=", 1))
    if not key or not raw:
        raise SpecError("--set", None, f"expected key=value[,value...], got {text!r}")
    values = []
    for item in raw.split(","):
        if not item.strip():
            raise SpecError("--set", key.removeprefix("parameters."),
                            f"empty value in {raw!r} (values are separated by commas)")
        values.append(parse_override(f"{key}={item}")[1])
    return key.removeprefix("parameters."), values


@dataclass(frozen=True)
class SweepAxis:
    """One swept parameter.

    Attributes
    ----------
    name : str
        Parameter name.
    values : tuple
        Canonical values, as the resolved spec writes them (``"200 ms"`` for quantities,
        numbers, booleans or strings otherwise).
    unit : str or None
        Display unit of a quantity parameter (the spec's unit, e.g. ``"ms"``); None
        for plain numbers, booleans and strings.
    numbers : tuple of float or None
        Each value as a number in ``unit`` (None for booleans and strings).
    """

    name: str
    values: tuple
    unit: str | None
    numbers: tuple

    @property
    def column(self) -> str:
        """Table column holding the value as a number: ``<name>_<unit>`` for quantities
        (``tau_m_ms``), the parameter name itself otherwise."""
        if self.unit is None:
            return self.name
        return f"{self.name}_{re.sub(r'[^A-Za-z0-9_-]', '', self.unit.replace('**', ''))}"

    def as_dict(self) -> dict:
        return {"name": self.name, "values": list(self.values), "unit": self.unit,
                "column": self.column}


@dataclass(frozen=True)
class SweepPoint:
    """One protocol run of a sweep.

    Attributes
    ----------
    index : int
        Position in the sweep (row of the table).
    values : tuple of (name, value)
        Canonical value of each swept parameter.
    seed : int
    """

    index: int
    values: tuple
    seed: int


@dataclass(frozen=True)
class Sweep:
    """A validated sweep definition (see :func:`define_sweep`).

    Attributes
    ----------
    base : ProtocolSpec
        The protocol spec with quick mode and target applied, before any swept value.
    spec_data : mapping
        The spec file's content (what workers rebuild the spec from).
    quick : bool
    target : str or None
        ``--target`` (None: the spec's).
    axes : tuple of SweepAxis
    seeds : tuple of int
    """

    base: Any
    spec_data: Mapping[str, Any] = field(repr=False)
    quick: bool
    target: str | None
    axes: tuple
    seeds: tuple

    def points(self) -> list[SweepPoint]:
        """Cartesian product of the axes' values and the seeds (seeds innermost)."""
        combos = itertools.product(*[ax.values for ax in self.axes]) if self.axes else [()]
        names = [ax.name for ax in self.axes]
        out = []
        for combo in combos:
            for seed in self.seeds:
                out.append(SweepPoint(len(out), tuple(zip(names, combo)), seed))
        return out

    def spec_of(self, point: SweepPoint):
        """The resolved spec of one point (quick, target, swept values, seed)."""
        return _resolve(self.base, self.quick, self.target, dict(point.values), point.seed)

    def definition(self) -> dict:
        """The definition as plain data (``sweep.json`` without the id)."""
        return {
            "protocol": self.base.name, "kind": self.base.kind,
            "mode": "quick" if self.quick else "full", "target": self.base.target,
            "base_parameters": self.base.parameter_table(),
            "parameters": [ax.as_dict() for ax in self.axes],
            "seeds": list(self.seeds),
        }

    @property
    def sweep_id(self) -> str:
        """``<protocol>-<12 hex digits>``: a digest of :meth:`definition`; the same
        sweep always gets the same id (and folder)."""
        text = json.dumps(self.definition(), sort_keys=True, default=str)
        return f"{self.base.name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"

    @property
    def n_points(self) -> int:
        return math.prod(len(ax.values) for ax in self.axes) * len(self.seeds)


def _spec_path(name: str) -> Path:
    from .protocols.spec import list_specs

    if name.endswith(".toml") or os.sep in name:
        return Path(name)
    return list_specs()[name]


def _resolve(base, quick, target, overrides, seed):
    """Resolve one point's spec; a combination the protocol rejects (e.g. ``I_max``
    below ``I_min``) names the point."""
    try:
        return base.resolve(quick=quick, overrides=overrides or None, target=target, seed=seed)
    except SpecError as err:
        where = ", ".join(f"{k}={v}" for k, v in overrides.items())
        raise SpecError("--set", err.field, f"{err.message} (at {where})") from None


def define_sweep(name: str, sets: Sequence[str] = (), seeds: str | Iterable[int] | None = None,
                 *, quick: bool = False, target: str | None = None) -> Sweep:
    """Validate a sweep: protocol, ``--set key=v1,v2`` items, seeds, quick mode, target.

    Parameters
    ----------
    name : str
        Protocol name (``biosnn list``) or path to a spec ``.toml``.
    sets : sequence of str
        ``key=v1,v2,...`` items; each value is parsed and checked as the spec's
        parameter (unit, range), and every combination is checked by the protocol.
    seeds : str, iterable of int or None
        See :func:`parse_seeds`; None: the spec's seed.
    quick : bool
        Apply the spec's ``[quick]`` table.
    target : str, optional
        Brian2 target for every point (default: the spec's).

    Returns
    -------
    Sweep

    Raises
    ------
    BioSNNError
        Unknown protocol, unknown parameter, bad value or unit, a parameter given twice,
        a value given twice, bad seeds, a combination the protocol rejects.
    """
    from brian2 import Quantity

    from .protocols.schema import format_value, param_infos, parse_value
    from .protocols.spec import find_spec

    spec = find_spec(name)
    path = _spec_path(name)
    spec_data = tomllib.loads(path.read_text(encoding="utf-8"))
    base = spec.resolve(quick=quick, target=target)
    infos = param_infos(type(base.params))
    axes = []
    for item in sets:
        key, raws = parse_sweep_set(item)
        if key in (ax.name for ax in axes):
            raise SpecError("--set", key, "given twice; list all its values in one --set "
                            "key=v1,v2,...")
        if key not in infos:
            raise SpecError("--set", key, f"unknown parameter {key!r}; valid parameters: "
                            f"{', '.join(infos)}")
        info = infos[key]
        values, numbers = [], []
        for raw in raws:
            try:  # checked alone here (type, unit, range); combinations below
                value = parse_value(info, raw)
            except ValueError as err:
                raise SpecError("--set", key, str(err)) from None
            canonical = format_value(info, value)
            if canonical in values:
                raise SpecError("--set", key, f"value {canonical!r} given twice")
            values.append(canonical)
            if info.type is Quantity:
                numbers.append(float(value / info.unit))
            else:
                numbers.append(float(value) if _is_number(value) else None)
        unit = str(info.unit).replace("^", "**") if info.type is Quantity else None
        axes.append(SweepAxis(key, tuple(values), unit, tuple(numbers)))
    seed_list = (base.seed,) if seeds is None else parse_seeds(seeds)
    sweep = Sweep(base=base, spec_data=spec_data, quick=quick, target=target,
                  axes=tuple(axes), seeds=seed_list)
    for point in sweep.points()[::len(seed_list)]:  # every combination must be a valid spec
        sweep.spec_of(point)
    return sweep


# --------------------------------------------------------------------------- worker side

def _task(sweep: Sweep, point: SweepPoint, out: Path, figures: bool,
          data_root: str | None) -> dict:
    """The plain-data description of one point sent to a worker."""
    from .protocols.registry import get_kind

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
    from .protocols.spec import parse_spec
    from .runner import run_protocol

    _worker_quiet()
    importlib.import_module(task["kind_module"])  # registers a kind defined outside bioSNN
    spec = parse_spec(task["spec_data"], task["source"]).resolve(
        quick=task["quick"], overrides=task["overrides"] or None, target=task["target"],
        seed=task["seed"])
    folder = run_protocol(spec, out=Path(task["out"]), progress=False,
                          figures=task["figures"], data_root=task["data_root"])
    return {**_read_run(folder), "reused": False}


# --------------------------------------------------------------------------- driver side

def run_key(spec) -> tuple:
    """What identifies a run of a spec (as in :func:`bioSNN.runner.find_run`)."""
    return (spec.name, spec.kind, spec.seed, spec.target,
            tuple(sorted(spec.parameter_table().items())))


def finished_runs(out: str | os.PathLike, name: str) -> dict[tuple, Path]:
    """Every finished run folder under ``out/<name>/``, by what identifies its spec.

    The resume rule of :func:`bioSNN.runner.find_run` (same name, kind, seed, Brian2
    target and resolved parameters; hidden ``.partial-*`` folders, incomplete folders
    and specs that no longer load are skipped; the newest folder wins), but each saved
    spec is read once: ``find_run`` per point would read every folder's spec for every
    point (~5 ms each here: minutes for a few hundred points over a few hundred runs).

    Returns
    -------
    dict
        ``(name, kind, seed, target, sorted parameter items)`` -> run folder.
    """
    from .protocols.spec import load_spec
    from .results import REQUIRED_FILES

    parent = Path(out) / name
    found: dict[tuple, Path] = {}
    if not parent.is_dir():
        return found
    for folder in sorted(parent.iterdir()):  # ascending: a later (newer) folder overwrites
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        if not all((folder / f).is_file() for f in REQUIRED_FILES):
            continue
        try:
            found[run_key(load_spec(folder / "spec.toml"))] = folder
        except BioSNNError:
            continue
    return found


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


def _one_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip()
    return re.sub(r"\s*\n\s*", " | ", text)


def _connect(scheduler: str | None, workers: int | None, n_todo: int,
             timeout: float, stack):
    """A distributed Client: on ``scheduler`` or on an embedded LocalCluster."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler is None:
        n = max(1, min(workers or os.cpu_count() or 1, n_todo))
        cluster = stack.enter_context(LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, silence_logs=logging.CRITICAL))
        return stack.enter_context(Client(cluster)), f"local cluster of {n} worker processes"
    hint = (f"start one with `dask scheduler --port {scheduler.rsplit(':', 1)[-1]}` and workers "
            f"with `dask worker {scheduler}`, or omit --scheduler to use a local cluster")
    try:
        client = stack.enter_context(Client(scheduler, timeout=timeout))
    except (OSError, ValueError) as err:
        if isinstance(err, ValueError):
            raise SpecError("--scheduler", None, f"{err}; expected tcp://HOST:PORT") from None
        raise BioSNNError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} within "
                          f"{timeout:g} s; {hint}") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (TimeoutError, OSError):
        raise BioSNNError(f"--scheduler: the Dask scheduler at {scheduler} has no workers "
                          f"(waited {timeout:g} s); start some with `dask worker {scheduler}`"
                          ) from None
    n = len(client.scheduler_info().get("workers", {}))
    return client, f"scheduler {scheduler} ({n} workers)"


def _execute(tasks: dict, *, scheduler, workers, retries, timeout, progress, n_total,
             n_done, name) -> dict:
    """Run ``tasks`` (index -> task) on Dask; index -> result dict or exception."""
    from contextlib import ExitStack

    from distributed import as_completed
    from tqdm import tqdm

    results: dict[int, Any] = {}
    with ExitStack() as stack:
        client, where = _connect(scheduler, workers, len(tasks), timeout, stack)
        client.register_plugin(BrianWorkerSetup())
        if progress:
            print(f"sweep {name}: {n_total} points, {n_done} already done; running "
                  f"{len(tasks)} on {where}", file=sys.stderr)
        if not tasks:
            return results
        futures = {client.submit(run_point, task, key=_task_key(task), pure=True,
                                 retries=retries): i for i, task in tasks.items()}
        bar = tqdm(total=n_total, initial=n_done, desc="sweep", unit="point", file=sys.stderr,
                   disable=not progress, leave=False, dynamic_ncols=True)
        failed = 0
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                if fut.status == "finished":
                    results[i] = fut.result()
                else:
                    results[i] = fut.exception()
                    failed += 1
                fut.release()
                bar.set_postfix_str(f"{failed} failed", refresh=False)
                bar.update(1)
        except BaseException:
            client.cancel(list(futures))
            raise
        finally:
            bar.close()
    return results


def _flatten(summary: Mapping, prefix: str = "") -> dict:
    """Scalar entries of a (possibly nested) summary; lists and other non-scalars skipped."""
    out = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        elif value is None or isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def table_columns(sweep: Sweep, metric_names: Sequence[str]) -> tuple[list[str], dict]:
    """Columns of the sweep table and the column name of each summary metric.

    ``protocol``; for each swept parameter its canonical value (column = parameter
    name, e.g. ``"200 ms"``) and, for quantities, the number in the display unit
    (``tau_m_ms``); ``seed``, ``status`` (``ok`` / ``failed``), ``error``, ``run`` (run
    folder), ``wall_time_s`` (simulation wall time, s), ``reused`` (the run existed
    before); then every scalar summary metric (nested keys joined by ``.``; a metric
    whose name clashes with a column above becomes ``summary.<name>``).

    Returns
    -------
    (list of str, dict)
        The columns, and metric name -> its column.
    """
    cols = ["protocol"]
    for ax in sweep.axes:
        cols.append(ax.name)
        if ax.column != ax.name:
            cols.append(ax.column)
    cols += list(_FIXED_COLUMNS[1:])
    taken = set(cols)
    metric_cols = {m: (f"summary.{m}" if m in taken else m) for m in metric_names}
    return cols + list(metric_cols.values()), metric_cols


def _build_rows(sweep: Sweep, points: list, outcome: dict, out_given: Path, out_abs: Path):
    metric_names: dict[str, None] = {}
    flat = {}
    for p in points:
        res = outcome[p.index]
        if isinstance(res, dict):
            flat[p.index] = _flatten(res["summary"])
            metric_names.update(dict.fromkeys(flat[p.index]))
    columns, metric_cols = table_columns(sweep, list(metric_names))
    rows = []
    for p in points:
        res = outcome[p.index]
        row: dict[str, Any] = dict.fromkeys(columns)
        row["protocol"] = sweep.base.name
        for ax, (_, value) in zip(sweep.axes, p.values):
            row[ax.name] = value
            if ax.column != ax.name:
                row[ax.column] = ax.numbers[ax.values.index(value)]
        row["seed"] = p.seed
        if isinstance(res, dict):
            run = Path(res["run"])
            try:
                run = out_given / run.relative_to(out_abs)
            except ValueError:
                pass
            row.update(status="ok", error="", run=str(run), wall_time_s=res["wall_time_s"],
                       reused=res["reused"])
            for m, value in flat[p.index].items():
                row[metric_cols[m]] = value
        else:
            row.update(status="failed", error=_one_line(res), run="", reused=False)
        rows.append(row)
    return columns, rows, metric_cols


def _csv_text(columns: Sequence[str], rows: Sequence[Mapping]) -> str:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return buf.getvalue()


def write_table(folder: str | os.PathLike, columns: Sequence[str],
                rows: Sequence[Mapping]) -> list[Path]:
    """Write ``table.csv`` (and ``table.parquet`` when pyarrow is installed) atomically.

    Returns
    -------
    list of Path
        The files written.
    """
    import importlib.util

    from .results import atomic_write_bytes, atomic_write_text

    folder = Path(folder)
    written = [folder / "table.csv"]
    atomic_write_text(written[0], _csv_text(columns, rows))
    if importlib.util.find_spec("pyarrow") is not None:
        import pandas as pd

        buf = io.BytesIO()
        pd.DataFrame(list(rows), columns=list(columns)).to_parquet(buf, index=False)
        atomic_write_bytes(folder / "table.parquet", buf.getvalue())
        written.append(folder / "table.parquet")
    return written


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def numeric_metrics(rows: Sequence[Mapping], metric_cols: Mapping[str, str]) -> list[str]:
    """Metric columns holding numbers (not booleans) in every successful row that has one."""
    ok = [r for r in rows if r["status"] == "ok"]
    out = []
    for col in metric_cols.values():
        vals = [r[col] for r in ok if r.get(col) is not None]
        if vals and all(_is_number(v) for v in vals):
            out.append(col)
    return out


def choose_metric(requested: str | None, kind: str, rows: Sequence[Mapping],
                  metric_cols: Mapping[str, str]) -> str | None:
    """The table column of the summary figure's metric.

    ``requested`` (a metric name, or its ``summary.<name>`` column) when given; else
    :data:`DEFAULT_METRICS` of the kind when numeric in the table; else the first
    numeric metric. None when there is no numeric metric (e.g. every point failed).

    Raises
    ------
    BioSNNError
        When ``requested`` is not a numeric metric of the table.
    """
    numeric = numeric_metrics(rows, metric_cols)
    if requested is not None:
        col = metric_cols.get(requested, requested)
        if col in numeric:
            return col
        if not numeric:
            return None
        raise SpecError("--metric", None, f"{requested!r} is not a numeric summary metric of "
                        f"this sweep; choose one of {', '.join(numeric)}")
    default = metric_cols.get(DEFAULT_METRICS.get(kind, ""))
    if default in numeric:
        return default
    return numeric[0] if numeric else None


def mean_ci95(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean and half-width of its 95 % confidence interval (Student t, n - 1 d.o.f.).

    Parameters
    ----------
    values : sequence of float
        Non-finite values are ignored.

    Returns
    -------
    (mean, half_width, n)
        ``half_width = t_{0.975, n-1} * s / sqrt(n)`` with ``s`` the sample standard
        deviation; NaN when n < 2 (mean NaN when n = 0).
    """
    import numpy as np
    from scipy import stats

    x = np.asarray([v for v in values if v is not None], dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return float(x.mean()), half, n


def format_summary(outcome: SweepOutcome, max_failures: int = 5) -> str:
    """A short text table: per combination of swept values, points ok / total and the
    metric's mean ± 95 % CI over seeds; then up to ``max_failures`` failed points."""
    sweep, rows, metric = outcome.sweep, outcome.rows, outcome.metric
    names = [ax.name for ax in sweep.axes]
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(r[n] for n in names), []).append(r)
    head = names + ["ok"] + ([f"{metric} (mean ± 95% CI)"] if metric else [])
    lines = [head]
    for combo, rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        cells = [str(v) for v in combo] + [f"{len(ok)}/{len(rs)}"]
        if metric:
            mean, half, n = mean_ci95([r[metric] for r in ok])
            cells.append("-" if n == 0 else f"{mean:.6g}" + ("" if n < 2 else f" ± {half:.3g}"))
        lines.append(cells)
    widths = [max(len(line[k]) for line in lines) for k in range(len(head))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    failed = [r for r in rows if r["status"] == "failed"]
    for r in failed[:max_failures]:
        where = ", ".join(f"{n}={r[n]}" for n in names) + ("," if names else "")
        text.append(f"failed: {where} seed {r['seed']}: {r['error'][:200]}")
    if len(failed) > max_failures:
        text.append(f"... and {len(failed) - max_failures} more failed points (see the table)")
    return "\n".join(text)


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
    from .results import atomic_write_text, dumps_json

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
    finished = finished_runs(out_abs, sweep.base.name)
    for p in points:
        existing = finished.get(run_key(sweep.spec_of(p)))
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
    figure_path = None
    if chosen is not None:
        figure_path = _draw_summary(folder, chosen, sweep)
        definition["metric"] = chosen
        atomic_write_text(folder / "sweep.json", dumps_json(definition))
    return SweepOutcome(sweep=sweep, folder=folder, table_path=table_path, columns=columns,
                        rows=rows, metric=chosen, figure_path=figure_path, n_reused=n_reused,
                        n_run=len(tasks), n_failed=sum(r["status"] == "failed" for r in rows),
                        wall_time_s=time.perf_counter() - t0)


def _draw_summary(folder: Path, metric: str, sweep: Sweep) -> Path:
    """Draw ``summary.png`` from the saved ``table.csv`` (never from memory)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import pandas as pd
    from matplotlib import pyplot as plt

    from .plots.style import save_figure
    from .plots.sweep import plot_sweep

    table = pd.read_csv(folder / "table.csv", keep_default_na=True)
    axes = [ax.as_dict() for ax in sweep.axes]
    fig = plot_sweep(table, metric, axes, title=f"{sweep.base.name} ({sweep.sweep_id})")
    path = save_figure(fig, folder / "summary.png")
    plt.close(fig)
    return path
