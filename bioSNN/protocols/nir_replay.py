"""Protocol kind ``nir-replay``: a NIR graph built as a Brian2 network in biological units
and checked neuron by neuron against an independent NumPy integration of the graph.

The graph (``graph = FILE.nir``, or bioSNN's demo graph with every supported node type,
generated here and saved in the run folder as ``graph.nir``) is lowered by
:func:`bioSNN.exchange.nir_io.lower`; each neuron node becomes a ``NeuronGroup`` updated
by the discrete map of the chosen ``flavour``, each chain of linear nodes between two
neuron nodes one ``Synapses`` object. Mapping, flavours and step alignment:
``docs/nir.md``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import xarray as xr
from brian2 import Quantity, mV, ms, second

from .base import BrianProtocol
from .registry import register
from .schema import param
from .spec import ParamConflict

__all__ = ["NIRReplay", "NIRReplayParams", "build_brian2", "replay_nir", "nir_features",
           "GOALS"]

#: Agreement goals: identical neuron-steps (Brian2 vs NumPy), output decisions.
GOALS = {"spikes_identical": 0.999, "decision_agreement": 1.0}

_LIF_CODE = """
_on = int((timestep(t, dt) + P - o) % P < T)
_r = int(v > v_th)
_x = I_syn + I_bias
_inew = a_s * I_s + c_ix * _x
v = v_lk + _on * (a * (v - v_lk) + c_vi * I_s + c_vx * _x - sub * (v_th - E_L) * _r)
I_s = _on * _inew
I_syn = 0 * volt
"""
_WINDOW = "((timestep(t, dt) + P - o) % P < T)"


@dataclass(frozen=True)
class NIRReplayParams:
    graph: str = param("", doc="NIR graph file (nir.write); empty: bioSNN's demo graph with "
                       "every supported node type (saved as graph.nir in the run folder)")
    flavour: str = param("exact", choices=("snntorch", "norse", "exact"),
                         doc="discretisation of NIR's neurons (docs/nir.md): snnTorch's or "
                         "Norse's forward Euler, or the exact exponential solution")
    reset: str = param("auto", choices=("auto", "subtract", "value"),
                       doc="reset rule: the node's metadata, else the flavour's own "
                       "(snntorch: subtract one step late; norse, exact: to v_reset)")
    graph_dt: Quantity = param(0 * ms, unit=ms, min=0, doc="integration step of the graph's "
                               "time constants (0: the flavour's, snntorch 0.1 ms, norse "
                               "1 ms, exact = dt)")
    tau_convention: str = param("nir", choices=("nir", "norse-to_nir"),
                                doc="time constants as NIR states them, or as Norse 1.1's "
                                "to_nir writes them (dt / tau_inv; norse/norse#411)")
    E_L: Quantity = param(-65 * mV, unit=mV, doc="resting potential (membrane 0)")
    V_th: Quantity = param(-58 * mV, unit=mV, doc="potential of the first spiking node's "
                           "threshold; (V_th - E_L) / threshold is the mV per unit")
    dt: Quantity = param(1 * ms, unit=ms, min=0, min_inclusive=False,
                         doc="Brian2 step = one step of the graph")
    num_steps: int = param(50, min=1, max=100000, doc="time steps per input sample")
    n_samples: int = param(20, min=1, max=100000, doc="input samples (replayed in one run)")
    inputs: str = param("poisson", choices=("poisson", "current"),
                        doc="input: Bernoulli spikes of amplitude input_amplitude, or a "
                        "Gaussian current of that standard deviation")
    input_probability: float = param(0.3, min=0, max=1, doc="spike probability per input "
                                     "element and step (poisson)")
    input_amplitude: float = param(1.0, min=0, min_inclusive=False, doc="value of an input "
                                   "spike, or standard deviation of the current")
    demo_seed: int = param(0, min=0, doc="seed of the demo graph's weights (graph = \"\")")

    def check(self):
        if not self.V_th > self.E_L:
            raise ParamConflict("V_th", f"must lie above E_L ({self.E_L})")

    @property
    def graph_dt_s(self) -> float | None:
        return float(self.graph_dt / second) or None


def _theta_ref(plan) -> float:
    """The threshold that maps to V_th: the first spiking node's (median), else 1."""
    for layer in plan.layers.values():
        if layer.spiking:
            th = np.median(layer.params["v_threshold"])
            if np.isfinite(th) and th > 0:
                return float(th)
    return 1.0


