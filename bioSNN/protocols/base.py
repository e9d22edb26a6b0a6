"""The Protocol base class: an immutable spec plus ``run(seed) -> Results``.

A protocol kind subclasses :class:`Protocol`, declares

* ``kind`` (the name used in spec files) and a one-line ``summary_doc``,
* ``Params``: a frozen dataclass of :func:`~bioSNN.protocols.schema.param` fields,
* ``simulate(streams, report)``: builds an explicit Brian2 ``Network`` and returns
  an ``xarray.Dataset`` whose variables carry ``attrs["units"]``,
* ``summarize(data, params)``: a *pure* function from the data to a flat dict of
  headline numbers,
* ``figures``: name -> ``"module:function"`` (or the function itself) of a pure
  ``f(results) -> matplotlib Figure``,
* ``uses_data = True`` if it reads a dataset (from ``self.options.data_root``; the
  resolved folder is recorded in the provenance),

and registers itself with :func:`~bioSNN.protocols.registry.register`.
"""
from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar

import xarray as xr

from ..backend import brian_target, standalone_cache_dir
from ..provenance import command_line, git_state, package_versions, utc_now
from ..results import Results
from ..seeding import SeedStreams

__all__ = ["Protocol", "RunOptions"]


@dataclass(frozen=True)
class RunOptions:
    """How one run is carried out, independent of the spec (never part of its parameters
    or of the results' identity).

    Attributes
    ----------
    progress : bool
        Draw progress bars on stderr.
    data_root : str or None
        Explicit dataset folder (``biosnn run --data-root DIR``); None: ``$BIOSNN_DATA``,
        then the download cache (:func:`bioSNN.embedder.data.resolve_data_root`).
    """

    progress: bool = False
    data_root: str | None = None


class Protocol(ABC):
    """Base class of every protocol kind.

    Parameters
    ----------
    spec : ProtocolSpec
        A validated spec whose ``kind`` is this class's ``kind``.
    """

    kind: ClassVar[str]
    Params: ClassVar[type]
    figures: ClassVar[dict[str, "str | Callable"]] = {}
    uses_data: ClassVar[bool] = False

    def __init__(self, spec):
        if spec.kind != self.kind:
            raise ValueError(f"{type(self).__name__} runs kind {self.kind!r}, not {spec.kind!r}")
        self._spec = spec
        self._options = RunOptions()

    @property
    def options(self) -> RunOptions:
        """The :class:`RunOptions` of the current run (set by :meth:`run`)."""
        return self._options

    @property
    def spec(self):
        return self._spec

    @property
    def params(self):
        return self._spec.params

    @abstractmethod
    def simulate(self, streams: SeedStreams, report: Callable | None) -> xr.Dataset:
        """Build and run the network; return the recorded data (with units attrs).

        Called inside the Brian2 target context with ``streams.seed_brian2()``
        already applied. ``report`` is a Brian2 ``report=`` callable or None.
        """

    @staticmethod
    @abstractmethod
    def summarize(data: xr.Dataset, params) -> dict:
        """Headline numbers of a run, computed from its data only (pure)."""

    def run(self, seed: int | None = None, *, progress: bool = False,
            build_dir=None, data_root: str | os.PathLike | None = None) -> Results:
        """Run the protocol once.

        Parameters
        ----------
        seed : int, optional
            Default: the spec's seed. The same seed gives identical results.
        progress : bool
            Draw a progress bar of simulated time on stderr.
        build_dir : path, optional
            cpp_standalone build directory (default: a per-protocol cache folder).
        data_root : path, optional
            Dataset folder for kinds that read data (``uses_data``); default
            ``$BIOSNN_DATA``, then the download cache. Recorded in the provenance
            (resolved), never in the spec.

        Returns
        -------
        Results
        """
        from ..progress import brian_report

        spec = self._spec if seed is None else self._spec.resolve(seed=seed)
        self._options = RunOptions(progress=progress,
                                   data_root=None if data_root is None else str(data_root))
        streams = SeedStreams.from_seed(spec.seed)
        started = utc_now()
        t0 = time.perf_counter()
        with brian_target(spec.target, build_dir or standalone_cache_dir(spec.name)):
            streams.seed_brian2()
            data = self.simulate(streams, brian_report(spec.name, progress))
        wall = time.perf_counter() - t0
        data.attrs.update({"protocol": spec.name, "kind": spec.kind, "seed": spec.seed})
        summary = self.summarize(data, spec.params)
        provenance = {
            "protocol": spec.name, "kind": spec.kind, "mode": spec.mode,
            "parameters": spec.parameter_table(), "overrides": dict(spec.overrides),
            "seed": spec.seed, "seed_streams": streams.as_dict(),
            "target": spec.target, "git": git_state(), "versions": package_versions(),
            "started_utc": started, "wall_time_s": round(wall, 3),
            "command": command_line(), "spec_source": spec.source,
        }
        if self.uses_data:
            from ..embedder.data import resolve_data_root

            provenance["data_root"] = str(resolve_data_root(data_root).resolve())
        return Results(spec=spec, seed=spec.seed, data=data, summary=summary,
                       provenance=provenance)
