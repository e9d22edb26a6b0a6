"""NIR in and out (bioSNN.exchange.nir_io, protocol nir-replay), neuron by neuron.

Tiers: graphs exported by snnTorch (``export_to_nir``) and by Norse (``to_nir``) replayed
in Brian2 against the exporting framework's own simulation of the same inputs; bioSNN's
demo graph (every supported node type) against the independent NumPy integration, for
each flavour; the sum-pool CSNN exported and replayed against bioSNN's torch CSNN; the
one-line errors (max-pool export, an unsupported node, a delay off the step grid, a
cycle); the protocol in quick mode. Brian2 on the numpy target throughout.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")

from bioSNN.embedder.csnn import CSNN, CSNNConfig, pool2d  # noqa: E402
from bioSNN.errors import BioSNNError  # noqa: E402
from bioSNN.exchange.nir_io import (SUPPORTED_NODES, decisions, demo_graph,  # noqa: E402
                                    export_nir, lower, read_graph, reference_run)
from bioSNN.protocols.nir_replay import replay_nir  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread", "brian_numpy")
GOAL = 0.999


def _identical(a, b) -> float:
    assert a.shape == b.shape
    return 1.0 - float((a != b).mean())


def _record_hooks(modules, names, rec):
    """Forward hooks that keep each spiking module's output spikes ``(B, n)`` per step."""
    def hook(mod, inp, out):
        z = out[0] if isinstance(out, tuple) else out
        rec.setdefault(names[mod], []).append(z.detach().reshape(z.shape[0], -1).double().numpy())
    return [m.register_forward_hook(hook) for m in modules]


def _rate_inputs(n, steps, shape, seed, p_max=0.6):
    """Bernoulli spikes, a different random rate map per sample (varied decisions)."""
    g = torch.Generator().manual_seed(seed)
    p = torch.rand((n, 1) + shape, generator=g) * p_max
    return (torch.rand((n, steps) + shape, generator=g) < p).float()


# ---------------------------------------------------------------------------------------
# graphs exported by other frameworks
# ---------------------------------------------------------------------------------------
def test_snntorch_export_replays_spike_for_spike(tmp_path):
    import snntorch as snn
    import snntorch.utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)

    def leaky(shape, beta):  # per-neuron parameters: export_to_nir needs their shape
        return snn.Leaky(beta=torch.full(shape, beta), threshold=torch.ones(shape),
                         init_hidden=True)

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1), leaky((3, 8, 8), 0.9),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(48, 12),
        snn.Synaptic(alpha=torch.full((12,), 0.8), beta=torch.full((12,), 0.85),
                     threshold=torch.ones(12), init_hidden=True),
        torch.nn.Linear(12, 5), leaky((5,), 0.8))
    with torch.no_grad():
        for m in net:
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
                m.weight.mul_(2.5)
        net[6].weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(5))
        net[6].bias.zero_()  # zero-mean readout: decisions differ between samples
    graph = export_to_nir(net, torch.randn(1, 1, 8, 8), ignore_dims=[0])
    nir.write(tmp_path / "snntorch.nir", graph)
    graph = read_graph(tmp_path / "snntorch.nir")
    assert {type(n).__name__ for n in graph.nodes.values()} >= {"Conv2d", "LIF", "AvgPool2d",
                                                                  "Flatten", "Affine", "CubaLIF"}
    # snnTorch's own simulation (float32, as snnTorch computes)
    rec = {}
    names = {m: str(i) for i, m in enumerate(net)}
    hooks = _record_hooks([m for m in net if isinstance(m, (snn.Leaky, snn.Synaptic))], names, rec)
    x = _rate_inputs(12, 40, (1, 8, 8), seed=3)
    snntorch.utils.reset(net)
    with torch.no_grad():
        for t in range(x.shape[1]):
            net(x[:, t])
    for h in hooks:
        h.remove()
    ref = {k: np.stack(v, 1) for k, v in rec.items()}

    plan = lower(graph, "snntorch")  # dt 0.1 ms, subtractive reset one step late
    out = replay_nir(plan, x.double().numpy())
    assert set(plan.layers) == set(ref)
    for k in plan.layers:
        assert _identical(ref[k], out["values"][k]) >= GOAL, k
        assert ref[k].mean() > 0.02, f"{k} barely spikes: a weak test"
    last = list(plan.layers)[-1]
    assert np.array_equal(decisions(ref[last]), decisions(out["output"]))
    assert len(set(decisions(ref[last]))) > 1


