"""Protocol base classes: an immutable spec plus ``run(seed) -> Results``.

A kind is one module: a class deriving from :class:`BrianProtocol` (a Brian2
simulation) or :class:`TorchProtocol` (torch only), decorated with
:func:`~bioSNN.protocols.registry.register`, that declares in its body ``kind``,
``Params`` (a frozen dataclass of :func:`~bioSNN.protocols.schema.param` fields),
``figures`` (name -> ``"module:function"`` or the function, pure ``f(results) ->
Figure``), ``headline`` (the summary metrics that say how a run went, most important
first) and ``uses_data``; and implements ``simulate(ctx) -> xarray.Dataset`` (units in
``attrs["units"]``) and the pure ``summarize(data, params) -> dict``. Plus one spec file.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

import xarray as xr

from ..backend import brian_target, standalone_cache_dir
from ..provenance import command_line, git_state, package_versions, utc_now
from ..results import Results
from ..seeding import SeedStreams

__all__ = ["Protocol", "BrianProtocol", "TorchProtocol", "RunContext"]


@dataclass(frozen=True)
class RunContext:
    """Everything one run needs besides its spec, handed to ``simulate(ctx)``; never
    part of the spec's parameters or of the results' identity.

    Attributes
    ----------
    streams : SeedStreams
        The run's random streams (:mod:`bioSNN.seeding`).
    progress : bool
        Report progress on stderr.
    data_root : str or None
        Explicit dataset folder (``--data-root``); None: ``$BIOSNN_DATA``, then the
        download cache (:func:`bioSNN.embedder.data.resolve_data_root`).
    build_dir : Path or None
        cpp_standalone build folder of this run (None on the runtime targets).
    target : str or None
        Brian2 target (None for torch-only kinds).
    report : callable, str or None
        Brian2 ``report=`` argument for ``Network.run`` on ``target``
        (:func:`bioSNN.progress.brian_report`).
    threads : int or None
        torch intra-op threads during the run (torch kinds; None: leave as is).
    """

    streams: SeedStreams
    progress: bool = False
    data_root: str | None = None
    build_dir: Path | None = None
    target: str | None = None
    report: Callable | str | None = None
    threads: int | None = None
    files: dict = dataclasses.field(default_factory=dict)
    """Extra files of the run folder (name -> bytes), added with :meth:`add_file`."""

    def add_file(self, name: str, data: bytes) -> None:
        """Save ``data`` as ``<run folder>/<name>`` with the results (e.g. trained
        weights). Names are plain file names; the result files' names are reserved."""
        from ..results import REQUIRED_FILES

        if "/" in name or name.startswith(".") or name in REQUIRED_FILES:
            raise ValueError(f"not a valid extra file name: {name!r}")
        self.files[name] = bytes(data)

    def brian_report(self, desc: str):
        """A Brian2 ``report=`` argument with its own label, on this run's target."""
        from ..progress import brian_report

        return brian_report(desc, self.progress, self.target or "numpy")


def _announce_build(name: str):
    def announce(directory):
        print(f"{name}: generating and compiling the C++ project (cpp_standalone; a few "
              f"seconds once built, longer the first time) in {directory}", file=sys.stderr,
              flush=True)
    return announce


class Protocol(ABC):
    """Base class of every protocol kind (use :class:`BrianProtocol` or
    :class:`TorchProtocol`).

    Parameters
    ----------
    spec : ProtocolSpec
        A validated spec whose ``kind`` is this class's ``kind``.
    """

    kind: ClassVar[str]
    Params: ClassVar[type]
    figures: ClassVar[dict[str, "str | Callable"]] = {}
    headline: ClassVar[tuple[str, ...]] = ()
    uses_data: ClassVar[bool] = False
    populations: ClassVar[dict[str, str]] = {}
    """Neuron model of each recorded population (name -> text), for NWB/Neo export
    (:mod:`bioSNN.exchange`); names are those of the data's spike variables."""
    uses_brian: ClassVar[bool] = True
    """Whether the kind runs a Brian2 simulation (its spec then has a ``target``)."""

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
    def simulate(self, ctx: RunContext) -> xr.Dataset:
        """Build and run the model; return the recorded data (with units attrs)."""

    @staticmethod
    @abstractmethod
    def summarize(data: xr.Dataset, params) -> dict:
        """Headline numbers of a run, computed from its data only (pure)."""

    @contextmanager
    def environment(self, ctx: RunContext):
        """Context of one run around :meth:`simulate` (a backend's settings)."""
        yield ctx

    def run(self, seed: int | None = None, *, progress: bool = False,
            build_dir=None, data_root: str | os.PathLike | None = None) -> Results:
        """Run the protocol once.

        Parameters
        ----------
        seed : int, optional
            Default: the spec's seed. The same seed gives identical results.
        progress : bool
            Report progress on stderr.
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
        spec = self._spec if seed is None else self._spec.resolve(seed=seed)
        streams = SeedStreams.from_seed(spec.seed)
        ctx = RunContext(streams=streams, progress=progress,
                         data_root=None if data_root is None else str(data_root),
                         build_dir=Path(build_dir) if build_dir else None, target=spec.target)
        started = utc_now()
        t0 = time.perf_counter()
        with self.environment(ctx) as ctx:
            data = self.simulate(ctx)
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
                       provenance=provenance, files=dict(ctx.files))


class BrianProtocol(Protocol):
    """A kind that runs a Brian2 simulation: :meth:`simulate` is called inside the spec's
    Brian2 target (cpp_standalone build folder locked, progress wired for that target),
    with Brian2's random numbers seeded from the ``brian2`` stream and
    ``defaultclock.dt`` set to the parameter ``dt`` when the kind has one. Kinds that
    also use torch set ``torch_threads`` in their parameters."""

    @contextmanager
    def environment(self, ctx: RunContext):
        import brian2

        from ..progress import brian_report, standalone_progress

        spec = self._spec
        build_dir = ctx.build_dir or standalone_cache_dir(spec.name)
        with brian_target(spec.target, build_dir,
                          announce=_announce_build(spec.name) if ctx.progress else None), \
                standalone_progress(ctx.progress), _torch_settings(self.params):
            ctx.streams.seed_brian2()
            dt = getattr(self.params, "dt", None)
            if dt is not None:
                brian2.defaultclock.dt = dt
            yield dataclasses.replace(
                ctx, build_dir=build_dir if spec.target == "cpp_standalone" else None,
                report=brian_report(spec.name, ctx.progress, spec.target))


class TorchProtocol(Protocol):
    """A kind that runs torch only (no Brian2, no ``target`` in its spec): :meth:`simulate`
    runs with the parameter ``torch_threads`` intra-op threads (when the kind has it) and
    large freed tensors kept in the heap; its generators come from ``ctx.streams``."""

    uses_brian = False

    @contextmanager
    def environment(self, ctx: RunContext):
        with _torch_settings(self.params) as threads:
            yield dataclasses.replace(ctx, threads=threads)


@contextmanager
def _torch_settings(params):
    """:func:`bioSNN.embedder.runtime.compute_settings` when ``params`` has ``torch_threads``."""
    threads = getattr(params, "torch_threads", None)
    if threads is None:
        yield None
        return
    from ..embedder.runtime import compute_settings

    with compute_settings(threads):
        yield threads
