"""The ``bptt-mnist`` kind: the seed CSNN as a classifier trained by BPTT.

Tiers: hand-computed losses (and snnTorch's ``ce_count_loss`` as an independent
reference); the readout's tie-break; gradient reaching conv1 through the surrogate;
the classifier against the embedder's own forward pass (two formulations agree);
fan-outs, MACs and synaptic operations against hand counts and an independent loop;
the energy accounting of the summary; same seed -> identical training; the quick MNIST
run above chance; bad parameters.
"""
from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
import torch
import xarray as xr

from bioSNN.errors import BioSNNError
from bioSNN.protocols.bptt_mnist import (BPTTParams, bptt_features, build_classifier,
                                         classifier_macs, classify, fanouts, membrane_loss,
                                         readout, spike_count_loss, synaptic_operations,
                                         train_classifier)
from bioSNN.protocols.spec import find_spec

HAVE_DATA = bool(os.environ.get("BIOSNN_DATA"))


def _net(**kw):
    return build_classifier(BPTTParams(**kw), torch.Generator().manual_seed(0))


# ------------------------------------------------------------------ hand-computed

def test_count_loss_is_the_cross_entropy_of_the_spike_counts():
    # T = 3, B = 2, C = 3: counts [2, 0, 1] (target 0) and [0, 0, 3] (target 1)
    spk = torch.tensor([[[1., 0., 0.], [0., 0., 1.]],
                        [[1., 0., 1.], [0., 0., 1.]],
                        [[0., 0., 0.], [0., 0., 1.]]])
    y = torch.tensor([0, 1])
    want = (-math.log(math.e ** 2 / (math.e ** 2 + 1 + math.e))
            - math.log(1 / (1 + 1 + math.e ** 3))) / 2
    assert float(spike_count_loss(spk, y)) == pytest.approx(want, rel=1e-6)
    snntorch = pytest.importorskip("snntorch.functional")
    assert float(spike_count_loss(spk, y)) == pytest.approx(
        float(snntorch.ce_count_loss()(spk, y)), rel=1e-6)
    # not snnTorch's per-step ce_rate_loss, which is another loss
    assert float(snntorch.ce_rate_loss()(spk, y)) != pytest.approx(want, rel=1e-3)


def test_membrane_loss_is_the_cross_entropy_of_the_mean_membrane():
    mem = torch.tensor([[[1.0, 3.0]], [[3.0, -1.0]]])      # T = 2: mean [2, 1]
    assert float(membrane_loss(mem, torch.tensor([1]))) == pytest.approx(
        math.log(1 + math.e), rel=1e-6)                     # -log(e / (e^2 + e))
    assert float(membrane_loss(mem, torch.tensor([0]))) == pytest.approx(
        math.log(1 + math.exp(-1)), rel=1e-6)


def test_readout_ties_go_to_the_lowest_index_and_follow_the_loss():
    spk = torch.tensor([[[0., 1., 1., 1.]], [[0., 1., 1., 0.]]])   # counts [0, 2, 2, 1]
    mem = torch.tensor([[[0.5, 0.2, 0.5, 0.9]], [[0.5, 0.0, 0.5, 0.0]]])  # mean .5 .1 .5 .45
    assert readout("count", spk, mem).tolist() == [1]
    assert readout("membrane", spk, mem).tolist() == [0]
    with pytest.raises(ValueError, match="loss"):
        readout("rate", spk, mem)


# ------------------------------------------------------------------ gradients and formulations

@pytest.mark.parametrize("encoding, loss, surrogate", [
    ("current", "count", "fast_sigmoid"), ("current", "membrane", "fast_sigmoid"),
    ("rate", "count", "fast_sigmoid"), ("current", "count", "atan")])
def test_gradient_reaches_conv1_through_the_surrogate(one_torch_thread, encoding, loss,
                                                      surrogate):
    net = _net(num_steps=4, surrogate=surrogate)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 1, 28, 28, generator=g)
    spikes = torch.bernoulli(x.expand(4, -1, -1, -1, -1), generator=g) \
        if encoding == "rate" else None
    with warnings.catch_warnings():   # atan: the fused kernel declines (once per process)
        warnings.simplefilter("ignore", UserWarning)
        f = classify(net, x, spikes)
    y = torch.tensor([0, 3, 7])
    (spike_count_loss(f.spk, y) if loss == "count" else membrane_loss(f.mem, y)).backward()
    for layer in (net.conv1, net.conv2, net.fc):
        grad = layer.weight.grad
        assert grad is not None and torch.isfinite(grad).all()
        assert grad.abs().sum() > 0, layer


