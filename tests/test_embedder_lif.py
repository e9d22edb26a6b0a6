"""Functional LIF (bioSNN.embedder.lif) against snnTorch 1.0 and hand-computed steps."""
import pytest
import snntorch as snn
import torch
from snntorch import surrogate

from bioSNN.embedder.lif import LIF, LeakyParams, lif_sequence, lif_step, spike_fn

PARAMS = [
    LeakyParams(),  # the seed's beta 0.95, threshold 1, slope 5
    LeakyParams(beta=0.8, threshold=0.5, slope=25.0),
    LeakyParams(beta=1.0, threshold=2.0, slope=1.0),
]


def _snntorch_leaky(p: LeakyParams, dtype) -> snn.Leaky:
    # beta/threshold as tensors of the test dtype: a Python float would be stored as a
    # float32 buffer (0.95 -> 0.949999988...) and break float64 equality.
    return snn.Leaky(beta=torch.tensor(p.beta, dtype=dtype),
                     threshold=torch.tensor(p.threshold, dtype=dtype),
                     spike_grad=surrogate.fast_sigmoid(slope=p.slope))


@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"b{p.beta}-th{p.threshold}-k{p.slope}")
def test_matches_snntorch_leaky_step_by_step_with_gradients(p):
    dtype = torch.float64
    g = torch.Generator().manual_seed(1)
    steps, shape = 40, (6, 50)
    scale = 1.5 * p.threshold
    currents = (scale * torch.rand((steps, *shape), generator=g, dtype=dtype) - 0.3 * scale)
    # Loss weights representable in float32: snnTorch's spikes are float32, so their
    # incoming gradient is rounded to float32 before the surrogate is applied.
    w_spk = torch.randn((steps, *shape), generator=g).to(dtype)
    w_mem = torch.randn((steps, *shape), generator=g).to(dtype)

    ours_in = currents.clone().requires_grad_()
    ref_in = currents.clone().requires_grad_()
    leaky = _snntorch_leaky(p, dtype)
    mem_ours = torch.zeros(shape, dtype=dtype)
    mem_ref = torch.zeros(shape, dtype=dtype)
    loss_ours = loss_ref = 0.0
    n_spikes = 0
    for t in range(steps):
        spk_o, mem_ours = lif_step(ours_in[t], mem_ours, p)
        spk_r, mem_ref = leaky(ref_in[t], mem_ref)
        assert torch.equal(spk_o, spk_r.to(dtype)), f"spikes differ at step {t}"
        assert torch.allclose(mem_ours, mem_ref, rtol=0, atol=1e-12), f"mem differs at step {t}"
        loss_ours = loss_ours + (w_spk[t] * spk_o).sum() + (w_mem[t] * mem_ours).sum()
        loss_ref = loss_ref + (w_spk[t] * spk_r).sum() + (w_mem[t] * mem_ref).sum()
        n_spikes += int(spk_o.sum())
    total = steps * shape[0] * shape[1]
    assert 0.05 * total < n_spikes < 0.95 * total, "test inputs must exercise spikes and resets"

    loss_ours.backward()
    loss_ref.backward()
    assert ours_in.grad.abs().max() > 0
    torch.testing.assert_close(ours_in.grad, ref_in.grad, rtol=0, atol=1e-12)


def test_surrogate_gradient_matches_snntorch_fast_sigmoid():
    x = torch.linspace(-2, 2, 41, dtype=torch.float64)
    for slope in (5.0, 25.0):
        ours = x.clone().requires_grad_()
        ref = x.clone().requires_grad_()
        spike_fn(ours, slope).sum().backward()
        surrogate.fast_sigmoid(slope=slope)(ref).sum().backward()
        assert torch.equal(spike_fn(x, slope), (x > 0).to(x.dtype))
        torch.testing.assert_close(ours.grad, ref.grad, rtol=0, atol=1e-15)


def test_surrogate_gradient_hand_values():
    # slope 5: 1 / (5|x| + 1)^2 -> x=0.2: 1/4, x=-0.6: 1/16, x=0: 1, x=1: 1/36
    x = torch.tensor([0.2, -0.6, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    spk = spike_fn(x, 5.0)
    assert spk.tolist() == [1.0, 0.0, 0.0, 1.0]  # H(0) = 0, as snnTorch (strict >)
    spk.sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.25, 1 / 16, 1.0, 1 / 36],
                                                    dtype=torch.float64), rtol=0, atol=1e-15)