def build_brian2(plan, x: np.ndarray, E_L=-65 * mV, V_th=-58 * mV, dt=1 * ms, name="nir"):
    """Brian2 objects of a lowered NIR graph, replaying the samples ``x`` in sequence.

    Parameters
    ----------
    plan : bioSNN.exchange.nir_io.Plan
    x : numpy.ndarray
        Input ``(N, T, *input_shape)`` (graph units).
    E_L, V_th, dt : Quantity
        Rest (graph membrane 0), the potential of the reference threshold, the step.
    name : str
        Prefix of the objects' names.

    Returns
    -------
    dict
        ``objects`` (for ``Network``), ``monitors``, ``offsets``, ``period``, ``scale``
        (volt per graph unit), ``n_synapses``.
    """
    from brian2 import NeuronGroup, SpikeMonitor, StateMonitor, Synapses, TimedArray

    from ..params import check_quantity

    for q, unit, what in ((E_L, mV, "E_L"), (V_th, mV, "V_th"), (dt, ms, "dt")):
        check_quantity("build_brian2", what, q, unit)
    N, T = x.shape[:2]
    scale = (V_th - E_L) / _theta_ref(plan)
    offsets = {plan.input: 0}
    for k in plan.layers:
        srcs = [offsets[t.source] + 1 for t in plan.terms_to(k)]
        offsets[k] = max(srcs) if srcs else 1
    max_delay = max([t.delay for t in plan.terms] + [0])
    P = T + max(offsets.values()) + max_delay + 1

    # the input: x[n, t] at Brian2 step n P + t; an event whenever it is non-zero
    n_in = int(np.prod(plan.input_shape))
    values = np.zeros((N * P, n_in))
    values.reshape(N, P, n_in)[:, :T] = x.reshape(N, T, n_in)
    x_in = TimedArray(values, dt=dt)
    source = NeuronGroup(n_in, "x : 1", threshold="x != 0", reset="",
                         namespace={"x_in": x_in}, dt=dt, name=f"{name}_input")
    source.run_regularly("x = x_in(t, i)", when="start", name=f"{name}_input_update")
    groups = {plan.input: source}
    sends = {k for t in plan.terms for k in [t.source]}
    monitors = {}
    for k, layer in plan.layers.items():
        p, c = layer.params, layer.coef
        ns = {"E_L": E_L, "P": P, "T": T, "o": offsets[k],
              "sub": 1 if layer.reset == "subtract" else 0, "scale_": scale}
        eqs = ("v : volt\nI_s : volt\nI_syn : volt\nI_bias : volt (constant)\n"
               "v_th : volt (constant)\nv_rst : volt (constant)\nv_lk : volt (constant)\n"
               "a : 1 (constant)\nc_vi : 1 (constant)\nc_vx : 1 (constant)\n"
               "a_s : 1 (constant)\nc_ix : 1 (constant)\ny = (v - E_L) / scale_ : 1\n")
        if layer.spiking:
            threshold = f"v > v_th and {_WINDOW}"
            reset = "v = v_rst" if layer.reset == "value" else ""
        else:
            threshold = _WINDOW if k in sends else None
            reset = None
        g = NeuronGroup(layer.n, eqs, threshold=threshold, reset=reset, namespace=ns, dt=dt,
                        name=f"{name}_{_safe(k)}")
        th = np.where(np.isfinite(p["v_threshold"]), p["v_threshold"], 1e6)
        g.v_th = E_L + th * scale
        g.v_rst = E_L + p["v_reset"] * scale
        g.v_lk = E_L + p["v_leak"] * scale
        g.v = E_L + p["v_leak"] * scale
        g.I_bias = plan.bias[k] * scale
        for key in ("a", "c_vi", "c_vx", "a_s", "c_ix"):
            setattr(g, key, c[key])
        g.run_regularly(_LIF_CODE, when="groups", name=f"{name}_{_safe(k)}_update")
        groups[k] = g
        monitors[k] = (SpikeMonitor(g, name=f"{name}_{_safe(k)}_spikes") if layer.spiking else
                       StateMonitor(g, "v", record=True, when="end",
                                    name=f"{name}_{_safe(k)}_v"))
    synapses, n_syn = [], 0
    for n_term, term in enumerate(plan.terms):
        m = term.matrix.tocoo()
        keep = m.data != 0
        pre, post, w = m.col[keep], m.row[keep], m.data[keep]
        order = np.lexsort((post, pre))
        src = groups[term.source]
        continuous = term.source == plan.input or not plan.layers[term.source].spiking
        on_pre = "I_syn_post += w * " + ("x_pre" if term.source == plan.input else "y_pre") \
            if continuous else "I_syn_post += w"
        steps = offsets[term.target] - offsets[term.source] - 1 + term.delay
        syn = Synapses(src, groups[term.target], "w : volt (constant)", on_pre=on_pre,
                       delay=steps * dt, namespace={}, dt=dt,
                       name=f"{name}_syn{n_term}_{_safe(term.source)}_{_safe(term.target)}")
        if len(pre):
            syn.connect(i=pre[order], j=post[order])
            syn.w = w[order] * scale
        synapses.append(syn)
        n_syn += len(pre)
    objects = list(groups.values()) + list(monitors.values()) + synapses
    return {"objects": objects, "monitors": monitors, "offsets": offsets, "period": P,
            "scale": scale, "n_synapses": n_syn}


