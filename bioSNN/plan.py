"""What a command is about to run: which runs are reused, which will run, and how long
each should take (from the specs' measured ``[runtime]``), printed before anything starts."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

__all__ = ["PlannedRun", "plan_runs", "format_plan", "format_duration", "BUILD_S"]

BUILD_S = 40.0
"""Added to a cpp_standalone run whose C++ project was never built here (cold cache):
the first build of a protocol took 20-60 s on the 2-core reference machine."""


@dataclass(frozen=True)
class PlannedRun:
    """One protocol run of a plan.

    Attributes
    ----------
    spec : ProtocolSpec
        The resolved spec.
    folder : Path or None
        Its finished run folder when one exists (it is reused), else None.
    estimate_s : float or None
        Expected wall time if it has to run (None: not measured, or reused).
    cold_build : bool
        It runs on cpp_standalone and its C++ project was never built in the cache.
    """

    spec: object
    folder: Path | None
    estimate_s: float | None
    cold_build: bool

    @property
    def reused(self) -> bool:
        return self.folder is not None


def _never_built(spec) -> bool:
    from .backend import standalone_cache_dir

    if spec.target != "cpp_standalone":
        return False
    root = standalone_cache_dir(spec.name)
    return not any(p.name == "main" and p.is_file() for p in root.glob("**/main")) \
        if root.is_dir() else True


def plan_runs(specs: Iterable, results_root: str | os.PathLike) -> list[PlannedRun]:
    """Plan the runs of ``specs`` (duplicates by :meth:`ProtocolSpec.identity` dropped,
    order kept) against the finished runs under ``results_root``."""
    from .runner import find_run

    seen, plan = set(), []
    for spec in specs:
        if spec.identity() in seen:
            continue
        seen.add(spec.identity())
        folder = find_run(spec, results_root)
        if folder is not None:
            plan.append(PlannedRun(spec, folder, None, False))
            continue
        cold = _never_built(spec)
        est = spec.expected_wall_time_s()
        if est is not None and cold:
            est += BUILD_S
        plan.append(PlannedRun(spec, None, est, cold))
    return plan


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_plan(plan: list[PlannedRun], title: str) -> str:
    """The plan as a few lines: one per run (reused, or to run with its estimate), then
    the total estimate."""
    todo = [p for p in plan if not p.reused]
    if not todo:
        return f"{title}; all {len(plan)} protocol runs it needs are done (reused)"
    lines = [f"{title}; {len(plan)} protocol runs: {len(plan) - len(todo)} reused, "
             f"{len(todo)} to run"]
    width = max((len(p.spec.name) for p in plan), default=0)
    for p in plan:
        what = f"{p.spec.name:<{width}}  seed {p.spec.seed}  {p.spec.mode:<5}"
        if p.spec.overrides:
            what += "  --set " + " ".join(f"{k}={v}" for k, v in p.spec.overrides.items())
        if p.reused:
            lines.append(f"  reuse  {what}  {p.folder}")
        else:
            note = " (incl. first C++ build)" if p.cold_build else ""
            lines.append(f"  run    {what}  ~{format_duration(p.estimate_s)}{note}")
    if todo:
        known = [p.estimate_s for p in todo if p.estimate_s is not None]
        unknown = len(todo) - len(known)
        total = f"~{format_duration(sum(known))}"
        if unknown:
            total += f" + {unknown} run(s) not measured"
        lines.append(f"  expected time of the runs on the 2-core reference machine: {total}")
    return "\n".join(lines)
