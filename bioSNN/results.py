"""Results of one protocol run, and their atomic, self-describing storage.

A run folder holds:

``spec.toml``
    The resolved spec (loads back with :func:`bioSNN.protocols.spec.load_spec`).
``provenance.json``
    Protocol, parameters, seed and its streams, git commit, package versions,
    Brian2 target, wall time.
``data.nc``
    An xarray Dataset in NetCDF4/HDF5 (h5netcdf engine); every variable carries its
    unit in ``attrs["units"]`` (Brian2 unit names: ``"ms"``, ``"mV"``, ``"Hz"``...).
``summary.json``
    A flat JSON object of the run's headline numbers.
``fig-*.png``
    The protocol's figures, drawn from the files above.

Every file is written to a temporary name and renamed into place, and
:func:`bioSNN.runner.run_protocol` builds the whole folder under a hidden
``.partial-*`` name that is renamed only when complete: an interrupted run never
leaves a folder that looks finished.
"""
from __future__ import annotations

import io
import json
import math
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from brian2 import Quantity

from .units import parse_quantity

__all__ = ["Results", "atomic_write_bytes", "atomic_write_text", "atomic_output", "quantity",
           "REQUIRED_FILES"]

REQUIRED_FILES = ("spec.toml", "provenance.json", "data.nc", "summary.json")


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _publish(tmp: str | os.PathLike, path: Path) -> None:
    """Give a finished temporary file normal permissions and rename it into place."""
    os.chmod(tmp, _umask_mode())  # mkstemp creates 0600 files
    os.replace(tmp, path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_output(path: str | os.PathLike):
    """For writers that take a file name (HDF5, NIX): yields a hidden temporary sibling
    of ``path`` (same suffix), renamed to ``path`` when the block ends, removed when it
    raises or is interrupted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        _publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _json_default(obj):
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _clean_json(value):
    """NaN/inf are not JSON: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean_json(v) for v in value]
    return value


def dumps_json(obj) -> str:
    obj = json.loads(json.dumps(obj, default=_json_default))  # numpy -> python
    return json.dumps(_clean_json(obj), indent=2, sort_keys=False, allow_nan=False) + "\n"


def quantity(da: xr.DataArray) -> Quantity:
    """A data variable as a Brian2 Quantity, using its ``units`` attribute."""
    unit = da.attrs.get("units", "1")
    if unit in ("1", "", "dimensionless"):
        return Quantity(np.asarray(da.values, dtype=float))
    return np.asarray(da.values, dtype=float) * parse_quantity(f"1 {unit}")


def _read_data(folder: Path) -> xr.Dataset:
    """The Dataset of a run folder's ``data.nc``, read into memory."""
    with xr.open_dataset(folder / "data.nc", engine="h5netcdf") as ds:
        return ds.load()


class _LazyData:
    """The ``data`` field of :class:`Results`: a Dataset given or set, or, when it is
    None and the run folder is known, read from ``data.nc`` on first access (runs loaded
    with ``lazy=True``, e.g. by :func:`bioSNN.api.find_runs`)."""

    def __get__(self, obj, owner=None):
        if obj is None:  # a dataclass field without default
            raise AttributeError("data")
        value = obj.__dict__.get("_data")
        if value is None and obj.__dict__.get("path") is not None:
            value = obj.__dict__["_data"] = _read_data(obj.path)
        return value

    def __set__(self, obj, value):
        obj.__dict__["_data"] = value


