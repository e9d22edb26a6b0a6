r"""Speed of the ``rstdp-classification`` protocol: Brian2 targets vs a NumPy reference.

``make bench`` (or ``.venv/bin/python benchmarks/rstdp_speed.py``) runs, for each
network size, the protocol (:mod:`bioSNN.protocols.rstdp_classification`) on Brian2's
``cpp_standalone`` (1 and 2 OpenMP threads) and ``cython`` targets and the vectorized
NumPy implementation of the same network and rule
(:mod:`bioSNN.reference.rstdp_numpy`, tested to give identical spikes and weights),
then sweeps the input rate for one size and reports where NumPy and Brian2 cross over.

Sizes (100 trials: 80 training + 20 test, 500 ms each, i.e. 50 001 steps of 1 ms)
--------------------------------------------------------------------------------
``100-50-10@100Hz``
    ``rstdp-poisson-10class`` as specified (20 % of the inputs at 100 Hz, rest 5 Hz).
``1000-500-10@10Hz``
    1000 inputs, 500 hidden, 10 outputs, active inputs at 10 Hz (rest 5 Hz). The
    weights are rescaled to keep the mean drives of the seed network: with
    ``p_in`` = 0.3 a hidden neuron has 300 instead of 30 inputs at a mean rate of
    6 Hz instead of 24 Hz, so ``w_in`` = 1 mV x (30 x 24) / (300 x 6) = 0.4 mV; an
    output has 500 instead of 50 hidden inputs, so ``w_scale`` = 0.9 mV / 10 =
    0.09 mV. Hidden and output neurons then fire at about 29 and 23 Hz (seed network:
    34 and 28 Hz).

Columns
-------
``build s``
    cpp_standalone: Python code generation + ``make`` of the first run (a clean
    build directory unless ``--warm``); cython: first-run minus second-run time of
    ``Network.before_run`` (compilation of new code objects; 0 when cached).
``run s``
    The simulation: cpp_standalone: the ``main`` binary of the second run (loads
    the arrays, simulates, writes the results; its main loop alone is ``loop s``);
    cython: ``Network.run`` minus ``before_run`` of the second run; NumPy: the
    time-step loop.
``total s``
    The whole second (warm) ``Protocol.run`` (inputs, network construction, code
    generation and no-op ``make``, run, read-back); NumPy: inputs + loop.
``NumPy/B2``
    NumPy run s / Brian2 run s (>1: Brian2 is faster); ``(total)`` the same for total s.
``events/s``
    Synaptic events per second of run s: input->hidden (input spikes x fan-out),
    hidden->output pre (hidden spikes x n_classes) and post (output spikes x
    n_hidden, the STDP side), lateral (output spikes x (n_classes - 1)).

Every timing depends on the machine's load, which is printed with the table.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

N_TRAIN, N_TEST = 80, 20
PROTOCOL = "rstdp-poisson-10class"
CONFIGS = {
    "100-50-10@100Hz": {},
    "1000-500-10@10Hz": {"n_inputs": 1000, "n_hidden": 500, "rate_high": "10 Hz",
                         "w_in": "0.4 mV", "w_scale": "0.09 mV"},
}
SWEEP_CONFIG = "1000-500-10@10Hz"
SWEEP_RATES = (5, 10, 20, 50, 100)
MAKE_JOBS = int(os.environ.get("BENCH_MAKE_JOBS", "2"))


def load() -> str:
    return "load %.2f %.2f %.2f" % os.getloadavg()


def make_spec(config: str, rate_hz: float | None = None, trials: tuple[int, int] = (N_TRAIN, N_TEST)):
    from bioSNN.protocols import find_spec

    overrides = {"n_train": trials[0], "n_test": trials[1], **CONFIGS[config]}
    if rate_hz is not None:
        overrides["rate_high"] = f"{rate_hz:g} Hz"
    return find_spec(PROTOCOL).resolve(overrides=overrides)


def synaptic_events(data, params, input_events: int) -> int:
    n_hid, n_out = data.sizes["hidden_spike"], data.sizes["output_spike"]
    return (input_events + n_hid * params.n_classes + n_out * params.n_hidden
            + n_out * (params.n_classes - 1))


# --------------------------------------------------------------------------- NumPy
def time_numpy(spec) -> dict:
    from bioSNN.reference.rstdp_numpy import simulate

    tm = {}
    data = simulate(spec.params, spec.seed, timings=tm)
    return {"build": 0.0, "run": tm["loop"], "total": tm["total"], "data": data,
            "input_events": data.attrs["input_hidden_events"]}


# --------------------------------------------------------------------------- Brian2
@contextlib.contextmanager
def _instrumented(record: dict, profile: bool):
    """Time Brian2's build and run phases without touching the protocol: wraps
    ``Network.before_run``/``Network.run`` (runtime targets) and the standalone
    device's ``network_run`` (whose ``build`` fills ``device.timers``)."""
    from brian2.core.network import Network
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    orig_before, orig_run, orig_nr = Network.before_run, Network.run, CPPStandaloneDevice.network_run

    def before_run(self, *a, **k):
        t = time.perf_counter()
        try:
            return orig_before(self, *a, **k)
        finally:
            record["before_run"] = record.get("before_run", 0.0) + time.perf_counter() - t

    def run(self, *a, **k):
        t = time.perf_counter()
        try:
            return orig_run(self, *a, **k)
        finally:
            record["net_run"] = record.get("net_run", 0.0) + time.perf_counter() - t

    def network_run(self, net, duration, *a, **k):
        if profile:
            k["profile"] = True
        t = time.perf_counter()
        out = orig_nr(self, net, duration, *a, **k)
        record["device_total"] = time.perf_counter() - t
        record["make"] = (self.timers["compile"]["make"] or 0.0) + (self.timers["compile"]["clean"] or 0.0)
        record["binary"] = self.timers["run_binary"] or 0.0
        record["loop"] = getattr(self, "_last_run_time", None)
        if profile:
            prof = Path(self.project_dir) / "results" / "profiling_info.txt"
            record["profile"] = [(ln.split()[0], float(ln.split()[1]))
                                 for ln in prof.read_text().splitlines() if ln.strip()]
        return out

    Network.before_run, Network.run = before_run, run
    CPPStandaloneDevice.network_run = network_run
    try:
        yield record
    finally:
        Network.before_run, Network.run = orig_before, orig_run
        CPPStandaloneDevice.network_run = orig_nr


