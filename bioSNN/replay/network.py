"""Export a trained CSNN to a Brian2 network in biological units, and replay images through
it: one ``NeuronGroup`` per LIF layer updated by the snnTorch map, ``Synapses`` for the
convolutional and linear layers, OR units for max-pooling, all images in one
``Network.run``. The update equations and the step alignment are in ``docs/replay.md``.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager

import numpy as np

from .connectivity import conv2d_connections, linear_connections, maxpool2d_connections
from .reference import LIF_STAGES, STAGES, RateCoded, Recording
from .units import BioMapping

__all__ = ["STAGE_OFFSET", "LIF_UPDATE", "POOL_UPDATE", "MAKE_JOBS", "period", "lif_layer",
           "pool_layer", "weighted_synapses", "window_synapses", "replay_brian2"]

#: Step of the period at which each stage processes the image's first time step: the
#: input arrives at 0, and every stage adds Brian2's one-step propagation delay.
STAGE_OFFSET = {"input": 0, "lif1": 1, "pool1": 2, "lif2": 3, "pool2": 4, "lif3": 5}

#: The LIF update (abstract code, run in the ``groups`` slot every step). ``_on`` is 1 in the
#: stage's window of ``T`` steps of each period of ``P`` steps (offset ``o``), else 0 (rest).
LIF_UPDATE = """
_on = int((timestep(t, dt) + P - o) % P < T)
_r = int(v > V_th)
v = E_L + _on * (beta * (v - E_L) + I_syn + I_bias{ext} - theta * _r)
I_syn = 0 * volt
"""
#: The max-pooling unit (``groups`` slot): the spikes its window sent at the previous step.
POOL_UPDATE = """
n_window = n_in
n_in = 0
"""


#: Parallel compiler jobs of a cpp_standalone build.
MAKE_JOBS = max(1, min(4, os.cpu_count() or 1))


def period(num_steps: int) -> int:
    """Steps per image in the batched replay: ``num_steps`` plus one per stage."""
    return num_steps + STAGE_OFFSET["lif3"]


def lif_layer(n: int, mapping: BioMapping, beta: float, n_steps: int, offset: int,
              clock, name: str, external: bool = False):
    """A layer of snnTorch-``Leaky`` neurons in biological units (see :data:`LIF_UPDATE`).

    Parameters
    ----------
    n : int
        Number of neurons.
    mapping : BioMapping
        Rest, threshold and step (``clock.dt`` must equal ``mapping.dt``).
    beta : float
        Membrane decay per step, in (0, 1].
    n_steps : int
        Steps ``T`` per image; the layer is active in steps ``offset .. offset + T - 1`` of
        every period of ``period(T)`` steps and rests at ``E_L`` otherwise.
    offset : int
        First active step of the period (:data:`STAGE_OFFSET`).
    clock : brian2.Clock
    name : str
    external : bool
        Add a linked input ``I_ext`` (volt per step), to be linked to another group.

    Returns
    -------
    brian2.NeuronGroup
        Variables ``v`` (volt, starts at ``E_L``), ``I_syn`` (volt: synaptic input of the
        step, cleared by the update), ``I_bias`` (volt, constant); spikes on
        ``v > V_th``.
    """
    from brian2 import NeuronGroup

    if abs(float(clock.dt / mapping.dt) - 1.0) > 1e-12:
        raise ValueError(f"clock.dt ({clock.dt}) must equal mapping.dt ({mapping.dt})")
    eqs = "v : volt\nI_syn : volt\nI_bias : volt (constant)\n"
    if external:
        eqs += "I_ext : volt (linked)\n"
    ns = {"E_L": mapping.E_L, "V_th": mapping.V_th, "theta": mapping.scale * mapping.threshold,
          "beta": float(beta), "P": period(n_steps), "T": int(n_steps), "o": int(offset)}
    g = NeuronGroup(n, eqs, threshold="v > V_th", reset="", clock=clock, namespace=ns,
                    name=name)
    g.v = mapping.E_L
    g.run_regularly(LIF_UPDATE.format(ext=" + I_ext" if external else ""), when="groups",
                    name=f"{name}_update")
    return g


def pool_layer(n: int, clock, name: str):
    """Max-pooling of binary spikes: a neuron fires iff its window sent a spike at the
    previous step (``n_window > 0.5``, see :data:`POOL_UPDATE`); connect the window with
    :func:`window_synapses`."""
    from brian2 import NeuronGroup

    g = NeuronGroup(n, "n_in : 1\nn_window : 1", threshold="n_window > 0.5", reset="",
                    clock=clock, namespace={}, name=name)
    g.run_regularly(POOL_UPDATE, when="groups", name=f"{name}_update")
    return g


def weighted_synapses(source, target, pre, post, w, clock, name: str):
    """Synapses ``on_pre: I_syn_post += w`` (conv or linear weights, ``w`` in volt per
    spike) from index arrays; no delay beyond Brian2's one step."""
    from brian2 import Synapses, ms, volt

    from ..params import check_quantity

    check_quantity("weighted_synapses", "w", w, volt)

    syn = Synapses(source, target, "w : volt (constant)", on_pre="I_syn_post += w",
                   delay=0 * ms, namespace={}, clock=clock, name=name)
    syn.connect(i=np.asarray(pre), j=np.asarray(post))
    syn.w = w
    return syn


