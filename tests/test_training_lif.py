"""LIF variants: each reset mode equals snn.Leaky step by step in float64 (spikes, membranes,
and gradients with learnable beta and threshold); the refractory period on a hand-computed
sequence and as a property of random runs."""
from __future__ import annotations

import pytest
import snntorch as snn
import torch
from snntorch import surrogate as snn_surrogate

from bioSNN.training import (RESETS, ATan, FastSigmoid, Leaky, LIFParams, Sigmoid, lif_run,
                             lif_step)

STEPS, NEURONS = 150, 12
SURROGATE_PAIRS = [(ATan(2.0), lambda: snn_surrogate.atan(alpha=2.0)),
                   (FastSigmoid(25.0), lambda: snn_surrogate.fast_sigmoid(slope=25.0)),
                   (Sigmoid(5.0), lambda: snn_surrogate.sigmoid(slope=5.0))]


def _input(seed=0):
    g = torch.Generator().manual_seed(seed)
    # mean drive near threshold so every mode both spikes and stays silent at times
    return 0.4 + 0.5 * torch.randn(STEPS, 3, NEURONS, generator=g, dtype=torch.float64)


def _run_snntorch(lif, x):
    spikes, mems, mem = [], [], None
    for t in range(x.shape[0]):
        spk, mem = lif(x[t], mem)
        spikes.append(spk)
        mems.append(mem)
    return torch.stack(spikes), torch.stack(mems)


@pytest.mark.parametrize("reset", RESETS)
def test_forward_equals_snn_leaky(reset, one_torch_thread):
    x = _input()
    # snn.Leaky stores a float beta/threshold as float32, so pass float64 tensors; and its
    # own surrogates return float32 spikes, making ``reset * threshold`` a float32 product:
    # a threshold exactly representable in float32 keeps that exact (1.1 would not be)
    beta, threshold = 0.83, 1.25
    f64 = dict(dtype=torch.float64)
    ref = snn.Leaky(beta=torch.tensor(beta, **f64), threshold=torch.tensor(threshold, **f64),
                    reset_mechanism=reset)
    spk_ref, mem_ref = _run_snntorch(ref, x)
    spk, mem, _ = lif_run(x, LIFParams(beta=beta, threshold=threshold, reset=reset))
    assert spk.dtype == torch.float64
    assert torch.equal(spk, spk_ref.to(spk.dtype))           # identical spikes
    torch.testing.assert_close(mem, mem_ref, rtol=0, atol=1e-12)
    n = int(spk.sum())
    assert 0.05 * spk.numel() < n < 0.95 * spk.numel(), n    # the resets were exercised


@pytest.mark.parametrize("spike_fn", ["ours", "snntorch"])
@pytest.mark.parametrize("surrogates", SURROGATE_PAIRS, ids=lambda s: s[0].name)
@pytest.mark.parametrize("reset", RESETS)
def test_learnable_beta_threshold_gradients_equal_snn_leaky(reset, surrogates, spike_fn,
                                                             one_torch_thread):
    """Gradients of a loss on spikes and membranes w.r.t. beta, threshold and the input.

    snn.Leaky's own surrogates return float32 spikes whatever the input dtype, and with
    reset by subtraction ``reset * threshold`` (float32 spikes times a 0-dim float64
    parameter) is then computed in float32, so the threshold gradient through the reset is
    rounded to float32: with them the threshold gradient is compared to float32 precision
    (and the threshold is float32-exact, 1.25, so the forward pass stays exact).
    With our spike function (float64 spikes, the same gradient: see
    test_training_surrogates) inside snn.Leaky everything is float64 and agrees to 1e-10.
    """
    ours_surrogate, snn_factory = surrogates
    x = _input(seed=1)
    g = torch.Generator().manual_seed(2)
    # loss weights with few significant bits: snnTorch's float32 spikes receive the
    # spike-path gradient in float32, which is then exact
    w_spk = torch.round(torch.randn(x.shape, generator=g, dtype=torch.float64) * 256) / 256
    w_mem = torch.randn(x.shape, generator=g, dtype=torch.float64)

    def loss_grads(run, params, x):
        x = x.clone().requires_grad_(True)
        spk, mem = run(x)
        loss = (w_spk * spk).sum() + (w_mem * mem).sum()
        return torch.autograd.grad(loss, [*params, x])

    f64 = dict(dtype=torch.float64)
    ref = snn.Leaky(beta=torch.tensor(0.87, **f64), threshold=torch.tensor(1.25, **f64),
                    reset_mechanism=reset, learn_beta=True, learn_threshold=True,
                    spike_grad=ours_surrogate if spike_fn == "ours" else snn_factory())
    ours = Leaky(LIFParams(beta=0.87, threshold=1.25, reset=reset, surrogate=ours_surrogate),
                 learn_beta=True, learn_threshold=True, dtype=torch.float64)
    assert {n for n, _ in ours.named_parameters()} == {"beta", "threshold"}

    def run_ours(x):
        spikes, mems, state = [], [], None
        for t in range(x.shape[0]):
            spk, state = ours(x[t], state)
            spikes.append(spk)
            mems.append(state.mem)
        return torch.stack(spikes), torch.stack(mems)

    got = loss_grads(run_ours, [ours.beta, ours.threshold], x)
    want = loss_grads(lambda x: _run_snntorch(ref, x), [ref.beta, ref.threshold], x)
    float32_path = spike_fn == "snntorch" and reset == "subtract"
    for name, a, b in zip(["beta", "threshold", "input"], got, want):
        assert a.abs().max() > 0, name                        # a gradient arrived
        rtol = 1e-6 if float32_path and name == "threshold" else 1e-10
        torch.testing.assert_close(a, b, rtol=rtol, atol=1e-12, msg=lambda m: f"{name}: {m}")


