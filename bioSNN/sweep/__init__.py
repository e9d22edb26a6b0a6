"""Parameter sweeps (``biosnn sweep``): the cartesian product of ``--set`` values x seeds,
one normal protocol run per point, on Dask distributed; a table and a summary figure.
How it works and what it writes: docs/sweeps-and-benchmarks.md.

``definition`` (what a sweep is), ``worker`` (one point on a worker), ``cluster`` (the
Dask side), ``table`` (rows, files, metric), ``run`` (the driver).
"""
from .definition import (CONNECT_TIMEOUT_S, DEFAULT_RETRIES, Sweep, SweepAxis, SweepPoint,
                         define_sweep, parse_seeds, parse_sweep_set)
from .worker import BrianWorkerSetup, run_point
from .table import choose_metric, format_summary, numeric_metrics, table_columns, write_table
from .run import SweepOutcome, run_sweep
from ..stats import mean_ci95  # noqa: F401 (bioSNN.sweep.mean_ci95, as before)

__all__ = ["DEFAULT_RETRIES", "CONNECT_TIMEOUT_S", "parse_seeds", "parse_sweep_set", "SweepAxis",
           "SweepPoint", "Sweep", "define_sweep", "BrianWorkerSetup", "run_point",
           "table_columns", "write_table", "numeric_metrics", "choose_metric",
           "format_summary", "SweepOutcome", "run_sweep", "mean_ci95"]
