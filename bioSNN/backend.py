"""Select Brian2's code-generation target for one protocol run and restore it after.

Targets
-------
``numpy``
    Runtime mode, pure NumPy: compiles nothing, best for short runs and tests.
``cython``
    Runtime mode, Cython: each new code object compiles once (tens of seconds),
    then is cached in ``~/.cython``.
``cpp_standalone``
    The whole network is generated as a C++ project and compiled (cached in the build
    directory; unchanged code is not recompiled). The fastest for long runs; only one
    ``Network.run`` per build, and values can be read only after the run.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

TARGETS = ("numpy", "cython", "cpp_standalone")

__all__ = ["TARGETS", "brian_target", "standalone_cache_dir", "canonical_main_queue"]


def standalone_cache_dir(name: str) -> Path:
    """Default build directory of a cpp_standalone project: ``$BIOSNN_CACHE`` or
    ``~/.cache/bioSNN``, then ``cpp_standalone/<name>``."""
    root = Path(os.environ.get("BIOSNN_CACHE", Path.home() / ".cache" / "bioSNN"))
    return root / "cpp_standalone" / name


def _lock_build_dir(directory: Path):
    """Take an exclusive lock on a cpp_standalone build folder.

    Two processes building into one folder overwrite each other's binary (seen here:
    a segfault of a long run when a test rebuilt the same project). When the folder is
    busy, a private sibling ``<folder>-<pid>`` is used instead (it compiles anew).

    Returns
    -------
    (Path, file) : the folder to use and the open lock file (closing it releases).
    """
    import fcntl

    for candidate in (directory, directory.with_name(f"{directory.name}-{os.getpid()}")):
        candidate.mkdir(parents=True, exist_ok=True)
        fh = open(candidate / ".bioSNN-build.lock", "w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return candidate, fh
        except BlockingIOError:
            fh.close()
    raise RuntimeError(f"cannot lock a build folder next to {directory}")


def canonical_main_queue(queue: list) -> list:
    """Put each run of consecutive single-value array writes in array-name order.

    Brian2 2.9's ``cpp_standalone`` device sets every clock's ``t``/``timestep`` by
    iterating a Python ``set`` of clocks (``network_run``), whose order follows object
    ids and so changes from one process to the next. The writes land in ``main.cpp`` in
    that order, so an unchanged network regenerated ``main.cpp`` and recompiled it on
    every run (about 4.5 s here, more than the simulation of a short protocol). Writes
    of a single value to *different* arrays commute, so sorting each consecutive run of
    them by array name (stable, so writes to the same array keep their order) changes
    nothing but the text: identical networks then give identical ``main.cpp`` and the
    build cache hits.

    Parameters
    ----------
    queue : list of (str, tuple)
        The device's ``main_queue`` (``(func, args)`` entries).

    Returns
    -------
    list
        A new list with the same entries, single-value writes canonically ordered.
    """
    out, run = [], []
    for entry in queue:
        if entry[0] == "set_by_single_value":
            run.append(entry)
            continue
        out.extend(sorted(run, key=lambda e: str(e[1][0])))
        run = []
        out.append(entry)
    out.extend(sorted(run, key=lambda e: str(e[1][0])))
    return out


def _install_canonical_build(device) -> None:
    """Make ``device.build`` canonicalise the main queue first (see
    :func:`canonical_main_queue`), as an instance attribute shadowing the class method.
    ``reinit_devices`` does not remove instance attributes, so :func:`brian_target`
    deletes it when the run ends."""
    original = type(device).build

    def build(*args, **kwargs):
        device.main_queue[:] = canonical_main_queue(device.main_queue)
        return original(device, *args, **kwargs)

    device.build = build


@contextmanager
def brian_target(target: str, build_dir: str | os.PathLike | None = None):
    """Context manager: run Brian2 with ``target``; restore runtime/prefs afterwards.

    Parameters
    ----------
    target : {"numpy", "cython", "cpp_standalone"}
    build_dir : path, optional
        Build directory for ``cpp_standalone`` (default:
        ``standalone_cache_dir("default")``). Reusing a directory reuses its
        compiled objects; it is locked while in use, and a second process gets a
        private sibling folder instead.
    """
    import brian2
    from brian2.devices.device import reinit_devices

    if target not in TARGETS:
        raise ValueError(f"unknown Brian2 target {target!r}; choose one of {', '.join(TARGETS)}")
    old_target = brian2.prefs.codegen.target
    old_dt = brian2.defaultclock.dt
    lock = None
    brian2.start_scope()
    try:
        if target == "cpp_standalone":
            directory = Path(build_dir) if build_dir else standalone_cache_dir("default")
            directory, lock = _lock_build_dir(directory)
            # Start from an empty project: writes queued since the last build (e.g. the
            # defaultclock.dt restored after it) would otherwise open main.cpp and force
            # a recompile of an unchanged network.
            reinit_devices()
            brian2.set_device("cpp_standalone", directory=str(directory), build_on_run=True,
                              with_output=False)
            _install_canonical_build(brian2.get_device())
        else:
            brian2.prefs.codegen.target = target
        yield
    finally:
        if target == "cpp_standalone":
            brian2.get_device().__dict__.pop("build", None)
            reinit_devices()  # forget this build (the compiled cache stays on disk)
            brian2.set_device("runtime")
        brian2.prefs.codegen.target = old_target
        brian2.defaultclock.dt = old_dt
        if lock is not None:
            lock.close()