@dataclass
class Results:
    """What one protocol run produced.

    Attributes
    ----------
    spec : ProtocolSpec
        The resolved spec that was run.
    seed : int
    data : xarray.Dataset
        Recorded data; each variable has ``attrs["units"]``.
    summary : dict
        Flat mapping of headline numbers (str -> number/str/bool/None).
    provenance : dict
        Filled in by :meth:`Protocol.run`.
    path : Path or None
        The run folder once saved or loaded.
    """

    spec: Any
    seed: int
    data: xr.Dataset = _LazyData()
    summary: dict
    provenance: dict = field(default_factory=dict)
    path: Path | None = None
    files: dict = field(default_factory=dict, repr=False)
    """Extra files written into the run folder (name -> bytes), e.g. trained weights;
    :meth:`load` lists them by name, not read (name -> None; the file is ``folder / name``)."""

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the four result files into ``folder`` (created), each atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, var in self.data.variables.items():
            if "units" not in var.attrs:
                raise ValueError(f"data variable {name!r} has no 'units' attribute")
        atomic_write_text(folder / "spec.toml", self.spec.to_toml())
        # compress large numeric variables (spike trains, traces); lossless
        encoding = {name: {"zlib": True, "complevel": 4} for name, var in self.data.variables.items()
                    if var.size > 4096 and var.dtype.kind in "iuf"}
        # serialised in memory, then written like every other file: HDF5 writing straight
        # to a full disk crashed the process (segfault) instead of raising an error
        import dask

        buffer = io.BytesIO()
        # xarray takes a write lock from the active dask scheduler: inside a sweep's
        # distributed worker that is a cluster-wide lock keyed by the target, which an
        # in-memory buffer cannot be; this write is local, a process-local lock is right
        with dask.config.set(scheduler="synchronous"):
            self.data.to_netcdf(buffer, engine="h5netcdf", encoding=encoding)
        atomic_write_bytes(folder / "data.nc", buffer.getbuffer())
        for name, content in self.files.items():
            if isinstance(content, (bytes, bytearray, memoryview)):
                atomic_write_bytes(folder / name, content)
        atomic_write_text(folder / "provenance.json", dumps_json(self.provenance))
        atomic_write_text(folder / "summary.json", dumps_json(self.summary))  # last: marks completeness
        self.path = folder
        return folder

    @property
    def folder(self) -> Path | None:
        """The run folder (same as :attr:`path`)."""
        return self.path

    def quantity(self, name: str) -> Quantity:
        """Data variable ``name`` as a Brian2 Quantity (its ``units`` attribute)."""
        if name not in self.data.variables:
            from .errors import BioSNNError

            raise BioSNNError(f"no data variable {name!r}; this run has: "
                              f"{', '.join(map(str, self.data.variables))}")
        return quantity(self.data[name])

    def figures(self) -> dict:
        """The protocol kind's figures, drawn from this run (name -> matplotlib Figure);
        in a notebook they display as the cell's output."""
        from .plots import load_plot
        from .protocols.registry import get_kind

        return {name: load_plot(ref)(self) for name, ref in get_kind(self.spec.kind).figures.items()}

    @classmethod
    def load(cls, folder: str | os.PathLike, *, lazy: bool = False) -> "Results":
        """Read a run folder written by :meth:`save`; with ``lazy``, ``data.nc`` is read
        only when :attr:`data` is first used."""
        from .errors import BioSNNError
        from .protocols.spec import load_spec

        folder = Path(folder)
        missing = [f for f in REQUIRED_FILES if not (folder / f).is_file()]
        if missing:
            raise BioSNNError(f"{folder} is not a complete bioSNN run folder "
                              f"(missing {', '.join(missing)})")
        spec = load_spec(folder / "spec.toml")
        data = None if lazy else _read_data(folder)
        summary = json.loads((folder / "summary.json").read_text())
        provenance = json.loads((folder / "provenance.json").read_text())
        extra = {p.name: None for p in sorted(folder.iterdir()) if p.is_file()
                 and p.name not in REQUIRED_FILES and not p.name.startswith((".", "fig-"))}
        return cls(spec=spec, seed=int(provenance.get("seed", spec.seed)), data=data,
                   summary=summary, provenance=provenance, path=folder, files=extra)

    def to_nwb(self, path: str | os.PathLike, *, with_weights: bool = False,
               species: str | None = None) -> Path:
        """Write this run as an NWB 2 file (spikes in ``Units``, traces, stimuli, trials,
        provenance); see :func:`bioSNN.api.export`."""
        from .exchange import export_run

        return export_run(self, "nwb", path, with_weights=with_weights, species=species)

    def to_neo(self):
        """This run as a ``neo.Block`` (one SpikeTrain per neuron, AnalogSignals,
        Epochs, a Group per population), in memory."""
        from .exchange.neo_io import to_neo
        from .exchange.recording import recording_of

        return to_neo(recording_of(self))
