"""Run the registered validation tests and write their report (``biosnn validate``).

For every distinct protocol run the selected tests need (protocol spec, seed,
overrides, ``--quick``), a finished run of exactly that spec under the results root is
reused (:func:`bioSNN.runner.find_run`); otherwise the protocol is run there
(:func:`bioSNN.runner.run_protocol`). Each test then judges the run *as loaded from
disk*. The report folder receives

``report.md``
    the table (test, observation, prediction, score, status, citation), the runs used,
    the figures and the full citations;
``verdicts.json``
    every verdict with all intermediate numbers;
``figures/*.png``
    one figure per test family and run, drawn from the saved Results.
"""
from __future__ import annotations

import os
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BioSNNError
from .base import FAIL, PASS, WARN, Prediction, Score, Verdict
from .registry import Entry, entry_names, select

__all__ = ["ValidationReport", "validate", "format_table", "write_report", "list_table"]


@dataclass
class ValidationReport:
    """Verdicts of one ``biosnn validate`` call and what they were computed from."""

    verdicts: list[Verdict]
    mode: str
    runs: dict = field(default_factory=dict)  # run label -> {"folder", "reused"}
    figures: list[Path] = field(default_factory=list)
    wall_time_s: float = 0.0
    path: Path | None = None

    def counts(self) -> dict[str, int]:
        out = {PASS: 0, WARN: 0, FAIL: 0}
        for v in self.verdicts:
            out[v.status] = out.get(v.status, 0) + 1
        return out

    @property
    def failed(self) -> bool:
        return any(v.status == FAIL for v in self.verdicts)


def _run_label(entry: Entry) -> str:
    extra = ", ".join(f"{k}={v}" for k, v in sorted(entry.overrides.items()))
    return f"{entry.protocol} (seed {entry.seed}{', ' + extra if extra else ''})"


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr)


def validate(names=None, *, quick: bool = False, results_root: str | os.PathLike = "results",
             out: str | os.PathLike | None = None, progress: bool = True,
             figures: bool = True, observations: str | os.PathLike | None = None
             ) -> ValidationReport:
    """Judge the registered tests on (reused or new) protocol runs and write the report.

    Parameters
    ----------
    names : iterable of str, optional
        Tests to run (default: all, in registry order).
    quick : bool or collection of str
        Use the specs' ``[quick]`` sizes, for every protocol or for those named.
    results_root : path
        Searched for finished runs; new runs go there.
    out : path, optional
        Report folder (default ``<results_root>/validation``).
    progress : bool
        Report runs on stderr.
    figures : bool
        Draw the figures.
    observations : str, optional
        ``FILE.nwb[:PATH]``: recorded units to score every firing-regime population
        against (:mod:`bioSNN.validation.recorded`). Then only those tests run, unless
        ``names`` lists others (names may mix both kinds).

    Returns
    -------
    ValidationReport
        Also written to ``out`` (``report.md``, ``verdicts.json``, ``figures/``).

    Raises
    ------
    BioSNNError
        Unknown test name or invalid spec (before anything runs).
    """
    from ..errors import writing_to
    from ..results import Results
    from ..paths import make_output_dirs
    from ..runner import RESULTS_OPTION, ensure_run

    t0 = time.perf_counter()
    entries = _entries(names, observations)
    out = Path(out) if out is not None else Path(results_root) / "validation"
    specs = validation_specs(entries, quick)  # bad input fails before any run
    make_output_dirs((results_root, RESULTS_OPTION), (out, "report folder (--out)"))
    if progress:
        from ..plan import format_plan, plan_runs

        print(format_plan(plan_runs(specs.values(), results_root),
                          f"biosnn validate: {len(entries)} tests"), file=sys.stderr)
    loaded, runs = {}, {}
    for e in entries:
        key = e.run_key()
        if key in loaded:
            continue
        folder, reused = ensure_run(specs[key], results_root, progress=progress,
                                    label="validate")
        loaded[key] = Results.load(folder)
        runs[_run_label(e)] = {"folder": str(folder), "reused": reused}

    verdicts = []
    for e in entries:
        results = loaded[e.run_key()]
        try:
            verdict = e.test.judge(results, protocol=_run_label(e), run=str(results.path))
        except Exception as err:  # a broken extractor must show up as a failed test
            verdict = Verdict(e.name, FAIL, e.test.observation,
                              Prediction(None, text=f"error: {type(err).__name__}: {err}"),
                              Score(False, None, "could not be evaluated"),
                              _run_label(e), str(results.path))
        verdicts.append(verdict)

    mode = ("quick" if quick else "full") if isinstance(quick, bool) else "mixed"
    report = ValidationReport(verdicts, mode, runs)
    with writing_to(out, "report folder (--out)"):
        if figures:
            report.figures = _draw_figures(entries, loaded, out / "figures", progress)
        report.wall_time_s = time.perf_counter() - t0
        write_report(report, out)
    return report


def _entries(names, observations) -> list:
    if observations is None:
        return select(list(names) if names is not None else None)
    from .recorded import recorded_tests

    extra = recorded_tests(str(observations))
    if names is None:
        return extra
    names = list(names)
    extra_names = {e.name for e in extra}
    unknown = [n for n in names if n not in extra_names and n not in entry_names()]
    if unknown:
        raise BioSNNError(f"unknown validation test {unknown[0]!r}; known tests: "
                          f"{', '.join(entry_names() + sorted(extra_names))}")
    return (select([n for n in names if n not in extra_names])
            + [e for e in extra if e.name in names])


