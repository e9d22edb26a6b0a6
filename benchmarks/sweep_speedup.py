"""Speed-up of `biosnn sweep` with N Dask workers over one worker.

Runs the same sweep (default: ``lif-fi-curve`` at full size with membrane noise,
``sigma`` 0.5 / 1 mV x ``duration`` 4 / 6 s x seeds 0-1 = 8 points of ~4-7 s each here)
twice through :func:`bioSNN.sweep.run_sweep` on an embedded ``LocalCluster``: with 1
worker process (serial) and with N (default 2), each into its own fresh results folder
(so nothing is resumed), and prints the end-to-end wall times (cluster start, every
point with its figures, table and summary figure), the speed-up T(1) / T(N) and the
parallel efficiency speed-up / N (issue goal: speed-up >= 0.8 x N). It also prints the
mean simulation wall time per point (``wall_time_s`` in the table) and the CPU time the
sweep's processes used as a share of its cores over the wall time: when the per-point
time grows with N while that share drops well below 100 %, other jobs on the machine took
the cores (the speed-up then measures the machine, not the sweep).

Not a unit test: the numbers depend on the machine and its load (check ``uptime``
first: on the shared 2-core machine another job's process takes a core away).

Usage::

    python benchmarks/sweep_speedup.py [--workers 2] [--protocol lif-fi-curve]
        [--set sigma=0.5mV,1mV --set duration=4s,6s] [--seeds 0-1] [--quick]
        [--no-figures] [--keep DIR]
    make bench-sweep          # options via SWEEP_BENCH_ARGS="..."
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_SETS = ["sigma=0.5mV,1mV", "duration=4s,6s"]


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _cpu_s() -> float:
    """CPU time (user + system, s) of this process and of its finished child processes
    (the LocalCluster's worker processes are children of this process, reaped when the
    cluster closes)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        total += ru.ru_utime + ru.ru_stime
    return total


def time_sweep(sweep, out: Path, workers: int, figures: bool) -> dict:
    """Run ``sweep`` into the empty folder ``out`` on ``workers`` local worker processes.

    Returns
    -------
    dict
        ``wall_s`` (end to end, s), ``point_s`` (mean simulation wall time per point,
        s), ``failed`` (points), ``table`` (path), ``cpu_s`` (CPU time of the driver
        and its worker processes, s), ``cpu_share`` (``cpu_s / (wall_s * workers)``:
        the fraction of its cores the sweep got; well below 1 means other jobs took
        cores away).
    """
    from bioSNN.sweep import run_sweep

    before = _cpu_s()
    t0 = time.perf_counter()
    res = run_sweep(sweep, out=out, workers=workers, figures=figures, progress=False)
    wall = time.perf_counter() - t0
    cpu = _cpu_s() - before
    if res.n_reused:
        raise RuntimeError(f"{out} already held runs of this sweep: the timing is not valid")
    times = [r["wall_time_s"] for r in res.rows if r["status"] == "ok"]
    return {"wall_s": wall, "point_s": statistics.fmean(times) if times else float("nan"),
            "failed": res.n_failed, "table": res.table_path, "cpu_s": cpu,
            "cpu_share": cpu / (wall * workers)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--protocol", default="lif-fi-curve")
    ap.add_argument("--set", dest="sets", action="append", default=None, metavar="KEY=V1,V2",
                    help=f"swept parameter (repeatable; default: {' '.join(DEFAULT_SETS)})")
    ap.add_argument("--seeds", default="0-1")
    ap.add_argument("--workers", type=int, default=2, help="N, compared with 1 (default 2)")
    ap.add_argument("--quick", action="store_true", help="the spec's [quick] sizes")
    ap.add_argument("--no-figures", action="store_true", help="skip each run's own figures")
    ap.add_argument("--keep", default=None, metavar="DIR",
                    help="write the runs under DIR (must not hold runs of this sweep) and "
                    "keep them; default: a temporary folder, deleted afterwards")
    args = ap.parse_args(argv)

    from bioSNN.sweep import define_sweep

    sweep = define_sweep(args.protocol, args.sets or DEFAULT_SETS, args.seeds, quick=args.quick)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="biosnn-sweep-bench-"))
    print(f"sweep {sweep.sweep_id}: {args.protocol}{' --quick' if args.quick else ''} "
          f"{' '.join('--set ' + s for s in (args.sets or DEFAULT_SETS))} --seeds {args.seeds}"
          f" -> {sweep.n_points} points; {os.cpu_count()} CPUs; load {_load()}", flush=True)
    results = {}
    try:
        for n in (1, args.workers):
            print(f"  {n} worker{'s' if n > 1 else ''} ...", end=" ", flush=True)
            results[n] = time_sweep(sweep, root / f"workers-{n}", n, not args.no_figures)
            r = results[n]
            print(f"{r['wall_s']:.1f} s (mean {r['point_s']:.2f} s simulation wall time per "
                  f"point; {r['cpu_s']:.1f} CPU-s = {100 * r['cpu_share']:.0f}% of {n} "
                  f"core{'s' if n > 1 else ''}; {r['failed']} failed; load {_load()})",
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    t1, tn = results[1]["wall_s"], results[args.workers]["wall_s"]
    speedup = t1 / tn
    efficiency = speedup / args.workers
    goal = 0.8 * args.workers
    print(f"serial (1 worker): {t1:.1f} s   {args.workers} workers: {tn:.1f} s   "
          f"speed-up {speedup:.2f}x   efficiency {efficiency:.2f}   "
          f"(goal: speed-up >= {goal:.1f}x: {'met' if speedup >= goal else 'NOT met'})")
    if args.keep:
        print(f"tables: {results[1]['table']}  {results[args.workers]['table']}")
    return 0


if __name__ == "__main__":  # the guard is required: Dask's worker processes are spawned
    sys.exit(main())
