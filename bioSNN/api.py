"""bioSNN's public Python API (``import bioSNN as bs``); the ``biosnn`` command is a thin
shell over these functions, one per command.

>>> import bioSNN as bs
>>> r = bs.run("lif-fi-curve", quick=True)          # writes results/lif-fi-curve/<run-id>/
>>> r.summary["rate_at_I_max_Hz"], r.quantity("spike_time")
>>> r.figures()                                      # {"fi_curve": Figure, ...}
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

__all__ = ["list_protocols", "spec", "run", "load", "find_runs", "figures", "validate",
           "sweep", "pipeline", "export"]


def list_protocols() -> dict[str, str]:
    """Every protocol found (``protocols/``, ``$BIOSNN_PROTOCOLS``): name -> description,
    sorted by name. A spec that does not load is listed with its error."""
    from .errors import BioSNNError
    from .protocols.spec import list_specs, load_spec

    out = {}
    for name, path in list_specs().items():
        try:
            out[name] = load_spec(path).description
        except BioSNNError as err:
            out[name] = f"(invalid spec: {err})"
    return out


def spec(protocol, quick: bool = False, overrides: Mapping[str, Any] | None = None, *,
         seed: int | None = None, target: str | None = None):
    """The resolved, immutable spec of a protocol.

    Parameters
    ----------
    protocol : str, path or ProtocolSpec
        A protocol name (``biosnn list``), the path of a spec ``.toml`` file, or a spec.
    quick : bool
        Apply the spec's ``[quick]`` overrides.
    overrides : mapping, optional
        Parameter values (``{"tau_m": "12 ms"}`` or Brian2 quantities), validated as in
        the spec file.
    seed, target : optional
        Replace the spec's seed / Brian2 target.
    """
    from .protocols.spec import ProtocolSpec, find_spec

    base = protocol if isinstance(protocol, ProtocolSpec) else find_spec(os.fspath(protocol))
    return base.resolve(quick=quick, overrides=_text_overrides(overrides), seed=seed,
                        target=target)


def _text_overrides(overrides):
    """Brian2 quantities as their text (``12*ms`` -> ``"12. ms"``), the rest as is."""
    if not overrides:
        return None
    from brian2 import Quantity

    return {k: (str(v) if isinstance(v, Quantity) and not v.is_dimensionless else v)
            for k, v in overrides.items()}


def _progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    from .progress import interactive

    return interactive()


def run(protocol, *, seed: int | None = None, quick: bool = False,
        overrides: Mapping[str, Any] | None = None, target: str | None = None,
        out: str | os.PathLike = "results", progress: bool | None = None,
        data_root: str | os.PathLike | None = None, figures: bool = True):
    """Run a protocol once and write its run folder, as ``biosnn run`` does.

    Parameters
    ----------
    protocol : str, path or ProtocolSpec
        See :func:`spec`.
    seed, quick, overrides, target
        See :func:`spec`.
    out : path
        Results root; the run goes to ``out/<protocol>/<run-id>/``.
    progress : bool, optional
        Progress on stderr; None: on in a terminal or a notebook, off otherwise.
    data_root : path, optional
        Dataset folder for protocols that read data (default ``$BIOSNN_DATA``).
    figures : bool
        Draw the protocol's figures into the run folder.

    Returns
    -------
    Results
        Loaded back from the finished run folder (``.folder``).
    """
    from .results import Results
    from .runner import run_protocol

    resolved = spec(protocol, quick, overrides, seed=seed, target=target)
    folder = run_protocol(resolved, out=out, progress=_progress(progress), figures=figures,
                          data_root=data_root)
    return Results.load(folder)


def load(run_folder: str | os.PathLike):
    """The :class:`~bioSNN.results.Results` saved in a run folder."""
    from .results import Results

    return Results.load(run_folder)


def find_runs(protocol: str, out: str | os.PathLike = "results", **filters) -> list:
    """Finished runs of a protocol under ``out``, newest first.

    Parameters
    ----------
    protocol : str
        Protocol name (the folder ``out/<protocol>/``).
    out : path
        Results root.
    **filters
        ``seed=3``, ``mode="quick"``, ``target="numpy"``, or a parameter of the
        protocol's kind (``tau_m="10 ms"``, ``n_currents=41``): only runs whose saved spec
        has that value (compared after parsing it in the parameter's unit).

    Returns
    -------
    list of Results
        Each run's ``data`` is read from its folder when first used.
    """
    from .errors import SpecError
    from .protocols.registry import get_kind
    from .protocols.schema import format_value, param_infos, parse_value
    from .results import Results
    from .runner import finished_run_folders

    folders = finished_run_folders(protocol, out)
    if not folders:
        return []
    runs = [Results.load(f, lazy=True) for f in folders]
    special = {k: filters.pop(k) for k in ("seed", "mode", "target") if k in filters}
    want = {}
    if filters:
        infos = param_infos(get_kind(runs[0].spec.kind).Params)
        for key, raw in filters.items():
            if key not in infos:
                raise SpecError("find_runs", key, f"unknown parameter; valid: "
                                f"seed, mode, target, {', '.join(infos)}")
            try:
                value = parse_value(infos[key], _text_overrides({key: raw})[key])
            except ValueError as err:
                raise SpecError("find_runs", key, str(err)) from None
            want[key] = format_value(infos[key], value)

    def keep(r) -> bool:
        if any(getattr(r.spec, k) != v for k, v in special.items()):
            return False
        table = r.spec.parameter_table()
        return all(table.get(k) == v for k, v in want.items())

    return [r for r in runs if keep(r)]


def figures(names=None, *, quick: bool = False, out: str | os.PathLike = "figures",
            results: str | os.PathLike = "results", progress: bool | None = None,
            data_root: str | os.PathLike | None = None) -> list[Path]:
    """Draw catalogue figures (``biosnn figures``); returns the files written."""
    from .figures import regenerate

    return regenerate(names, quick=quick, out=out, results_root=results,
                      progress=_progress(progress), data_root=data_root)


def validate(names=None, *, quick: bool = False, results: str | os.PathLike = "results",
             out: str | os.PathLike | None = None, progress: bool | None = None,
             observations: str | os.PathLike | None = None):
    """Run the validation tests and write the report (``biosnn validate``).

    ``observations="FILE.nwb[:PATH]"``: score every firing-regime population against
    recorded units instead (rate, ISI CV and Fano factor distributions;
    :mod:`bioSNN.validation.recorded`)."""
    from .validation.report import validate as _validate

    return _validate(names, quick=quick, results_root=results, out=out,
                     progress=_progress(progress), observations=observations)


def sweep(protocol, sets, seeds=None, *, quick: bool = False, target: str | None = None,
          out: str | os.PathLike = "results", scheduler: str | None = None,
          workers: int | None = None, metric: str | None = None,
          data_root: str | os.PathLike | None = None, figures: bool = True,
          progress: bool | None = None):
    """Run a parameter x seed sweep on Dask (``biosnn sweep``); returns its result
    (``.table_path``, ``.rows``).

    ``sets`` are ``"key=v1,v2"`` strings, one per swept parameter; ``seeds`` a string
    like ``"0-9"`` or a list of ints.
    """
    from .sweep import define_sweep, run_sweep

    definition = define_sweep(os.fspath(protocol), list(sets), seeds, quick=quick,
                              target=target)
    return run_sweep(definition, out=out, scheduler=scheduler, workers=workers,
                     metric=metric, data_root=data_root, figures=figures,
                     progress=_progress(progress))


def pipeline(size: str = "demo", *, results: str | os.PathLike = "results",
             figures_out: str | os.PathLike = "figures",
             report: str | os.PathLike | None = None, progress: bool | None = None,
             data_root: str | os.PathLike | None = None):
    """Every protocol, every figure, the validation report (``biosnn pipeline``)."""
    from .pipeline import run_pipeline

    return run_pipeline(size, results=results, figures_out=figures_out, report_out=report,
                        progress=_progress(progress), data_root=data_root)


def export(run_folder, fmt: str = "nwb", *, out: str | os.PathLike | None = None,
           with_weights: bool = False, species: str | None = None) -> Path:
    """Export a finished run to NWB 2 (``fmt="nwb"``), to a Neo block in a NIX file
    (``fmt="neo"``) or, for a few-shot/replay run with a sum-pool CSNN, to a NIR graph
    (``fmt="nir"``); returns the written file (default
    ``<run folder>/export/<protocol>-seed<seed>.nwb|nix|nir``). ``biosnn export``.

    ``run_folder`` may also be a :class:`~bioSNN.results.Results`. ``species`` (NWB):
    of the modelled tissue, Latin binomial or NCBI taxonomy IRI; default "unidentified".
    Layout: ``docs/exchange.md``.
    """
    from .exchange import export_run

    return export_run(run_folder, fmt, out, with_weights=with_weights, species=species)