def _safe(k: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in str(k))


def replay_nir(plan, x: np.ndarray, E_L=-65 * mV, V_th=-58 * mV, dt=1 * ms, report=None,
               name="nir") -> dict:
    """Run the Brian2 network of a lowered graph on ``x`` ``(N, T, *input_shape)``.

    Returns
    -------
    dict
        ``values``: per neuron node ``(N, T, n)`` (spikes as 0/1, LI membranes in graph
        units), plus the input; ``spikes``: per spiking node, Brian2's spike times (ms,
        from the start of the run: sample ``s`` occupies ``[s, s + 1) * period * dt``)
        and neuron indices; ``output``: the first Output's value ``(N, T, n_out)``;
        ``scale_mV``, ``offsets``, ``n_synapses``, ``timing`` (seconds).
    """
    from brian2 import Network, StateMonitor

    from ..exchange.nir_io import readout

    t0 = time.perf_counter()
    x = np.asarray(x, dtype=np.float64)
    N, T = x.shape[:2]
    built = build_brian2(plan, x, E_L, V_th, dt, name)
    net = Network(*built["objects"], name=f"{name}_network")
    t1 = time.perf_counter()
    net.run(N * built["period"] * dt, namespace={}, report=report)
    t2 = time.perf_counter()
    P, values, spikes = built["period"], {plan.input: x.reshape(N, T, -1)}, {}
    for k, mon in built["monitors"].items():
        o, n = built["offsets"][k], plan.layers[k].n
        if isinstance(mon, StateMonitor):
            u = np.asarray((mon.v[:] - E_L) / built["scale"]).reshape(n, N, P)
            values[k] = np.ascontiguousarray(u[:, :, o:o + T].transpose(1, 2, 0))
            continue
        step = np.rint(np.asarray(mon.t[:] / dt)).astype(np.int64)
        sample, phase = np.divmod(step, P)
        out = np.zeros((N, T, n))
        index = np.asarray(mon.i[:], dtype=np.int64)
        out[sample, phase - o, index] = 1.0
        values[k] = out
        spikes[k] = (np.asarray(mon.t[:] / ms, dtype=np.float64), index)
    return {"values": values, "output": readout(plan, values), "spikes": spikes,
            "scale_mV": float(built["scale"] / mV), "offsets": built["offsets"],
            "n_synapses": built["n_synapses"], "period": P,
            "timing": {"build_s": t1 - t0, "run_s": t2 - t1, "total_s": time.perf_counter() - t0}}


def make_inputs(shape, p: NIRReplayParams, rng: np.random.Generator) -> np.ndarray:
    """Input samples ``(n_samples, num_steps, *shape)`` from the numpy stream."""
    size = (p.n_samples, p.num_steps) + tuple(shape)
    if p.inputs == "poisson":
        return p.input_amplitude * (rng.random(size) < p.input_probability)
    return p.input_amplitude * rng.standard_normal(size)


