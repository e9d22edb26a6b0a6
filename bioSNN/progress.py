"""Progress of long work on stderr, for every Brian2 target and for training loops.

On a terminal, one line that updates in place; elsewhere (a pipe, a CI log, ``nohup``)
sparse plain lines: one at the start, one per 10 % (at most one per 5 s, at least one per
30 s) and one at the end.
stdout stays machine-readable (run folders, tables).
"""
from __future__ import annotations

import os
import re
import sys
import time
from contextlib import contextmanager

__all__ = ["brian_report", "standalone_progress", "bar", "stderr_is_terminal", "interactive",
           "in_notebook", "LOG_STEP",
           "LOG_MIN_S", "LOG_EVERY_S"]

LOG_STEP = 10          # plain lines (not a terminal): one per LOG_STEP percent, at most
LOG_MIN_S = 5.0        # one per LOG_MIN_S seconds,
LOG_EVERY_S = 30.0     # and at least one per LOG_EVERY_S seconds
_ENV = "BIOSNN_PROGRESS"  # read by the compiled cpp_standalone report: off | tty | log


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def in_notebook() -> bool:
    """Running in a Jupyter (IPython kernel) session."""
    import sys as _sys

    shell = _sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def interactive() -> bool:
    """Someone is watching: stderr is a terminal, or this is a notebook (the default of
    ``progress=None`` in :mod:`bioSNN.api`). Then progress lines update in place (both
    honour a carriage return) rather than being printed as sparse plain lines."""
    return stderr_is_terminal() or in_notebook()


def _clock(seconds: float) -> str:
    s = max(0, int(seconds + 0.5))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _sim_line(desc: str, completed: float, elapsed: float) -> str:
    pct = int(100 * completed)
    text = f"{desc}: {pct:3d}% simulated, {_clock(elapsed)} elapsed"
    if 0 < completed < 1:
        text += f", ~{_clock(elapsed * (1 - completed) / completed)} left"
    return text


class _Throttle:
    """Decides when a plain (non-terminal) line is due: start, every LOG_STEP %, every
    LOG_EVERY_S seconds, end."""

    def __init__(self):
        self.last_pct = None
        self.last_t = -1e18

    def due(self, fraction: float, now: float) -> bool:
        pct = int(100 * fraction)
        since = now - self.last_t
        if (self.last_pct is None or fraction >= 1 or since >= LOG_EVERY_S
                or (pct >= self.last_pct + LOG_STEP and since >= LOG_MIN_S)):
            if pct == self.last_pct and fraction < 1:
                return False
            self.last_pct, self.last_t = pct, now
            return True
        return False


def _python_report(desc: str, tty: bool):
    """A Brian2 ``report=`` callable for the runtime targets (numpy, cython)."""
    throttle = _Throttle()

    def report(elapsed, completed, start, duration):
        completed, elapsed = float(completed), float(elapsed)
        line = _sim_line(desc, completed, elapsed)
        if tty:
            end = "\r\033[K" if completed >= 1 else ""
            sys.stderr.write(f"\r{line}\033[K{end}")
            sys.stderr.flush()
        elif throttle.due(completed, elapsed):
            print(line, file=sys.stderr, flush=True)

    return report


def _cpp_literal(text: str) -> str:
    return '"' + re.sub(r"[^A-Za-z0-9 _.:+/()-]", "_", text) + '"'


