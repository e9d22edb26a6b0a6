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
import re
from contextlib import contextmanager
from pathlib import Path

TARGETS = ("numpy", "cython", "cpp_standalone")

__all__ = ["TARGETS", "brian_target", "standalone_cache_dir", "canonical_main_queue"]


def standalone_cache_dir(name: str) -> Path:
    """Default build directory of a cpp_standalone project: ``$BIOSNN_CACHE`` or
    ``~/.cache/bioSNN``, then ``cpp_standalone/<name>``."""
    from .paths import cache_root

    return cache_root() / "cpp_standalone" / name


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


@contextmanager
def _output_to(path: Path):
    """Send file descriptors 1 and 2 to ``path`` for the block: what make and the
    compiler print (and Brian2 repeats on a failed build) goes to a log file instead of
    mixing with the run folder on stdout and the progress lines on stderr."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(path, "w") as fh:
            os.dup2(fh.fileno(), 1)
            os.dup2(fh.fileno(), 2)
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _interrupted_compile(err: RuntimeError) -> bool:
    """Whether Brian2's "Project compilation failed (error code: N)" means make was
    stopped by Ctrl-C: ``os.system`` ignores SIGINT in Python while make runs and returns
    the wait status, so the interrupt shows up only as a status killed by SIGINT."""
    import re
    import signal

    m = re.search(r"compilation failed \(error code: (\d+)\)", str(err))
    if not m:
        return False
    status = int(m.group(1))
    code = status >> 8 if os.WIFEXITED(status) else None
    return ((os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT)
            or code == 128 + signal.SIGINT)


#: Steps between two looks at the CPU clock for the progress report (see
#: :func:`sparse_clock_network`).
REPORT_EVERY_STEPS = 64

_STEP_CLOCK = re.compile(r"\n([ \t]*)current = std::clock\(\);\n[ \t]*elapsed_realtime = "
                         r"(\(double\)\(current - start\)/\(1 \* CLOCKS_PER_SEC\));\n")
_REPORT_CHECK = re.compile(r"if \(report_func\)(\s*\{\s*current = std::clock\(\);)")
_LOOP = "while(clock && clock->running() && !Network::_globally_stopped)"
_LOOP_END = "Network::_globally_running = false;"


def sparse_clock_network(cpp: str) -> str | None:
    """Brian2's ``network.cpp`` with the CPU clock read once per run instead of per step.

    Brian2 2.9's ``Network::run`` calls ``std::clock()`` after every time step (for
    ``_last_run_time``) and, with a progress report, before every *object* of every
    step. ``std::clock()`` is a ``clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`` system call,
    never served by the vDSO: 8 µs each on the reference machine, so 18 s of a 2 M-step
    run without progress (measured with ``strace -c``), and one call more per object and
    step with it. Here the
    run's CPU time is read once after the loop and the report checks the clock every
    :data:`REPORT_EVERY_STEPS` steps; what is simulated is unchanged.

    Returns ``None`` when the source is not the expected template (another Brian2
    version, OpenMP, ``maximum_run_time``): the caller then keeps Brian2's file.
    """
    if "omp_get_wtime" in cpp or "did_break_early = true" in cpp:
        return None
    step = list(_STEP_CLOCK.finditer(cpp))
    check = list(_REPORT_CHECK.finditer(cpp))
    if len(step) != 1 or len(check) != 1 or cpp.count(_LOOP) != 1:
        return None
    m = step[0]
    end = cpp.find(_LOOP_END, m.end())          # the first statement after the loop
    if end < 0:
        return None
    out = (cpp[:m.start()] + "\n" + cpp[m.end():end]
           + f"current = std::clock();\n    elapsed_realtime = {m.group(2)};\n    "
           + cpp[end:])
    out = _REPORT_CHECK.sub(
        rf"if (report_func && i == 0 && (_biosnn_steps++ % {REPORT_EVERY_STEPS}) == 0)\1", out, 1)
    return out.replace(_LOOP, f"unsigned long _biosnn_steps = 0;\n    {_LOOP}", 1)


class _Patched:
    """A rendered multi-file template with its ``cpp_file`` replaced."""

    def __init__(self, rendered, cpp_file: str):
        self.cpp_file, self.h_file = cpp_file, rendered.h_file


def _install_canonical_build(device, announce=None) -> None:
    """Make ``device.build`` canonicalise the main queue first (see
    :func:`canonical_main_queue`), as an instance attribute shadowing the class method,
    ``device.compile_source`` write the compiler's output to ``compile.log`` in the
    project folder (a Ctrl-C during make becomes a ``KeyboardInterrupt``), and
    ``device.generate_network_source`` write the loop of :func:`sparse_clock_network`.
    ``reinit_devices`` does not remove instance attributes, so :func:`brian_target`
    deletes it when the run ends. ``announce(directory)``, if given, is called before the
    C++ project is generated and compiled."""
    original = type(device).build

    def build(*args, **kwargs):
        device.main_queue[:] = canonical_main_queue(device.main_queue)
        if announce is not None:
            announce(kwargs.get("directory"))
        return original(device, *args, **kwargs)

    compile_source = type(device).compile_source

    def quiet_compile(directory, *args, **kwargs):
        log = Path(directory) / "compile.log"
        try:
            with _output_to(log):
                return compile_source(device, directory, *args, **kwargs)
        except RuntimeError as err:
            if _interrupted_compile(err):
                raise KeyboardInterrupt from None
            raise RuntimeError(f"{err} The compiler's output is in {log}.") from None

    def generate_network_source(writer, compiler):
        # Brian2's own method, with the network loop of sparse_clock_network
        def write(name, contents):
            patched = sparse_clock_network(contents.cpp_file) if name == "network.*" else None
            real_write(name, contents if patched is None else _Patched(contents, patched))

        real_write = writer.write
        writer.write = write
        try:
            return type(device).generate_network_source(device, writer, compiler)
        finally:
            writer.write = real_write

    device.build = build
    device.compile_source = quiet_compile
    device.generate_network_source = generate_network_source


@contextmanager
def brian_target(target: str, build_dir: str | os.PathLike | None = None, announce=None):
    """Context manager: run Brian2 with ``target``; restore runtime/prefs afterwards.

    Parameters
    ----------
    target : {"numpy", "cython", "cpp_standalone"}
    build_dir : path, optional
        Build directory for ``cpp_standalone`` (default:
        ``standalone_cache_dir("default")``). Reusing a directory reuses its
        compiled objects; it is locked while in use, and a second process gets a
        private sibling folder instead.
    announce : callable, optional
        ``announce(directory)`` is called just before a cpp_standalone project is
        generated and compiled (for a progress line).
    """
    import brian2
    from brian2.devices.device import reinit_devices

    if target not in TARGETS:
        raise ValueError(f"unknown Brian2 target {target!r}; choose one of {', '.join(TARGETS)}")
    old_target = brian2.prefs.codegen.target
    old_dt = brian2.defaultclock.dt
    old_stop = brian2.prefs.core.stop_on_keyboard_interrupt
    # Brian2's default turns the first Ctrl-C into a silent early end of Network.run, and
    # the truncated run would be saved as if finished: let Ctrl-C interrupt instead.
    brian2.prefs.core.stop_on_keyboard_interrupt = False
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
            _install_canonical_build(brian2.get_device(), announce)
        else:
            brian2.prefs.codegen.target = target
        yield
    finally:
        if target == "cpp_standalone":
            brian2.get_device().__dict__.pop("build", None)
            brian2.get_device().__dict__.pop("compile_source", None)
            brian2.get_device().__dict__.pop("generate_network_source", None)
            reinit_devices()  # forget this build (the compiled cache stays on disk)
            brian2.set_device("runtime")
        brian2.prefs.codegen.target = old_target
        brian2.prefs.core.stop_on_keyboard_interrupt = old_stop
        brian2.defaultclock.dt = old_dt
        if lock is not None:
            lock.close()