def test_norse_export_replays_spike_for_spike():
    norse = pytest.importorskip("norse.torch")

    torch.manual_seed(0)
    model = norse.SequentialState(
        torch.nn.Linear(20, 16), norse.LIFBoxCell(),
        torch.nn.Linear(16, 12), norse.LIFCell(),
        torch.nn.Linear(12, 8), norse.IAFCell(),
        torch.nn.Linear(8, 4), norse.LIBoxCell())
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(12.0)
                m.bias.add_(0.3)
    graph = norse.to_nir(model, torch.randn(1, 20))
    assert [type(graph.nodes[k]).__name__ for k in ("1", "3", "5", "7")] == ["LIF", "CubaLIF",
                                                                             "IF", "LI"]
    rec = {}
    names = {m: str(i) for i, m in enumerate(model)}
    hooks = _record_hooks([m for m in model if not isinstance(m, torch.nn.Linear)], names, rec)
    x = _rate_inputs(12, 40, (20,), seed=3)
    state = None
    with torch.no_grad():
        for t in range(x.shape[1]):
            _, state = model(x[:, t], state)
    for h in hooks:
        h.remove()
    ref = {k: np.stack(v, 1) for k, v in rec.items()}

    # Norse 1.1's to_nir writes tau = dt / tau_inv (norse/norse#411): read it back as such
    plan = lower(graph, "norse", tau_convention="norse-to_nir")
    out = replay_nir(plan, x.double().numpy())
    for k, layer in plan.layers.items():
        if layer.spiking:
            assert _identical(ref[k], out["values"][k]) >= GOAL, k
            assert ref[k].mean() > 0.02, f"{k} barely spikes: a weak test"
        else:  # LI: Norse computes in float32
            assert np.abs(ref[k] - out["values"][k]).max() < 1e-4 * np.abs(ref[k]).max()
    assert np.array_equal(decisions(ref["7"]), decisions(out["output"]))
    assert len(set(decisions(ref["7"]))) > 1


# ---------------------------------------------------------------------------------------
# every supported node type against the independent NumPy integration
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", ["exact", "snntorch", "norse"])
def test_demo_graph_every_node_type_matches_numpy(flavour):
    graph = demo_graph(0)
    types = {type(n).__name__ for n in graph.nodes.values()}
    assert types == set(SUPPORTED_NODES) - {"Identity"}
    rng = np.random.default_rng(1)
    x = 1.0 * (rng.random((6, 30, 1, 8, 8)) < rng.uniform(0, 0.6, (6, 1, 1, 8, 8)))
    opts = {"graph_dt_s": 1e-3}  # the demo's time constants are for 1 ms steps
    plan = lower(graph, flavour, **opts)
    out = replay_nir(plan, x)
    ref = reference_run(graph, x, flavour, **opts)
    for k, layer in plan.layers.items():
        if layer.spiking:
            assert _identical(ref[k], out["values"][k]) >= GOAL, (k, flavour)
            assert 0.02 < ref[k].mean() < 0.98, (k, flavour, ref[k].mean())
        else:
            assert np.abs(ref[k] - out["values"][k]).max() < 1e-9
    assert np.abs(ref["output"] - out["output"]).max() < 1e-9
    assert np.array_equal(decisions(ref["output"]), decisions(out["output"]))