@register
class NIRReplay(BrianProtocol):
    """A NIR graph replayed in Brian2 and compared with a NumPy integration."""

    kind = "nir-replay"
    headline = ("spikes_identical_min", "decision_agreement", "n_neurons")
    Params = NIRReplayParams

    @staticmethod
    def recording(data, params, rec):
        """NWB/Neo export: each spiking node a population named by its NIR node (model:
        its node type and the flavour), one trial per input sample."""
        from ..exchange import Intervals

        kinds = dict(zip(data.attrs["layers"].split(","), data.attrs["layer_kinds"].split(",")))
        for pop in rec.populations:
            if pop.name in kinds:
                pop.model = (f"NIR {kinds[pop.name]} node replayed in Brian2 (flavour "
                             f"{data.attrs['flavour']!r}, bioSNN.protocols.nir_replay)")
        period = data.attrs.get("period_steps")
        if period:
            T = int(period) * float(np.asarray(params.dt))
            n = data.sizes["sample"]
            rec.t_stop = max(rec.t_stop, n * T)
            rec.intervals.append(Intervals(
                name="trials", start=np.arange(n) * T, stop=np.arange(1, n + 1) * T,
                columns={"decision": data["decision"].sel(simulator="brian2").values
                         .astype(np.int64)},
                descriptions={"decision": "output unit with the largest summed value "
                                          "(Brian2)"}))

    def simulate(self, ctx):
        import tempfile
        from pathlib import Path

        import nir

        from ..exchange.nir_io import decisions, demo_graph, lower, read_graph, reference_run

        p = self.params
        if p.graph:
            graph, source = read_graph(p.graph), str(Path(p.graph).expanduser().resolve())
        else:
            graph, source = demo_graph(p.demo_seed), f"demo_graph(seed={p.demo_seed})"
            with tempfile.TemporaryDirectory() as tmp:  # the graph is part of the results
                nir.write(Path(tmp) / "graph.nir", graph)
                ctx.add_file("graph.nir", (Path(tmp) / "graph.nir").read_bytes())
        dt_s = float(p.dt / second)
        opts = dict(reset=p.reset, graph_dt_s=p.graph_dt_s, dt_s=dt_s,
                    tau_convention=p.tau_convention)
        plan = lower(graph, p.flavour, **opts)
        x = make_inputs(plan.input_shape, p, ctx.streams.numpy_rng())
        rec = replay_nir(plan, x, p.E_L, p.V_th, p.dt, report=ctx.report)
        t0 = time.perf_counter()
        ref = reference_run(graph, x, p.flavour, **opts)
        ref_s = time.perf_counter() - t0
        out_ref = ref[next(iter(plan.outputs))]
        return _dataset(p, plan, rec, ref, out_ref, decisions, source, ref_s)

    @staticmethod
    def summarize(data, params):
        return nir_features(data, params)


