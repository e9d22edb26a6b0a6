"""Brian2 replay of the CSNN (bioSNN.replay) against torch / snnTorch, in float64.

Tiers: each layer type alone (snnTorch ``Leaky`` vs the Brian2 LIF layer, max-pooling vs
``F.max_pool2d``, conv / linear connection lists vs ``F.conv2d`` / ``F.linear``); the
whole exported network on a small random CSNN (no training) for the constant and the
rate-coded input; the torch reference against ``CSNN.forward`` and an snnTorch forward
pass; units at the API boundary; clear errors for checkpoints that do not fit; the
``replay-crossval`` protocol end to end in quick mode (needs MNIST: ``BIOSNN_DATA``).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from brian2 import Clock, Hz, Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, mV, ms

from bioSNN.embedder.csnn import CSNN, CSNNConfig
from bioSNN.errors import BioSNNError
from bioSNN.replay import (STAGES, BioMapping, load_embedder, rate_code, replay_brian2,
                           torch_reference)
from bioSNN.replay.connectivity import (conv2d_connections, linear_connections,
                                        maxpool2d_connections)
from bioSNN.replay.network import lif_layer, period, pool_layer, weighted_synapses, window_synapses

pytestmark = pytest.mark.usefixtures("one_torch_thread")
HAS_DATA = bool(os.environ.get("BIOSNN_DATA"))
SMALL = CSNNConfig(conv1_channels=3, conv1_kernel=3, conv2_channels=4, conv2_kernel=3,
                   embedding_dim=6, image_size=8, num_steps=15)


def _small_csnn(seed=0, gain=3.0, config=SMALL):
    """A random CSNN whose weights are scaled up so that every layer spikes and resets."""
    model = CSNN(config, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(gain)
    return model.eval()


def _images(n=4, seed=1, size=8):
    return torch.randn(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


def _snntorch_leaky(beta, threshold=1.0):
    import snntorch as snn

    # float64 tensors: a Python float would become a float32 buffer (0.95 -> 0.9499999)
    return snn.Leaky(beta=torch.tensor(beta, dtype=torch.float64),
                     threshold=torch.tensor(threshold, dtype=torch.float64))


# ---------------------------------------------------------------------------------------
# units at the boundary
# ---------------------------------------------------------------------------------------
def test_bio_mapping_units_and_checks():
    m = BioMapping()
    assert abs(float(m.scale / mV) - 7.0) < 1e-12  # (-58 - -65) mV per threshold unit
    assert abs(float(m.tau_m(0.95) / ms) - (-1.0 / np.log(0.95))) < 1e-12  # 19.50 ms
    assert abs(float(m.tau_m(0.95) / ms) - 19.4957) < 1e-4
    np.testing.assert_allclose(np.asarray(m.to_volt([0.0, 1.0, 2.0]) / mV), [-65, -58, -51])
    np.testing.assert_allclose(m.to_units(np.array([-65.0, -58.0, -72.0]) * mV), [0, 1, -1])
    rate = m.rate(np.array([0, 5, 50]), n_steps=50)
    np.testing.assert_allclose(np.asarray(rate / Hz), [0, 100, 1000])
    half = BioMapping(threshold=0.5)
    assert abs(float(half.scale / mV) - 14.0) < 1e-12
    with pytest.raises(TypeError, match="E_L must be a voltage"):
        BioMapping(E_L=-65)
    with pytest.raises(TypeError, match="dt must be a time"):
        BioMapping(dt=1 * mV)
    with pytest.raises(ValueError, match="above E_L"):
        BioMapping(V_th=-70 * mV)
    with pytest.raises(TypeError, match="must be a voltage"):
        m.to_units(np.array([1.0]))  # a bare number is not a membrane potential


def test_replay_checks_its_inputs(brian_numpy):
    model = _small_csnn()
    x = _images(2).numpy()
    with pytest.raises(ValueError, match="threshold"):
        replay_brian2(model, x, BioMapping(threshold=2.0))
    with pytest.raises(ValueError, match="images must have shape"):
        replay_brian2(model, x[:, :, :4])
    coded = rate_code(x, SMALL.num_steps - 1, 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rate_coded.spikes must have shape"):
        replay_brian2(model, x, rate_coded=coded)
    with pytest.raises(ValueError, match="clock.dt"):
        lif_layer(3, BioMapping(), 0.9, 5, 1, Clock(dt=0.5 * ms), "bad_clock")
    clock = Clock(dt=1 * ms)
    lif = lif_layer(2, BioMapping(), 0.9, 5, 1, clock, "unit_check")
    with pytest.raises(TypeError, match="w must be a voltage"):
        weighted_synapses(lif, lif, [0], [1], np.array([0.5]), clock, "unitless_w")


# ---------------------------------------------------------------------------------------
# each layer type alone
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel,c_in,c_out,size", [(5, 1, 3, 9), (3, 2, 4, 6), (1, 3, 2, 4)])
def test_conv_connections_reproduce_conv2d(kernel, c_in, c_out, size):
    g = torch.Generator().manual_seed(kernel)
    w = torch.randn(c_out, c_in, kernel, kernel, generator=g, dtype=torch.float64)
    x = torch.randn(1, c_in, size, size, generator=g, dtype=torch.float64)
    pre, post, widx = conv2d_connections(c_in, c_out, kernel, size, size)
    assert len(np.unique(np.stack([pre, post]), axis=1)[0]) == len(pre)  # no duplicate
    assert np.all(np.diff(pre) >= 0)  # grouped by source neuron
    ours = np.bincount(post, weights=w.numpy().ravel()[widx] * x.numpy().ravel()[pre],
                       minlength=c_out * size * size)
    ref = F.conv2d(x, w, padding=kernel // 2).numpy().ravel()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    # taps in the padding have no synapse: sum over positions of valid taps per axis
    per_axis = sum(min(y + kernel // 2, size - 1) - max(y - kernel // 2, 0) + 1
                   for y in range(size))
    assert len(pre) == c_out * c_in * per_axis ** 2


def test_linear_and_pool_connections():
    g = torch.Generator().manual_seed(3)
    w = torch.randn(5, 12, generator=g, dtype=torch.float64)
    x = torch.randn(12, generator=g, dtype=torch.float64)
    pre, post, widx = linear_connections(12, 5)
    ours = np.bincount(post, weights=w.numpy().ravel()[widx] * x.numpy()[pre], minlength=5)
    np.testing.assert_allclose(ours, F.linear(x, w).numpy(), rtol=0, atol=1e-12)
    s = torch.rand(1, 3, 7, 6, generator=g) < 0.3  # odd size: last row dropped as in torch
    pre, post = maxpool2d_connections(3, 7, 6)
    hit = np.bincount(post, weights=s.numpy().ravel()[pre].astype(float), minlength=3 * 3 * 3)
    np.testing.assert_array_equal(hit > 0, F.max_pool2d(s.double(), 2).numpy().ravel() > 0)


def _spike_input(n_in, n_img, T, p, seed):
    rng = np.random.default_rng(seed)
    s = rng.random((n_img, T, n_in)) < p
    k, t, i = np.nonzero(s)
    return s, i, (k * period(T) + t)


def test_leaky_layer_matches_snntorch_leaky(brian_numpy):
    """A Brian2 LIF layer driven through weighted synapses vs snntorch.Leaky (float64):
    identical spikes, membranes (mV) to 1e-12; two images, so the rest between them is
    checked as well."""
    beta, T, n_in, n, n_img = 0.9, 40, 20, 30, 2
    mapping = BioMapping()
    rng = np.random.default_rng(0)
    W = rng.normal(0.0, 0.45, (n, n_in))
    b = rng.normal(0.05, 0.05, n)
    s, i, steps = _spike_input(n_in, n_img, T, 0.3, 1)
    clock = Clock(dt=mapping.dt, name="leaky_clock")
    gen = SpikeGeneratorGroup(n_in, i, steps * mapping.dt, clock=clock, name="leaky_input")
    lif = lif_layer(n, mapping, beta, T, 1, clock, "leaky_lif")
    lif.I_bias = b * mapping.scale
    pre, post = np.divmod(np.arange(n_in * n), n)  # all pairs, grouped by input
    syn = weighted_synapses(gen, lif, pre, post, W[post, pre] * mapping.scale, clock,
                            "leaky_syn")
    spikes = SpikeMonitor(lif, name="leaky_spikes")
    v = StateMonitor(lif, "v", record=True, when="end", name="leaky_v")
    Network(gen, lif, syn, spikes, v).run(n_img * period(T) * mapping.dt, namespace={})

    P = period(T)
    n_b = np.rint(np.asarray(spikes.t / mapping.dt)).astype(int)
    k, phase = np.divmod(n_b, P)
    brian_spk = np.zeros((n_img, T, n), dtype=bool)
    brian_spk[k, phase - 1, np.asarray(spikes.i)] = True
    brian_v = np.asarray(v.v / mV).reshape(n, n_img, P)[:, :, 1:T + 1].transpose(1, 2, 0)
    assert np.all(np.asarray(v.v / mV).reshape(n, n_img, P)[:, :, T + 1:] == -65.0)  # rest

    leaky = _snntorch_leaky(beta)
    currents = torch.from_numpy(s.astype(np.float64) @ W.T + b)  # (n_img, T, n)
    total = 0
    for img in range(n_img):
        mem = torch.zeros(n, dtype=torch.float64)
        for t in range(T):
            spk, mem = leaky(currents[img, t], mem)
            assert np.array_equal(spk.numpy() > 0, brian_spk[img, t]), (img, t)
            np.testing.assert_allclose(brian_v[img, t], -65.0 + 7.0 * mem.numpy(), rtol=0,
                                       atol=1e-12)
            total += int(spk.sum())
    assert 0.1 < total / (n_img * T * n) < 0.9  # spikes and delayed resets exercised


def test_maxpool_layer_is_the_or_of_its_window(brian_numpy):
    c, h, T = 2, 6, 12
    s, i, steps = _spike_input(c * h * h, 2, T, 0.15, 2)
    clock = Clock(dt=1 * ms, name="pool_clock")
    gen = SpikeGeneratorGroup(c * h * h, i, steps * ms, clock=clock, name="pool_input")
    pool = pool_layer(c * (h // 2) ** 2, clock, "pool_test")
    pre, post = maxpool2d_connections(c, h, h)
    syn = window_synapses(gen, pool, pre, post, clock, "pool_window")
    mon = SpikeMonitor(pool, name="pool_spikes")
    Network(gen, pool, syn, mon).run(2 * period(T) * ms, namespace={})
    k, phase = np.divmod(np.rint(np.asarray(mon.t / ms)).astype(int), period(T))
    ours = np.zeros((2, T, c * (h // 2) ** 2), dtype=bool)
    ours[k, phase - 1, np.asarray(mon.i)] = True  # one step later than its input
    ref = F.max_pool2d(torch.from_numpy(s.reshape(2 * T, c, h, h)).double(), 2)
    np.testing.assert_array_equal(ours, ref.numpy().reshape(2, T, -1) > 0)
    assert 0.2 < ours.mean() < 0.9  # windows with one, several and no spikes


# ---------------------------------------------------------------------------------------
# the torch side: CSNN.forward and snnTorch itself
# ---------------------------------------------------------------------------------------
def test_torch_reference_is_the_csnn_forward_and_snntorch():
    model = _small_csnn()
    x = _images(5)
    ref = torch_reference(model, x, trace_neurons={"lif3": [0, 1]}, batch_size=2)
    net = model.double()
    with torch.no_grad():
        emb, counts = net(x.double(), return_counts=True)
    np.testing.assert_array_equal(ref.embedding, emb.numpy())  # same ops, same bits
    for layer in ("lif1", "lif2", "lif3"):
        np.testing.assert_array_equal(ref.counts(layer), counts[layer].flatten(1).numpy())

    # an independent forward pass with snntorch.Leaky layers
    lif = [_snntorch_leaky(SMALL.beta) for _ in range(3)]
    with torch.no_grad():
        cur1 = net.conv1(x.double())
        mem = [None, None, None]
        mem[0] = torch.zeros_like(cur1)
        mem[1] = torch.zeros(5, SMALL.conv2_channels, 4, 4, dtype=torch.float64)
        mem[2] = torch.zeros(5, SMALL.embedding_dim, dtype=torch.float64)
        total = torch.zeros(5, SMALL.embedding_dim, dtype=torch.float64)
        for t in range(SMALL.num_steps):
            s1, mem[0] = lif[0](cur1, mem[0])
            s2, mem[1] = lif[1](net.conv2(F.max_pool2d(s1.double(), 2)), mem[1])
            s3, mem[2] = lif[2](net.fc(F.max_pool2d(s2.double(), 2).flatten(1)), mem[2])
            total += mem[2]
            for stage, spk in (("lif1", s1), ("lif2", s2), ("lif3", s3)):
                assert np.array_equal(ref.spikes[stage][:, t], spk.flatten(1).numpy() > 0)
            np.testing.assert_allclose(ref.traces["lif3"][:, t], mem[2][:, :2].numpy(),
                                       rtol=0, atol=1e-12)
    np.testing.assert_allclose(ref.embedding, (total / SMALL.num_steps).numpy(), rtol=0,
                               atol=1e-12)


def test_rate_code_is_unbiased_and_seeded():
    x = _images(3, size=28).clamp(-0.4242, 2.8215).numpy()
    a = rate_code(x, 400, 0.5, np.random.default_rng(7))
    b = rate_code(x, 400, 0.5, np.random.default_rng(7))
    c = rate_code(x, 400, 0.5, np.random.default_rng(8))
    assert np.array_equal(a.spikes, b.spikes) and not np.array_equal(a.spikes, c.spikes)
    assert a.spikes.shape == (3, 400, 1, 28, 28) and a.spikes.dtype == bool
    mean_input = a.offset + a.amplitude * a.spikes.mean(axis=1)
    assert abs(float((mean_input - x).mean())) < 0.01  # E[x_t] = the normalised image
    with pytest.raises(ValueError, match="probability"):
        rate_code(x, 10, 1.5, np.random.default_rng(0))


# ---------------------------------------------------------------------------------------
# the whole exported network
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["constant", "rate"])
def test_replay_is_exact_on_a_random_csnn(brian_numpy, variant):
    """conv -> LIF -> pool -> conv -> LIF -> pool -> linear -> LIF: every spike of every
    stage identical, membranes and embeddings to 1e-12 (threshold units), in float64."""
    model = _small_csnn()
    x = _images(4)
    coded = (rate_code(x.numpy(), SMALL.num_steps, 0.5, np.random.default_rng(0))
             if variant == "rate" else None)
    traced = {"lif1": [0, 7, 100], "lif2": [3, 40], "lif3": [0, 5]}
    ref = torch_reference(model, x, coded, traced)
    rec = replay_brian2(model, x.numpy(), rate_coded=coded, trace_neurons=traced,
                        name=f"exact_{variant}")
    for stage in STAGES:
        assert rec.spikes[stage].shape == ref.spikes[stage].shape
        np.testing.assert_array_equal(rec.spikes[stage], ref.spikes[stage], err_msg=stage)
        assert 0.1 < ref.spikes[stage].mean() < 0.9, f"{stage} must spike and stay silent"
    for stage in traced:
        np.testing.assert_allclose(rec.traces[stage], ref.traces[stage], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rec.embedding, ref.embedding, rtol=0, atol=1e-12)
    assert rec.timing["n_synapses"] > 0 and rec.timing["run_s"] >= 0


def test_replay_of_a_batch_equals_replay_of_each_image(brian_numpy):
    """Images batched in time do not interact (each stage rests between windows)."""
    model = _small_csnn(seed=2)
    x = _images(3, seed=5).numpy()
    both = replay_brian2(model, x, name="batch_all")
    last = replay_brian2(model, x[2:], name="batch_one")
    for stage in STAGES:
        np.testing.assert_array_equal(both.spikes[stage][2:], last.spikes[stage])
    np.testing.assert_array_equal(both.embedding[2:], last.embedding)


# ---------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------
def test_checkpoint_that_does_not_fit_gives_a_clear_error(tmp_path):
    trained = CSNNConfig(conv1_channels=8, conv2_channels=16, embedding_dim=32)
    path = tmp_path / "snn.pt"
    torch.save(CSNN(trained).state_dict(), path)
    with pytest.raises(BioSNNError) as err:
        load_embedder(path, CSNNConfig())
    msg = str(err.value)
    assert str(path) in msg and "conv1.weight has shape (8, 1, 5, 5)" in msg
    assert "expects (16, 1, 5, 5)" in msg
    assert "--set conv1_channels=8 --set conv2_channels=16 --set embedding_dim=32" in msg
    model, info = load_embedder(path, trained)  # the fix works
    assert info["kind"] == "state_dict" and len(info["sha256"]) == 64

    sd = CSNN(CSNNConfig()).state_dict()
    del sd["fc.bias"]
    torch.save(sd, tmp_path / "missing.pt")
    with pytest.raises(BioSNNError, match="missing fc.bias"):
        load_embedder(tmp_path / "missing.pt", CSNNConfig())
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(BioSNNError, match="cannot be loaded"):
        load_embedder(tmp_path / "garbage.pt", CSNNConfig())
    with pytest.raises(BioSNNError, match="does not exist"):
        load_embedder(tmp_path / "nope.pt", CSNNConfig())
    (tmp_path / "empty").mkdir()
    with pytest.raises(BioSNNError, match="contains no snn.pt"):
        load_embedder(tmp_path / "empty", CSNNConfig())


def test_meta_training_checkpoint_in_a_folder_loads(tmp_path):
    model = _small_csnn(seed=4)
    folder = tmp_path / "checkpoints" / "fewshot-mnist-seed" / "abc-seed0"
    folder.mkdir(parents=True)
    torch.save({"format": 1, "task": 7, "model": model.state_dict()}, folder / "snn.pt")
    loaded, info = load_embedder(tmp_path / "checkpoints", SMALL)
    assert info["task"] == 7 and info["kind"] == "meta-training"
    assert info["path"] == str((folder / "snn.pt").resolve())
    # a protocol name: its folder in the checkpoint cache (the cwd has no such file)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BIOSNN_CACHE", str(tmp_path))
        (tmp_path / "cwd").mkdir()
        mp.chdir(tmp_path / "cwd")
        _, by_name = load_embedder("fewshot-mnist-seed", SMALL)
    assert by_name["path"] == info["path"]
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


def test_cli_reports_a_mismatched_checkpoint_on_one_line(tmp_path, capsys):
    from bioSNN.cli import main

    path = tmp_path / "small.pt"
    small_28px = CSNNConfig(conv1_channels=3, conv2_channels=4, conv2_kernel=5, embedding_dim=6)
    torch.save(CSNN(small_28px).state_dict(), path)
    code = main(["run", "replay-crossval", "--quick", "--target", "numpy", "--no-progress",
                 "--out", str(tmp_path / "out"), "--set", f"checkpoint={path}"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biosnn: error: checkpoint ")
    assert "does not match the CSNN architecture" in lines[0]
    assert ("--set conv1_channels=3 --set conv2_channels=4 --set conv2_kernel=5 "
            "--set embedding_dim=6 to match the checkpoint") in lines[0]


# ---------------------------------------------------------------------------------------
# the protocol, quick, end to end (real MNIST, an embedder trained for 30 tasks)
# ---------------------------------------------------------------------------------------
@pytest.mark.data
@pytest.mark.skipif(not HAS_DATA, reason="needs MNIST: set BIOSNN_DATA")
def test_protocol_quick_end_to_end(tmp_path):
    import matplotlib.image as mpimg
    from brian2.units.fundamentalunits import get_dimensions

    from bioSNN.protocols.spec import find_spec
    from bioSNN.results import Results, quantity
    from bioSNN.runner import run_protocol

    spec = find_spec("replay-crossval").resolve(quick=True, target="numpy")
    folder = run_protocol(spec, out=tmp_path, progress=False)
    r = Results.load(folder)
    s, d, p = r.summary, r.data, r.spec.params
    n_img = len(p.class_list) * (p.k_shot + p.n_query)
    assert s["n_images"] == n_img == d.sizes["image"] == 20
    assert s["checkpoint_source"] == "trained" and s["checkpoint_task"] == 30
    assert s["goals_met"] is True
    for v in ("constant", "rate"):
        for stage in STAGES:
            assert s[f"{v}_{stage}_spikes_identical"] >= 0.999
            assert s[f"{v}_{stage}_counts_equal"] >= 0.99
            # rates in Hz: spikes per neuron per image over num_steps x dt
            counts = d[f"count_{stage}"].sel(variant=v, simulator="brian2").values
            assert s[f"{v}_{stage}_rate_brian2_Hz"] == pytest.approx(
                counts.mean() / (p.num_steps * 1e-3), rel=1e-12)
            assert s[f"{v}_{stage}_rate_snntorch_Hz"] > 1.0  # the trained layers fire
        assert s[f"{v}_embedding_max_rel_error"] <= 1e-4
        assert s[f"{v}_decision_agreement"] >= 0.99
        assert s[f"{v}_accuracy_snntorch"] > 1.0 / len(p.class_list)  # above chance
        assert s[f"{v}_brian2_run_s"] > 0 and s[f"{v}_brian2_total_s"] >= s[f"{v}_brian2_run_s"]
    assert abs(s["tau_m_ms"] - 19.4957) < 1e-3 and abs(s["scale_mV_per_unit"] - 7.0) < 1e-12
    # units on every variable; the membrane variables are voltages
    for name, var in d.variables.items():
        assert "units" in var.attrs, name
    assert get_dimensions(quantity(d["mean_membrane"])) == get_dimensions(mV)
    assert get_dimensions(quantity(d["v_trace_lif1"])) == get_dimensions(mV)
    trace = d["v_trace_lif2"].sel(variant="constant")
    np.testing.assert_allclose(trace.sel(simulator="brian2"), trace.sel(simulator="snntorch"),
                               rtol=0, atol=1e-9)
    assert float(trace.min()) < -58.0 and np.isfinite(trace.values).all()
    for fig in ("spike-counts", "rates", "traces"):
        png = mpimg.imread(folder / f"fig-{fig}.png")
        assert png[..., :3].mean(axis=2).var() > 1e-3, fig
    assert r.provenance["target"] == "numpy" and "data_root" in r.provenance


@pytest.mark.slow
@pytest.mark.compiled
def test_cpp_standalone_replay_equals_torch(tmp_path):
    """The same export compiled by cpp_standalone (one project per variant)."""
    from bioSNN.backend import brian_target

    model = _small_csnn(seed=3)
    x = _images(3, seed=9)
    coded = rate_code(x.numpy(), SMALL.num_steps, 0.5, np.random.default_rng(1))
    with brian_target("cpp_standalone", tmp_path / "build"):
        recs = [replay_brian2(model, x.numpy(), rate_coded=c, name=f"cpp_{k}",
                              build_dir=tmp_path / "build" / str(k))
                for k, c in enumerate((None, coded))]
    for rec, c in zip(recs, (None, coded)):
        ref = torch_reference(model, x, c)
        for stage in STAGES:
            np.testing.assert_array_equal(rec.spikes[stage], ref.spikes[stage])
        np.testing.assert_allclose(rec.embedding, ref.embedding, rtol=0, atol=1e-12)
        assert rec.timing["compile_s"] is not None
