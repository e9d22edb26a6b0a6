"""Surrogate gradients: a Heaviside step forward, a smooth function's derivative backward.

Each surrogate is a frozen parameter set (``FastSigmoid``, ``Sigmoid``, ``ATan``,
``Triangle``) naming the smooth function :math:`\\tilde S(x)` whose derivative replaces the
Dirac delta of :math:`\\partial H/\\partial x`; one ``torch.autograd.Function`` applies any
of them. ``get_surrogate(name)`` is the one lookup by name (for specs).

References
----------
F. Zenke, S. Ganguli (2018) SuperSpike. Neural Computation 30(6), 1514-1541 (fast sigmoid).
W. Fang et al. (2021) Incorporating learnable membrane time constants... ICCV (arctan).
S. K. Esser et al. (2016) Convolutional networks for fast, energy-efficient neuromorphic
computing. PNAS 113(41), 11441-11446 (triangle).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Surrogate", "FastSigmoid", "Sigmoid", "ATan", "Triangle", "SURROGATES",
           "get_surrogate", "spike"]


@dataclass(frozen=True)
class Surrogate:
    """Base of the surrogate parameter sets; calling one applies :func:`spike`.

    Parameters
    ----------
    slope : float
        Steepness ``k`` of the smooth function (dimensionless per unit of ``x``); > 0.
    """

    slope: float = 1.0
    name = "surrogate"

    def __post_init__(self):
        if not self.slope > 0:
            raise ValueError(f"{type(self).__name__}.slope must be > 0, got {self.slope}")

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """The smooth function :math:`\\tilde S(x)` standing in for ``H(x)``."""
        raise NotImplementedError

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\tilde S'(x)`, the gradient used in place of :math:`\\delta(x)`."""
        raise NotImplementedError

    def backward(self, x: torch.Tensor, grad_output: torch.Tensor) -> torch.Tensor:
        """``grad_output * derivative(x)``: the spike Function's backward pass."""
        return grad_output * self.derivative(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return spike(x, self)


@dataclass(frozen=True)
class FastSigmoid(Surrogate):
    """Fast sigmoid (SuperSpike), as ``snntorch.surrogate.fast_sigmoid(slope)``.

    .. math:: \\tilde S(x) = \\frac{x}{1 + k|x|}, \\qquad \\tilde S'(x) = \\frac{1}{(1 + k|x|)^2}

    Peak 1 at ``x = 0``; the area under :math:`\\tilde S'` is ``2/k`` (not 1).
    """

    slope: float = 25.0
    name = "fast_sigmoid"

    def primitive(self, x):
        return x / (1.0 + self.slope * x.abs())

    def derivative(self, x):
        return 1.0 / (self.slope * torch.abs(x) + 1.0) ** 2

    def backward(self, x, grad_output):
        # snnTorch's expression (a division), so the two agree bit for bit
        return grad_output / (self.slope * torch.abs(x) + 1.0) ** 2


@dataclass(frozen=True)
class Sigmoid(Surrogate):
    """Logistic sigmoid, as ``snntorch.surrogate.sigmoid(slope)``.

    .. math:: \\tilde S(x) = \\sigma(kx), \\qquad \\tilde S'(x) = k\\,\\sigma(kx)\\,\\sigma(-kx)

    snnTorch 1.0.0 evaluates :math:`k e^{-kx}/(e^{-kx}+1)^2`, which is ``inf/inf = nan``
    once :math:`-kx` exceeds about 88 (float32) or 709 (float64); this form is the same
    function without the overflow (snnTorch issue #427).
    """

    slope: float = 25.0
    name = "sigmoid"

    def primitive(self, x):
        return torch.sigmoid(self.slope * x)

    def derivative(self, x):
        kx = self.slope * x
        return self.slope * torch.sigmoid(kx) * torch.sigmoid(-kx)


@dataclass(frozen=True)
class ATan(Surrogate):
    """Arctangent, as ``snntorch.surrogate.atan(alpha)`` with ``alpha = slope``.

    .. math::

        \\tilde S(x) = \\tfrac12 + \\tfrac1\\pi \\arctan\\!\\left(\\tfrac\\pi2 k x\\right),
        \\qquad \\tilde S'(x) = \\frac{k/2}{1 + (\\pi k x / 2)^2}

    snn.Leaky's default surrogate (k = 2).
    """

    slope: float = 2.0
    name = "atan"

    def primitive(self, x):
        return 0.5 + torch.atan(math.pi / 2 * self.slope * x) / math.pi

    def derivative(self, x):
        return self.slope / 2 / (1 + (torch.pi / 2 * self.slope * x).pow(2))


@dataclass(frozen=True)
class Triangle(Surrogate):
    """Triangle (piecewise-linear) derivative of unit area, width ``2/k``.

    .. math::

        \\tilde S'(x) = k \\max(0,\\, 1 - k|x|), \\qquad
        \\tilde S(x) = \\tfrac12 + k y - \\tfrac12 k^2 y |y|,\\ y = \\mathrm{clip}(x, -1/k, 1/k)

    As SpikingJelly's ``PiecewiseQuadratic(alpha=k)``. snnTorch 1.0.0's
    ``surrogate.triangular`` is a different function (a constant ``+threshold`` below 0 and
    ``-threshold`` above: the derivative of a tent, not a triangle), so there is no snnTorch
    counterpart to compare with.
    """

    slope: float = 1.0
    name = "triangle"

    def primitive(self, x):
        y = x.clamp(-1.0 / self.slope, 1.0 / self.slope)
        return 0.5 + self.slope * y - 0.5 * self.slope ** 2 * y * y.abs()

    def derivative(self, x):
        return self.slope * torch.relu(1.0 - self.slope * x.abs())


SURROGATES: dict[str, type[Surrogate]] = {
    cls.name: cls for cls in (FastSigmoid, Sigmoid, ATan, Triangle)}


def get_surrogate(name: str, slope: float | None = None) -> Surrogate:
    """The surrogate called ``name``, with its default slope unless ``slope`` is given.

    Parameters
    ----------
    name : str
        One of ``"fast_sigmoid"`` (default slope 25), ``"sigmoid"`` (25), ``"atan"`` (2),
        ``"triangle"`` (1); the defaults are snnTorch's where snnTorch has the surrogate.
    slope : float, optional
        Steepness ``k``; > 0.

    Returns
    -------
    Surrogate
    """
    try:
        cls = SURROGATES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown surrogate {name!r}; valid names: "
                         f"{', '.join(sorted(SURROGATES))}") from None
    return cls() if slope is None else cls(slope=float(slope))


class _HeavisideSurrogate(torch.autograd.Function):
    """``H(x)`` forward; ``surrogate.backward(x, grad)`` (= grad * derivative) backward."""

    @staticmethod
    def forward(ctx, x, surrogate):
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return ctx.surrogate.backward(x, grad_output), None


def spike(x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
    """Heaviside step with a surrogate gradient.

    Parameters
    ----------
    x : torch.Tensor
        Membrane potential minus threshold, any shape.
    surrogate : Surrogate
        Which smooth derivative the backward pass uses.

    Returns
    -------
    torch.Tensor
        :math:`H(x)` (1 where ``x > 0``, else 0; ``H(0) = 0`` as in snnTorch), same shape
        and dtype as ``x`` (snnTorch returns float32 whatever the input).

    Notes
    -----
    .. math:: S = H(x), \\qquad \\frac{\\partial S}{\\partial x} := \\tilde S'(x)
    """
    return _HeavisideSurrogate.apply(x, surrogate)
