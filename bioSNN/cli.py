"""The ``biosnn`` command: list, show and run named protocols; regenerate the figures;
validate the models against biology.

Thin by design: parse the arguments, call one :mod:`bioSNN.api` function, print.
Exit status: 2 for bad input (one line ``biosnn: error: ...`` naming the field and the
fix), 130 when interrupted, 1 when a validation test or sweep point failed or for an
internal error (one line and the path of the saved traceback).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .errors import BioSNNError

__all__ = ["main", "build_parser"]

EPILOG = """\
examples:
  biosnn list
  biosnn show lif-fi-curve
  biosnn run lif-fi-curve --quick
  biosnn run izhikevich-patterns --seed 3 --out results --set I_step="12 mV"
  biosnn figures --quick --only lif-fi-curve
  biosnn validate --quick
  biosnn validate --observations examples/recorded_data/synthetic-cortex.nwb
  biosnn pipeline                       # every protocol, figure and test, demo size (make run)
  biosnn sweep lif-fi-curve --quick --set sigma=1mV,2mV --set tau_m=10ms,20ms --seeds 0-4
  biosnn sweep lif-poisson-trace --set input_rate=10Hz,20Hz --seeds 0-9 --workers 2
  biosnn sweep lif-fi-curve --set tau_m=10ms,20ms --seeds 0-9 --scheduler tcp://HOST:8786
  biosnn export results/lif-poisson-trace/<run-id> --format nwb   # or --format neo