def _run_once(spec, build_dir, threads: int, profile: bool) -> dict:
    import brian2

    from bioSNN.protocols import get_kind

    old_threads = brian2.prefs.devices.cpp_standalone.openmp_threads
    old_make = brian2.prefs.devices.cpp_standalone.extra_make_args_unix
    brian2.prefs.devices.cpp_standalone.openmp_threads = threads
    # Brian2's default `make -j` starts every compiler at once; 2 jobs suit a shared machine
    brian2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{MAKE_JOBS}"]
    record: dict = {}
    try:
        with _instrumented(record, profile):
            t = time.perf_counter()
            res = get_kind(spec.kind)(spec).run(build_dir=build_dir)
            record["total"] = time.perf_counter() - t
    finally:
        brian2.prefs.devices.cpp_standalone.openmp_threads = old_threads
        brian2.prefs.devices.cpp_standalone.extra_make_args_unix = old_make
    record["data"] = res.data
    return record


def time_brian(spec, target: str, *, tag: str, threads: int = 0, warm: bool = False,
               profile: bool = False) -> dict:
    """Two runs of the protocol on ``target``: the first builds, the second is timed."""
    import brian2

    from bioSNN.backend import standalone_cache_dir

    spec = spec.resolve(target=target)
    build_dir = standalone_cache_dir(f"bench-{tag}")
    if target == "cpp_standalone" and not warm and build_dir.exists():
        shutil.rmtree(build_dir)
    old_cache = brian2.prefs.codegen.runtime.cython.cache_dir
    if target == "cython":
        cache = Path(os.environ.get("BIOSNN_CACHE", Path.home() / ".cache" / "bioSNN")) / "cython-bench"
        if not warm and os.environ.get("BENCH_CYTHON_COLD") and cache.exists():
            shutil.rmtree(cache)
        brian2.prefs.codegen.runtime.cython.cache_dir = str(cache)
    try:
        first = _run_once(spec, build_dir, threads, profile=False)
        second = _run_once(spec, build_dir, threads, profile=profile)
    finally:
        brian2.prefs.codegen.runtime.cython.cache_dir = old_cache
    if target == "cpp_standalone":
        build = first["device_total"] - first["binary"]          # codegen + make
        return {"build": build, "run": second["binary"], "loop": second["loop"],
                "total": second["total"], "warm_build": second["device_total"] - second["binary"],
                "data": second["data"], "profile": second.get("profile")}
    return {"build": max(first["before_run"] - second["before_run"], 0.0),
            "run": second["net_run"] - second["before_run"], "loop": None,
            "total": second["total"], "data": second["data"]}