def _dataset(p, plan, rec, ref, out_ref, decisions, source, ref_s):
    data = xr.Dataset(coords={
        "simulator": ("simulator", ["numpy", "brian2"], {"units": "1"}),
        "sample": ("sample", np.arange(p.n_samples), {"units": "1"}),
        "step": ("step", np.arange(1, p.num_steps + 1), {"units": "1"}),
        "time": ("step", np.arange(1, p.num_steps + 1) * float(p.dt / ms), {"units": "ms"}),
    })
    names = []
    for k, layer in plan.layers.items():
        dim, key = f"{_safe(k)}_neuron", _safe(k)
        a, b = ref[k], rec["values"][k]
        names.append(key)
        if layer.spiking:
            data[f"count_{key}"] = (("simulator", "sample", dim),
                                    np.stack([a.sum(1), b.sum(1)]).astype(np.int32),
                                    {"units": "1", "long_name": f"spikes of each {k} "
                                     f"({layer.kind}) neuron per sample"})
            data[f"mismatch_{key}"] = ("sample", (a != b).reshape(len(a), -1).sum(1),
                                       {"units": "1", "long_name": f"{k} neuron-steps whose "
                                        "spike differs between NumPy and Brian2"})
            t_ms, index = rec["spikes"][k]
            data[f"{key}_spike_time"] = (f"{key}_spike", t_ms, {
                "units": "ms", "long_name": f"Brian2 spike times of the {k} ({layer.kind}) "
                "neurons, from the start of the run (sample s starts at s * period * dt)"})
            data[f"{key}_spike_neuron"] = (f"{key}_spike", index.astype(np.int32), {
                "units": "1", "long_name": f"index of the {k} neuron of each spike"})
        else:
            data[f"v_{key}"] = (("simulator", "sample", "step", dim),
                                p.E_L / mV + rec["scale_mV"] * np.stack([a, b]),
                                {"units": "mV", "long_name": f"membrane of the {k} (LI) "
                                 "neurons"})
    out_b = rec["output"]
    data["output"] = (("simulator", "sample", "step", "output_unit"), np.stack([out_ref, out_b]),
                      {"units": "1", "long_name": "value of the graph's output (graph units)"})
    data["decision"] = (("simulator", "sample"), np.stack([decisions(out_ref),
                                                           decisions(out_b)]),
                        {"units": "1", "long_name": "output unit with the largest summed value"})
    data["brian2_time"] = ((), rec["timing"]["total_s"], {"units": "s"})
    data["numpy_time"] = ((), ref_s, {"units": "s"})
    data.attrs.update({
        "graph": source, "flavour": p.flavour, "graph_dt_ms": plan.graph_dt_s * 1e3,
        "layers": ",".join(names),
        "layer_kinds": ",".join(layer.kind for layer in plan.layers.values()),
        "scale_mV_per_unit": rec["scale_mV"], "n_synapses": int(rec["n_synapses"]),
        "period_steps": int(rec["period"]),
        "n_neurons": int(sum(layer.n for layer in plan.layers.values())),
        "tau_m_ms": ",".join(f"{_tau_ms(layer, p):.6g}" for layer in plan.layers.values()),
    })
    return data


def _tau_ms(layer, p) -> float:
    """Membrane time constant in the replay's time: -dt / ln a (inf for IF)."""
    a = float(np.median(layer.coef["a"]))
    return float("inf") if not 0 < a < 1 else -float(p.dt / ms) / np.log(a)


def nir_features(data: xr.Dataset, params: NIRReplayParams) -> dict:
    """Headline numbers (pure): per neuron node the fraction of identical neuron-steps
    (spiking) or the largest membrane difference in mV (LI), the output decision
    agreement, and ``goals_met``."""
    out = {"flavour": data.attrs["flavour"], "graph": data.attrs["graph"],
           "n_neurons": int(data.attrs["n_neurons"]), "n_synapses": int(data.attrs["n_synapses"]),
           "graph_dt_ms": float(data.attrs["graph_dt_ms"]),
           "scale_mV_per_unit": float(data.attrs["scale_mV_per_unit"])}
    T, n = data.sizes["step"], data.sizes["sample"]
    worst, li_err = 1.0, 0.0
    for key, kind in zip(data.attrs["layers"].split(","), data.attrs["layer_kinds"].split(",")):
        if f"mismatch_{key}" in data:
            n_neurons = data.sizes[f"{key}_neuron"]
            ident = 1.0 - float(data[f"mismatch_{key}"].sum()) / (n * T * n_neurons)
            out[f"{key}_{kind}_spikes_identical"] = ident
            out[f"{key}_rate_Hz"] = float(data[f"count_{key}"].sel(simulator="brian2").mean()
                                          / (T * float(params.dt / second)))
            worst = min(worst, ident)
        else:
            v = data[f"v_{key}"]
            err = float(abs(v.sel(simulator="brian2") - v.sel(simulator="numpy")).max())
            out[f"{key}_{kind}_max_abs_error_mV"] = err
            li_err = max(li_err, err)
    dec = data["decision"]
    out["spikes_identical_min"] = worst
    out["li_max_abs_error_mV"] = li_err
    out["decision_agreement"] = float((dec.sel(simulator="numpy").values
                                       == dec.sel(simulator="brian2").values).mean())
    out["brian2_s"] = float(data["brian2_time"])
    out["numpy_s"] = float(data["numpy_time"])
    out["goals_met"] = bool(worst >= GOALS["spikes_identical"]
                            and out["decision_agreement"] >= GOALS["decision_agreement"])
    return out