def test_exact_flavour_lif_decay_is_analytic():
    """One LIF neuron, one input step: v decays as exp(-t/tau) afterwards (exact)."""
    g = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([1])), nir.Linear(weight=np.eye(1)),
        nir.LI(tau=np.array([0.02]), r=np.array([1.0]), v_leak=np.array([0.0])),
        nir.Output(output_type=np.array([1])))
    x = np.zeros((1, 40, 1))
    x[0, 0] = 5.0
    plan = lower(g, "exact")
    v = replay_nir(plan, x)["values"][list(plan.layers)[0]][0, :, 0]
    t = np.arange(40)
    expected = 5.0 * (1 - np.exp(-0.001 / 0.02)) * np.exp(-t * 0.001 / 0.02)
    assert np.allclose(v, expected, rtol=1e-12, atol=0)


# ---------------------------------------------------------------------------------------
# bioSNN's sum-pool CSNN out and back in
# ---------------------------------------------------------------------------------------
SMALL = CSNNConfig(conv1_channels=3, conv1_kernel=3, conv2_channels=4, conv2_kernel=3,
                   embedding_dim=6, image_size=8, num_steps=15, pool="sum")


def _small_csnn(config=SMALL, gain=3.0):
    model = CSNN(config, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(gain)
    return model.eval()


def _torch_spikes(model, x):
    """Spikes of lif1..lif3 of the CSNN, step by step in float64 (CSNN.forward_steps)."""
    from bioSNN.embedder.lif import lif_step

    net, p = model.double(), model.config.lif
    out = {k: [] for k in ("lif1", "lif2", "lif3")}
    with torch.no_grad():
        cur1 = net.conv1(x)
        m1 = torch.zeros_like(cur1)
        m2 = m3 = None
        for _ in range(net.config.num_steps):
            s1, m1 = lif_step(cur1, m1, p)
            c2 = net.conv2(pool2d(s1, "sum"))
            s2, m2 = lif_step(c2, torch.zeros_like(c2) if m2 is None else m2, p)
            c3 = net.fc(pool2d(s2, "sum").flatten(1))
            s3, m3 = lif_step(c3, torch.zeros_like(c3) if m3 is None else m3, p)
            for k, s in zip(out, (s1, s2, s3)):
                out[k].append(s.flatten(1).numpy())
    return {k: np.stack(v, 1) for k, v in out.items()}


def test_sum_pool_csnn_round_trip_matches_torch(tmp_path):
    model = _small_csnn()
    path = export_nir(model, tmp_path / "csnn.nir")
    graph = read_graph(path)
    assert graph.nodes["lif1"].metadata["reset"] == "subtract"
    assert np.allclose(graph.nodes["lif1"].tau, -1e-3 / np.log(0.95))
    x = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = _torch_spikes(model, x)
    # the steps agree with CSNN.forward's counts
    _, counts = model.double()(x, return_counts=True)
    assert np.array_equal(ref["lif3"].sum(1), counts["lif3"].numpy())
    plan = lower(graph, "exact")  # exp(-dt/tau) = beta; reset from the nodes' metadata
    xin = np.repeat(x.numpy()[:, None], SMALL.num_steps, axis=1)  # constant image current
    out = replay_nir(plan, xin)
    for k in ref:
        assert _identical(ref[k], out["values"][k]) >= GOAL, k
        assert ref[k].mean() > 0.02


def test_sum_pool_csnn_forward_equals_steps_and_trains():
    model = _small_csnn().double()
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    e1, n1 = model(x, return_counts=True)
    e2, n2 = model.forward_steps(x, return_counts=True)
    assert torch.equal(e1, e2) and all(torch.equal(n1[k], n2[k]) for k in n1)
    e1.sum().backward()
    assert model.conv1.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="pool"):
        CSNNConfig(pool="mean")