def _standalone_report(desc: str) -> str:
    """C++ body of Brian2's standalone ``report_progress(elapsed, completed, start,
    duration)``: the same lines as :func:`_python_report`. Whether and how it prints is
    read from ``$BIOSNN_PROGRESS`` when the binary runs, so progress on or off, terminal
    or pipe, all give the same ``main.cpp`` (and the build cache hits)."""
    return r"""
    static int _last_pct = -1000;
    static double _last_t = -1e18;
    const char* _mode = getenv("%(env)s");
    if (_mode == NULL || (_mode[0] != 't' && _mode[0] != 'l')) return;
    const bool _tty = _mode[0] == 't';
    const int _pct = (int)(100.0 * completed);
    if (!_tty) {
        const double _since = elapsed - _last_t;
        const bool _due = _last_pct < -1 || completed >= 1.0 || _since >= %(every)f
                          || (_pct >= _last_pct + %(step)d && _since >= %(min)f);
        if (!_due || (_pct == _last_pct && completed < 1.0)) return;
        _last_pct = _pct;
        _last_t = elapsed;
    }
    double _parts[2] = {elapsed, completed > 0.0 ? elapsed * (1.0 - completed) / completed : 0.0};
    std::string _clock[2];
    for (int _i = 0; _i < 2; _i++) {
        int _s = (int)(_parts[_i] + 0.5);
        std::string _ss = std::to_string(_s %% 60);
        if (_ss.size() < 2) _ss = "0" + _ss;
        if (_s >= 3600) {
            std::string _mm = std::to_string(_s / 60 %% 60);
            if (_mm.size() < 2) _mm = "0" + _mm;
            _clock[_i] = std::to_string(_s / 3600) + ":" + _mm + ":" + _ss;
        } else {
            _clock[_i] = std::to_string(_s / 60) + ":" + _ss;
        }
    }
    std::string _p = std::to_string(_pct);
    while (_p.size() < 3) _p = " " + _p;
    std::string _line = std::string(%(desc)s) + ": " + _p + "%% simulated, " + _clock[0] + " elapsed";
    if (completed > 0.0 && completed < 1.0) _line += ", ~" + _clock[1] + " left";
    if (_tty) {
        std::cerr << "\r" << _line << "\033[K";
        if (completed >= 1.0) std::cerr << "\r\033[K";
    } else {
        std::cerr << _line << std::endl;
    }
    std::cerr << std::flush;
""" % {"env": _ENV, "step": LOG_STEP, "every": LOG_EVERY_S, "min": LOG_MIN_S,
       "desc": _cpp_literal(desc)}


def brian_report(desc: str, enabled: bool = True, target: str = "numpy"):
    """The ``report=`` argument of ``Network.run`` for ``target``, or None.

    For the runtime targets a Python callable (None when ``enabled`` is false); for
    ``cpp_standalone`` always the C++ report code (Brian2's standalone device accepts no
    Python callable), switched on or off at run time by :func:`standalone_progress`.

    Use as ``net.run(T, report=brian_report("lif-fi-curve", True, target),
    report_period=1*second)``.
    """
    if target == "cpp_standalone":
        return _standalone_report(desc)
    if not enabled:
        return None
    return _python_report(desc, interactive())


@contextmanager
def standalone_progress(enabled: bool):
    """Tell compiled cpp_standalone binaries run inside this block whether to report
    (``$BIOSNN_PROGRESS``: ``off``, ``tty`` or ``log``; the binary inherits it)."""
    old = os.environ.get(_ENV)
    os.environ[_ENV] = "off" if not enabled else ("tty" if interactive() else "log")
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = old


def _plural(unit: str) -> str:
    """English plural of a progress unit: ``task`` -> ``tasks``, ``batch`` -> ``batches``."""
    return unit + ("es" if unit.endswith(("s", "x", "ch", "sh")) else "s")


class _LineBar:
    """The subset of tqdm's interface bioSNN uses, printing sparse plain lines."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.start_n = initial
        self.t0 = time.perf_counter()
        self.postfix = ""
        self.throttle = _Throttle()
        self._print(force=True)

    def _print(self, force: bool = False):
        frac = self.n / self.total if self.total else 1.0
        now = time.perf_counter() - self.t0
        if not (self.throttle.due(frac, now) or force):
            return
        line = (f"{self.desc}: {self.n}/{self.total} {_plural(self.unit)} ({int(100 * frac)}%), "
                f"{_clock(now)}")
        done = self.n - self.start_n
        if 0 < done and self.n < self.total:
            line += f", ~{_clock(now / done * (self.total - self.n))} left"
        if self.postfix:
            line += f", {self.postfix}"
        print(line, file=sys.stderr, flush=True)

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        items = dict(ordered_dict or {}, **kwargs)
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_postfix_str(self, s="", refresh=True):
        self.postfix = str(s)

    def update(self, n=1):
        self.n += n
        self._print()

    def close(self):
        pass


def bar(total: int, desc: str, unit: str = "it", initial: int = 0, enabled: bool = True):
    """A progress bar on stderr: tqdm on a terminal or in a notebook, sparse plain lines
    elsewhere, a silent stand-in when ``enabled`` is false."""
    if enabled and not interactive():
        return _LineBar(total, desc, unit, initial)
    if in_notebook():
        from tqdm.auto import tqdm  # a widget where ipywidgets is installed
    else:
        from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr,
                leave=False, dynamic_ncols=True, smoothing=0.05, disable=not enabled)