Protocol specs are TOML files in protocols/ (or in folders named by $BIOSNN_PROTOCOLS).
Each run writes <out>/<protocol>/<run-id>/ with spec.toml, provenance.json, data.nc,
summary.json and fig-*.png, and prints that folder on stdout.
`biosnn figures` draws the publication figures (figures/README.md) from saved runs.
`biosnn sweep` runs values x seeds on Dask (a local cluster, or --scheduler) and writes
<out>/sweeps/<sweep-id>/ with table.csv, sweep.json and summary.png (and phase.png for a
brunel2000 g x eta sweep); a re-run resumes.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # exit 2 with one readable line, as for every bad input
        self.print_usage(sys.stderr)
        print(f"biosnn: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    from .backend import TARGETS

    parser = _Parser(prog="biosnn", description="bioSNN: spiking neural network protocols in "
                     "biological units (Brian2, snnTorch).", epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"bioSNN {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    sub.add_parser("list", help="list the protocols: name, then a short description")

    p_show = sub.add_parser("show", help="print a protocol's resolved spec (TOML)")
    p_show.add_argument("name", help="protocol name (see `biosnn list`) or path to a spec .toml")
    p_show.add_argument("--quick", action="store_true", help="apply the spec's [quick] overrides")
    p_show.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a parameter (repeatable)")
    p_show.add_argument("--doc", action="store_true", help="also list every parameter's meaning")

    p_run = sub.add_parser("run", help="run a protocol and write its run folder",
                           description="Run a protocol; prints the run folder on stdout.")
    p_run.add_argument("name", help="protocol name (see `biosnn list`) or path to a spec .toml")
    p_run.add_argument("--seed", type=int, default=None, help="seed (default: the spec's)")
    p_run.add_argument("--out", default="results", help="results root (default: results/)")
    p_run.add_argument("--quick", action="store_true",
                       help="apply the spec's [quick] overrides (small sizes for tests/CI)")
    p_run.add_argument("--target", choices=TARGETS, default=None,
                       help="Brian2 code-generation target (default: the spec's)")
    p_run.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help='override a parameter, e.g. --set tau_m="12 ms" '
                       "(repeatable)")
    p_run.add_argument("--data-root", default=None, metavar="DIR",
                       help="dataset folder for protocols that read data (MNIST/raw/...); "
                       "default: $BIOSNN_DATA")
    p_run.add_argument("--no-progress", action="store_true", help="do not draw progress bars")
    p_run.add_argument("--no-figures", action="store_true", help="skip drawing figures")

    p_fig = sub.add_parser(
        "figures", help="draw the publication figures (PDF + PNG) from saved runs",
        description="Draw every catalogued figure as <out>/<name>.png and .pdf. A finished "
        "run of the figure's protocol spec and seed under --results is reused; missing runs "
        "are run first. Prints each written file on stdout and the wall time on stderr. "
        "Figures: " + ", ".join(_figure_names()) + " (figures/README.md).")
    p_fig.add_argument("--quick", action="store_true",
                       help="use the specs' [quick] sizes (tests/CI; default: full size)")
    p_fig.add_argument("--out", default="figures", help="folder for the figures (default: figures/)")
    p_fig.add_argument("--only", action="append", default=None, metavar="NAME",
                       help="draw only this figure (repeatable)")
    p_fig.add_argument("--results", default="results",
                       help="results root searched for runs and receiving new ones "
                       "(default: results/)")
    p_fig.add_argument("--data-root", default=None, metavar="DIR",
                       help="dataset folder for protocols run to make a figure; "
                       "default: $BIOSNN_DATA")
    p_fig.add_argument("--no-progress", action="store_true", help="do not report progress")

    p_val = sub.add_parser(
        "validate", help="judge the models against biological observations; write a report",
        description="Run the registered validation tests (observation vs prediction from a "
        "saved protocol run, with a score and a pass rule). A finished run of each needed "
        "protocol spec under --results is reused, missing runs are run first. Writes "
        "<out>/report.md, verdicts.json and figures/, prints the table. Exit status: 0 when "
        "no test fails (warnings allowed), 1 when a test fails, 2 for bad input.")
    p_val.add_argument("--quick", action="store_true",
                       help="use the specs' [quick] sizes (tests/CI; default: full size)")
    p_val.add_argument("--list", action="store_true",
                       help="list the tests (observation, citation, protocol) and exit")
    p_val.add_argument("--only", action="append", default=None, metavar="TEST",
                       help="run only this test (repeatable)")
    p_val.add_argument("--results", default="results",
                       help="results root searched for runs and receiving new ones "
                       "(default: results/)")
    p_val.add_argument("--out", default=None,
                       help="report folder (default: <results>/validation)")
    p_val.add_argument("--observations", default=None, metavar="FILE.nwb[:PATH]",
                       help="score every firing-regime population against these recorded "
                            "units (rate, ISI CV, Fano factor distributions; PATH: 'units' "
                            "or processing/<module>/<table>); only those tests run unless "
                            "--only names others")
    p_val.add_argument("--no-progress", action="store_true", help="do not report progress")

    p_pl = sub.add_parser(
        "pipeline", help="run every protocol, draw every figure, write the validation "
        "report; print a table of headline numbers",
        description="The whole pipeline: every shipped protocol, the figure catalogue "
        "(biosnn figures) and the validation report (biosnn validate), then a table of each "
        "protocol's headline numbers and where the results, figures and report are. Prints "
        "the plan first: which runs are reused, which will run and how long each should "
        "take. Finished runs are reused, so an interrupted pipeline resumes. Sizes: demo "
        "(`make run`: full size where the full run takes at most a minute, quick size "
        "otherwise; minutes), quick (every protocol quick), full (`make paper`: the "
        "publication set; hours). Exit status 1 when a validation test fails.")
    p_pl.add_argument("--size", choices=("demo", "quick", "full"), default="demo",
                      help="demo (default), quick or full")
    p_pl.add_argument("--results", default="results",
                      help="results root: finished runs there are reused, new ones written "
                      "there (default: results/)")
    p_pl.add_argument("--figures", default="figures",
                      help="folder for the figure catalogue (default: figures/)")
    p_pl.add_argument("--report", default=None, metavar="DIR",
                      help="validation report folder (default: <results>/validation)")
    p_pl.add_argument("--data-root", default=None, metavar="DIR",
                      help="dataset folder (MNIST/raw/...); default: $BIOSNN_DATA")
    p_pl.add_argument("--no-progress", action="store_true",
                      help="print no plan and no progress (the final table is still printed)")
    p_pl.add_argument("--plan", action="store_true",
                      help="only print the plan (reused runs, runs to make, expected times)")

    p_sw = sub.add_parser(
        "sweep", help="run a protocol over parameter values x seeds on Dask; write a table",
        description="Run the cartesian product of the --set values and the seeds, one "
        "protocol run (normal run folder under --out) per point, on Dask distributed: an "
        "embedded local cluster of worker processes, or the cluster of --scheduler. Points "
        "whose run already exists are skipped (resume). Writes <out>/sweeps/<sweep-id>/ "
        "(table.csv: one row per point with parameters, seed, status, error, run folder and "
        "every summary metric; sweep.json; summary.png: metric vs each parameter, mean ± "
        "95% CI over seeds). Prints the table path on stdout and a short table on stderr. "
        "Exit status: 0 when every point succeeded, 1 when some failed (they are in the "
        "table with their error), 2 for bad input.")
    p_sw.add_argument("name", help="protocol name (see `biosnn list`) or path to a spec .toml")
    p_sw.add_argument("--set", dest="sweeps", action="append", default=[],
                      metavar="KEY=V1,V2,...", help="a swept parameter and its values, "
                      "e.g. --set tau_m=10ms,20ms (repeatable; one --set per parameter)")
    p_sw.add_argument("--seeds", default=None, metavar="SEEDS",
                      help="seeds: 0-9, 0,3,5 or 7 (default: the spec's seed)")
    p_sw.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                      help="address of a running Dask scheduler (default: a local cluster)")
    p_sw.add_argument("--workers", type=int, default=None, metavar="N",
                      help="worker processes of the local cluster (default: the CPU count)")
    p_sw.add_argument("--quick", action="store_true",
                      help="apply the spec's [quick] overrides (small sizes for tests/CI)")
    p_sw.add_argument("--out", default="results", help="results root (default: results/)")
    p_sw.add_argument("--metric", default=None, metavar="M",
                      help="summary metric of summary.png (default: the protocol's headline "
                      "metric, else the first numeric one)")
    p_sw.add_argument("--target", choices=TARGETS, default=None,
                      help="Brian2 code-generation target (default: the spec's)")
    p_sw.add_argument("--data-root", default=None, metavar="DIR",
                      help="dataset folder for protocols that read data; default: $BIOSNN_DATA")
    p_sw.add_argument("--no-progress", action="store_true", help="do not report progress")
    p_sw.add_argument("--no-figures", action="store_true",
                      help="skip drawing each run's own figures (summary.png is drawn)")
    p_ex = sub.add_parser(
        "export", help="export a finished run folder to NWB, Neo (NIX) or NIR",
        description="Write a run's spikes, traces, stimuli, trials and provenance as an NWB 2 "
                    "file (pynwb; --format nwb) or a Neo block in a NIX file (--format neo), "
                    "or a few-shot/replay run's trained CSNN as a NIR graph (--format nir); "
                    "prints the file's path.")
    p_ex.add_argument("run_folder", help="a finished run folder (printed by `biosnn run`)")
    p_ex.add_argument("--format", dest="fmt", choices=("nwb", "neo", "nir"), default="nwb",
                      help="nwb (default), neo (a .nix file, read with neo.NixIO) or nir "
                           "(the trained CSNN of a few-shot/replay run; needs pool=sum)")
    p_ex.add_argument("--out", default=None, metavar="FILE",
                      help="output file; default RUN_FOLDER/export/<protocol>-seed<seed>"
                           ".nwb|nix|nir")
    p_ex.add_argument("--with-weights", action="store_true",
                      help="NWB: also write the weight matrices (processing module 'weights')")
    p_ex.add_argument("--species", default=None, metavar="NAME",
                      help="NWB: species of the modelled tissue, Latin binomial or NCBI "
                           "taxonomy IRI (default: NCBI taxon 32644, 'unidentified')")
    return parser