def test_max_pool_export_refused_with_one_line(tmp_path):
    model = _small_csnn(CSNNConfig(image_size=8, conv1_channels=2, conv2_channels=2,
                                   embedding_dim=3))
    with pytest.raises(BioSNNError) as err:
        export_nir(model, tmp_path / "max.nir")
    msg = str(err.value)
    assert "\n" not in msg and "NIR has no max-pooling" in msg and "pool=sum" in msg
    assert not (tmp_path / "max.nir").exists()


def test_export_from_run_folder(tmp_path):
    from bioSNN.embedder.checkpoint import state_dict_bytes
    from bioSNN.protocols.spec import find_spec

    spec = find_spec("fewshot-mnist-seed").resolve(quick=True, overrides={
        "pool": "sum", "conv1_channels": 2, "conv2_channels": 2, "embedding_dim": 3,
        "dt": "2 ms"})
    model = CSNN(spec.params.csnn_config(), generator=torch.Generator().manual_seed(0))
    run = tmp_path / "run"
    run.mkdir()
    (run / "spec.toml").write_text(spec.to_toml())
    (run / "snn.pt").write_bytes(state_dict_bytes(model))
    graph = read_graph(export_nir(run, tmp_path / "out" / "snn.nir"))
    assert graph.metadata["dt_s"] == pytest.approx(2e-3)
    assert np.allclose(graph.nodes["lif3"].tau, -2e-3 / np.log(spec.params.beta))
    assert np.array_equal(graph.nodes["fc"].weight, model.fc.weight.detach().double().numpy())
    # the CLI wiring: biosnn export RUN --format nir
    from bioSNN.cli import main

    assert main(["export", str(run), "--format", "nir", "--out", str(tmp_path / "c.nir")]) == 0
    assert read_graph(tmp_path / "c.nir").nodes["fc"].weight.shape == graph.nodes["fc"].weight.shape
    # a sum-pool run is not replayed as a max-pool one (identical state dicts): one line
    from bioSNN.embedder.checkpoint import load_embedder

    with pytest.raises(BioSNNError, match="trained with pool = 'sum'.*nir-replay"):
        load_embedder(run, CSNNConfig(conv1_channels=2, conv2_channels=2, embedding_dim=3))
    model2, _ = load_embedder(run, spec.params.csnn_config())
    assert model2.config.pool == "sum"


# ---------------------------------------------------------------------------------------
# what cannot be expressed: one line naming the node
# ---------------------------------------------------------------------------------------
def _graph_with(node, name="odd"):
    return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([3])), name: node,
                               "output": nir.Output(output_type=np.array([3]))},
                        edges=[("input", name), (name, "output")], type_check=False)


@pytest.mark.parametrize("node", [
    nir.Threshold(threshold=np.ones(3)),
    nir.I(r=np.ones(3)),
    nir.CubaLI(tau_syn=np.ones(3), tau_mem=np.ones(3), r=np.ones(3), v_leak=np.zeros(3)),
], ids=lambda n: type(n).__name__)
def test_unsupported_node_is_one_line_naming_it(node):
    graph = _graph_with(node)
    for call in (lambda: lower(graph, "exact"),
                 lambda: reference_run(graph, np.zeros((1, 2, 3)), "exact")):
        with pytest.raises(BioSNNError) as err:
            call()
        msg = str(err.value)
        assert "\n" not in msg and "'odd'" in msg and type(node).__name__ in msg


def test_delay_off_the_step_grid_and_cycles_are_refused():
    graph = _graph_with(nir.Delay(delay=np.full(3, 1.5e-3)), name="late")
    with pytest.raises(BioSNNError, match="'late' \\(Delay\\).*multiples"):
        lower(graph, "exact")
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2])),
                            "a": nir.Affine(weight=np.eye(2), bias=np.zeros(2)),
                            "lif": nir.IF(r=np.ones(2), v_threshold=np.ones(2)),
                            "output": nir.Output(output_type=np.array([2]))},
                     edges=[("input", "a"), ("a", "lif"), ("lif", "a"), ("lif", "output")],
                     type_check=False)
    with pytest.raises(BioSNNError, match="cycle"):
        lower(g, "exact")


