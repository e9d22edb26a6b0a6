"""Surrogate gradients: exact Heaviside forward; backward equal to snnTorch's; each backward
formula is the true derivative of its stated smooth function (gradcheck in float64)."""
from __future__ import annotations

import pytest
import torch
from snntorch import surrogate as snn_surrogate

from bioSNN.training import (ATan, FastSigmoid, Sigmoid, SURROGATES, Triangle, get_surrogate,
                             spike)

# name -> snnTorch factory taking our slope (atan's ``alpha`` is our slope)
SNNTORCH = {"fast_sigmoid": lambda k: snn_surrogate.fast_sigmoid(slope=k),
            "sigmoid": lambda k: snn_surrogate.sigmoid(slope=k),
            "atan": lambda k: snn_surrogate.atan(alpha=k)}
SLOPES = [0.5, 2.0, 25.0]


def _x(dtype, n=2001, span=3.0):
    g = torch.Generator().manual_seed(1)
    grid = torch.linspace(-span, span, n, dtype=torch.float64)
    return torch.cat([grid, torch.randn(500, generator=g, dtype=torch.float64)]).to(dtype)


def _grad(fn, x, grad_out):
    x = x.clone().requires_grad_(True)
    out = fn(x)
    out.backward(grad_out.to(out.dtype))
    return out.detach(), x.grad


@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_forward_is_exactly_heaviside(name):
    x = torch.tensor([-1e300, -1.0, -1e-300, -0.0, 0.0, 1e-300, 1.0, 1e300], dtype=torch.float64)
    out = get_surrogate(name)(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.tensor([0, 0, 0, 0, 0, 1, 1, 1], dtype=torch.float64),
                               rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("slope", SLOPES)
@pytest.mark.parametrize("name", sorted(SNNTORCH))
def test_backward_equals_snntorch(name, slope, dtype):
    """Same gradient as snntorch.surrogate to float rounding (fast sigmoid and atan use
    the same expression: bit for bit; sigmoid uses the overflow-free form)."""
    x = _x(dtype)
    g = torch.Generator().manual_seed(2)
    # snnTorch's forward returns float32 spikes, so its backward receives (and for the
    # sigmoid first multiplies by the slope in) float32; upstream gradients with 11
    # significant bits keep those float32 steps exact, leaving only the formula's rounding
    grad_out = (torch.round(torch.randn(x.shape, generator=g) * 1024) / 1024).to(dtype)
    ours_out, ours = _grad(get_surrogate(name, slope), x, grad_out)
    ref_out, ref = _grad(SNNTORCH[name](slope), x, grad_out)
    assert torch.equal(ours_out, ref_out.to(dtype))
    assert ref.dtype == ours.dtype == dtype
    if name == "sigmoid":
        # snnTorch squares exp(-kx): that overflows for -kx > 44 in float32 (354 in float64),
        # giving 0 or nan (next test) instead of the true tiny value; compare elsewhere
        finite = -slope * x < (40.0 if dtype == torch.float32 else 350.0)
        assert torch.isfinite(ref[finite]).all() and finite.float().mean() > 0.7
        eps = torch.finfo(dtype).eps
        torch.testing.assert_close(ours[finite], ref[finite], rtol=8 * eps, atol=0)
    else:
        assert torch.equal(ours, ref)


def test_sigmoid_is_finite_where_snntorch_overflows():
    """snnTorch's exp(-kx) overflows for -kx > 88 in float32: nan (snnTorch issue #427)."""
    x = torch.tensor([-5.0, -3.0, 3.0, 5.0])
    _, ours = _grad(Sigmoid(25.0), x, torch.ones(4))
    _, ref = _grad(snn_surrogate.sigmoid(slope=25.0), x, torch.ones(4))
    assert torch.isnan(ref[0])
    assert torch.isfinite(ours).all() and torch.equal(ours, ours.flip(0))  # even function
    assert ours[1] > 0  # 25 exp(-75) ~ 7e-32 is a normal float32


def test_triangle_is_not_snntorchs_triangular():
    """snnTorch 1.0.0's ``triangular`` is +thr below 0, -thr above: not a triangle, so the
    triangle has no snnTorch reference. If snnTorch changes it, revisit the parity test."""
    x = torch.tensor([-0.5, 0.5])
    _, ref = _grad(snn_surrogate.triangular(threshold=1.0), x, torch.ones(2))
    _, ours = _grad(Triangle(1.0), x, torch.ones(2))
    assert ref.tolist() == [1.0, -1.0]
    assert ours.tolist() == [0.5, 0.5]


@pytest.mark.parametrize("slope,expected", [
    (1.0, [0.0, 0.0, 0.5, 1.0, 0.5, 0.0]),
    (2.0, [0.0, 0.0, 0.0, 2.0, 0.0, 0.0]),
    (4.0, [0.0, 0.0, 0.0, 4.0, 0.0, 0.0]),
])
def test_triangle_hand_computed(slope, expected):
    """k max(0, 1 - k|x|) at x = -2, -1, -1/2, 0, 1/2, 1."""
    x = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0], dtype=torch.float64)
    _, g = _grad(Triangle(slope), x, torch.ones(6))
    assert g.tolist() == expected


