r"""Inhibitory STDP of Vogels, Sprekeler et al. (2011): a symmetric rule with a target rate.

A timing dependence (:class:`VogelsSprekelerTiming`) for :class:`~bioSNN.plasticity.STDPRule`:
unit-jump traces ``apre``, ``apost`` (one time constant ``tau``); every pair potentiates by
``eta`` times the trace, whatever its order, and each presynaptic spike depresses by
``eta * alpha`` with ``alpha = 2 rho0 tau``, so that the postsynaptic rate settles at
``rho0``. Update order, the mapping to NEST's ``vogels_sprekeler_synapse`` (``tau``,
``alpha``, ``eta``, ``Wmax``, ``Kplus``) and its dendritic delay are in the class Notes
and ``docs/plasticity.md``.

References
----------
.. [1] Vogels, T. P., Sprekeler, H., Zenke, F., Clopath, C. & Gerstner, W. (2011).
   Science 334, 1569-1573. doi:10.1126/science.1211095
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import Hz, Quantity, ms
from brian2.units.fundamentalunits import get_dimensions

from ._checks import check_number, check_time, hash_of
from .rule import STDPRule
from .timing import Change, TimingDependence
from .weights import WeightBounds

__all__ = ["VogelsSprekelerTiming", "vogels_sprekeler_rule"]


@dataclass(frozen=True)
class VogelsSprekelerTiming(TimingDependence):
    r"""Symmetric inhibitory STDP with a target rate (Vogels, Sprekeler et al. 2011).

    Parameters
    ----------
    tau : Quantity (time), > 0
        Time constant of both traces (the paper's and NEST's ``tau``). Default 20 ms.
    rho0 : Quantity (frequency), > 0
        Target postsynaptic rate. Default 3 Hz (with 20 ms: NEST's ``alpha`` 0.12).
    eta : float, unit-less, >= 0
        Learning rate, in units of ``w``. Default 0.001 (NEST's default).

    Notes
    -----
    Traces jump by 1 and decay with ``tau`` (event-driven, exact):

    .. math::

        \text{pre: } w \leftarrow \mathrm{clip}(w + \eta\, a_{post});\;
            w \leftarrow \mathrm{clip}(w - \eta\,\alpha);\; a_{pre} \mathrel{+}= 1
        \qquad
        \text{post: } a_{post} \mathrel{+}= 1;\; w \leftarrow \mathrm{clip}(w + \eta\, a_{pre})

    with :math:`\alpha = 2\rho_0\tau` (attribute :attr:`alpha`); summed over a train,
    :math:`\Delta w = \eta\,[\sum_{pairs} e^{-|t_{post}-t_{pre}|/\tau} - \alpha\, n_{pre}]`.
    Clipping is the rule's weight dependence (NEST: hard bounds ``[0, Wmax]``, i.e.
    ``WeightBounds(0, Wmax)``), after each of the three updates, in NEST's order.
    A pre and a post spike in the same step count as one pair at zero lag
    (``+eta``); NEST discards it. Brian2 names: ``tau_istdp``, ``alpha_istdp``,
    ``eta_istdp``.

    NEST (``vogels_sprekeler_synapse``): ``tau``, ``alpha``, ``eta`` as here
    (:meth:`nest_params`), ``Wmax`` = ``w_max`` (NEST's negative ``Wmax`` and weights
    are ``|w|`` here), ``Kplus`` = ``apre`` (0 at the start); the postsynaptic trace is
    the neuron's, so its ``tau_minus`` must equal ``tau``. NEST updates ``w`` only at
    presynaptic spikes (the post-spike potentiation lazily) and sends the updated
    weight. Its delay ``D`` is dendritic: the synapse sees a presynaptic spike at
    emission and a postsynaptic one ``D`` after emission, i.e. Brian2's
    ``syn.post.delay = D`` with no presynaptic delay.
    """

    tau: Quantity = field(default_factory=lambda: 20 * ms)
    rho0: Quantity = field(default_factory=lambda: 3 * Hz)
    eta: float = 0.001

    __hash__ = hash_of

    def __post_init__(self):
        object.__setattr__(self, "tau", check_time("tau", self.tau))
        rho0 = self.rho0
        if not isinstance(rho0, Quantity) or get_dimensions(rho0) is not Hz.dim:
            raise TypeError(f"rho0 must be a Brian2 frequency Quantity such as 3*Hz, got {rho0!r}")
        if np.size(rho0) != 1 or not (np.isfinite(float(rho0)) and float(rho0) > 0):
            raise ValueError(f"rho0 must be a finite scalar > 0, got {rho0!r}")
        object.__setattr__(self, "rho0", Quantity(float(rho0), dim=Hz.dim))
        object.__setattr__(self, "eta", check_number("eta", self.eta, minimum=0))

    @property
    def alpha(self) -> float:
        """Depression per presynaptic spike in units of ``eta``: ``2 rho0 tau``."""
        return float(2 * self.rho0 * self.tau)

    model = (
        "dapre/dt = -apre / tau_istdp : 1 (event-driven)\n"
        "dapost/dt = -apost / tau_istdp : 1 (event-driven)\n"
    )

    def pre_code(self, potentiate: Change, depress: Change) -> str:
        return (f"{potentiate('eta_istdp * apost')}\n{depress('eta_istdp * alpha_istdp')}\n"
                "apre += 1\n")

    def post_code(self, potentiate: Change, depress: Change) -> str:
        return f"apost += 1\n{potentiate('eta_istdp * apre')}\n"

    def namespace(self) -> dict[str, Any]:
        return {"tau_istdp": self.tau, "alpha_istdp": self.alpha, "eta_istdp": self.eta}

    def nest_params(self) -> dict[str, float]:
        """The matching NEST ``vogels_sprekeler_synapse`` parameters (``tau`` in ms);
        the postsynaptic neuron needs ``tau_minus`` = ``tau``."""
        return {"tau": float(self.tau / ms), "alpha": self.alpha, "eta": self.eta}


def vogels_sprekeler_rule(tau: Quantity = 20 * ms, rho0: Quantity = 3 * Hz, eta: float = 0.001,
                          w_max: float = 1.0) -> STDPRule:
    """The rule of Vogels et al. (2011) as NEST has it: this timing, additive, ``[0, w_max]``."""
    return STDPRule(VogelsSprekelerTiming(tau=tau, rho0=rho0, eta=eta), WeightBounds(0.0, w_max))