# ---------------------------------------------------------------------------------------
# the protocol
# ---------------------------------------------------------------------------------------
def test_protocol_quick_meets_goals_and_saves_its_graph(tmp_path, quick_spec):
    from bioSNN.protocols.registry import get_kind

    spec = quick_spec("nir-replay")
    res = get_kind(spec.kind)(spec).run()
    assert res.summary["goals_met"], res.summary
    assert "graph.nir" in res.files
    (tmp_path / "g.nir").write_bytes(res.files["graph.nir"])
    again = quick_spec("nir-replay", graph=str(tmp_path / "g.nir"), flavour="snntorch")
    summary = get_kind(again.kind)(again).run().summary
    assert summary["goals_met"] and summary["graph"].endswith("g.nir")
    assert res.data["decision"].attrs["units"] == "1"

    # Brian2's spike times are saved beside the counts, and they are the counts: per
    # neuron, per sample (sample s occupies [s, s + 1) * period * dt)
    from brian2 import ms

    data, p = res.data, res.spec.params
    period_ms = data.attrs["period_steps"] * float(p.dt / ms)
    for key in data.attrs["layers"].split(","):
        if f"count_{key}" not in data:
            continue
        t, i = data[f"{key}_spike_time"].values, data[f"{key}_spike_neuron"].values
        assert data[f"{key}_spike_time"].attrs["units"] == "ms"
        counts = np.zeros(data[f"count_{key}"].shape[1:], dtype=np.int64)
        np.add.at(counts, ((t // period_ms).astype(int), i), 1)
        assert np.array_equal(counts, data[f"count_{key}"].sel(simulator="brian2").values), key
    from bioSNN.exchange.recording import recording_of

    rec = recording_of(res)
    assert {pop.name for pop in rec.populations} >= {"lif", "if"}
    assert all(pop.model.startswith("NIR ") for pop in rec.populations)
    trials = next(iv for iv in rec.intervals if iv.name == "trials")
    assert len(trials.start) == p.n_samples

@pytest.mark.parametrize("kernel,padding,stride,dilation,groups", [
    (4, "same", 1, 1, 1), (3, 0, 2, 1, 1), (3, 2, 1, 2, 2), (2, "valid", 1, 1, 1)])
def test_conv2d_variants_match_torch(kernel, padding, stride, dilation, groups):
    """Stride, dilation, groups and string paddings: the NumPy integration against
    ``F.conv2d``, the Brian2 connections against the NumPy integration."""
    rng = np.random.default_rng(0)
    w = rng.normal(0.3, 0.5, (4, 2 // groups, kernel, kernel))
    conv = nir.Conv2d(input_shape=None, weight=w, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, bias=rng.normal(0, 0.1, 4))
    img = torch.tensor(rng.normal(0, 1, (3, 2, 7, 7)))
    y = torch.nn.functional.conv2d(img, torch.tensor(w), torch.tensor(conv.bias), stride=stride,
                                   padding=padding, dilation=dilation, groups=groups)
    shape = tuple(y.shape[1:])
    ones = np.ones(shape)
    graph = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([2, 7, 7])), "conv": conv,
                                "li": nir.LI(tau=ones * 1e-3, r=ones, v_leak=0 * ones),
                                "output": nir.Output(output_type=np.array(shape))},
                         edges=[("input", "conv"), ("conv", "li"), ("li", "output")],
                         type_check=False)
    x = np.repeat(img.numpy()[:, None], 2, axis=1)
    ref = reference_run(graph, x, "exact")
    assert np.abs(ref["conv"][:, 0] - y.flatten(1).numpy()).max() < 1e-12
    out = replay_nir(lower(graph, "exact"), x)
    assert np.abs(ref["li"] - out["values"]["li"]).max() < 1e-12