def window_synapses(source, target, pre, post, clock, name: str):
    """Synapses ``on_pre: n_in_post += 1`` from each neuron to its pooling window."""
    from brian2 import Synapses, ms

    syn = Synapses(source, target, on_pre="n_in_post += 1", delay=0 * ms, namespace={},
                   clock=clock, name=name)
    syn.connect(i=np.asarray(pre), j=np.asarray(post))
    return syn


def _is_standalone(device) -> bool:
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    return isinstance(device, CPPStandaloneDevice)


@contextmanager
def _make_jobs(n: int):
    """Compile a cpp_standalone project with ``make -j<n>`` (Brian2's default ``-j``
    starts all ~45 compilers of this network at once: several GB on a 2-core machine)."""
    from brian2 import prefs

    old = prefs.devices.cpp_standalone.extra_make_args_unix
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{n}"]
    try:
        yield
    finally:
        prefs.devices.cpp_standalone.extra_make_args_unix = old


def _fresh_standalone_project(build_dir) -> None:
    """On the cpp_standalone device: start a new project (in ``build_dir`` if given)."""
    from brian2 import get_device

    device = get_device()
    if not _is_standalone(device):
        return
    if build_dir is None and not device.has_been_run:
        return
    options = dict(device.build_options)
    if build_dir is not None:
        options["directory"] = str(build_dir)
    device.reinit()
    device.activate(build_on_run=True, **options)


def _weights(model) -> dict[str, np.ndarray]:
    """The model's parameters as float64 arrays."""
    return {k: v.detach().double().cpu().numpy() for k, v in model.state_dict().items()}


