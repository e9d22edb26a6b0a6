"""The Protocol base class: an immutable spec plus ``run(seed) -> Results``.

A protocol kind subclasses :class:`Protocol`, declares

* ``kind`` (the name used in spec files) and a one-line ``summary_doc``,
* ``Params``: a frozen dataclass of :func:`~bioSNN.protocols.schema.param` fields,
* ``simulate(streams, report)``: builds an explicit Brian2 ``Network`` and returns
  an ``xarray.Dataset`` whose variables carry ``attrs["units"]``,
* ``summarize(data, params)``: a *pure* function from the data to a flat dict of
  headline numbers,
* ``figures``: name -> pure function ``f(results) -> matplotlib Figure``,

and registers itself with :func:`~bioSNN.protocols.registry.register`.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Callable, ClassVar

import xarray as xr

from ..backend import brian_target, standalone_cache_dir
from ..provenance import command_line, git_state, package_versions, utc_now
from ..results import Results
from ..seeding import SeedStreams

__all__ = ["Protocol"]


class Protocol(ABC):
    """Base class of every protocol kind.

    Parameters
    ----------
    spec : ProtocolSpec
        A validated spec whose ``kind`` is this class's ``kind``.
    """

    kind: ClassVar[str]
    Params: ClassVar[type]
    figures: ClassVar[dict[str, Callable]] = {}

    def __init__(self, spec):
        if spec.kind != self.kind:
            raise ValueError(f"{type(self).__name__} runs kind {self.kind!r}, not {spec.kind!r}")
        self._spec = spec

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
            build_dir=None) -> Results:
        """Run the protocol once.

        Parameters
        ----------
        seed : int, optional
            Default: the spec's seed. The same seed gives identical results.
        progress : bool
            Draw a progress bar of simulated time on stderr.
        build_dir : path, optional
            cpp_standalone build directory (default: a per-protocol cache folder).

        Returns
        -------
        Results
        """
        from ..progress import brian_report

        spec = self._spec if seed is None else self._spec.resolve(seed=seed)
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
        return Results(spec=spec, seed=spec.seed, data=data, summary=summary,
                       provenance=provenance)