def _figure_names() -> list[str]:
    from .figures import figure_names

    return figure_names()


def _overrides(args) -> dict:
    from .protocols.spec import parse_override

    return dict(parse_override(o) for o in args.overrides)


def _cmd_list(args) -> int:
    from . import api

    protocols = api.list_protocols()
    width = max((len(n) for n in protocols), default=0)
    for name, desc in protocols.items():
        print(f"{name:<{width}}  {desc}")
    return 0


def _cmd_show(args) -> int:
    from . import api

    spec = api.spec(args.name, args.quick, _overrides(args))
    print(spec.to_toml(), end="")
    if args.doc:
        from .protocols.schema import param_infos

        print("\n# parameters:")
        for key, info in param_infos(type(spec.params)).items():
            print(f"#   {key}: {info.doc} ({info.expectation()})")
    return 0


def _cmd_run(args) -> int:
    from . import api

    results = api.run(args.name, seed=args.seed, quick=args.quick, overrides=_overrides(args),
                      target=args.target, out=args.out, progress=not args.no_progress,
                      data_root=args.data_root, figures=not args.no_figures)
    print(results.folder)
    return 0


def _cmd_figures(args) -> int:
    import time

    from . import api

    t0 = time.perf_counter()
    written = api.figures(args.only, quick=args.quick, out=args.out, results=args.results,
                          progress=not args.no_progress, data_root=args.data_root)
    for path in written:
        print(path)
    print(f"biosnn figures: {len(written)} files in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return 0


def _cmd_validate(args) -> int:
    from . import api
    from .validation.report import format_table, list_table

    if args.list:
        print(list_table())
        return 0
    report = api.validate(args.only, quick=args.quick, results=args.results, out=args.out,
                          progress=not args.no_progress, observations=args.observations)
    print(format_table(report.verdicts))
    counts = report.counts()
    print(f"{len(report.verdicts)} tests: {counts['pass']} pass, {counts['warn']} warn, "
          f"{counts['fail']} fail; report: {report.path / 'report.md'}")
    print(f"biosnn validate: {report.wall_time_s:.1f} s", file=sys.stderr)
    return 1 if report.failed else 0


def _cmd_sweep(args) -> int:
    from . import api
    from .sweep import format_summary

    result = api.sweep(args.name, args.sweeps, args.seeds, quick=args.quick, target=args.target,
                       out=args.out, scheduler=args.scheduler, workers=args.workers,
                       metric=args.metric, data_root=args.data_root,
                       figures=not args.no_figures, progress=not args.no_progress)
    print(result.table_path)
    print(format_summary(result), file=sys.stderr)
    print(f"biosnn sweep: {len(result.rows)} points ({result.n_reused} reused, {result.n_run} "
          f"run, {result.n_failed} failed) in {result.wall_time_s:.1f} s; {result.folder}",
          file=sys.stderr)
    return 1 if result.n_failed else 0


def _cmd_pipeline(args) -> int:
    from . import api
    from .pipeline import format_table, pipeline_plan

    if args.plan:
        print(pipeline_plan(args.size, args.results))
        return 0
    result = api.pipeline(args.size, results=args.results, figures_out=args.figures,
                          report=args.report, progress=not args.no_progress,
                          data_root=args.data_root)
    print(format_table(result))
    return 1 if result.report.failed else 0


def _save_traceback() -> Path | None:
    """Write the current exception's traceback to ``<cache>/crash-reports/``; its path,
    or None if it cannot be written."""
    import traceback
    from datetime import datetime

    from .paths import cache_root

    try:
        folder = cache_root() / "crash-reports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"biosnn-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.txt"
        path.write_text(f"biosnn {__version__}\nargv: {sys.argv!r}\n\n"
                        + traceback.format_exc(), encoding="utf-8")
        return path
    except OSError:
        return None


def _cmd_export(args) -> int:
    from . import api

    print(api.export(args.run_folder, args.fmt, out=args.out, with_weights=args.with_weights,
                     species=args.species))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``biosnn`` console script.

    Exit status: 0 done; 1 a validation test or sweep point failed, or an internal
    error (a bug: one line plus the path of the saved traceback); 2 bad input (one
    line naming what is wrong and the fix); 130 interrupted (Ctrl-C).
    """
    try:
        args = build_parser().parse_args(argv)
        handler = {"list": _cmd_list, "show": _cmd_show, "run": _cmd_run,
                   "figures": _cmd_figures, "validate": _cmd_validate,
                   "sweep": _cmd_sweep, "pipeline": _cmd_pipeline,
                   "export": _cmd_export}[args.command]
        return handler(args)
    except BioSNNError as err:
        _end_progress_line()
        print(f"biosnn: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `biosnn list | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        _end_progress_line()
        print("biosnn: interrupted; unfinished run folders were removed (finished runs are "
              "kept and reused by the same command)", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: say so in one line, keep the traceback in a file
        path = _save_traceback()
        _end_progress_line()
        where = f"traceback saved in {path}" if path else "traceback could not be saved"
        print(f"biosnn: internal error (a bug in bioSNN, not in your input): "
              f"{type(err).__name__}: {_first_line(err)}; {where}", file=sys.stderr)
        return 1


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else "(no message)"


def _end_progress_line() -> None:
    """Finish a progress line that was updating in place on a terminal."""
    from .progress import stderr_is_terminal

    if stderr_is_terminal():
        sys.stderr.write("\r\033[K")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
