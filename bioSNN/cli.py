"""The ``biosnn`` command: list, show and run named protocols; regenerate the figures;
validate the models against biology.

Thin by design: parse the arguments, call the library, print. Bad input (unknown
protocol, bad ``--set``, invalid spec, missing data) prints one line
``biosnn: error: ...`` on stderr and exits with status 2. ``biosnn validate`` exits
with status 1 when a validation test fails, ``biosnn sweep`` when a point failed.
"""
from __future__ import annotations

import argparse
import sys

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
  biosnn sweep lif-fi-curve --quick --set sigma=1mV,2mV --set tau_m=10ms,20ms --seeds 0-4
  biosnn sweep lif-poisson-trace --set input_rate=10Hz,20Hz --seeds 0-9 --workers 2
  biosnn sweep lif-fi-curve --set tau_m=10ms,20ms --seeds 0-9 --scheduler tcp://HOST:8786

Protocol specs are TOML files in protocols/ (or in folders named by $BIOSNN_PROTOCOLS).
Each run writes <out>/<protocol>/<run-id>/ with spec.toml, provenance.json, data.nc,
summary.json and fig-*.png, and prints that folder on stdout.
`biosnn figures` draws the publication figures (figures/README.md) from saved runs.
`biosnn sweep` runs values x seeds on Dask (a local cluster, or --scheduler) and writes
<out>/sweeps/<sweep-id>/ with table.csv, sweep.json and summary.png; a re-run resumes.
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
    p_val.add_argument("--no-progress", action="store_true", help="do not report progress")

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
    return parser


def _figure_names() -> list[str]:
    from .figures import figure_names

    return figure_names()


def _resolved_spec(args):
    from .protocols.spec import find_spec, parse_override

    spec = find_spec(args.name)
    overrides = dict(parse_override(o) for o in args.overrides)
    return spec.resolve(quick=args.quick, overrides=overrides,
                        target=getattr(args, "target", None), seed=getattr(args, "seed", None))


def _cmd_list(args) -> int:
    from .protocols.spec import list_specs, load_spec

    specs = list_specs()
    width = max((len(n) for n in specs), default=0)
    for name, path in specs.items():
        try:
            desc = load_spec(path).description
        except BioSNNError as err:
            desc = f"(invalid spec: {err})"
        print(f"{name:<{width}}  {desc}")
    return 0


def _cmd_show(args) -> int:
    spec = _resolved_spec(args)
    print(spec.to_toml(), end="")
    if args.doc:
        from .protocols.schema import param_infos

        print("\n# parameters:")
        for key, info in param_infos(type(spec.params)).items():
            print(f"#   {key}: {info.doc} ({info.expectation()})")
    return 0


def _cmd_run(args) -> int:
    from .runner import run_protocol

    spec = _resolved_spec(args)
    folder = run_protocol(spec, out=args.out, progress=not args.no_progress,
                          figures=not args.no_figures, data_root=args.data_root)
    print(folder)
    return 0


def _cmd_figures(args) -> int:
    import time

    from .figures import regenerate

    t0 = time.perf_counter()
    written = regenerate(args.only, quick=args.quick, out=args.out, results_root=args.results,
                         progress=not args.no_progress, data_root=args.data_root)
    for path in written:
        print(path)
    print(f"biosnn figures: {len(written)} files in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return 0


def _cmd_validate(args) -> int:
    from .validation.report import format_table, list_table, validate

    if args.list:
        print(list_table())
        return 0
    report = validate(args.only, quick=args.quick, results_root=args.results, out=args.out,
                      progress=not args.no_progress)
    print(format_table(report.verdicts))
    counts = report.counts()
    print(f"{len(report.verdicts)} tests: {counts['pass']} pass, {counts['warn']} warn, "
          f"{counts['fail']} fail; report: {report.path / 'report.md'}")
    print(f"biosnn validate: {report.wall_time_s:.1f} s", file=sys.stderr)
    return 1 if report.failed else 0


def _cmd_sweep(args) -> int:
    from .sweep import define_sweep, format_summary, run_sweep

    sweep = define_sweep(args.name, args.sweeps, args.seeds, quick=args.quick,
                         target=args.target)
    try:
        result = run_sweep(sweep, out=args.out, scheduler=args.scheduler, workers=args.workers,
                           metric=args.metric, data_root=args.data_root,
                           figures=not args.no_figures, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("biosnn sweep: interrupted; the finished points' run folders are kept and the "
              "same command resumes", file=sys.stderr)
        return 130
    print(result.table_path)
    print(format_summary(result), file=sys.stderr)
    print(f"biosnn sweep: {len(result.rows)} points ({result.n_reused} reused, {result.n_run} "
          f"run, {result.n_failed} failed) in {result.wall_time_s:.1f} s; {result.folder}",
          file=sys.stderr)
    return 1 if result.n_failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``biosnn`` console script."""
    args = build_parser().parse_args(argv)
    handler = {"list": _cmd_list, "show": _cmd_show, "run": _cmd_run,
               "figures": _cmd_figures, "validate": _cmd_validate,
               "sweep": _cmd_sweep}[args.command]
    try:
        return handler(args)
    except BioSNNError as err:
        print(f"biosnn: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("biosnn: interrupted (no result folder was written)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
