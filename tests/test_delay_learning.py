"""Learnable delays (``bioSNN.training.delays``) and the ``delay-learning`` protocol:
the Gaussian kernel's limits, the convolution against explicit loops in float64,
gradients by finite differences, rounded/fixed integer delays, bad arguments, and the
planted-delay task end to end (recovery, the random-delay baseline, seeds, spec errors)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bioSNN.errors import BioSNNError
from bioSNN.protocols.delay_learning import DelayParams, coincidence_task
from bioSNN.protocols.registry import get_kind
from bioSNN.protocols.spec import find_spec
from bioSNN.training.delays import (DelayedLinear, delay_recovery, delayed_linear,
                                    gaussian_delay_kernel, integer_delay_kernel, sigma_schedule)

F64 = torch.float64


def _loop_reference(x, weight, kernel):
    """y[t, b, j] = sum_k sum_i w[j, i] g[j, i, k] x[t - k, b, i], explicit Python loops."""
    x, weight, kernel = (a.detach().numpy() for a in (x, weight, kernel))
    t_steps, batch, n_in = x.shape
    n_out, _, k_taps = kernel.shape
    y = np.zeros((t_steps, batch, n_out))
    for t in range(t_steps):
        for j in range(n_out):
            for i in range(n_in):
                for k in range(k_taps):
                    if t - k >= 0:
                        y[t, :, j] += weight[j, i] * kernel[j, i, k] * x[t - k, :, i]
    return y


def _shift_reference(x, weight, delays):
    """Integer delays by shifting: y[t, b, j] = sum_i w[j, i] x[t - d[j, i], b, i]."""
    x, weight = x.detach().numpy(), weight.detach().numpy()
    t_steps, batch, n_in = x.shape
    y = np.zeros((t_steps, batch, weight.shape[0]))
    for j in range(weight.shape[0]):
        for i in range(n_in):
            d = int(delays[j, i])
            y[d:, :, j] += weight[j, i] * x[:t_steps - d, :, i]
    return y


def _random(shape, seed, dtype=F64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---------------------------------------------------------------- kernel and layer

def test_tiny_sigma_kernel_is_the_one_hot_integer_delay_and_a_shift():
    g = torch.Generator().manual_seed(0)
    k = 7
    delay = torch.rand(3, 5, generator=g, dtype=F64) * (k - 1)
    delay = torch.where((delay - delay.floor() - 0.5).abs() < 0.05, delay + 0.2, delay)  # no ties
    kern = gaussian_delay_kernel(delay, 1e-3, k)
    assert torch.equal(kern.sum(-1), torch.ones(3, 5, dtype=F64))
    assert torch.allclose(kern, integer_delay_kernel(delay, k), atol=1e-12, rtol=0)
    x = (torch.rand(20, 4, 5, generator=g) < 0.3).to(F64)
    w = _random((3, 5), 1)
    y = delayed_linear(x, w, kern)
    expected = _shift_reference(x, w, torch.round(delay).long())
    assert np.abs(y.detach().numpy() - expected).max() < 1e-12
    assert np.abs(expected).max() > 0.5          # the inputs did reach the output


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_convolution_equals_the_naive_loop_for_random_sigma(seed):
    g = torch.Generator().manual_seed(seed)
    n_out, n_in, k = 3, 4, 6
    delay = torch.rand(n_out, n_in, generator=g, dtype=F64) * (k - 1)
    sigma = 0.3 + 3 * torch.rand(n_out, n_in, generator=g, dtype=F64)   # per synapse
    kern = gaussian_delay_kernel(delay, sigma, k)
    x = torch.rand(15, 2, n_in, generator=g, dtype=F64)
    w, b = _random((n_out, n_in), seed + 10), _random((n_out,), seed + 20)
    y = delayed_linear(x, w, kern, b)
    expected = _loop_reference(x, w, kern) + b.numpy()
    assert y.shape == (15, 2, n_out)
    assert np.abs(y.detach().numpy() - expected).max() < 1e-12
    # causal: the output up to t ignores later inputs
    x2 = x.clone()
    x2[8:] = 5.0
    assert torch.equal(delayed_linear(x2, w, kern, b)[:8], y[:8])


def test_kernel_rows_are_normalised_gaussians():
    delay = torch.tensor([[2.3, 0.0, 5.0]], dtype=F64)
    kern = gaussian_delay_kernel(delay, 1.5, 6)
    taps = torch.arange(6, dtype=F64)
    raw = torch.exp(-(taps - delay.unsqueeze(-1)) ** 2 / (2 * 1.5 ** 2))
    assert torch.allclose(kern, raw / raw.sum(-1, keepdim=True), atol=1e-15, rtol=0)
    assert int(kern[0, 0].argmax()) == 2 and int(kern[0, 2].argmax()) == 5


def test_gradcheck_weights_and_delays():
    g = torch.Generator().manual_seed(3)
    k = 5
    w = torch.randn(2, 3, generator=g, dtype=F64, requires_grad=True)
    d = (torch.rand(2, 3, generator=g, dtype=F64) * (k - 1)).requires_grad_()
    x = torch.rand(9, 2, 3, generator=g, dtype=F64)

    def f(w, d):
        return delayed_linear(x, w, gaussian_delay_kernel(d, 0.8, k))

    assert torch.autograd.gradcheck(f, (w, d), eps=1e-6, atol=1e-8)
    layer = DelayedLinear(3, 2, k, sigma=0.8, generator=g, dtype=F64)
    layer(x).sum().backward()
    assert layer.delay.grad is not None and float(layer.delay.grad.abs().sum()) > 0


def test_rounded_mode_and_fixed_delays_are_integer_shifts():
    g = torch.Generator().manual_seed(4)
    k = 8
    layer = DelayedLinear(5, 3, k, sigma=2.0, generator=g, dtype=F64)
    with torch.no_grad():
        layer.delay.copy_(torch.rand(3, 5, generator=g, dtype=F64) * 7.4)
    x = (torch.rand(25, 3, 5, generator=g) < 0.4).to(F64)
    smooth = layer(x)
    y = layer.rounded()(x)
    ints = torch.round(layer.delay.detach()).long()
    assert torch.equal(layer.integer_delays(), ints)
    assert np.array_equal(y.detach().numpy(), _shift_reference(x, layer.weight, ints))
    assert not torch.allclose(smooth, y)         # sigma = 2 is not the rounded network
    assert torch.equal(layer.rounded(False)(x), smooth)

    fixed = DelayedLinear(5, 3, k, learn_delays=False, generator=torch.Generator().manual_seed(5),
                          dtype=F64)
    assert [n for n, _ in fixed.named_parameters()] == ["weight"]
    assert fixed.delay.shape == (3, 5) and torch.equal(fixed.delay, fixed.delay.round())
    assert np.array_equal(fixed(x).detach().numpy(),
                          _shift_reference(x, fixed.weight, fixed.delay.long()))


def test_clamp_and_sigma_schedules():
    layer = DelayedLinear(2, 2, 4, sigma=3.0)
    with torch.no_grad():
        layer.delay.copy_(torch.tensor([[-1.0, 1.5], [3.5, 9.0]]))
    layer.clamp_delays_()
    assert layer.delay.tolist() == [[0.0, 1.5], [3.0, 3.0]]
    layer.set_sigma(0.25)
    assert float(layer.sigma) == 0.25
    for kind in ("exponential", "linear"):
        assert sigma_schedule(0, 10, 8.0, 0.5, kind) == pytest.approx(8.0)
        assert sigma_schedule(10, 10, 8.0, 0.5, kind) == pytest.approx(0.5)
    assert sigma_schedule(5, 10, 8.0, 0.5, "exponential") == pytest.approx(2.0)   # geometric
    assert sigma_schedule(5, 10, 8.0, 0.5, "linear") == pytest.approx(4.25)


@pytest.mark.parametrize("call, field", [
    (lambda: gaussian_delay_kernel(torch.zeros(2), 0.0, 4), "sigma"),
    (lambda: gaussian_delay_kernel(torch.zeros(2), 1.0, 0), "max_delay"),
    (lambda: integer_delay_kernel(torch.zeros(2), 2.5), "max_delay"),
    (lambda: DelayedLinear(0, 2, 4), "n_in"),
    (lambda: DelayedLinear(2, 2, 4, sigma=-1), "sigma"),
    (lambda: DelayedLinear(2, 2, 4).set_sigma(0), "sigma"),
    (lambda: delayed_linear(torch.zeros(3, 2), torch.zeros(2, 2), torch.zeros(2, 2, 3)), "x"),
    (lambda: delayed_linear(torch.zeros(3, 1, 2), torch.zeros(2, 2), torch.zeros(2, 3, 3)),
     "kernel"),
    (lambda: sigma_schedule(0, 10, 0.1, 0.5), "sigma0"),
    (lambda: sigma_schedule(0, 10, 1.0, 0.5, "cosine"), "kind"),
    (lambda: sigma_schedule(11, 10, 1.0, 0.5), "step"),
    (lambda: delay_recovery(np.zeros((2, 3)), np.zeros((3, 2))), "learned"),
])
def test_bad_arguments_name_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()


def test_delay_recovery_counts_and_common_shift():
    planted = np.array([[0, 5, 9, 3], [2, 2, 2, 2]])
    learned = np.array([[0.4, 6.2, 11.0, 3.0], [5.0, 5.0, 5.0, 6.0]])
    assert delay_recovery(learned, planted, 1) == pytest.approx(3 / 8)
    assert delay_recovery(learned, planted, 0) == pytest.approx(2 / 8)
    # row 1 is row 1 shifted by 3 (one outlier by 4): identical modulo the common shift
    assert delay_recovery(learned, planted, 0, common_shift=True) == pytest.approx(5 / 8)


# ---------------------------------------------------------------- the protocol

def test_task_puts_the_planted_coincidence_at_the_readout_step():
    p = DelayParams(n_inputs=6, n_classes=3, max_delay_steps=5, jitter_steps=0,
                    noise_rate=DelayParams().noise_rate * 0, n_train=7, n_test=4)
    planted, data = coincidence_task(p, np.random.default_rng(0))
    x, y = data["train"]
    assert x.shape == (p.n_steps, 7, 6) and x.sum() == 7 * 6     # one spike per input
    t = x.argmax(axis=0)                                         # (sample, input)
    assert np.array_equal(t + planted[y], np.full((7, 6), p.readout_step))
    planted2, data2 = coincidence_task(p, np.random.default_rng(0))
    assert np.array_equal(planted, planted2) and np.array_equal(x, data2["train"][0])


@pytest.fixture(scope="module")
def quick_run():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    spec = find_spec("delay-learning-synthetic").resolve(quick=True)
    try:
        yield get_kind(spec.kind)(spec).run()
    finally:
        torch.set_num_threads(previous)


def test_quick_run_recovers_the_planted_delays_and_beats_random_delays(quick_run):
    s = quick_run.summary
    assert s["recovery_within_1"] >= 0.9
    assert s["fixed_recovery_within_1"] < 0.4              # random delays: ~3/16 by chance
    assert s["learned_test_accuracy"] > s["fixed_test_accuracy"] + 0.15
    assert s["learned_weights"] == s["fixed_weights"] == 200
    assert s["learned_delays"] == s["fixed_delays"] == 200
    assert s["final_sigma_steps"] == pytest.approx(0.3, rel=0.1)
    for name, var in quick_run.data.variables.items():
        assert "units" in var.attrs, name


def test_same_seed_same_result_and_streams():
    spec = find_spec("delay-learning-synthetic").resolve(quick=True, overrides={
        "n_train": 64, "n_test": 32, "epochs": 2, "n_inputs": 6, "n_classes": 3})
    kind = get_kind(spec.kind)
    a, b = kind(spec).run(), kind(spec).run()
    for var in ("planted_delay", "delay", "weight", "train_loss", "test_prediction",
                "test_label"):
        assert np.array_equal(a.data[var].values, b.data[var].values), var
    # the planted delays and labels are the numpy stream's first draws
    from bioSNN.seeding import SeedStreams

    planted, data = coincidence_task(spec.params, SeedStreams.from_seed(spec.seed).numpy_rng())
    assert np.array_equal(a.data["planted_delay"].values, planted * 1.0)
    assert np.array_equal(a.data["test_label"].values, data["test"][1])
    c = kind(spec).run(seed=1)
    assert not np.array_equal(c.data["planted_delay"].values, a.data["planted_delay"].values)


@pytest.mark.parametrize("overrides, field", [
    ({"sigma_min": 20.0}, "sigma_min"),
    ({"noise_rate": "2000 Hz"}, "noise_rate"),
    ({"max_delay_steps": 1}, "max_delay_steps"),
    ({"schedule": "cosine"}, "schedule"),
    ({"dt": "1 mV"}, "dt"),
])
def test_bad_spec_values_are_one_line_errors_naming_the_field(overrides, field):
    with pytest.raises(BioSNNError) as err:
        find_spec("delay-learning-synthetic").resolve(overrides=overrides)
    msg = str(err.value)
    assert field in msg and "\n" not in msg


def test_figures_from_the_run_show_its_recovery(quick_run):
    from bioSNN.plots.delays import plot_delay_recovery, plot_training_curves

    fig = plot_delay_recovery(quick_run)
    titles = [ax.get_title() for ax in fig.axes]
    s = quick_run.summary
    assert titles == [f"learned delays (DCLS): {100 * s['recovery_within_1']:.0f}% within 1 step",
                      f"fixed random delays: {100 * s['fixed_recovery_within_1']:.0f}% within "
                      f"1 step"]
    assert len(fig.axes[0].collections[-1].get_offsets()) == s["n_synapses"]
    fig = plot_training_curves(quick_run)
    assert len(fig.axes) == 2                           # accuracy and sigma axes