def test_hand_computed_step_sequence_with_delayed_subtractive_reset():
    # beta 0.9, threshold 1; U[t] = 0.9 U[t-1] + I[t] - H(U[t-1] - 1), S[t] = H(U[t] - 1)
    p = LeakyParams(beta=0.9, threshold=1.0)
    currents = [0.6, 0.6, 0.6, 0.0, 1.0, 0.0]
    expected_mem = [
        0.6,                     # 0.9*0 + 0.6
        1.14,                    # 0.9*0.6 + 0.6            -> spike
        0.626,                   # 0.9*1.14 + 0.6 - 1       (reset one step later)
        0.5634,                  # 0.9*0.626 + 0
        1.50706,                 # 0.9*0.5634 + 1.0         -> spike
        0.356354,                # 0.9*1.50706 + 0 - 1
    ]
    expected_spk = [0, 1, 0, 0, 1, 0]
    mem = torch.zeros(1, dtype=torch.float64)
    for t, current in enumerate(currents):
        spk, mem = lif_step(torch.tensor([current], dtype=torch.float64), mem, p)
        assert spk.item() == expected_spk[t], f"step {t}"
        assert mem.item() == pytest.approx(expected_mem[t], abs=1e-12), f"step {t}"


def test_membrane_exactly_at_threshold_neither_spikes_nor_resets():
    p = LeakyParams(beta=0.5, threshold=1.0)
    spk, mem = lif_step(torch.tensor([1.0]), torch.tensor([0.0]), p)
    assert (spk.item(), mem.item()) == (0.0, 1.0)
    spk, mem = lif_step(torch.tensor([0.0]), mem, p)
    assert (spk.item(), mem.item()) == (0.0, 0.5)  # no reset subtracted


def test_reset_term_carries_no_gradient():
    # d U[t] / d U[t-1] = beta, even when U[t-1] is above threshold (reset is detached).
    p = LeakyParams(beta=0.9, threshold=1.0)
    mem = torch.tensor([1.3, 0.4], requires_grad=True)
    _, new_mem = lif_step(torch.zeros(2), mem, p)
    new_mem.sum().backward()
    assert mem.grad.tolist() == pytest.approx([0.9, 0.9])


def test_module_wrapper_starts_from_rest_and_matches_function():
    p = LeakyParams(beta=0.7)
    current = torch.rand(3, 4, generator=torch.Generator().manual_seed(0)) * 2
    spk_m, mem_m = LIF(p)(current)
    spk_f, mem_f = lif_step(current, torch.zeros_like(current), p)
    assert torch.equal(spk_m, spk_f) and torch.equal(mem_m, mem_f)


@pytest.mark.parametrize("kwargs, field", [
    (dict(beta=1.2), "beta"), (dict(beta=-0.1), "beta"),
    (dict(threshold=0.0), "threshold"), (dict(slope=-1.0), "slope"),
])
def test_params_reject_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        LeakyParams(**kwargs)


def _step_loop(current, p, steps=None):
    """Reference: T calls of lif_step from rest, recording spikes and membranes."""
    T = steps if steps is not None else current.shape[0]
    mem = torch.zeros_like(current if steps is not None else current[0])
    spks, mems = [], []
    for t in range(T):
        spk, mem = lif_step(current if steps is not None else current[t], mem, p)
        spks.append(spk)
        mems.append(mem)
    return torch.stack(spks), torch.stack(mems)


