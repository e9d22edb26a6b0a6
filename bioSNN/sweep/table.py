"""The sweep table: one row per point (parameters, seed, status, run, summary metrics),
its files, the default metric and the short text summary."""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import SpecError
from ..stats import mean_ci95
from .definition import _FIXED_COLUMNS, _is_number, _one_line

if TYPE_CHECKING:
    from .definition import Sweep
    from .run import SweepOutcome

__all__ = ["table_columns", "write_table", "numeric_metrics", "choose_metric", "format_summary"]


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

    from ..results import atomic_write_bytes, atomic_write_text

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
    the kind's first ``headline`` metric when numeric in the table; else the first
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
    from ..protocols.registry import get_kind

    try:
        headline = get_kind(kind).headline
    except KeyError:
        headline = ()
    default = metric_cols.get(headline[0]) if headline else None
    if default in numeric:
        return default
    return numeric[0] if numeric else None


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