# --------------------------------------------------------------------------- report
HEADER = (f"{'config':<18} {'target':<18} {'build s':>8} {'run s':>8} {'loop s':>7} "
          f"{'total s':>8} {'NumPy s':>8} {'NumPy/B2':>9} {'(total)':>8} {'events/s':>10}")


def row(config, target, r, ref, events) -> str:
    loop = f"{r['loop']:7.2f}" if r.get("loop") is not None else f"{'-':>7}"
    ratio = ref["run"] / r["run"]
    ratio_t = ref["total"] / r["total"]
    return (f"{config:<18} {target:<18} {r['build']:8.2f} {r['run']:8.2f} {loop} "
            f"{r['total']:8.2f} {ref['run']:8.2f} {ratio:9.2f} {ratio_t:8.2f} "
            f"{events / r['run']:10.3g}")


def check_same(a, b, what: str) -> None:
    for var in ("hidden_spike", "output_spike"):
        if a.sizes[var] != b.sizes[var]:
            print(f"  WARNING: {what}: {var} counts differ ({a.sizes[var]} vs {b.sizes[var]})",
                  file=sys.stderr)


def crossover(rates, ratios, level: float = 1.0):
    """Input rate where NumPy/Brian2 crosses ``level`` (log-linear interpolation), or None."""
    for (r0, q0), (r1, q1) in zip(zip(rates, ratios), zip(rates[1:], ratios[1:])):
        if (q0 - level) * (q1 - level) <= 0 and q0 != q1:
            f = (level - q0) / (q1 - q0)
            return math.exp(math.log(r0) + f * (math.log(r1) - math.log(r0)))
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--targets", nargs="*", default=["cpp_standalone", "cython"],
                    choices=["cpp_standalone", "cython"])
    ap.add_argument("--threads", nargs="*", type=int, default=[0, 2],
                    help="OpenMP threads for cpp_standalone (0: no OpenMP)")
    ap.add_argument("--sweep", nargs="*", type=float, default=list(SWEEP_RATES),
                    help=f"input rates (Hz) swept at {SWEEP_CONFIG} on cpp_standalone "
                    "(no value: no sweep)")
    ap.add_argument("--sweep-config", default=SWEEP_CONFIG, choices=list(CONFIGS))
    ap.add_argument("--profile", action="store_true",
                    help="profile the cpp_standalone code objects (an extra build per config)")
    ap.add_argument("--warm", action="store_true",
                    help="keep the cpp_standalone build folders (build s then excludes compilation)")
    ap.add_argument("--trials", nargs=2, type=int, default=[N_TRAIN, N_TEST],
                    metavar=("N_TRAIN", "N_TEST"), help="training and test trials")
    ap.add_argument("--json", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)

    out = {"load_start": load(), "rows": [], "sweep": [], "profile": {}}
    trials = tuple(args.trials)
    print(f"rstdp speed benchmark: {PROTOCOL}, {trials[0]}+{trials[1]} trials; {load()}", flush=True)
    print(HEADER, flush=True)
    for config in args.configs:
        spec = make_spec(config, trials=trials)
        ref = time_numpy(spec)
        events = synaptic_events(ref["data"], spec.params, ref["input_events"])
        print(f"{config:<18} {'numpy-reference':<18} {0:8.2f} {ref['run']:8.2f} {'-':>7} "
              f"{ref['total']:8.2f} {ref['run']:8.2f} {1:9.2f} {1:8.2f} "
              f"{events / ref['run']:10.3g}   [{load()}]", flush=True)
        runs = [("cpp_standalone", t) for t in args.threads if "cpp_standalone" in args.targets]
        runs += [("cython", 0)] if "cython" in args.targets else []
        for target, threads in runs:
            label = f"{target}+omp{threads}" if threads else target
            tag = f"{config}-omp{threads}".replace("@", "_")
            r = time_brian(spec, target, tag=tag, threads=threads, warm=args.warm)
            check_same(ref["data"], r["data"], f"{config} {label}")
            events = synaptic_events(r["data"], spec.params, ref["input_events"])
            extra = f" warm codegen+make {r['warm_build']:.1f} s" if "warm_build" in r else ""
            print(row(config, label, r, ref, events) + f"   [{load()}]{extra}", flush=True)
            out["rows"].append({"config": config, "target": label, "load": load(),
                                "events": events, "numpy_run_s": ref["run"],
                                "numpy_total_s": ref["total"],
                                **{k: r.get(k) for k in ("build", "run", "loop", "total", "warm_build")}})
        if args.profile:
            r = time_brian(spec, "cpp_standalone", tag=f"{config}-profile".replace("@", "_"),
                           warm=args.warm, profile=True)
            prof = sorted(r["profile"], key=lambda kv: -kv[1])
            tot = sum(v for _, v in prof)
            print(f"\nprofile {config} (cpp_standalone, 1 thread; main loop {r['loop']:.2f} s, "
                  f"{load()}):")
            for name, sec in prof[:10]:
                print(f"  {name:<55} {sec:7.3f} s {100 * sec / tot:5.1f} %")
            out["profile"][config] = prof
            print(HEADER)

    if args.sweep:
        rates = sorted(args.sweep)
        print(f"\nrate sweep at {args.sweep_config} (rate_high; rate_low 5 Hz), cpp_standalone "
              f"1 thread vs NumPy; {load()}")
        print(f"{'rate Hz':>8} {'B2 run s':>9} {'B2 total s':>10} {'NumPy s':>8} {'NumPy/B2':>9} "
              f"{'(total)':>8} {'events':>10}")
        ratios, ratios_t = [], []
        for rate in rates:
            spec = make_spec(args.sweep_config, rate, trials=trials)
            ref = time_numpy(spec)
            r = time_brian(spec, "cpp_standalone", tag=f"{args.sweep_config}-sweep".replace("@", "_"),
                           warm=True)
            check_same(ref["data"], r["data"], f"sweep {rate} Hz")
            events = synaptic_events(r["data"], spec.params, ref["input_events"])
            ratios.append(ref["run"] / r["run"])
            ratios_t.append(ref["total"] / r["total"])
            print(f"{rate:8g} {r['run']:9.2f} {r['total']:10.2f} {ref['run']:8.2f} "
                  f"{ratios[-1]:9.2f} {ratios_t[-1]:8.2f} {events:10.3g}   [{load()}]", flush=True)
            out["sweep"].append({"rate_Hz": rate, "brian_run_s": r["run"], "brian_total_s": r["total"],
                                 "numpy_run_s": ref["run"], "numpy_total_s": ref["total"],
                                 "events": events, "load": load()})
        for name, q in (("run", ratios), ("total", ratios_t)):
            for level in (1.0, 2.0):
                x = crossover(rates, q, level)
                where = f"{x:.3g} Hz" if x else f"none in {rates[0]:g}-{rates[-1]:g} Hz"
                print(f"NumPy/Brian2 ({name}) = {level:g}: {where}")
    out["load_end"] = load()
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