@pytest.mark.parametrize("constant", [False, True], ids=["sequence", "constant"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("p", PARAMS, ids=lambda p: f"b{p.beta}-th{p.threshold}-k{p.slope}")
def test_lif_sequence_equals_step_loop_forward_bitwise_and_backward(p, dtype, constant):
    g = torch.Generator().manual_seed(3)
    steps, shape = 30, (5, 40)
    scale = 1.5 * p.threshold
    full = (steps,) + shape
    current = scale * torch.rand(shape if constant else full, generator=g, dtype=dtype) - 0.3 * scale
    w_spk = torch.randn(full, generator=g, dtype=dtype)
    w_mem = torch.randn(full, generator=g, dtype=dtype)
    a, b = current.clone().requires_grad_(), current.clone().requires_grad_()
    spk_ref, mem_ref = _step_loop(a, p, steps if constant else None)
    spk, mem = lif_sequence(b, p, steps=steps if constant else None)
    assert torch.equal(spk, spk_ref) and torch.equal(mem, mem_ref)  # same operations, same order
    assert 0.05 < spk.mean() < 0.95, "inputs must exercise spikes and resets"
    ((w_spk * spk_ref).sum() + (w_mem * mem_ref).sum()).backward()
    ((w_spk * spk).sum() + (w_mem * mem).sum()).backward()
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(b.grad, a.grad, rtol=tol, atol=tol)


def test_lif_sequence_gradient_of_one_output_only():
    """Only the spikes, or only the membranes, feed the loss (the other gradient is None)."""
    p = LeakyParams()
    g = torch.Generator().manual_seed(4)
    current = (2 * torch.rand((20, 3, 7), generator=g, dtype=torch.float64) - 0.4)
    for pick in (0, 1):
        a, b = current.clone().requires_grad_(), current.clone().requires_grad_()
        _step_loop(a, p)[pick].pow(2).sum().backward()
        lif_sequence(b, p)[pick].pow(2).sum().backward()
        assert a.grad.abs().max() > 0
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-12, atol=1e-12)


def test_lif_sequence_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        lif_sequence(torch.zeros(3), LeakyParams(), steps=0)


# ------------------------------------------------------------ surrogates chosen by name
@pytest.mark.parametrize("name, slope, snn_surrogate", [
    ("sigmoid", 5.0, lambda k: surrogate.sigmoid(slope=k)),
    ("atan", 2.0, lambda k: surrogate.atan(alpha=k)),
    ("triangle", 1.0, None),  # snnTorch's "triangular" is another function (training/surrogates)
])
def test_named_surrogate_sequence_equals_step_loop_and_snntorch(name, slope, snn_surrogate):
    """Two formulations agree for every surrogate (the hand-written backward of
    lif_sequence vs autograd through lif_step), and both equal snn.Leaky with snnTorch's
    surrogate of that name, float64."""
    p = LeakyParams(beta=0.9, threshold=1.0, slope=slope, surrogate=name)
    g = torch.Generator().manual_seed(7)
    current = 1.6 * torch.rand((25, 4, 30), generator=g, dtype=torch.float64) - 0.4
    # float32-representable loss weights: snnTorch's spikes (and so the gradient reaching
    # its surrogate) are float32
    w = torch.randn(current.shape, generator=g).to(torch.float64)
    a, b = current.clone().requires_grad_(), current.clone().requires_grad_()
    spk_ref, _ = _step_loop(a, p)
    spk, _ = lif_sequence(b, p)
    assert torch.equal(spk, spk_ref) and 0.05 < spk.mean() < 0.95
    (w * spk_ref).sum().backward()
    (w * spk).sum().backward()
    torch.testing.assert_close(b.grad, a.grad, rtol=1e-12, atol=1e-12)
    fast = current.clone().requires_grad_()
    (w * lif_sequence(fast, LeakyParams(beta=0.9, slope=slope))[0]).sum().backward()
    assert not torch.allclose(fast.grad, b.grad)  # the name changes the gradient...
    if snn_surrogate is not None:
        leaky = snn.Leaky(beta=torch.tensor(p.beta, dtype=torch.float64),
                          threshold=torch.tensor(p.threshold, dtype=torch.float64),
                          spike_grad=snn_surrogate(slope))
        c = current.clone().requires_grad_()
        mem, out = leaky.init_leaky(), []
        for t in range(current.shape[0]):
            s, mem = leaky(c[t], mem)
            out.append(s)
        assert torch.equal(torch.stack(out).to(torch.float64), spk)  # ...never the spikes
        (w * torch.stack(out)).sum().backward()
        # snnTorch evaluates its surrogate on float32 spikes' gradients (its sigmoid as
        # k e^-kx / (e^-kx + 1)^2): equal to float32 rounding of that expression
        torch.testing.assert_close(c.grad, b.grad, rtol=2e-5, atol=1e-6)


def test_unknown_surrogate_name_is_rejected_naming_the_choices():
    with pytest.raises(ValueError, match="surrogate must be one of .*atan.*fast_sigmoid"):
        LeakyParams(surrogate="relu")
    from bioSNN.embedder.csnn import CSNNConfig

    with pytest.raises(ValueError, match="surrogate"):
        CSNNConfig(surrogate="relu")
    assert CSNNConfig(surrogate="atan").lif.surrogate_fn.name == "atan"