class _Smooth(torch.autograd.Function):
    """Forward: the surrogate's smooth function; backward: the surrogate's derivative
    formula, the one the Heaviside Function uses. gradcheck of this compares that formula
    with finite differences of the function it claims to differentiate."""

    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return surrogate.primitive(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return ctx.surrogate.backward(x, grad_output), None


@pytest.mark.parametrize("slope", SLOPES)
@pytest.mark.parametrize("name", sorted(SURROGATES))
def test_derivative_gradcheck_float64(name, slope):
    """The forward is a step (its true derivative is 0 a.e.), so gradcheck cannot check
    the spike Function itself; it checks the smooth function the backward differentiates,
    and the spike Function is checked to use exactly that backward."""
    s = get_surrogate(name, slope)
    g = torch.Generator().manual_seed(3)
    # points within the surrogate's width, kept 1e-3 away from its kinks (|x| = 0, and
    # |x| = 1/k for the triangle) where the second derivative jumps
    x = (torch.rand(64, generator=g, dtype=torch.float64) * 2 - 1) * 1.5 / slope
    kinks = torch.tensor([0.0, 1.0 / slope, -1.0 / slope], dtype=torch.float64)
    x = x[(x.unsqueeze(1) - kinks).abs().min(dim=1).values > 1e-3 / slope]
    assert torch.autograd.gradcheck(lambda t: _Smooth.apply(t, s), (x.requires_grad_(),),
                                    eps=1e-7, atol=1e-7, rtol=1e-6)
    # the spike Function's backward is that same formula
    grad_out = torch.randn(x.shape, generator=g, dtype=torch.float64)
    _, got = _grad(lambda t: spike(t, s), x.detach(), grad_out)
    assert torch.equal(got, s.backward(x.detach(), grad_out))
    torch.testing.assert_close(got, grad_out * s.derivative(x.detach()), rtol=1e-15, atol=0)


@pytest.mark.parametrize("s,area", [(Sigmoid(3.0), 1.0), (ATan(3.0), 1.0), (Triangle(3.0), 1.0),
                                    (FastSigmoid(3.0), 2.0 / 3.0)])
def test_derivative_area(s, area):
    """Integral of the surrogate derivative: 1 for the step approximants (sigmoid, atan,
    triangle), 2/k for the fast sigmoid."""
    fine = torch.linspace(-10, 10, 200_001, dtype=torch.float64)  # kinks at 0, +-1/k
    tail = torch.logspace(1, 5, 200_001, dtype=torch.float64)
    got = sum(float(torch.trapezoid(s.derivative(x), x)) for x in (-tail.flip(0), fine, tail))
    # the heavy tails beyond |x| = 1e5 hold ~2/(pi^2 k L) (atan), 2/(k^2 L) (fast sigmoid)
    tol = 1e-5 if isinstance(s, (ATan, FastSigmoid)) else 1e-7
    assert got == pytest.approx(area, abs=tol)


def test_get_surrogate_defaults_and_slope():
    assert get_surrogate("fast_sigmoid") == FastSigmoid(25.0)
    assert get_surrogate("sigmoid") == Sigmoid(25.0)
    assert get_surrogate("atan") == ATan(2.0)
    assert get_surrogate("triangle") == Triangle(1.0)
    assert get_surrogate("atan", 5) == ATan(5.0)


@pytest.mark.parametrize("bad", ["relu", "ATan", "", None])
def test_bad_name_is_one_line_valueerror(bad):
    with pytest.raises(ValueError) as info:
        get_surrogate(bad)
    message = str(info.value)
    assert "\n" not in message
    for name in ("atan", "fast_sigmoid", "sigmoid", "triangle"):
        assert name in message


def test_bad_slope():
    with pytest.raises(ValueError, match="slope must be > 0"):
        get_surrogate("atan", 0.0)
