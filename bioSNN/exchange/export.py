"""``biosnn export``: one finished run folder to an NWB or Neo (NIX) file."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import BioSNNError, writing_to

__all__ = ["FORMATS", "export_run", "default_path"]

FORMATS = {"nwb": ".nwb", "neo": ".nix", "nir": ".nir"}
"""Export formats and their file suffixes: NWB 2 (pynwb), Neo written as NIX, and NIR
(the trained CSNN of a few-shot or replay run, :mod:`bioSNN.exchange.nir_io`)."""


def default_path(results, fmt: str) -> Path:
    """``<run folder>/export/<protocol>-seed<seed>.<nwb|nix>``."""
    if results.path is None:
        raise BioSNNError("this run was not saved: give an output file (--out / path)")
    return Path(results.path) / "export" / f"{results.spec.name}-seed{results.seed}{FORMATS[fmt]}"


def export_run(run, fmt: str = "nwb", out: str | os.PathLike | None = None, *,
               with_weights: bool = False, species: str | None = None) -> Path:
    """Export a run to NWB or Neo.

    Parameters
    ----------
    run : Results or path
        A Results object or a finished run folder (``nir``: also a checkpoint file or a
        folder holding ``snn.pt``, with ``out`` given).
    fmt : {"nwb", "neo", "nir"}
    out : path, optional
        Output file; default :func:`default_path`.
    with_weights : bool
        Also write the run's weight matrices (NWB processing module ``weights``; Neo:
        not written, Neo has no place for them).
    species : str, optional
        NWB subject's species (Latin binomial or NCBI taxonomy IRI); default
        :data:`~bioSNN.exchange.nwb_io.UNIDENTIFIED`.

    Returns
    -------
    Path
        The written file.
    """
    from ..results import REQUIRED_FILES, Results
    from .recording import recording_of

    if fmt not in FORMATS:
        raise BioSNNError(f"--format: unknown export format {fmt!r}; choose one of "
                          f"{', '.join(FORMATS)}")
    if fmt == "nir" and not isinstance(run, Results) and out is not None and not all(
            (Path(run) / f).is_file() for f in REQUIRED_FILES):
        from .nir_io import export_nir   # a checkpoint file or a folder holding snn.pt

        with writing_to(Path(out).parent, "export file's folder (--out)"):
            return export_nir(run, out)
    results = run if isinstance(run, Results) else Results.load(run, lazy=fmt == "nir")
    path = Path(out) if out is not None else default_path(results, fmt)
    if path.is_dir():
        path = path / default_path(results, fmt).name if results.path else path
    if fmt == "nir":
        from .nir_io import export_nir

        if results.path is None:
            raise BioSNNError("--format nir exports a saved few-shot or replay run folder")
        with writing_to(path.parent, "export file's folder (--out)"):
            return export_nir(results.path, path)
    rec = recording_of(results, with_weights=with_weights)
    with writing_to(path.parent, "export file's folder (--out)"):
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "nwb":
            from .nwb_io import write_nwb

            from .nwb_io import UNIDENTIFIED

            return write_nwb(rec, path, species or UNIDENTIFIED)
        from .neo_io import write_neo

        return write_neo(rec, path)