def replay_brian2(model, images, mapping: BioMapping | None = None,
                  rate_coded: RateCoded | None = None,
                  trace_neurons=None, report=None, name: str = "replay",
                  build_dir=None, profile: bool = False) -> Recording:
    """Replay images through the Brian2 export of a CSNN (current Brian2 target/device).

    Parameters
    ----------
    model : CSNN
        The trained embedder (weights read in float64).
    images : numpy.ndarray or torch.Tensor
        Normalised images ``(N, C, H, W)``: the constant input (unit-less, as in torch).
    mapping : BioMapping, optional
        Biological units (default: rest -65 mV, threshold -58 mV, dt 1 ms); its
        ``threshold`` must equal the model's.
    rate_coded : RateCoded, optional
        Rate-coded input instead of the constant image (its spikes come from a
        ``SpikeGeneratorGroup``; give the same object to
        :func:`~bioSNN.replay.reference.torch_reference`).
    trace_neurons : dict of str to array-like, optional
        Per LIF stage, neurons whose membrane potential is recorded at every step.
    report : callable or str, optional
        Brian2 progress report.
    name : str
        Prefix of the Brian2 object names.
    build_dir : path, optional
        cpp_standalone only: the project folder of this replay. A device that has
        already built a network is re-initialised first (one build per replay), in
        ``build_dir`` or else its current folder. Ignored by the runtime targets.
    profile : bool
        Let Brian2 time every code object (``timing["profile"]``: name -> seconds).

    Returns
    -------
    Recording
        Spike trains per stage aligned to the torch steps, the embedding (unit-less,
        mean of ``(v - E_L) / scale`` over the steps), traces (unit-less) and
        ``timing``: ``setup_s`` (objects and connections), ``build_s`` (code generation
        and compilation), ``run_s`` (simulation loop), ``total_s``.
    """
    import brian2 as b2
    from brian2 import (Clock, NeuronGroup, Network, SpikeGeneratorGroup, SpikeMonitor,
                        StateMonitor, Synapses, TimedArray, get_device, second, volt)

    t_start = time.perf_counter()
    _fresh_standalone_project(build_dir)
    mapping = mapping or BioMapping(threshold=model.config.threshold)
    c = model.config
    if mapping.threshold != c.threshold:
        raise ValueError(f"mapping.threshold ({mapping.threshold}) must equal the model's "
                         f"threshold ({c.threshold})")
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[1:] != (c.in_channels, c.image_size, c.image_size):
        raise ValueError(f"images must have shape (N, {c.in_channels}, {c.image_size}, "
                         f"{c.image_size}), got {x.shape}")
    n_img, T, P = x.shape[0], c.num_steps, period(c.num_steps)
    if rate_coded is not None and tuple(rate_coded.spikes.shape) != (n_img, T, *x.shape[1:]):
        raise ValueError(f"rate_coded.spikes must have shape {(n_img, T, *x.shape[1:])}, got "
                         f"{tuple(rate_coded.spikes.shape)}")
    W = _weights(model)
    s_V = float(mapping.scale / volt)
    dt = mapping.dt
    H = c.image_size
    sizes = {"input": c.in_channels * H * H, "lif1": c.conv1_channels * H * H,
             "pool1": c.conv1_channels * (H // 2) ** 2,
             "lif2": c.conv2_channels * (H // 2) ** 2,
             "pool2": c.conv2_channels * (H // 4) ** 2, "lif3": c.embedding_dim}
    per_map = {"lif1": H * H, "lif2": (H // 2) ** 2, "lif3": 1}
    bias = {"lif1": "conv1.bias", "lif2": "conv2.bias", "lif3": "fc.bias"}
    clock = Clock(dt=dt, name=f"{name}_clock")

    groups, monitors = {}, {}
    for stage in STAGES:
        if stage.startswith("lif"):
            g = lif_layer(sizes[stage], mapping, c.beta, T, STAGE_OFFSET[stage], clock,
                          f"{name}_{stage}", external=stage == "lif1")
            g.I_bias = np.repeat(W[bias[stage]], per_map[stage]) * s_V * volt
        else:
            g = pool_layer(sizes[stage], clock, f"{name}_{stage}")
        groups[stage] = g
        monitors[stage] = SpikeMonitor(g, name=f"{name}_{stage}_spikes")
    objects = list(groups.values()) + list(monitors.values())

    # --- input -> lif1 (conv1) ---------------------------------------------------------
    # The constant part of the input (the image, or the rate code's offset) is summed over
    # the conv1 synapses once per image, into a group on a clock of one period (P steps)
    # that lif1 reads through a linked variable; input spikes are delivered event by event.
    pre, post, widx = conv2d_connections(c.in_channels, c.conv1_channels, c.conv1_kernel, H, H)
    w1 = W["conv1.weight"].ravel()[widx] * s_V
    x_const = x if rate_coded is None else np.full_like(x, rate_coded.offset)
    x_image = TimedArray(x_const.reshape(n_img, -1), dt=P * dt, name=f"{name}_x_image")
    inp = NeuronGroup(sizes["input"], "x = x_image(t, i) : 1", clock=clock,
                      namespace={"x_image": x_image}, name=f"{name}_input")
    cur1 = NeuronGroup(sizes["lif1"], "I_conv : volt",
                       clock=Clock(P * dt, name=f"{name}_image_clock"), order=-10,
                       namespace={}, name=f"{name}_conv1_current")
    syn1 = Synapses(inp, cur1, "w : volt (constant)\nI_conv_post = w * x_pre : volt (summed)",
                    namespace={"x_image": x_image}, clock=clock, name=f"{name}_conv1")
    syn1.connect(i=pre, j=post)
    syn1.w = w1 * volt
    groups["lif1"].I_ext = b2.linked_var(cur1, "I_conv")
    objects += [inp, cur1, syn1]
    n_syn = len(pre)
    if rate_coded is not None:
        s = np.asarray(rate_coded.spikes, dtype=bool).reshape(n_img, T, -1)
        k, step, idx = np.nonzero(s)
        times = k * P + step + STAGE_OFFSET["input"]
        order = np.lexsort((idx, times))
        gen = SpikeGeneratorGroup(sizes["input"], idx[order], times[order] * dt, clock=clock,
                                  name=f"{name}_input_spikes")
        objects += [gen, weighted_synapses(gen, groups["lif1"], pre, post,
                                           w1 * rate_coded.amplitude * volt, clock,
                                           f"{name}_conv1_spikes")]
        n_syn += len(pre)

    # --- lif1 -> pool1 -> (conv2) lif2 -> pool2 -> (fc) lif3 ---------------------------
    for src, dst, ch, size in (("lif1", "pool1", c.conv1_channels, H),
                               ("lif2", "pool2", c.conv2_channels, H // 2)):
        pre, post = maxpool2d_connections(ch, size, size)
        objects.append(window_synapses(groups[src], groups[dst], pre, post, clock,
                                       f"{name}_{dst}_window"))
        n_syn += len(pre)
    for src, dst, (pre, post, widx), key in (
            ("pool1", "lif2", conv2d_connections(c.conv1_channels, c.conv2_channels,
                                                 c.conv2_kernel, H // 2, H // 2), "conv2"),
            ("pool2", "lif3", linear_connections(c.flat_features, c.embedding_dim), "fc")):
        w = W[f"{key}.weight"].ravel()[widx] * s_V * volt
        objects.append(weighted_synapses(groups[src], groups[dst], pre, post, w, clock,
                                         f"{name}_{src}_to_{dst}"))
        n_syn += len(pre)

    # --- membrane monitors (after the update of each step) ------------------------------
    trace_neurons = {k: np.asarray(v, dtype=np.int64) for k, v in (trace_neurons or {}).items()}
    v_mon = {"lif3": StateMonitor(groups["lif3"], "v", record=True, when="end",
                                  name=f"{name}_lif3_v")}
    for stage in ("lif1", "lif2"):
        if len(trace_neurons.get(stage, ())):
            v_mon[stage] = StateMonitor(groups[stage], "v", record=trace_neurons[stage],
                                        when="end", name=f"{name}_{stage}_v")
    objects += list(v_mon.values())

    net = Network(*objects, name=f"{name}_network")
    t_setup = time.perf_counter()
    device = get_device()
    standalone = _is_standalone(device)
    if standalone and callable(report):
        raise TypeError("on cpp_standalone, report must be a string (bioSNN.progress."
                        "brian_report(..., target='cpp_standalone'))")
    with _make_jobs(MAKE_JOBS):
        net.run(n_img * P * dt, namespace={}, report=report, report_period=10 * second,
                profile=profile)
    t_run_end = time.perf_counter()
    if standalone:
        timers = device.timers
        compile_s = (timers["compile"]["make"] or 0.0) + (timers["compile"]["clean"] or 0.0)
        run_s = timers["run_binary"] or 0.0
        build_s = (t_run_end - t_setup) - run_s
    else:
        run_s = float(device._last_run_time)
        build_s = (t_run_end - t_setup) - run_s
        compile_s = None

    # --- decode: spikes -> (image, step, neuron); membranes -> unit-less -----------------
    spikes = {}
    for stage in STAGES:
        mon = monitors[stage]
        i = np.asarray(mon.i[:], dtype=np.int64)
        n = np.rint(np.asarray(mon.t[:] / dt)).astype(np.int64)
        k, phase = np.divmod(n, P)
        step = phase - STAGE_OFFSET[stage]
        if i.size and (step.min() < 0 or step.max() >= T):
            raise RuntimeError(f"{stage}: a spike outside its window (bug in the replay)")
        out = np.zeros((n_img, T, sizes[stage]), dtype=bool)
        out[k, step, i] = True
        spikes[stage] = out

    def window(v, stage):
        """(n_rec, n_img * P) volt -> unit-less (n_img, T, n_rec) of the stage's window."""
        u = mapping.to_units(v).reshape(v.shape[0], n_img, P)
        o = STAGE_OFFSET[stage]
        return np.ascontiguousarray(u[:, :, o:o + T].transpose(1, 2, 0))

    u3 = window(v_mon["lif3"].v[:], "lif3")
    embedding = u3.mean(axis=1)
    traces = {}
    for stage in LIF_STAGES:
        if stage in trace_neurons and len(trace_neurons[stage]):
            if stage == "lif3":
                traces[stage] = u3[:, :, trace_neurons[stage]]
            else:
                traces[stage] = window(v_mon[stage].v[:], stage)
    profiling = ({name: float(t / second) for name, t in net.profiling_info}
                 if profile else None)
    timing = {"setup_s": t_setup - t_start, "build_s": build_s, "run_s": run_s,
              "compile_s": compile_s, "profile": profiling, "total_s": time.perf_counter() - t_start,
              "n_synapses": int(n_syn)}
    return Recording(spikes=spikes, embedding=embedding, traces=traces,
                     traced={k: v for k, v in trace_neurons.items() if k in traces},
                     timing=timing)
