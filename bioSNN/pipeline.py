"""The whole pipeline in one command (``biosnn pipeline``; ``make run`` and ``make paper``):
every shipped protocol, the figure catalogue and the validation report, then a table of
each protocol's headline numbers and where everything was written.

Sizes: ``demo`` runs a protocol at full size when its measured full run takes at most
:data:`DEMO_FULL_MAX_S` (``[runtime]`` of its spec), at its quick size otherwise;
``quick`` runs every protocol quick; ``full`` is the publication set. Finished runs are
reused, so an interrupted pipeline resumes where it stopped.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SIZES", "DEMO_FULL_MAX_S", "pipeline_specs", "pipeline_plan", "run_pipeline",
           "format_table", "PipelineResult"]

SIZES = ("demo", "quick", "full")
DEMO_FULL_MAX_S = 60.0


def _quick_set(size: str, protocols: dict):
    if size not in SIZES:
        from .errors import BioSNNError

        raise BioSNNError(f"--size: expected one of {', '.join(SIZES)}, got {size!r}")
    if size == "quick":
        return True
    if size == "full":
        return False
    return frozenset(name for name, spec in protocols.items()
                     if spec.runtime.get("full", math.inf) > DEMO_FULL_MAX_S)


def pipeline_specs(size: str = "demo"):
    """The pipeline's runs at ``size``.

    Returns
    -------
    quick : bool or frozenset of str
        Which protocols run quick (:func:`bioSNN.runner.quick_for`).
    protocols : dict of str to ProtocolSpec
        One resolved spec per shipped protocol (its own seed), in ``biosnn list`` order.
    specs : list of ProtocolSpec
        Every run needed: those, then the runs the figures and validation tests are
        drawn from (duplicates are dropped by the plan).
    """
    from .figures import figure_specs
    from .protocols.spec import find_spec, list_specs
    from .runner import quick_for
    from .validation.report import validation_specs

    found = {name: find_spec(name) for name in list_specs()}
    quick = _quick_set(size, found)
    protocols = {name: spec.resolve(quick=quick_for(quick, name)) for name, spec in found.items()}
    specs = [*protocols.values(), *figure_specs(None, quick).values(),
             *validation_specs(None, quick).values()]
    return quick, protocols, specs


@dataclass
class PipelineResult:
    """What :func:`run_pipeline` did; :func:`format_table` prints it."""

    size: str
    rows: list = field(default_factory=list)      # (spec, folder, summary)
    figures: list = field(default_factory=list)   # written figure files
    figures_dir: Path | None = None
    report: object = None                         # ValidationReport
    results_dir: Path | None = None
    step_s: dict = field(default_factory=dict)    # step -> wall seconds
    n_reused: int = 0
    n_run: int = 0

    @property
    def wall_time_s(self) -> float:
        return sum(self.step_s.values())


def pipeline_plan(size: str = "demo", results: str | os.PathLike = "results") -> str:
    """The plan of :func:`run_pipeline` as text (nothing is run)."""
    from .plan import format_plan, plan_runs

    _, _, specs = pipeline_specs(size)
    return format_plan(plan_runs(specs, results), f"biosnn pipeline --size {size}")


def run_pipeline(size: str = "demo", *, results: str | os.PathLike = "results",
                 figures_out: str | os.PathLike = "figures",
                 report_out: str | os.PathLike | None = None, progress: bool = True,
                 data_root: str | os.PathLike | None = None) -> PipelineResult:
    """Run every protocol, draw every figure, write the validation report.

    Parameters
    ----------
    size : {"demo", "quick", "full"}
    results : path
        Results root (finished runs there are reused).
    figures_out : path
        Folder of the figure catalogue.
    report_out : path, optional
        Validation report folder (default ``<results>/validation``).
    progress : bool
        Print the plan and progress on stderr.
    data_root : path, optional
        Dataset folder (default ``$BIOSNN_DATA``).
    """
    import json

    from .figures import regenerate
    from .plan import format_plan, plan_runs
    from .runner import ensure_run
    from .validation.report import validate

    quick, protocols, specs = pipeline_specs(size)
    plan = plan_runs(specs, results)
    if progress:
        print(format_plan(plan, f"biosnn pipeline --size {size}"), file=sys.stderr, flush=True)
    out = PipelineResult(size, results_dir=Path(results), figures_dir=Path(figures_out))
    t0 = time.perf_counter()
    folders = {}
    for i, p in enumerate(plan, 1):
        folder, reused = ensure_run(p.spec, results, progress=progress, data_root=data_root,
                                    label=f"[{i}/{len(plan)}] pipeline")
        folders[p.spec.identity()] = folder
        out.n_reused += reused
        out.n_run += not reused
    out.step_s["protocols"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out.figures = regenerate(None, quick=quick, out=figures_out, results_root=results,
                             progress=progress, data_root=data_root)
    out.step_s["figures"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out.report = validate(None, quick=quick, results_root=results, out=report_out,
                          progress=progress)
    out.step_s["validation"] = time.perf_counter() - t0
    for spec in protocols.values():
        folder = folders[spec.identity()]
        summary = json.loads((folder / "summary.json").read_text())
        out.rows.append((spec, folder, summary))
    return out


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "n/a"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def format_table(result: PipelineResult) -> str:
    """Headline numbers of each protocol, then where the results, figures and report
    are, and the time of each step."""
    from .protocols.registry import get_kind

    rows = []
    for spec, folder, summary in result.rows:
        keys = get_kind(spec.kind).headline or tuple(summary)[:3]
        numbers = "  ".join(f"{k}={_fmt(summary.get(k))}" for k in keys)
        rows.append((spec.name, spec.mode, numbers, str(folder)))
    head = ("protocol", "size", "headline numbers (summary.json)", "run folder")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    report = result.report
    counts = report.counts()
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in result.step_s.items())
    lines += [
        "",
        f"results:    {result.results_dir}/ ({result.n_run} runs made, {result.n_reused} reused)",
        f"figures:    {result.figures_dir}/ ({len(result.figures)} files)",
        f"validation: {report.path / 'report.md'} ({len(report.verdicts)} tests: "
        f"{counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail)",
        f"time:       {result.wall_time_s:.0f} s ({steps})",
    ]
    return "\n".join(lines)