def validation_specs(entries=None, quick=False) -> dict:
    """Run key -> resolved spec of every protocol run the ``entries`` (default: every
    registered test) judge; ``quick`` as for :func:`bioSNN.runner.quick_for`."""
    from ..protocols.spec import find_spec
    from ..runner import quick_for

    specs = {}
    for e in (select(None) if entries is None else entries):
        if e.run_key() not in specs:
            specs[e.run_key()] = find_spec(e.protocol).resolve(
                quick=quick_for(quick, e.protocol), overrides=dict(e.overrides) or None,
                seed=e.seed)
    return specs


def _draw_figures(entries, loaded, folder: Path, progress: bool) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..plots.style import save_figure

    folder.mkdir(parents=True, exist_ok=True)
    done, written = set(), []
    for e in entries:
        fname = e.test.figure_name
        if fname is None:
            continue
        key = (fname, e.run_key())
        if key in done:
            continue
        done.add(key)
        stem = e.name if e.overrides else fname
        try:
            fig = e.test.figure(loaded[e.run_key()])
        except Exception as err:  # the verdict table is the result; a figure is a bonus
            _log(progress, f"validate: figure {stem} failed: {type(err).__name__}: {err}")
            continue
        if fig is None:
            continue
        try:
            written.append(save_figure(fig, folder / f"{stem}.png"))
        finally:
            plt.close(fig)
    return written


def _short_citation(citation: str, width: int = 32) -> str:
    import re

    m = re.match(r"^(.*?\(\d{4}\))", citation)
    text = m.group(1) if m else citation.split(" (")[0]
    return text if len(text) <= width else text[: width - 3] + "..."


def _observation_short(v: Verdict) -> str:
    return v.observation.text()


def _cells(v: Verdict) -> list[str]:
    return [v.test, _observation_short(v), v.prediction.text, v.score.text, v.status.upper(),
            _short_citation(v.observation.citation)]


def format_table(verdicts, widths=(28, 40, 40, 34, 6, 26)) -> str:
    """The verdicts as a plain-text table (cells wrapped to ``widths``)."""
    header = ["test", "observation", "prediction", "score", "status", "citation"]
    rows = [header] + [_cells(v) for v in verdicts]
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    lines = [sep]
    for r, row in enumerate(rows):
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(row, widths)]
        for k in range(max(len(c) for c in wrapped)):
            lines.append("| " + " | ".join((c[k] if k < len(c) else "").ljust(w)
                                           for c, w in zip(wrapped, widths)) + " |")
        if r == 0 or r == len(rows) - 1:
            lines.append(sep)
    return "\n".join(lines)


def list_table() -> str:
    """``biosnn validate --list``: one block per registered test."""
    from .registry import ENTRIES

    blocks = []
    for e in ENTRIES:
        sev = "" if e.test.severity == FAIL else f" [reported as pass/{e.test.severity}]"
        blocks.append(f"{e.name}  <- {_run_label(e)}{sev}\n    {e.test.observation.text()}\n"
                      f"    {e.test.observation.citation}")
    return "\n".join(blocks)


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_report(report: ValidationReport, out: str | os.PathLike) -> Path:
    """Write ``report.md`` and ``verdicts.json`` into ``out`` (atomically)."""
    from .. import __version__
    from ..provenance import git_state, package_versions
    from ..results import atomic_write_text, dumps_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    git = git_state()
    counts = report.counts()
    lines = [
        "# bioSNN validation report", "",
        f"Mode: **{report.mode}** · bioSNN {__version__} · git {git.get('commit') or 'n/a'}"
        f"{' (dirty)' if git.get('dirty') else ''} · {len(report.verdicts)} tests: "
        f"{counts[PASS]} pass, {counts[WARN]} warn, {counts[FAIL]} fail · "
        f"{report.wall_time_s:.1f} s", "",
        "Status: `pass` = the pass rule holds; `fail` = it does not, for a property the model "
        "must have; `warn` = a regime the model is outside of (membrane constants of point "
        "neurons, firing of trained networks), reported but not failing.", "",
        "| test | observation | prediction | score | status | citation |",
        "|---|---|---|---|---|---|",
    ]
    for v in report.verdicts:
        lines.append("| " + " | ".join(_md(c) for c in (
            f"`{v.test}`", v.observation.text(), v.prediction.text, v.score.text,
            f"**{v.status}**", _short_citation(v.observation.citation, 60))) + " |")
    lines += ["", "## Runs", ""]
    for label, info in report.runs.items():
        lines.append(f"- {label}: `{info['folder']}` ({'reused' if info['reused'] else 'new run'})")
    if report.figures:
        lines += ["", "## Figures", ""]
        for path in report.figures:
            lines += [f"### {path.stem}", "", f"![{path.stem}](figures/{path.name})", ""]
    lines += ["", "## Citations", ""]
    for cite in dict.fromkeys(v.observation.citation for v in report.verdicts):
        lines.append(f"- {cite}")
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    atomic_write_text(out / "verdicts.json", dumps_json({
        "mode": report.mode, "counts": counts, "git": git, "versions": package_versions(),
        "runs": report.runs, "wall_time_s": round(report.wall_time_s, 3),
        "verdicts": [v.as_dict() for v in report.verdicts]}))
    report.path = out
    return out / "report.md"