def test_functional_and_module_agree():
    x = _input(seed=3)
    p = LIFParams(beta=0.8, threshold=1.0, reset="zero", refractory_steps=2)
    spk, mem, _ = lif_run(x, p)
    module, state, spikes = Leaky(p, dtype=torch.float64), None, []
    for t in range(STEPS):
        s, state = module(x[t], state)
        spikes.append(s)
    assert torch.equal(torch.stack(spikes), spk)


# beta = 0.5, threshold 1, constant input 0.75: every value is dyadic, so exact in floats.
#   t:         0      1      2      3       4        5        6      7       8
# r = 0: U  0.75   1.125  0.3125 0.90625 1.203125 0.3515625 ...   (spikes at 1, 4, ...)
# r = 2: U  0.75   1.125  0.125  0.125   0.8125   1.15625  0.15625 0.15625 0.828125
#        S  0      1      0(ref) 0(ref)  0        1        0(ref) 0(ref)  0
HAND = {
    0: ([0.75, 1.125, 0.3125, 0.90625, 1.203125, 0.3515625],
        [0, 1, 0, 0, 1, 0]),
    2: ([0.75, 1.125, 0.125, 0.125, 0.8125, 1.15625, 0.15625, 0.15625, 0.828125],
        [0, 1, 0, 0, 0, 1, 0, 0, 0]),
}


@pytest.mark.parametrize("refractory", sorted(HAND))
def test_refractory_hand_computed(refractory):
    mem_want, spk_want = HAND[refractory]
    x = torch.full((len(mem_want), 1), 0.75, dtype=torch.float64)
    spk, mem, state = lif_run(x, LIFParams(beta=0.5, threshold=1.0, refractory_steps=refractory))
    assert mem[:, 0].tolist() == mem_want
    assert spk[:, 0].tolist() == spk_want
    assert state.refractory.tolist() == [0]


def test_refractory_zero_reset_hand_computed():
    """Reset to zero, r = 1: U held at 0 for the refractory step after the spike."""
    x = torch.tensor([[1.5], [0.25], [0.5], [1.25], [2.0]], dtype=torch.float64)
    spk, mem, _ = lif_run(x, LIFParams(beta=0.5, threshold=1.0, reset="zero", refractory_steps=1))
    assert mem[:, 0].tolist() == [1.5, 0.0, 0.5, 1.5, 0.0]
    assert spk[:, 0].tolist() == [1, 0, 0, 1, 0]


@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("refractory", [1, 3])
def test_no_spike_within_refractory_period(reset, refractory):
    x = _input(seed=4) + 0.5  # strong drive: without refractoriness, bursts of spikes
    spk, _, _ = lif_run(x, LIFParams(beta=0.9, threshold=1.0, reset=reset,
                                     refractory_steps=refractory))
    times = spk.flatten(1).T  # (neurons, T)
    assert times.sum() > 0.5 * times.numel() / (refractory + 1)  # the neurons fire
    for train in times:
        t = torch.nonzero(train).flatten()
        assert (torch.diff(t) > refractory).all()
    # and without the period, the same drive gives spikes closer together
    free, _, _ = lif_run(x, LIFParams(beta=0.9, threshold=1.0, reset=reset))
    gaps = torch.cat([torch.diff(torch.nonzero(tr).flatten()) for tr in free.flatten(1).T])
    assert (gaps <= refractory).any()


def test_beta_is_clamped_as_snntorch():
    """A learnable beta pushed outside [0, 1] acts as its clamp (snnTorch's rule)."""
    x = _input(seed=5)[:20]
    p = LIFParams(beta=1.0)
    _, mem_hi, _ = lif_run(x, p, beta=torch.tensor(1.3, dtype=torch.float64))
    _, mem_one, _ = lif_run(x, p)
    assert torch.equal(mem_hi, mem_one)


def test_bad_parameters():
    with pytest.raises(ValueError, match="reset must be one of subtract, zero, none"):
        LIFParams(reset="hard")
    with pytest.raises(ValueError, match="beta"):
        LIFParams(beta=1.5)
    with pytest.raises(ValueError, match="refractory_steps"):
        LIFParams(refractory_steps=-1)
    with pytest.raises(TypeError, match="surrogate"):
        LIFParams(surrogate="atan")


def test_step_from_rest_equals_explicit_zero_state():
    x = _input(seed=6)[0]
    p = LIFParams()
    a, sa = lif_step(x, None, p)
    from bioSNN.training import LIFState
    b, sb = lif_step(x, LIFState.rest(x), p)
    assert torch.equal(a, b) and torch.equal(sa.mem, sb.mem)