def test_classifier_equals_the_embedders_forward_pass(one_torch_thread):
    """With current input the classifier is CSNN.forward with embedding_dim = 10: the
    same output spike counts and mean membrane (the embedding), bit for bit."""
    net = _net(num_steps=6)
    x = torch.randn(5, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        f = classify(net, x)
        emb, counts = net(x, return_counts=True)
    torch.testing.assert_close(f.mem.mean(0), emb, rtol=0, atol=1e-6)
    for layer in ("lif1", "lif2"):
        torch.testing.assert_close(f.spikes[layer], counts[layer], rtol=0, atol=0)
    torch.testing.assert_close(f.spikes["output"], counts["lif3"], rtol=0, atol=0)
    assert f.spikes["input"] is None and f.events["input"] is None
    # events: 2x2 max-pooled spikes, at most one per window and step, at most the spikes
    pooled = torch.nn.functional.avg_pool2d(f.spikes["lif1"], 2, divisor_override=1)
    assert (f.events["lif1"] <= pooled).all() and (f.events["lif1"] <= 6).all()


# ------------------------------------------------------------------ operation counts

def test_fanouts_and_macs_are_the_hand_counted_ones(one_torch_thread):
    net = _net()
    fan = fanouts(net)
    assert [tuple(f.shape) for f in fan.values()] == [(1, 28, 28), (16, 14, 14), (32, 7, 7)]
    assert fan["input"][0, 14, 14] == 16 * 25           # 5x5 kernel, 16 maps, inside
    assert fan["input"][0, 0, 0] == 16 * 9              # corner, padding 2: 3x3 positions
    assert fan["lif1"][3, 7, 7] == 32 * 9 and fan["lif1"][0, 0, 13] == 32 * 4
    assert (fan["lif2"] == 10).all()
    macs, first = classifier_macs(net)
    assert first == 28 * 28 * 16 * 25
    assert macs == first + 14 * 14 * 32 * 16 * 9 + 32 * 7 * 7 * 10 == 1_232_448


def _reach(i, j, size, k):
    """Output positions of a 'same' k x k convolution that input (i, j) reaches."""
    r = k // 2
    rows = sum(1 for a in range(i - r, i + r + 1) if 0 <= a < size)
    cols = sum(1 for b in range(j - r, j + r + 1) if 0 <= b < size)
    return rows * cols


def test_synaptic_operations_equal_events_times_fanout_by_an_independent_loop(
        one_torch_thread):
    net = _net()
    g = torch.Generator().manual_seed(3)
    events = {"input": torch.randint(0, 4, (2, 1, 28, 28), generator=g).float(),
              "lif1": torch.randint(0, 3, (2, 16, 14, 14), generator=g).float(),
              "lif2": torch.randint(0, 5, (2, 32, 7, 7), generator=g).float()}
    ops = synaptic_operations(events, fanouts(net))
    want = {"input": 0, "lif1": 0, "lif2": 0}
    for layer, size, k, n_out in (("input", 28, 5, 16), ("lif1", 14, 3, 32)):
        e = events[layer].sum(0).sum(0).numpy()          # summed over batch and channels
        want[layer] = sum(e[i, j] * n_out * _reach(i, j, size, k)
                          for i in range(size) for j in range(size))
    want["lif2"] = float(events["lif2"].sum()) * 10
    assert ops == pytest.approx(want, rel=1e-12)
    assert synaptic_operations({"input": None}, {"input": fanouts(net)["input"]}) == {
        "input": 0.0}


def test_summary_energy_accounting_by_hand():
    """T = 2 current input: spike-driven accumulates at 0.9 pJ plus conv1's MACs every
    step at 4.6 pJ; the ANN's MACs at 4.6 pJ."""
    data = xr.Dataset(
        {"train_loss": ("epoch", [2.0, 1.0]), "train_accuracy": ("epoch", [0.5, 0.75]),
         "epoch_time": ("epoch", [3.0, 5.0]), "prediction": ("test_item", [1, 2, 3, 3]),
         "test_label": ("test_item", [1, 2, 3, 4]),
         "spike_count": ("layer", [0.0, 500.0, 60.0, 3.0]),
         "synops": ("layer", [0.0, 1000.0, 200.0, 0.0]), "test_time": ((), 1.5)},
        coords={"epoch": [1, 2], "layer": ["input", "lif1", "lif2", "output"]},
        attrs={"n_train": 8, "n_test": 4, "ann_macs": 1_232_448, "first_layer_macs": 313_600,
               "encoding": "current", "loss": "count", "num_steps": 2})
    s = bptt_features(data, BPTTParams())
    assert s["test_accuracy"] == 0.75 and s["final_train_accuracy"] == 0.75
    assert s["time_per_epoch_s"] == 4.0 and s["synops_per_inference"] == 1200.0
    assert s["first_layer_macs_per_inference"] == 2 * 313_600
    assert s["snn_energy_uJ"] == pytest.approx((1200 * 0.9 + 627_200 * 4.6) * 1e-6)
    assert s["ann_energy_uJ"] == pytest.approx(1_232_448 * 4.6e-6)
    assert s["spikes_per_inference_lif1"] == 500.0
    rate = bptt_features(data.assign_attrs(encoding="rate"), BPTTParams())
    assert rate["first_layer_macs_per_inference"] == 0
    assert rate["snn_energy_uJ"] == pytest.approx(1200 * 0.9e-6)


# ------------------------------------------------------------------ same seed, same result

@pytest.mark.parametrize("encoding, loss", [("current", "count"), ("rate", "membrane")])
def test_same_seeds_give_identical_training(one_torch_thread, encoding, loss):
    p = BPTTParams(encoding=encoding, loss=loss, num_steps=3, epochs=2, batch_size=8)
    g = torch.Generator().manual_seed(4)
    x, y = torch.rand(16, 1, 28, 28, generator=g), torch.randint(0, 10, (16,), generator=g)
    runs = []
    for _ in range(2):
        net = build_classifier(p, torch.Generator().manual_seed(5))
        loss_curve, acc, _ = train_classifier(net, x, y, p, seed_shuffle=6, seed_code=7)
        runs.append((loss_curve, acc, net.conv1.weight.detach().clone()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    torch.testing.assert_close(runs[0][2], runs[1][2], rtol=0, atol=0)
    other = build_classifier(p, torch.Generator().manual_seed(5))
    train_classifier(other, x, y, p, seed_shuffle=8, seed_code=7)    # another shuffle
    assert not torch.equal(other.conv1.weight, runs[0][2])


# ------------------------------------------------------------------ bad parameters

@pytest.mark.parametrize("overrides, field", [
    ({"batch_size": 512, "max_train": 300}, "batch_size"), ({"encoding": "latency"}, "encoding"),
    ({"loss": "rate"}, "loss"), ({"surrogate": "relu"}, "surrogate"),
    ({"num_steps": 0}, "num_steps"), ({"beta": 1.5}, "beta"), ({"slope": 0}, "slope"),
    ({"max_test": 20000}, "max_test"), ({"lr": 0}, "lr"),
])
def test_bad_parameters_are_spec_errors_naming_the_field(overrides, field):
    with pytest.raises(BioSNNError, match=field):
        find_spec("bptt-mnist").resolve(overrides=overrides)


def test_batch_size_conflict_says_how_to_fix_it():
    with pytest.raises(BioSNNError, match="lower batch_size or raise max_train"):
        find_spec("bptt-mnist").resolve(quick=True, overrides={"batch_size": 4000})


# ------------------------------------------------------------------ the MNIST run

def _run(**overrides):
    from bioSNN.protocols.registry import get_kind

    spec = find_spec("bptt-mnist").resolve(quick=True, overrides=overrides or None)
    return get_kind(spec.kind)(spec).run()


@pytest.mark.data
@pytest.mark.skipif(not HAVE_DATA, reason="BIOSNN_DATA is not set (MNIST)")
def test_quick_run_learns_well_above_chance():
    """The quick spec (1500 training images, one epoch, T = 10; 500 test images):
    measured 86.6 % test accuracy at seed 0; chance is 10 %."""
    s = _run().summary
    print({k: v for k, v in s.items() if "accuracy" in k or "per_inference" in k})
    assert s["n_train"] == 1500 and s["n_test"] == 500
    assert s["test_accuracy"] > 0.5, s
    assert s["spikes_per_inference_lif1"] > 0 and s["synops_per_inference"] > 0
    assert s["first_layer_macs_per_inference"] == 10 * 313_600


@pytest.mark.data
@pytest.mark.skipif(not HAVE_DATA, reason="BIOSNN_DATA is not set (MNIST)")
def test_same_seed_gives_identical_results_of_a_small_run():
    small = {"max_train": 200, "max_test": 100, "num_steps": 4, "batch_size": 50,
             "encoding": "rate", "loss": "count"}
    a, b = _run(**small), _run(**small)
    np.testing.assert_array_equal(a.data["prediction"].values, b.data["prediction"].values)
    for key in ("train_loss", "train_accuracy", "synops", "spike_count"):
        np.testing.assert_array_equal(a.data[key].values, b.data[key].values)
    assert {k: v for k, v in a.summary.items() if "time" not in k} == {
        k: v for k, v in b.summary.items() if "time" not in k}
