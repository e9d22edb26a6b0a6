r"""Speed of bioSNN's network kinds against NEST 3.10 on the same networks.

``.venv/bin/python benchmarks/bench_nest.py [--quick] [--sizes 1000,5000] [--threads 1,2]``
(``make bench-nest``) simulates, for every network size N, the Brunel (2000) AI network
(``brunel2000-ai``: ``iaf_psc_delta`` in NEST) and the CUBA benchmark
(``cuba-benchmark``: ``iaf_psc_exp``) in NEST and in bioSNN on the ``cpp_standalone`` and
``cython`` targets, each measurement in its own process, and writes
``bench-results/nest.json`` (one row per model, simulator, N and threads: ``build_s``,
``wall_s_per_sim_s``, ``peak_mb``, ``events_per_s``, ``rate_hz``, ``cv_mean``; for
bioSNN rows also ``rate_rel_diff``, ``ks_rate`` and ``ks_cv``, the agreement with NEST's
row: relative mean-rate difference and two-sample KS statistics of the per-neuron rate and
ISI-CV distributions) and a table of each bioSNN time over NEST's.

Same model, parameters, dt (0.1 ms), initial V distribution and connectivity rule on
both sides; different random numbers. Mismatches, by construction:

* Brunel: NEST's ``fixed_indegree`` (no autapses, no multapses) is bioSNN's rule; the
  external drive is one ``poisson_generator`` of rate C_E nu_ext per neuron in NEST,
  ``J * poisson(C_E nu_ext dt)`` per step in bioSNN (the same process). Both discard
  inputs during the refractory period (NEST ``refractory_input = False``).
* CUBA: ``pairwise_bernoulli`` with p 0.02, no autapses, as bioSNN's
  ``fixed_probability``. NEST's smallest delay is one step (0.1 ms); bioSNN's delay 0
  also acts from the next step on. NEST's weights are the currents w (E_rev - V_mean)
  (16.2 pA, -90 pA).
* The cython target runs one thread (Brian2's runtime is single-threaded): no 2-thread
  rows. cpp_standalone threads are OpenMP (``devices.cpp_standalone.openmp_threads``).

Timings: NEST ``build_s`` is Create + Connect, the simulation time is ``Simulate``.
bioSNN cpp_standalone: ``build_s`` is everything but running the binary (code
generation, compilation into a fresh folder: a cold build), the simulation is the
binary's run (it includes loading the synapses). cython: the simulation is the loop of
``Network.run``, ``build_s`` the rest (connectivity, code generation; the cython cache is
kept, so compilation is paid once). ``events_per_s``: synaptic events (spikes x mean
out-degree) per second of simulation wall time. ``peak_mb``: the process's maximum RSS.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

MODELS = ("brunel-ai", "cuba")
SIMULATORS = ("nest", "biosnn-cpp", "biosnn-cython")
SIZES = (1000, 2500, 5000, 10000, 20000)
THREADS = (1, 2)
DT_MS = 0.1
OUT = Path(__file__).parents[1] / "bench-results" / "nest.json"
SPEC = {"brunel-ai": "brunel2000-ai", "cuba": "cuba-benchmark"}


# ------------------------------------------------------------------ one measurement each

def _features(i, t, n_exc, n_inh, t0_ms, t1_ms):
    from bioSNN.features.population import population_features

    s = population_features(i, t, n_exc, n_inh, t0_ms, t1_ms, bin_ms=1.0)
    return s["rate_Hz"], s["cv_mean"]


def per_neuron(i, t, n_neurons, t0_ms, t1_ms) -> dict:
    """Per-neuron rate (Hz) over [t0, t1) and ISI CV (neurons with >= 3 spikes there): the
    distributions the driver compares across simulators (two-sample KS)."""
    keep = (t >= t0_ms) & (t < t1_ms)
    i, t = np.asarray(i)[keep], np.asarray(t)[keep]
    counts = np.bincount(i, minlength=n_neurons)
    rates = counts / ((t1_ms - t0_ms) / 1000.0)
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    cvs = []
    starts = np.searchsorted(i, np.arange(n_neurons))
    ends = np.searchsorted(i, np.arange(n_neurons), side="right")
    for a, b in zip(starts, ends):
        if b - a >= 3:
            isi = np.diff(t[a:b])
            cvs.append(float(isi.std() / isi.mean()))
    return {"_rates": rates.tolist(), "_cvs": cvs}


def run_nest(model: str, n: int, threads: int, duration_ms: float, seed: int = 1) -> dict:
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT_MS, "local_num_threads": threads,
                          "rng_seed": seed + 1, "print_time": False})
    t0 = time.perf_counter()
    if model == "brunel-ai":
        from bioSNN.protocols.brunel2000 import nu_threshold
        from brian2 import mV, ms

        n_e = (int(0.8 * n) // 4) * 4
        n_i = n_e // 4
        c_e, c_i = int(round(0.1 * n_e)), int(round(0.1 * n_i))
        j, g, d = 0.1, 5.0, 1.5
        nu_ext = 2.0 * float(nu_threshold(20 * mV, 0.1 * mV, c_e, 20 * ms))
        params = {"C_m": 250.0, "tau_m": 20.0, "E_L": 0.0, "V_th": 20.0, "V_reset": 10.0,
                  "t_ref": 2.0, "V_m": 0.0, "refractory_input": False}
        pop = nest.Create("iaf_psc_delta", n_e + n_i, params=params)
        pop.V_m = nest.random.uniform(0.0, 20.0)
        exc, inh = pop[:n_e], pop[n_e:]
        noise = nest.Create("poisson_generator", params={"rate": nu_ext * c_e})
        nest.Connect(noise, pop, syn_spec={"weight": j, "delay": d})
        rule = {"allow_autapses": False, "allow_multapses": False}
        nest.Connect(exc, pop, {"rule": "fixed_indegree", "indegree": c_e, **rule},
                     {"weight": j, "delay": d})
        nest.Connect(inh, pop, {"rule": "fixed_indegree", "indegree": c_i, **rule},
                     {"weight": -g * j, "delay": d})
        n_syn = (c_e + c_i) * (n_e + n_i)
        t_start = 200.0 if duration_ms > 400 else duration_ms / 4
    else:
        n_e = int(round(0.8 * n))
        n_i = n - n_e
        params = {"C_m": 200.0, "tau_m": 20.0, "E_L": -49.0, "V_th": -50.0,
                  "V_reset": -60.0, "t_ref": 5.0, "tau_syn_ex": 5.0, "tau_syn_in": 10.0,
                  "I_e": 0.0}
        pop = nest.Create("iaf_psc_exp", n, params=params)
        pop.V_m = nest.random.uniform(-60.0, -50.0)
        exc, inh = pop[:n_e], pop[n_e:]
        rule = {"rule": "pairwise_bernoulli", "p": 0.02, "allow_autapses": False}
        nest.Connect(exc, pop, rule, {"weight": 0.27 * 60.0, "delay": DT_MS})
        nest.Connect(inh, pop, rule, {"weight": 4.5 * -20.0, "delay": DT_MS})
        n_syn = nest.GetKernelStatus("num_connections")
        t_start = 100.0 if duration_ms > 200 else duration_ms / 4
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    nest.Prepare()
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    nest.Run(duration_ms)
    sim = time.perf_counter() - t1
    nest.Cleanup()
    ev = rec.events
    i = np.asarray(ev["senders"]) - pop[0].global_id
    t = np.asarray(ev["times"], dtype=float)
    rate, cv = _features(i, t, n_e, n_i, t_start, duration_ms)
    return {"build_s": build, "sim_s": sim, "n_spikes": int(len(t)), "n_synapses": int(n_syn),
            "n_neurons": n_e + n_i, "rate_hz": rate, "cv_mean": cv,
            **per_neuron(i, t, n_e + n_i, t_start, duration_ms)}


def run_biosnn(model: str, target: str, n: int, threads: int, duration_ms: float,
               seed: int = 1) -> dict:
    import brian2
    from brian2.core.network import Network

    from bioSNN.protocols import get_kind
    from bioSNN.protocols.spec import find_spec

    if model == "brunel-ai":
        n_e = (int(0.8 * n) // 4) * 4
        t_start = 200.0 if duration_ms > 400 else duration_ms / 4
        over = {"n_exc": str(n_e), "n_record": "0"}
    else:
        t_start = 100.0 if duration_ms > 200 else duration_ms / 4
        over = {"n_neurons": str(n)}
    over.update(duration=f"{duration_ms} ms", transient=f"{t_start} ms")
    spec = find_spec(SPEC[model]).resolve(target=target, overrides=over)
    loop = {"s": 0.0}
    original_run = Network.run
    if target == "cython":
        before = Network.before_run

        def timed_before(self, *args, **kwargs):
            t = time.perf_counter()
            out = before(self, *args, **kwargs)
            loop["s"] -= time.perf_counter() - t
            return out

        def timed_run(self, *args, **kwargs):
            t = time.perf_counter()
            out = original_run(self, *args, **kwargs)
            loop["s"] += time.perf_counter() - t
            return out

        Network.before_run, Network.run = timed_before, timed_run
    if target == "cpp_standalone":
        from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

        brian2.prefs.devices.cpp_standalone.openmp_threads = threads
        run_binary = CPPStandaloneDevice.run

        def timed_binary(self, *args, **kwargs):
            t = time.perf_counter()
            out = run_binary(self, *args, **kwargs)
            loop["s"] += time.perf_counter() - t
            return out

        CPPStandaloneDevice.run = timed_binary
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-nest-") as build_dir:
        r = get_kind(spec.kind)(spec).run(seed, build_dir=build_dir)
    total = time.perf_counter() - t0
    s, d = r.summary, r.data
    if model == "brunel-ai":
        n_syn = (int(d.attrs["C_E"]) + int(d.attrs["C_I"])) * (int(d.attrs["n_exc"])
                                                               + int(d.attrs["n_inh"]))
    else:
        n_syn = int(s["n_synapses"])
    n_neurons = int(d.attrs["n_exc"]) + int(d.attrs["n_inh"])
    return {"build_s": total - loop["s"], "sim_s": loop["s"],
            "n_spikes": int(d.sizes["spike"]), "n_synapses": n_syn,
            "n_neurons": n_neurons, "rate_hz": s["rate_Hz"], "cv_mean": s["cv_mean"],
            **per_neuron(d["spike_neuron"].values, d["spike_time"].values, n_neurons, t_start,
                         duration_ms)}


def measure(model: str, simulator: str, n: int, threads: int, duration_ms: float) -> dict:
    """One measurement in this process: the row of ``nest.json``."""
    if simulator == "nest":
        row = run_nest(model, n, threads, duration_ms)
    else:
        target = {"biosnn-cpp": "cpp_standalone", "biosnn-cython": "cython"}[simulator]
        row = run_biosnn(model, target, n, threads, duration_ms)
    sim_s = max(row.pop("sim_s"), 1e-9)
    mean_out = row["n_synapses"] / row["n_neurons"]
    row.update({"model": model, "simulator": simulator, "n": n, "threads": threads,
                "duration_ms": duration_ms, "wall_s_per_sim_s": sim_s / (duration_ms / 1000),
                "events_per_s": row["n_spikes"] * mean_out / sim_s,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
    return row


# ------------------------------------------------------------------ the driver

def _child(model, simulator, n, threads, duration_ms) -> dict:
    cmd = [sys.executable, __file__, "--one", model, simulator, str(n), str(threads),
           str(duration_ms)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def plan(quick: bool, sizes=None, threads=None):
    sizes = sizes or ((400,) if quick else SIZES)
    threads = threads or ((1,) if quick else THREADS)
    for model in MODELS:
        for n in sizes:
            for th in threads:
                for sim in SIMULATORS:
                    if sim == "biosnn-cython" and th != 1:
                        continue
                    yield model, sim, n, th


def agreement(rows) -> list[dict]:
    """The rows without their per-neuron arrays, each bioSNN row with its agreement with
    NEST's at the same model, N and threads: ``rate_rel_diff`` (mean rate, relative) and
    the two-sample KS statistics ``ks_rate`` / ``ks_cv`` of the per-neuron distributions."""
    from scipy.stats import ks_2samp

    nest_rows = {(r["model"], r["n"], r["threads"]): r for r in rows if r["simulator"] == "nest"}
    out = []
    for r in rows:
        r = dict(r)
        ref = nest_rows.get((r["model"], r["n"], r["threads"]))
        if ref is not None and r["simulator"] != "nest" and "_rates" in r and "_rates" in ref:
            r["rate_rel_diff"] = r["rate_hz"] / ref["rate_hz"] - 1
            r["ks_rate"] = float(ks_2samp(r["_rates"], ref["_rates"]).statistic)
            r["ks_cv"] = (float(ks_2samp(r["_cvs"], ref["_cvs"]).statistic)
                          if r["_cvs"] and ref["_cvs"] else float("nan"))
        out.append(r)
    for r in out:
        r.pop("_rates", None)
        r.pop("_cvs", None)
    return out


def ratio_table(rows) -> str:
    """Each bioSNN row's simulation time (and build time) over NEST's at the same model,
    N and threads."""
    nest_rows = {(r["model"], r["n"], r["threads"]): r for r in rows if r["simulator"] == "nest"}
    lines = [f"{'model':<10} {'N':>6} {'thr':>3} {'simulator':<14} {'build s':>8} "
             f"{'s/sim s':>8} {'x NEST':>7} {'MB':>6} {'Hz':>6} {'CV':>5} {'dHz %':>6} "
             f"{'KS rate':>7} {'KS CV':>6}"]
    for r in rows:
        ref = nest_rows.get((r["model"], r["n"], r["threads"]))
        ratio = r["wall_s_per_sim_s"] / ref["wall_s_per_sim_s"] if ref else float("nan")
        lines.append(f"{r['model']:<10} {r['n']:>6} {r['threads']:>3} {r['simulator']:<14} "
                     f"{r['build_s']:>8.2f} {r['wall_s_per_sim_s']:>8.2f} {ratio:>7.2f} "
                     f"{r['peak_mb']:>6.0f} {r['rate_hz']:>6.1f} {r['cv_mean']:>5.2f} "
                     f"{100 * r.get('rate_rel_diff', float('nan')):>6.1f} "
                     f"{r.get('ks_rate', float('nan')):>7.3f} {r.get('ks_cv', float('nan')):>6.3f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 400, one thread, 200 ms")
    ap.add_argument("--sizes", help="comma-separated N (default 1000..20000)")
    ap.add_argument("--threads", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--duration-ms", type=float, help="simulated time (default 1000, quick 200)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--one", nargs=5, metavar=("MODEL", "SIM", "N", "THREADS", "MS"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        model, sim, n, th, ms = a.one
        print(json.dumps(measure(model, sim, int(n), int(th), float(ms))))
        return 0
    sizes = tuple(int(x) for x in a.sizes.split(",")) if a.sizes else None
    threads = tuple(int(x) for x in a.threads.split(",")) if a.threads else None
    duration = a.duration_ms or (200.0 if a.quick else 1000.0)
    rows = []
    for model, sim, n, th in plan(a.quick, sizes, threads):
        print(f"bench-nest: {model} {sim} N={n} threads={th}", file=sys.stderr, flush=True)
        rows.append(_child(model, sim, n, th, duration))
    rows = agreement(rows)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"quick": a.quick, "rows": rows}, indent=1))
    tmp.replace(a.out)
    print(ratio_table(rows))
    print(f"written {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
